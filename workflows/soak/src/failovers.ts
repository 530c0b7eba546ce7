// Failovers that did not hold, from the run's role events: after a fault, another node became
// the writable primary, and later the node that was primary before the fault was the writable
// primary again. Writes the promoted node acknowledged in between can be lost when it is turned
// back into a replica (the failover workflow finds the same in its `rejoined` step; the soak's
// faults do not all cause a failover, so it reads the roles instead of waiting for one).
import type { JournalEvent, RoleEvent } from '@resilience/fixtures';
import { formatDuration } from '@resilience/fixtures';
import type { SoakFinding } from './analysis.ts';

interface Watch {
  readonly faultId: string;
  readonly kind: string;
  readonly iteration: number | undefined;
  readonly at: number;
  readonly before: string;
  healedAt: number | null;
  promoted: { readonly node: string; readonly at: number } | null;
  /** When the node that was primary before the fault was the writable primary again. */
  returnedAt: number | null;
  readonly roles: RoleEvent[];
}

/** Fed every journal event in order; `findings()` lists the failovers that did not hold. */
export class FailoverWatch {
  readonly #primary = new Map<string, string>();
  /** Each node's last role, per scope. */
  readonly #latest = new Map<string, Map<string, RoleEvent>>();
  readonly #open = new Map<string, Watch>();
  readonly #findings: SoakFinding[] = [];

  readonly #clock: (at: number) => string;

  /** `clock` prints a run-clock time for people (default: formatDuration of it). */
  constructor(clock: (at: number) => string = (at) => formatDuration(at)) {
    this.#clock = clock;
  }

  push(e: JournalEvent): void {
    if (e.type === 'fault-injected' && e.scope) {
      const before = this.#primary.get(e.scope);
      // A fault of the scope replaces the one before it: a return after it is its own.
      if (before === undefined) this.#open.delete(e.scope);
      else {
        const w: Watch = { faultId: e.id, kind: e.kind, iteration: e.iteration, at: e.at, before, healedAt: null, promoted: null, returnedAt: null, roles: [] };
        this.#open.set(e.scope, w);
      }
    } else if (e.type === 'fault-healed') {
      // Only an open watch can still make a finding; a closed one's heal time is not needed.
      for (const w of this.#open.values()) if (w.faultId === e.id) w.healedAt = e.at;
    } else if (e.type === 'role') {
      const latest = this.#latest.get(e.scope) ?? new Map<string, RoleEvent>();
      this.#latest.set(e.scope, latest.set(e.node, e));
      if (writablePrimary(e)) this.#primary.set(e.scope, e.node);
      const w = this.#open.get(e.scope);
      if (!w) return;
      if (w.roles.length < 40) w.roles.push(e);
      if (w.promoted === null) {
        if (writablePrimary(e) && e.node !== w.before) w.promoted = { node: e.node, at: e.at };
        return;
      }
      if (writablePrimary(e) && e.node === w.before) w.returnedAt ??= e.at;
      if (w.returnedAt === null) return;
      // Both may be writable for a while (a restarted Redis master before Sentinel turns it into a
      // replica): the failover did not hold only when the old primary stays and the promoted node goes.
      const old = latest.get(w.before);
      const promoted = latest.get(w.promoted.node);
      if (!old || !writablePrimary(old)) w.returnedAt = null;
      else if (promoted && !writablePrimary(promoted)) {
        this.#findings.push(this.#finding(e.scope, w, w.returnedAt, e.at));
        this.#open.delete(e.scope);
      }
    }
  }

  findings(): readonly SoakFinding[] {
    return this.#findings;
  }

  #finding(scope: string, w: Watch, at: number, settled: number): SoakFinding {
    const p = w.promoted!;
    const healed = w.healedAt === null ? 'before the fault was healed' : at >= w.healedAt ? `${formatDuration(at - w.healedAt)} after the heal` : `${formatDuration(w.healedAt - at)} before the heal`;
    const demoted = settled > at ? ` (${p.node} stopped being the primary ${formatDuration(settled - at)} later: both were writable until then)` : '';
    return {
      kind: 'failover-not-held', severity: 'critical', at: p.at, until: settled, scope, faultId: w.faultId, nodes: [w.before, p.node],
      ...(w.iteration === undefined ? {} : { iteration: w.iteration }),
      title: `the failover to ${p.node} did not hold: ${w.before} was the primary again ${formatDuration(at - p.at)} after ${p.node}'s promotion (the ${w.kind} at ${this.#clock(w.at)})`,
      detail: `${w.before} was the writable primary when the ${w.kind} began; ${p.node} was the writable primary ${formatDuration(p.at - w.at)} after it, and ${w.before} again ${healed}${demoted}. Writes ${p.node} acknowledged in between can be lost when it is turned back into a replica (see the write check). From the roles the runner polled.`,
      evidence: [{ label: `${scope} roles from the fault to the return`, text: w.roles.filter((r) => r.at <= settled).map((r) => `${this.#clock(r.at)}  ${r.node}  ${r.role}${r.writable ? ' (writable)' : ''}${r.detail ? `  ${r.detail}` : ''}`).join('\n') }],
      data: { before: w.before, promoted: p.node, promotedAt: p.at, returnedAt: at, promotedDemotedAt: settled, healedAt: w.healedAt },
    };
  }
}

const writablePrimary = (r: RoleEvent): boolean => r.role === 'primary' && r.writable;
