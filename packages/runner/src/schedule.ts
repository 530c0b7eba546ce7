// A workflow's schedule as data: steps (steady, inject a fault of a kind on a selected target
// with a scope, wait until named conditions, heal, observe, repeat) that the runner executes.
// Every wait takes the run's abort signal; every time is on the run clock; what a condition
// measures becomes a measurement, and what surprises it becomes a finding.
import type { ChaosRun, ContainerHandle, Evidence, EvidenceTable, FindingEvent, Injected, ProbeLike } from '@resilience/fixtures';
import { isWaitTimeoutError, waitFor } from '@resilience/fixtures';
import type { Measurement } from './metrics.ts';
import type { RoleSource } from './roles.ts';

/** A node of a system, as a fault target. */
export interface NodeRef {
  readonly name: string;
  readonly container: ContainerHandle;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/**
 * One shape for every replicated system an environment offers (pg-ha, redis-sentinel), so the
 * runner's conditions work on any of them. Times are on the run clock.
 */
export interface System {
  /** The scope name faults and probes use: `postgres`, `redis`. */
  readonly scope: string;
  /** For people: `PostgreSQL 15 / Patroni 3.0.2`. */
  readonly title: string;
  /** The Docker network its nodes talk on (for `disconnect`). */
  readonly network: string;
  primary(): Promise<NodeRef>;
  /** Resolves when a node other than `previous` is the primary. */
  waitForPromotion(previous: string, options: WaitOptions): Promise<{ readonly primary: NodeRef; readonly at: number }>;
  /** Resolves when `node` is back in the cluster (steadily), as a replica or as the primary again. */
  waitRejoined(node: string, options: WaitOptions): Promise<{ readonly at: number; readonly role: 'primary' | 'replica'; readonly detail?: string }>;
  /** Resolves when the system is fully redundant again (one primary, every replica caught up). */
  waitHealthy(options: WaitOptions): Promise<void>;
  /**
   * Called just before a fault hits `node`: lets the system line the fault up with its own
   * cycle (Patroni: right after the node's heartbeat), so a run is reproducible.
   */
  beforeFault?(node: NodeRef, options: WaitOptions): Promise<void>;
  /** How long a promotion may take by the system's own settings, for the report. */
  readonly electionBound?: string;
  /** The same in ms: no writable node for longer than this after a fault is a `no-primary` finding. */
  readonly electionBoundMs?: number;
  /**
   * Each node asked directly what it is (writable primary, replica, down), for role watching:
   * swimlanes, the old primary's demotion and split brain. Called once per run of the schedule.
   */
  roles?(): readonly RoleSource[];
  /** How long the old primary may keep accepting writes once cut off, by the system's settings. */
  readonly demotionBound?: string;
  /**
   * What the system's client library did that was not the system (a client that ended by itself
   * and was connected again), read once after the schedule: each becomes a warning finding.
   */
  clientIncidents?(): readonly { readonly at: number; readonly title: string; readonly detail: string; readonly evidence?: readonly Evidence[] }[];
  /** Evidence (logs, versions, known upstream issues) for a finding of `kind` about `nodes`. */
  explain?(kind: string, nodes: readonly string[], sinceEpochMs: number): Promise<{ readonly detail?: string; readonly evidence: readonly Evidence[] }>;
}

/** A fault the schedule injected, and what its conditions saw. */
export interface ScheduledFault {
  readonly injected: Injected;
  readonly kind: string;
  readonly scope: string;
  readonly iteration: number;
  readonly variant: string | undefined;
  readonly target: NodeRef;
  /** When the fault started (run clock), just before the Docker call. */
  readonly at: number;
  /** Wall clock of `at`, for log excerpts. */
  readonly atEpochMs: number;
  promoted?: { readonly node: string; readonly at: number };
  healedAt?: number;
}

export interface StepContext<E = unknown, O = unknown> {
  readonly env: E;
  readonly systems: Readonly<Record<string, System>>;
  readonly options: O;
  readonly variant: string | undefined;
  /** 1-based; set by `repeat`. */
  readonly iteration: number;
  readonly run: ChaosRun;
  readonly signal: AbortSignal;
  /** Longest wait of a condition. */
  readonly timeoutMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  phase(name: string): void;
  note(message: string, data?: unknown): void;
  measure(m: Omit<Measurement, 'variant'>): void;
  finding(f: Omit<FindingEvent, 'type' | 'variant' | 'id' | 'evidence'> & { readonly id?: string; readonly evidence?: readonly Evidence[] }): void;
  /**
   * Records what the workflow gathered to prove what happened (a drill's backups, its restore
   * steps, the rows found after it) as an `evidence` event of this variant, on the run clock:
   * `data` (a JSON value) goes to evidence.json under `name` (`name@variant`), `tables` (one text
   * cell per header column) to the report's Evidence section. The same name again replaces it.
   * Throws InvalidArgumentError for a name with `@`, data that is no JSON value, or a bad table.
   */
  evidence(name: string, data: unknown, tables?: readonly EvidenceTable[]): void;
  /** The probes that depend on a scope. */
  probes(scope: string): readonly ProbeLike[];
  /** Faults of this run so far, in order. */
  readonly faults: ScheduledFault[];
  /** The latest fault of a scope that is not healed yet (or the latest of the scope). */
  currentFault(scope: string): ScheduledFault;
  /** Runs nested steps with another iteration number. */
  withIteration(iteration: number): StepContext<E, O>;
}

export interface Step<E = unknown, O = unknown> {
  /** For --dry-run and the console: `inject pause on primaryOf(postgres)`. */
  readonly label: string;
  run(sc: StepContext<E, O>): Promise<void>;
  /**
   * Runs also after an earlier step of the schedule failed (a system that did not recover in
   * time, a step that threw), so what was measured until then is still analysed: a soak that
   * stops at hour 3 of 24 still gets its leak verdicts and its findings. Not when the run is
   * interrupted (Ctrl-C, SIGTERM) or a safeguard tripped: then the teardown comes first.
   */
  readonly always?: boolean;
  /** Nested steps (repeat), for the plan. */
  readonly children?: readonly Step<E, O>[];
  readonly times?: number;
  /**
   * For a fault step: how many containers the fault hits (its blast radius), for --max-targets
   * before anything starts and for --dry-run; undefined when the step does not say (the fault
   * library still refuses it when it is applied).
   */
  readonly targets?: number;
  /** The fault kind, for a step that injects one. */
  readonly fault?: string;
}

/** Selects a fault's target when the step runs. */
export interface TargetSelector<E = unknown> {
  readonly label: string;
  resolve(sc: StepContext<E>): Promise<NodeRef>;
}

export function system(sc: StepContext, scope: string): System {
  const s = sc.systems[scope];
  if (!s) throw new Error(`the environment has no system \`${scope}\` (it has: ${Object.keys(sc.systems).join(', ') || 'none'})`);
  return s;
}

/** The current primary of a system: the Patroni leader, the Redis master. */
export function primaryOf(scope: string): TargetSelector {
  return { label: `primaryOf(${scope})`, resolve: (sc) => system(sc, scope).primary() };
}

/** A fixed node the environment handle names. */
export function node<E>(label: string, pick: (env: E) => NodeRef): TargetSelector<E> {
  return { label, resolve: async (sc) => pick(sc.env) };
}

/** Steady state: the baseline the hypotheses compare against. */
export function steady(ms: number): Step {
  return { label: `steady ${ms} ms`, run: async (sc) => { sc.phase('steady'); await sc.sleep(ms); } };
}

/** Observation after recovery. */
export function observe(ms: number): Step {
  return { label: `observe ${ms} ms`, run: async (sc) => { sc.phase('after'); await sc.sleep(ms); } };
}

/** Keep the current fault in effect for `ms` (a pause of exactly D ms). */
export function hold(ms: number): Step {
  return { label: `hold ${ms} ms`, run: (sc) => sc.sleep(ms) };
}

/** How the runner applies a fault kind to a node (`sc.env` is the environment handle, for faults that cut it up). */
export type FaultApplier<E = unknown> = (run: ChaosRun, target: NodeRef, params: Readonly<Record<string, unknown>>, system: System | undefined, sc: StepContext<E>) => Promise<Injected>;

export const FAULT_KINDS: Readonly<Record<string, FaultApplier>> = {
  kill: (run, t, p) => run.chaos.kill(t.container, typeof p['signal'] === 'string' ? { signal: p['signal'] } : {}),
  stop: (run, t, p) => run.chaos.stop(t.container, { timeoutSeconds: typeof p['timeoutSeconds'] === 'number' ? p['timeoutSeconds'] : 10 }),
  restart: (run, t, p) => run.chaos.restart(t.container, { timeoutSeconds: typeof p['timeoutSeconds'] === 'number' ? p['timeoutSeconds'] : 10 }),
  pause: (run, t) => run.chaos.pause(t.container),
  disconnect: (run, t, _p, s) => run.chaos.disconnect(t.container, s ? { network: s.network } : {}),
};

export type FaultKindName = keyof typeof FAULT_KINDS;

export interface InjectOptions {
  /** The system it hits: probes depending on it are judged on it, conditions wait on it. */
  readonly scope: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /**
   * How many containers the fault hits (its blast radius: a partition of the leader from the
   * four others of its cluster hits five). Default 1 for the built-in kinds (kill, stop,
   * restart, pause, disconnect hit their target); a custom fault that does not say is checked
   * against --max-targets only when the fault library applies it.
   */
  readonly targets?: number;
}

/** A fault kind of the workflow's own (anything the fault library or `chaos.announce` can apply). */
export interface CustomFault<E = unknown> {
  readonly name: string;
  readonly apply: FaultApplier<E>;
}

/**
 * Picks the fault's target. When that fails (no primary to kill: the system is not in its steady
 * state before the fault) nothing is injected: a critical `not-steady` finding with the system's
 * evidence (its logs, its own view), then the error stops the schedule (the write check still runs).
 */
async function resolveBeforeFault<E>(sc: StepContext<E>, target: TargetSelector<E>, kind: string, scope: string): Promise<NodeRef> {
  const since = Date.now() - 60_000;
  try {
    return await target.resolve(sc);
  } catch (e) {
    if (sc.signal.aborted) throw e;
    const sys = sc.systems[scope];
    await explainedFinding(sc, sys, { nodes: [], sinceEpochMs: since }, {
      kind: 'not-steady', severity: 'critical', scope, at: sc.now(), iteration: sc.iteration,
      title: `${sys?.title ?? scope} was not in its steady state before the ${kind}: ${target.label} found no target`,
      detail: `${e instanceof Error ? e.message : String(e)}. No fault was injected; the schedule stopped here and the acknowledged writes were still checked.`,
    });
    throw e;
  }
}

/** Injects a fault of `kind` on the selected target; the start is stamped before the Docker call. */
export function inject<E>(fault: string | CustomFault<E>, target: TargetSelector<E>, options: InjectOptions): Step<E> {
  const kind = typeof fault === 'string' ? fault : fault.name;
  const apply = (typeof fault === 'string' ? FAULT_KINDS[fault] : fault.apply) as FaultApplier<E> | undefined;
  if (!apply) throw new Error(`unknown fault kind \`${kind}\` (known: ${Object.keys(FAULT_KINDS).join(', ')})`);
  const targets = options.targets ?? (typeof fault === 'string' ? 1 : undefined);
  if (targets !== undefined && !(Number.isInteger(targets) && targets >= 1)) throw new Error(`inject ${kind}: targets must be a whole number of containers, at least 1 (got ${targets})`);
  return {
    label: `inject ${kind} on ${target.label} (scope ${options.scope})`,
    fault: kind,
    ...(targets === undefined ? {} : { targets }),
    run: async (sc) => {
      const t = await resolveBeforeFault(sc, target, kind, options.scope);
      sc.note(`${sc.variant ? `[${sc.variant}] ` : ''}iteration ${sc.iteration}: ${kind} ${t.name} (${options.scope})`);
      await sc.systems[options.scope]?.beforeFault?.(t, { timeoutMs: sc.timeoutMs, signal: sc.signal });
      sc.phase('fault');
      const epoch = Date.now();
      const injected = await sc.run.chaos.withTags(
        { scope: options.scope, iteration: sc.iteration, ...(sc.variant ? { variant: sc.variant } : {}) },
        () => apply(sc.run, t, options.params ?? {}, sc.systems[options.scope], sc),
      );
      sc.faults.push({ injected, kind, scope: options.scope, iteration: sc.iteration, variant: sc.variant, target: t, at: injected.injectedAt, atEpochMs: epoch });
    },
  };
}

/** Heals the current fault of `scope` (every unhealed fault when none is given). */
export function heal(scope?: string): Step {
  return {
    label: scope ? `heal ${scope}` : 'heal',
    run: async (sc) => {
      sc.phase('recovery');
      const open = sc.faults.filter((f) => f.healedAt === undefined && (!scope || f.scope === scope));
      for (const f of open) {
        await f.injected.heal();
        f.healedAt = f.injected.healedAt ?? sc.now();
      }
    },
  };
}

/** A named wait on the run's clock and signal. */
export interface Condition {
  readonly label: string;
  run(sc: StepContext): Promise<void>;
}

/** Waits for each condition in turn. */
export function until(...conditions: readonly Condition[]): Step {
  return {
    label: `until ${conditions.map((c) => c.label).join(', ')}`,
    run: async (sc) => {
      for (const c of conditions) await c.run(sc);
    },
  };
}

/** Runs `steps` `times` times, numbering iterations 1..times. */
export function repeat<E, O>(times: number, steps: readonly Step<E, O>[]): Step<E, O> {
  return {
    label: `repeat ${times}×`,
    children: steps,
    times,
    run: async (sc) => {
      for (let i = 1; i <= times; i++) {
        const inner = sc.withIteration(i);
        for (const s of steps) await s.run(inner);
      }
    },
  };
}

/** The system's evidence for a finding; a failure to gather it is itself shown as the evidence. */
export async function explainFinding(sys: System | undefined, kind: string, nodes: readonly string[], sinceEpochMs: number): Promise<{ readonly detail?: string; readonly evidence: readonly Evidence[] } | undefined> {
  try {
    return await sys?.explain?.(kind, nodes, sinceEpochMs);
  } catch (e) {
    return { evidence: [{ label: 'evidence unavailable', text: String(e) }] };
  }
}

/**
 * Records a finding with the system's evidence for it (asked about `explain.nodes` since
 * `explain.sinceEpochMs`): its detail appended to the finding's, its evidence as the finding's.
 */
async function explainedFinding(
  sc: StepContext, sys: System | undefined, explain: { readonly nodes: readonly string[]; readonly sinceEpochMs: number },
  f: Omit<Parameters<StepContext['finding']>[0], 'evidence'> & { readonly detail: string },
): Promise<void> {
  const explained = await explainFinding(sys, f.kind, explain.nodes, explain.sinceEpochMs);
  sc.finding({ ...f, detail: `${f.detail}${explained?.detail ? ` ${explained.detail}` : ''}`, evidence: explained?.evidence ?? [] });
}

/**
 * Runs a condition's wait; when it times out, the system did not get there: a critical
 * `not-recovered` finding with the system's evidence, then the error (the schedule stops, the
 * write check still runs).
 */
async function orFinding<T>(sc: StepContext, scope: string, what: string, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (e) {
    if (!isWaitTimeoutError(e) || sc.signal.aborted) throw e;
    const f = sc.faults.findLast((x) => x.scope === scope);
    const sys = sc.systems[scope];
    await explainedFinding(sc, sys, { nodes: [], sinceEpochMs: f?.atEpochMs ?? Date.now() - 120_000 }, {
      kind: 'not-recovered', severity: 'critical', scope, at: sc.now(),
      ...(f ? { iteration: f.iteration, faultId: f.injected.id, nodes: [f.target.name] } : {}),
      title: `${sys?.title ?? scope} did not get to ${what} within ${Math.round(sc.timeoutMs / 1000)} s${f ? ` after the ${f.kind} of ${f.target.name}` : ''}`,
      detail: `${e.message}. The schedule stopped here; the faults were healed and the acknowledged writes still checked.`,
    });
    throw e;
  }
}

/** A system names a new primary; measured as `election(scope)`, fault start to promotion. */
export function promoted(scope: string): Condition {
  return {
    label: `promoted(${scope})`,
    run: async (sc) => {
      const f = sc.currentFault(scope);
      const sys = system(sc, scope);
      const p = await orFinding(sc, scope, 'a new primary', () => sys.waitForPromotion(f.target.name, { timeoutMs: sc.timeoutMs, signal: sc.signal }));
      f.promoted = { node: p.primary.name, at: p.at };
      sc.measure({
        name: 'election', scope, iteration: f.iteration, unit: 'ms', value: Math.max(0, p.at - f.at),
        description: `fault start to ${sys.title} naming a new primary (${p.primary.name}), polled${sys.electionBound ? `. Bound: ${sys.electionBound}` : ''}`,
      });
    },
  };
}

/** Every probe depending on `scope` succeeded for a full second (what users feel as "back"). */
export function clientsRecovered(scope: string): Condition {
  return {
    label: `clientsRecovered(${scope})`,
    run: async (sc) => {
      const watched = sc.probes(scope);
      if (watched.length === 0) return;
      await orFinding(sc, scope, 'clients succeeding for a full second', () => waitFor(() => watched.every((p) => {
        const s = p.snapshot().lastSecond;
        return s.attempts > 0 && s.availability === 1;
      }), { what: `${watched.map((p) => p.name).join(', ')} to succeed for a full second`, timeoutMs: sc.timeoutMs, intervalMs: 100, signal: sc.signal }));
    },
  };
}

/**
 * The old primary is back in the cluster; measured as `rejoin(scope)`, heal to rejoin. When it
 * came back as the primary the failover did not hold: a finding, with the system's evidence.
 */
export function rejoined(scope: string): Condition {
  return {
    label: `rejoined(${scope})`,
    run: async (sc) => {
      const f = sc.currentFault(scope);
      const sys = system(sc, scope);
      const healedAt = f.healedAt ?? sc.now();
      const r = await orFinding(sc, scope, `${f.target.name} back in the cluster`, () => sys.waitRejoined(f.target.name, { timeoutMs: sc.timeoutMs, signal: sc.signal }));
      sc.measure({
        name: 'rejoin', scope, iteration: f.iteration, unit: 'ms', value: Math.max(0, r.at - healedAt),
        description: `heal of ${f.target.name} to ${sys.title} listing it back, as ${r.role === 'primary' ? 'the primary (it took the lead back)' : 'a replica'}${r.detail ? ` (${r.detail})` : ''}`,
      });
      if (r.role === 'primary' && f.promoted) {
        const nodes = [f.target.name, f.promoted.node];
        await explainedFinding(sc, sys, { nodes, sinceEpochMs: f.atEpochMs }, {
          kind: 'failover-not-held', severity: 'critical', scope, iteration: f.iteration, faultId: f.injected.id,
          at: r.at, nodes,
          title: `the failover to ${f.promoted.node} did not hold: ${f.target.name} took the lead back after the ${f.kind} was healed`,
          detail: `${f.promoted.node} was promoted ${((f.promoted.at - f.at) / 1000).toFixed(2)} s after the ${f.kind} of ${f.target.name}; after the heal ${f.target.name} became the primary again. Writes acknowledged by ${f.promoted.node} in between can be lost when it is turned back into a replica.`,
        });
      }
    },
  };
}

/** Full redundancy again; measured as `redundancy(scope)`, fault start to healthy. */
export function fullRedundancy(scope: string): Condition {
  return {
    label: `fullRedundancy(${scope})`,
    run: async (sc) => {
      const f = sc.currentFault(scope);
      const sys = system(sc, scope);
      await orFinding(sc, scope, 'full redundancy', () => sys.waitHealthy({ timeoutMs: sc.timeoutMs, signal: sc.signal }));
      sc.measure({ name: 'redundancy', scope, iteration: f.iteration, unit: 'ms', value: sc.now() - f.at, description: `fault start to ${sys.title} fully redundant again (one primary, every replica caught up)` });
    },
  };
}

/** Every step of a plan with its nesting, depth first (a repeat's children once). */
export function* planSteps<E, O>(steps: readonly Step<E, O>[]): Generator<Step<E, O>> {
  for (const s of steps) {
    yield s;
    if (s.children) yield* planSteps(s.children);
  }
}

/**
 * The blast-radius cap before anything starts: the fault steps declaring more containers than
 * `max`. Steps that declare no count are listed apart (the fault library checks them when applied).
 */
export function blastRadius<E, O>(steps: readonly Step<E, O>[], max: number): { readonly over: readonly Step<E, O>[]; readonly undeclared: readonly Step<E, O>[] } {
  const all = [...planSteps(steps)].filter((s) => s.fault !== undefined);
  return { over: all.filter((s) => s.targets !== undefined && s.targets > max), undeclared: all.filter((s) => s.targets === undefined) };
}

/** The plan as text lines, for --dry-run. */
export function describePlan(steps: readonly Step[], indent = ''): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    lines.push(`${indent}${s.label}${s.targets === undefined ? '' : ` — hits ${s.targets} container${s.targets === 1 ? '' : 's'}`}${s.always ? ' (also after a failed step)' : ''}`);
    if (s.children) lines.push(...describePlan(s.children, `${indent}  `));
  }
  return lines;
}
