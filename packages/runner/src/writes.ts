// The acknowledged-write check: every write probe's acknowledgements are collected as they
// happen (id, time, acknowledging node), read back from the datastore after recovery, and the
// lost ones are explained by node and by window relative to the fault they follow.
import type { FindingEvent, SampleEvent, WriteCheckEvent, WriteCheckFault, WriteWindow } from '@resilience/fixtures';
import { WRITE_WINDOWS, WriteLedger, formatDuration } from '@resilience/fixtures';
import { AckLog } from './ack-log.ts';
import type { Measurement } from './metrics.ts';

/** How a write probe's ids are read back after recovery. */
export interface WriteVerifier {
  /** What is read, for the report: `table resilience_writes on the primary`. */
  readonly store: string;
  readBack(): Promise<Iterable<string>>;
}

/** The fault boundaries a lost write is placed against. */
export interface FaultSpan {
  readonly id: string;
  readonly scope: string;
  readonly iteration: number;
  readonly at: number;
  readonly promotedAt?: number | undefined;
  readonly healedAt?: number | undefined;
}

/**
 * Collects one write probe's acknowledged and unacknowledged writes from its samples. With
 * `spillDir` (a run's report folder) they go to an AckLog on disk as they come, so the runner's
 * memory does not grow with the writes of a long run; they are read back for the check. Without
 * it, a WriteLedger in memory.
 */
export class WriteCollector {
  readonly probe: string;
  readonly #ledger: WriteLedger | undefined;
  readonly #log: AckLog | undefined;
  #acked = 0;

  constructor(probe: string, options: { readonly spillDir?: string; readonly chunkBytes?: number } = {}) {
    this.probe = probe;
    this.#log = options.spillDir === undefined ? undefined : new AckLog(probe, { dir: options.spillDir, ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}) });
    this.#ledger = this.#log ? undefined : new WriteLedger();
  }

  push(e: SampleEvent): void {
    if (e.probe !== this.probe) return;
    if (!this.#log) {
      this.#ledger!.push(e);
      return;
    }
    if (typeof e.writeId !== 'string') return;
    this.#log.append(e.writeId, e.ok, e.completed, e.node);
    if (e.ok) this.#acked += 1;
  }

  /** Writes acknowledged so far. */
  get acked(): number {
    return this.#log ? this.#acked : this.#ledger!.store.size;
  }

  /** The acknowledgements, each id once with its earliest ack (a ledger read back from the log when spilled). */
  #store(): WriteLedger['store'] {
    if (!this.#log) return this.#ledger!.store;
    const ledger = new WriteLedger();
    for (const r of this.#log.records()) {
      if (r.ok) ledger.ack(r.id, r.at, r.node);
      else ledger.attempt(r.id);
    }
    return ledger.store;
  }

  /** This probe's writes acknowledged by `node` at or after `from` and before `to`. */
  acksBy(node: string, from: number, to = Infinity): NodeAcks {
    let count = 0;
    let first: number | null = null;
    let last: number | null = null;
    // The log reads only the chunks of [from, to); an id is acknowledged once (each sample writes a new one).
    const acks = this.#log ? this.#log.records({ from, to }) : this.#ledger!.store.acks();
    for (const a of acks) {
      if (('ok' in a && !a.ok) || a.node !== node || a.at < from || a.at >= to) continue;
      count++;
      if (first === null || a.at < first) first = a.at;
      if (last === null || a.at > last) last = a.at;
    }
    return { count, first, last };
  }

  /** Removes the log from the disk (the check has read it). */
  close(): void {
    this.#log?.close();
  }

  /** Compares with the ids present after recovery and places every lost write. */
  check(present: Iterable<string>, o: { readonly store: string; readonly intervalMs: number; readonly faults: readonly FaultSpan[]; readonly at: number; readonly scope?: string; readonly variant?: string }): WriteCheckEvent {
    const have = new Set<string>();
    for (const id of present) have.add(String(id));
    const lost: { id: string; at: number; node: string; fault: FaultSpan | null; window: WriteWindow | null }[] = [];
    const store = this.#store();
    for (const ack of store.acks()) {
      if (have.has(ack.id)) continue;
      const placed = placeWrite(ack.at, o.faults);
      lost.push({ id: ack.id, at: ack.at, node: ack.node, fault: placed?.fault ?? null, window: placed?.window ?? null });
    }
    lost.sort((a, b) => a.at - b.at);
    let ghost = 0;
    for (const id of store.unacknowledged()) if (have.has(id)) ghost++;
    const lostByNode: Record<string, number> = {};
    const lostByWindow = Object.fromEntries(WRITE_WINDOWS.map((w) => [w, 0])) as Record<WriteWindow, number>;
    for (const w of lost) {
      lostByNode[w.node] = (lostByNode[w.node] ?? 0) + 1;
      if (w.window) lostByWindow[w.window] += 1;
    }
    const perFault: WriteCheckFault[] = o.faults.map((f) => {
      const mine = lost.filter((w) => w.fault?.id === f.id);
      const first = mine[0]?.at ?? null;
      const last = mine.at(-1)?.at ?? null;
      return {
        faultId: f.id, scope: f.scope, iteration: f.iteration, lost: mine.length,
        rpoSeconds: first === null || last === null ? 0 : round((last - first + o.intervalMs) / 1000),
        firstLostAckAt: first, lastLostAckAt: last,
      };
    });
    return {
      type: 'write-check', at: o.at, probe: this.probe, store: o.store, lostSpans: lostSpans(lost),
      ...(o.scope ? { scope: o.scope } : {}), ...(o.variant ? { variant: o.variant } : {}),
      acked: store.size, present: have.size, lost: lost.length, ghost,
      lostByNode, lostByWindow, perFault,
      examples: lost.slice(0, 20).map((w) => ({ id: w.id, at: round(w.at), node: w.node, window: w.window })),
    };
  }
}

/** Lost writes as runs per node: consecutive lost acknowledgements of one node less than 1 s apart. */
export function lostSpans(lost: readonly { readonly at: number; readonly node: string }[]): { node: string; from: number; to: number; count: number }[] {
  const open = new Map<string, { node: string; from: number; to: number; count: number }>();
  const out: { node: string; from: number; to: number; count: number }[] = [];
  for (const w of [...lost].sort((a, b) => a.at - b.at)) {
    const s = open.get(w.node);
    if (s && w.at - s.to < 1000) {
      s.to = w.at;
      s.count++;
      continue;
    }
    if (s) out.push(s);
    open.set(w.node, { node: w.node, from: w.at, to: w.at, count: 1 });
  }
  out.push(...open.values());
  return out.sort((a, b) => a.from - b.from).map((s) => ({ ...s, from: round(s.from), to: round(s.to) }));
}

/** Acknowledgements of one node within [from, to): how many, and the first and last. */
export interface NodeAcks {
  readonly count: number;
  readonly first: number | null;
  readonly last: number | null;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Places an acknowledgement at time t against the faults (in time order): after a fault's start
 * and before its heal it is in `fault` (before the promotion) or `after-election`; after the heal
 * of fault i and before fault i+1 it is `after-heal` of i when nearer to that heal, else
 * `before-fault` of i+1; before the first fault it is `before-fault` of it; after the last heal,
 * `after-heal` of the last. null without faults.
 */
export function placeWrite(t: number, faults: readonly FaultSpan[]): { fault: FaultSpan; window: WriteWindow } | null {
  if (faults.length === 0) return null;
  const sorted = [...faults].sort((a, b) => a.at - b.at);
  let prev: FaultSpan | undefined;
  for (const f of sorted) {
    if (f.at <= t) prev = f;
    else break;
  }
  const next = sorted.find((f) => f.at > t);
  if (!prev) return { fault: next!, window: 'before-fault' };
  const healed = prev.healedAt ?? Infinity;
  if (t < healed) return { fault: prev, window: prev.promotedAt !== undefined && t >= prev.promotedAt ? 'after-election' : 'fault' };
  if (!next) return { fault: prev, window: 'after-heal' };
  return t - healed <= next.at - t ? { fault: prev, window: 'after-heal' } : { fault: next, window: 'before-fault' };
}

/** Lost writes as one line for people: `308 lost: 300 acknowledged by pg2 between election and heal, 8 by pg1 before the fault`. */
export function describeLoss(c: WriteCheckEvent): string {
  const windows: Record<WriteWindow, string> = { 'before-fault': 'before the fault', fault: 'between fault and election', 'after-election': 'between election and heal', 'after-heal': 'after the heal' };
  const byNode = Object.entries(c.lostByNode).sort((a, b) => b[1] - a[1]).map(([n, k]) => `${k} acknowledged by ${n}`).join(', ');
  const byWindow = WRITE_WINDOWS.filter((w) => c.lostByWindow[w] > 0).map((w) => `${c.lostByWindow[w]} ${windows[w]}`).join(', ');
  return `${c.lost} of ${c.acked} acknowledged writes lost (${byNode}; ${byWindow || 'no fault to place them against'})`;
}

/**
 * What a write check means for the verdict: the measurements `lostWrites`, `ghostWrites` and
 * `rpoSeconds` (worst fault, s) of the probe, and a critical `lost-writes` finding when any
 * acknowledged write is gone.
 */
export function writeCheckOutcome(check: WriteCheckEvent, o: { readonly probe: string; readonly store: string; readonly variant?: string; readonly scope?: string }): { measurements: Measurement[]; finding: (Omit<FindingEvent, 'type' | 'id'>) | null } {
  const v = o.variant ? { variant: o.variant } : {};
  const worstRpo = check.perFault.reduce((a, f) => Math.max(a, f.rpoSeconds), 0);
  const measurements: Measurement[] = [
    { name: 'lostWrites', scope: o.probe, ...v, value: check.lost, unit: 'count', description: `acknowledged writes of ${o.probe} missing from ${o.store} after recovery (of ${check.acked} acknowledged)` },
    { name: 'ghostWrites', scope: o.probe, ...v, value: check.ghost, unit: 'count', description: `writes of ${o.probe} that failed for the client but are in ${o.store}` },
    { name: 'rpoSeconds', scope: o.probe, ...v, value: worstRpo, unit: 's', description: 'worst fault: span of its lost acknowledged writes (last - first ack + probe interval); 0 when none' },
  ];
  if (check.lost === 0) return { measurements, finding: null };
  const worst = check.perFault.reduce<WriteCheckFault | null>((a, f) => (a === null || f.lost > a.lost ? f : a), null);
  const lastLost = check.perFault.reduce<number | null>((a, x) => (x.lastLostAckAt !== null && (a === null || x.lastLostAckAt > a) ? x.lastLostAckAt : a), null);
  return {
    measurements,
    finding: {
      kind: 'lost-writes', severity: 'critical', ...(o.scope ? { scope: o.scope } : {}), ...v,
      ...(worst && worst.lost > 0 ? { faultId: worst.faultId, ...(worst.iteration ? { iteration: worst.iteration } : {}) } : {}),
      at: check.examples[0]?.at ?? check.at, ...(lastLost !== null ? { until: lastLost } : {}),
      nodes: Object.keys(check.lostByNode),
      title: `${check.lost} acknowledged writes of ${o.probe} were lost`,
      detail: `${describeLoss(check)}.${worst && worst.lost > 0 ? ` Worst fault: ${worst.lost} lost, RPO ${worst.rpoSeconds} s.` : ''}`,
      evidence: [{ label: `first lost writes (of ${check.lost})`, text: check.examples.slice(0, 8).map((x) => `${x.id}  acknowledged by ${x.node} at ${formatDuration(x.at)} (${x.window ?? 'no fault'})`).join('\n') }],
      data: { probe: o.probe, lost: check.lost, acked: check.acked, lostByNode: check.lostByNode, lostByWindow: check.lostByWindow },
    },
  };
}
