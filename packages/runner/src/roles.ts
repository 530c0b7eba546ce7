// Role watching: every node of a system polled directly (not through its manager), at least
// every 100 ms, and a `role` event written whenever what it is changes (writable primary,
// primary refusing writes, replica, down). From those events: when the old primary stopped
// accepting writes after a fault, and how long two nodes accepted writes at once.
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FindingEvent, NodeRole, RoleEvent } from '@resilience/fixtures';
import { firstNotWritable, formatDuration, roleSpans, totalLength, unwritableIntervals, writableOverlaps, writableUntil, type Overlap, type RoleSpan } from '@resilience/fixtures';
import { baseName, type Measurement } from './metrics.ts';
import { explainFinding, type ScheduledFault, type System } from './schedule.ts';
import type { Traffic } from './workflow.ts';
import type { FaultSpan, WriteCollector } from './writes.ts';

/** What one poll of a node saw. */
export interface RoleReading {
  readonly role: NodeRole;
  readonly writable: boolean;
  readonly detail?: string;
}

/** How to ask one node directly what it is. `poll` must give up when `signal` aborts. */
export interface RoleSource {
  readonly node: string;
  poll(signal: AbortSignal): Promise<RoleReading>;
  close?(): void | Promise<void>;
}

export interface RoleWatcherOptions {
  readonly scope: string;
  readonly sources: readonly RoleSource[];
  /** Poll period per node (default 100 ms). */
  readonly intervalMs?: number;
  /** A poll without an answer by then reads as `down` (default 250 ms). */
  readonly timeoutMs?: number;
  /** Most polls of one node waiting for an answer at once (default 4). */
  readonly maxInFlight?: number;
  readonly now: () => number;
  readonly emit: (e: RoleEvent) => void;
  readonly variant?: string | undefined;
}

/**
 * Polls every source on its own clock: a poll starts every `intervalMs`, also while earlier
 * ones still wait for an answer (at most `maxInFlight` per node), so a node that hangs, or
 * just thawed, is still asked every 100 ms and delays no other. A poll's reading is applied
 * only if no poll that started later was applied before it, and a change is stamped with the
 * start of the poll that saw it.
 */
export class RoleWatcher {
  readonly #o: Required<Omit<RoleWatcherOptions, 'variant'>> & { variant: string | undefined };
  readonly #last = new Map<string, { reading: RoleReading; started: number }>();
  readonly #stop = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(o: RoleWatcherOptions) {
    this.#o = { intervalMs: 100, timeoutMs: 250, maxInFlight: 4, ...o, variant: o.variant };
  }

  start(): void {
    this.#loops = this.#o.sources.map((s) => this.#loop(s));
  }

  /** Listeners waiting on the watcher's stop (its waits and polls in flight): bounded by the sources × (maxInFlight + 1). For tests and diagnostics. */
  get stopListeners(): number {
    return getEventListeners(this.#stop.signal, 'abort').length;
  }

  /** The latest reading of a node. */
  current(node: string): RoleReading | undefined {
    return this.#last.get(node)?.reading;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
    await Promise.allSettled(this.#o.sources.map((s) => Promise.resolve().then(() => s.close?.())));
  }

  #apply(source: RoleSource, started: number, r: RoleReading): void {
    if (this.#stop.signal.aborted) return;
    const prev = this.#last.get(source.node);
    if (prev && prev.started > started) return;
    if (!prev || prev.reading.role !== r.role || prev.reading.writable !== r.writable) {
      this.#o.emit({
        type: 'role', at: started, scope: this.#o.scope, node: source.node, role: r.role, writable: r.writable,
        ...(r.detail ? { detail: r.detail.slice(0, 200) } : {}), ...(this.#o.variant ? { variant: this.#o.variant } : {}),
      });
    }
    this.#last.set(source.node, { reading: r, started });
  }

  async #loop(source: RoleSource): Promise<void> {
    const { intervalMs, timeoutMs, maxInFlight, now } = this.#o;
    const inFlight = new Set<Promise<void>>();
    let next = now();
    while (!this.#stop.signal.aborted) {
      if (inFlight.size < maxInFlight) {
        const started = now();
        const p: Promise<void> = this.#pollOnce(source, timeoutMs).then((r) => { if (r) this.#apply(source, started, r); }).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      next += intervalMs;
      const wait = next - now();
      if (wait < 0) next = now();
      // Node's abortable sleep removes its listener when it ends: a hand-made wait that left one
      // on the stop signal per node every 100 ms piled up 36 000 in ten minutes, each add
      // scanning them all, until the runner spent a whole core on it and its probes timed out.
      if (wait > 0) await sleep(wait, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    }
    await Promise.allSettled([...inFlight]);
  }

  async #pollOnce(source: RoleSource, timeoutMs: number): Promise<RoleReading | null> {
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const timedOut = new Promise<RoleReading | null>((resolve) => {
      timer = setTimeout(() => {
        ac.abort();
        // A timer that fired a whole timeout late says the runner was starved, not that the
        // node did not answer (its answer may sit unread in the socket): no reading.
        const late = performance.now() - started - timeoutMs;
        resolve(late > timeoutMs ? null : { role: 'down', writable: false, detail: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
    });
    try {
      return await Promise.race([
        source.poll(ac.signal).catch((e: unknown) => ({ role: 'down' as const, writable: false, detail: e instanceof Error ? e.message : String(e) })),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
      this.#stop.signal.removeEventListener('abort', onStop);
    }
  }
}

/** A fault as role measurements see it: its span, its target and where its share of the run ends. */
export interface RoleFault extends Omit<FaultSpan, 'id'> {
  readonly target: string;
  readonly kind: string;
  /** Where its share of the run ends: the next fault of the scope, or the end of the variant. */
  readonly until: number;
}

export interface RoleOutcome {
  /** Fault start to the old primary no longer accepting writes; null when it accepted writes until the heal. */
  readonly demotionMs: number | null;
  /** Two or more writable primaries at once, within the fault's share of the run. */
  readonly overlaps: readonly Overlap[];
  readonly splitBrainMs: number;
  /** Whether the watcher saw the target at all during the fault. */
  readonly observed: boolean;
  /** Time in the fault's share of the run when no node accepted writes. */
  readonly noPrimaryMs: number;
  /** When another node first accepted writes after the fault started (null: none did). */
  readonly newPrimary: { readonly node: string; readonly at: number } | null;
  /** Until when a node (the elected one) stayed writable from `at`, from the role spans. */
  writableUntil(node: string, at: number): number | null;
}

/** What the role spans (`roleSpans` of the run's role events) say about one fault. */
export function roleOutcome(spans: readonly RoleSpan[], f: RoleFault, variant: string | undefined): RoleOutcome {
  const v = variant ?? null;
  const observed = spans.some((s) => s.scope === f.scope && s.node === f.target && (s.variant ?? null) === v && s.to > f.at && s.from < f.until);
  const end = f.healedAt ?? f.until;
  const off = firstNotWritable(spans, { scope: f.scope, node: f.target, variant: v, from: f.at, to: end });
  const overlaps = writableOverlaps(spans, { scope: f.scope, variant: v, from: f.at, to: f.until });
  const other = spans.filter((s) => s.scope === f.scope && s.node !== f.target && (s.variant ?? null) === v && s.writable && s.to > f.at && s.from < f.until)
    .map((s) => ({ node: s.node, at: Math.max(s.from, f.at) })).sort((a, b) => a.at - b.at)[0] ?? null;
  const noPrimaryMs = totalLength(unwritableIntervals(spans, { scope: f.scope, variant: v, from: f.at, to: f.until }));
  return {
    demotionMs: off === null ? null : Math.max(0, off - f.at), overlaps, splitBrainMs: totalLength(overlaps), observed, newPrimary: other, noPrimaryMs,
    writableUntil: (node, at) => writableUntil(spans, { scope: f.scope, node, variant: v, at }),
  };
}

export interface RoleMeasurementInput {
  readonly systems: Readonly<Record<string, System>>;
  readonly faults: readonly ScheduledFault[];
  readonly roles: readonly RoleEvent[];
  readonly collectors: readonly { readonly traffic: Traffic; readonly collector: WriteCollector }[];
  readonly endAt: number;
  readonly variant: string | undefined;
  measure(m: Measurement): void;
  finding(f: Omit<FindingEvent, 'type' | 'id'>): void;
}

const ms = (x: number) => formatDuration(x);

/**
 * Per fault of a watched system: `demotion` and `splitBrain` of its scope, and per write probe
 * on that scope `staleAcks` (acknowledged by the old primary after the election) and
 * `ackWindow` (how long the cut-off old primary kept acknowledging). Two writable primaries
 * are a critical `split-brain` finding with the overlaps and who acknowledged what in them.
 */
export async function roleMeasurements(i: RoleMeasurementInput): Promise<void> {
  const v = i.variant ? { variant: i.variant } : {};
  const spans = roleSpans(i.roles, i.endAt);
  for (const [n, f] of i.faults.entries()) {
    const sys = i.systems[f.scope];
    // A scope the environment declares no system for (a DR drill's destroyed cluster) has no
    // primary to be stale about or to demote: nothing to measure here.
    if (sys === undefined) continue;
    const watched = sys.roles !== undefined && i.roles.some((r) => r.scope === f.scope);
    const next = i.faults.slice(n + 1).find((x) => x.scope === f.scope);
    const until = next?.at ?? i.endAt;
    const rf: RoleFault = { scope: f.scope, iteration: f.iteration, target: f.target.name, kind: f.kind, at: f.at, promotedAt: f.promoted?.at, healedAt: f.healedAt, until };
    const base = { scope: f.scope, iteration: f.iteration, ...v };
    const o = watched ? roleOutcome(spans, rf, i.variant) : null;
    // Elected: as the system reported it (a promoted condition), else the first other node the role watcher saw accept writes.
    const elected = f.promoted ?? o?.newPrimary ?? undefined;
    if (o) {
      const bound = sys.demotionBound ? `. Bound: ${sys.demotionBound}` : '';
      i.measure({
        name: 'demotion', ...base, unit: 'ms', value: o.observed ? o.demotionMs : null,
        description: !o.observed ? `${f.target.name} was not polled during the ${f.kind}` : o.demotionMs === null
          ? `${f.target.name} accepted writes until the heal of the ${f.kind} (polled directly every 100 ms)${bound}`
          : `${f.kind} start to ${f.target.name} no longer accepting writes (read-only, stopped or not answering; polled directly every 100 ms)${bound}`,
      });
      i.measure({
        name: 'splitBrain', ...base, unit: 'ms', value: o.splitBrainMs,
        description: `time two or more ${f.scope} nodes accepted writes at once, from the ${f.kind} to ${next ? 'the next fault' : 'the end'} (each node polled directly every 100 ms)`,
      });
      i.measure({
        name: 'noPrimary', ...base, unit: 'ms', value: o.noPrimaryMs,
        description: `time no ${f.scope} node accepted writes, from the ${f.kind} to ${next ? 'the next fault' : 'the end'} (each node polled directly every 100 ms)`,
      });
      const electionMs = sys.electionBoundMs;
      // Twice what an election may take: a failover that runs a little long is not a finding, a system that cannot elect is.
      if (electionMs !== undefined && o.noPrimaryMs > 2 * electionMs) {
        const explained = await explainFinding(sys, 'no-primary', [f.target.name], f.atEpochMs);
        i.finding({
          kind: 'no-primary', severity: 'warning', scope: f.scope, iteration: f.iteration, faultId: f.injected.id, ...v,
          at: f.at, until, nodes: [f.target.name],
          title: `no ${sys?.title ?? f.scope} node accepted writes for ${ms(o.noPrimaryMs)} after the ${f.kind} of ${f.target.name}`,
          detail: `Each node polled directly every 100 ms: none accepted writes for ${ms(o.noPrimaryMs)} between the ${f.kind} and ${next ? 'the next fault' : 'the end'}, more than twice the ${ms(electionMs)} an election may take (${sys?.electionBound ?? 'the system settings'}).${explained?.detail ? ` ${explained.detail}` : ''}`,
          evidence: explained?.evidence ?? [],
          data: { noPrimaryMs: o.noPrimaryMs, electionBoundMs: electionMs },
        });
      }
      if (o.splitBrainMs > 0) {
        const nodes = [...new Set(o.overlaps.flatMap((x) => x.nodes))];
        const writers = i.collectors.filter((c) => c.traffic.scopes.includes(f.scope));
        const ackedBy = new Map<string, number>();
        const acked = writers.flatMap((c) => nodes.map((node) => {
          const k = o.overlaps.reduce((a, x) => a + c.collector.acksBy(node, x.from, x.to).count, 0);
          ackedBy.set(node, (ackedBy.get(node) ?? 0) + k);
          return `${baseName(c.traffic.probe.name)}: ${k} acknowledged by ${node}`;
        }));
        // Critical when clients really wrote to two primaries (their histories diverge); when only
        // one of them acknowledged writes, the other was writable but unused: a warning.
        const wroteTo = [...ackedBy].filter(([, k]) => k > 0).map(([n]) => n);
        const diverged = wroteTo.length >= 2;
        const explained = await explainFinding(sys, 'split-brain', nodes, f.atEpochMs);
        i.finding({
          kind: 'split-brain', severity: diverged ? 'critical' : 'warning', scope: f.scope, iteration: f.iteration, faultId: f.injected.id, ...v,
          at: o.overlaps[0]!.from, until: o.overlaps.at(-1)!.to, nodes,
          title: `${nodes.join(' and ')} accepted writes at the same time for ${ms(o.splitBrainMs)} after the ${f.kind} of ${f.target.name}`,
          detail: `Two writable primaries (each node polled directly every 100 ms): ${o.overlaps.map((x) => `${x.nodes.join('+')} from ${ms(x.from)} to ${ms(x.to)}`).join('; ')}. ${diverged
            ? `The clients wrote to ${wroteTo.join(' and ')} in that time: what the one later turned into a replica acknowledged is lost.`
            : `The clients wrote to ${wroteTo[0] ?? 'neither'} only${writers.length ? '' : ' (no write probe on this system)'}; a client connected to the other would have written to a primary that is later turned into a replica.`}${explained?.detail ? ` ${explained.detail}` : ''}`,
          evidence: [{ label: 'acknowledged during the overlap', text: acked.join('\n') || '(no write probe on this system)' }, ...(explained?.evidence ?? [])],
          data: { overlaps: o.overlaps, splitBrainMs: o.splitBrainMs },
        });
      }
    }
    for (const { traffic: t, collector } of i.collectors) {
      if (!t.scopes.includes(f.scope)) continue;
      const probe = baseName(t.probe.name);
      // Stale while the elected node was the primary: once it lost that role (the old primary took the lead back) the old one's acks are its own again.
      const staleEnd = elected ? Math.min(until, o?.writableUntil(elected.node, elected.at) ?? until) : until;
      const stale = elected ? collector.acksBy(f.target.name, elected.at, staleEnd) : null;
      i.measure({
        name: 'staleAcks', scope: probe, iteration: f.iteration, ...v, unit: 'count', value: stale?.count ?? 0,
        description: elected
          ? `writes of ${probe} acknowledged by ${f.target.name} (the old primary) after ${elected.node} was ${f.promoted ? 'elected' : 'seen accepting writes'}, while ${elected.node} still accepted writes${stale?.last != null ? `; the last ${ms(stale.last - elected.at)} after the election` : ''}`
          : `no other node became primary after the ${f.kind} of ${f.target.name}: no write can be stale`,
      });
      const during = collector.acksBy(f.target.name, f.at, f.healedAt ?? until);
      i.measure({
        name: 'ackWindow', scope: probe, iteration: f.iteration, ...v, unit: 'ms', value: during.last === null ? 0 : Math.max(0, during.last - f.at),
        description: `${f.kind} start to the last write of ${probe} that ${f.target.name} acknowledged before the heal (${during.count} acknowledged by it in that time)`,
      });
    }
  }
}
