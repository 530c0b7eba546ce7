// The workflow runner. A workflow declares what (options, variants, environment, traffic with
// the scope each probe depends on, a schedule of steps, hypotheses); the runner does how, once
// for every workflow: options -> run -> per variant: environment, probes, schedule, heal
// (always), write check, teardown (always) -> analysis (one streaming pass, live) -> per-fault
// and per-scope RTO -> hypotheses -> verdict -> report, evidence.json, SHA256SUMS -> exit code.
// Ctrl-C heals, tears down and still reports.
import { mkdirSync, existsSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ZodType } from 'zod';
import type { Comparison, LoadedReport } from '@resilience/report';
import {
  ChaosRun, Engine, InvalidArgumentError, JOURNAL_FILE, RunAnalyser, exhaustionFindings, formatDuration, isResilienceError, measurementName, readJournal, toSampleEvent,
  type FindingEvent, type HypothesisResult, type JournalEvent, type MetricUnit, type ProbeLike, type RoleEvent, type RunStatus, type RunSummary,
} from '@resilience/fixtures';
import { parseArgs } from './args.ts';
import { ConsoleReporter, table } from './console.ts';
import { CHECKSUMS_FILE, EVIDENCE_FILE, evidenceData, evidenceEvent, writeChecksums, writeEvidenceFile } from './evidence.ts';
import { ExitCode } from './exit-codes.ts';
import { evaluate, formatThreshold, formatValue, parseHypothesis, type Hypothesis, type HypothesisOutcome } from './hypotheses.ts';
import { MetricRegistry, baseName, metricLookup, type Measurement, type MetricSpec } from './metrics.ts';
import { RoleWatcher, roleMeasurements } from './roles.ts';
import { blastRadius, describePlan, explainFinding, type ScheduledFault, type Step, type StepContext, type System } from './schedule.ts';
import { DEFAULT_ABORT_WINDOW_MS, SafeguardMonitor, parseSafeguard, type Safeguard, type Trip } from './safeguard.ts';
import { parseDuration } from './args.ts';
import { ACK_LOG_DIR } from './ack-log.ts';
import { WriteCollector, writeCheckOutcome, type WriteVerifier } from './writes.ts';
import { LagMonitor, lagFinding } from './lag.ts';
import { ResourceSampler, type ResourceReading } from './resources.ts';
import { checkpointInChild } from './checkpoint.ts';

/** What the environment step gets. */
export interface SetupContext {
  readonly engine: Engine;
  readonly run: ChaosRun;
  readonly signal: AbortSignal;
  /** The run clock (ms since the run started): pass it to environments so their times agree. */
  now(): number;
  readonly variant: string | undefined;
  note(message: string): void;
}

/** A provisioned environment: the typed handle, its systems (for conditions) and its teardown. */
export interface Declared<E> {
  readonly handle: E;
  readonly systems?: Readonly<Record<string, System>>;
  /** Settings for the report (secrets are redacted there). */
  readonly settings?: Record<string, unknown>;
  /** Versions of the systems under test, for the report. */
  readonly versions?: Record<string, string>;
  /** Readings of the systems for the resource sampler (connections, database size, memory), when the workflow samples resources. */
  readonly readings?: () => Promise<readonly ResourceReading[]>;
  teardown(): Promise<void>;
}

/** What a resumed run did before its runner stopped (`--resume <report dir>`). */
export interface ResumeState {
  /** The report folder it goes on in. */
  readonly dir: string;
  /** The run clock (ms) of the last event before the runner stopped, and when it resumed. */
  readonly stoppedAt: number;
  readonly resumedAt: number;
  /** Faults injected before it stopped, in order; healedAt null when the runner did not see the heal (its watchdog healed it). */
  readonly faults: readonly { readonly id: string; readonly kind: string; readonly scope: string | null; readonly iteration: number | null; readonly at: number; readonly healedAt: number | null }[];
  /** How often the run was resumed before this time. */
  readonly resumes: number;
  /** When the schedule's first step began (its first phase), on the run clock; null if it never did. */
  readonly scheduleStartedAt: number | null;
}

export interface TrafficContext {
  now(): number;
  readonly variant: string | undefined;
  /** The probe name to use: `sql-write`, or `sql-write@naive` when the run has several variants. */
  name(base: string): string;
  /** The run's report folder (where the journal is): probes put their attachments there (a failed browser journey's screenshot), named relative to it. */
  readonly reportDir: string;
}

/** One probe of the live traffic, with the scopes its success depends on. */
export interface Traffic {
  readonly probe: ProbeLike;
  /** Systems it depends on (`postgres`, `redis`); [] when it depends on none of the faulted ones. */
  readonly scopes: readonly string[];
  /** For a write probe: how to read its ids back (its acknowledged writes are then verified). */
  readonly verify?: WriteVerifier;
  /** Closes what the probe shares with others (a client), after the probes stopped and the writes were checked. */
  readonly close?: () => void | Promise<void>;
  /**
   * For a write probe: the hypothesis that judges its loss, in place of the default
   * `lostWrites(<probe>) == 0`. For a workflow where some loss is the expected outcome: a DR
   * drill restoring from backup is judged by its RPO (`rpoSeconds(<probe>) <= 5m`), not by
   * losing nothing. The lost writes are still measured, shown and a finding; `--slo` still
   * replaces it like any default. The same in every variant; an InvalidArgumentError (exit 2)
   * for a probe without `verify`, a bad expression, or variants that disagree.
   */
  readonly lossHypothesis?: HypothesisSpec;
  /**
   * For a probe whose answers are checked against the system's contract (an HTTP probe wrapped
   * with `withContract`, fixtures/probes/contract): its tally, read once after the schedule.
   * The runner measures `contractViolations(<probe>)`, makes each probe with violations a
   * critical finding with the first examples, and adds `contractViolations == 0` to the
   * hypotheses (`--slo` replaces it like any default).
   */
  readonly contract?: ContractTally;
  /**
   * What the traffic itself measured, for what only its own operations can tell (a probe pair
   * comparing what one wrote with what the other read: stale reads). Called once after the
   * schedule, when the probes have stopped; its measurements and findings are journaled as the
   * runner's own, with the variant added. A hook that throws is reported and its numbers are
   * missing (a hypothesis on them then fails as unmeasured).
   */
  readonly measure?: () => TrafficMeasures | Promise<TrafficMeasures>;
}

/** What a Traffic's `measure` hook gives back. */
export interface TrafficMeasures {
  readonly measurements: readonly Measurement[];
  readonly findings?: readonly (Omit<FindingEvent, 'type' | 'id' | 'variant'> & { readonly id?: string })[];
}

/** What a contract check counted (a ContractCounter of fixtures/probes/contract is one). */
export interface ContractTally {
  readonly checked: number;
  readonly violations: number;
  readonly examples: readonly { readonly route: string; readonly status: number; readonly path: string; readonly message: string; readonly at: number }[];
}

export type HypothesisSpec = string | { readonly text: string; readonly description?: string };

export interface WorkflowDefinition<O, E = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates the options; keys are camelCase versions of the --kebab-case flags. */
  readonly options: ZodType<O>;
  /** Help text for the options. */
  readonly usage: string;
  /** Metrics the workflow's own steps measure, beyond the runner's. */
  readonly metrics?: readonly MetricSpec[];
  /** The same schedule against several setups, side by side in one report. */
  readonly variants?: (options: O) => readonly string[];
  readonly environment: (options: O, setup: SetupContext) => Promise<Declared<E>>;
  readonly traffic: (env: E, options: O, t: TrafficContext) => readonly Traffic[] | Promise<readonly Traffic[]>;
  /** The steps; a resumed run gets what was done before its runner stopped (see `resumable`). */
  readonly schedule: (options: O, resume?: ResumeState) => readonly Step<E, O>[];
  /**
   * The run can go on after its runner stopped: `--resume <report dir>` appends to its journal
   * with the options it started with and the schedule given the ResumeState. Without it,
   * --resume is bad input.
   */
  readonly resumable?: boolean;
  /** Sample resources of every container of the run and of the runner every `intervalMs` (`resource` events); none when it returns undefined. */
  readonly resources?: (options: O) => { readonly intervalMs: number } | undefined;
  /** Rewrite the report from what was measured every this many ms, so a long run that dies still leaves one. */
  readonly checkpointMs?: (options: O) => number | undefined;
  /** How long a run takes from the first step, for the progress line's ETA. */
  readonly expectedMs?: (options: O) => number;
  /** Default hypotheses; `lostWrites(<probe>) == 0` is added for every write probe (or its Traffic.lossHypothesis). */
  readonly hypotheses: (options: O) => readonly HypothesisSpec[];
  /** Longest wait of a condition (default 60 s). */
  readonly timeoutMs?: (options: O) => number;
  /**
   * The images the options need, each with the flag and value that chose it: checked before
   * anything starts, so a missing one is bad input (exit 2) that names the flag and how to build it.
   */
  readonly images?: (options: O) => readonly { readonly flag: string; readonly value: string; readonly tag: string }[];
}

/**
 * An environment step's result from its provisioned handle: `describe` builds the rest
 * (systems, settings, versions); when it throws, the handle is torn down before the error
 * goes on, so a failed setup leaves nothing behind.
 */
export async function declareEnvironment<E>(handle: E, teardown: () => Promise<void>, describe: () => Promise<Omit<Declared<E>, 'handle' | 'teardown'>>): Promise<Declared<E>> {
  try {
    return { handle, ...(await describe()), teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}

/** A hypothesis as declared (text, or text and description), parsed against the run's metrics. */
function hypothesisOf(spec: HypothesisSpec, registry: MetricRegistry, description?: string): Hypothesis {
  return typeof spec === 'string' ? parseHypothesis(spec, description, registry) : parseHypothesis(spec.text, spec.description ?? description, registry);
}

/** Identity, for type inference: `export const failover = defineWorkflow({...})`. */
export function defineWorkflow<O, E>(def: WorkflowDefinition<O, E>): WorkflowDefinition<O, E> {
  return def;
}

export interface WorkflowResult {
  readonly exitCode: number;
  readonly status: RunStatus;
  readonly outcomes: readonly HypothesisOutcome[];
  readonly summary: RunSummary | null;
  readonly findings: readonly FindingEvent[];
  readonly reportDir: string | undefined;
  readonly files: Record<string, string>;
  /** With `--baseline`: this run compared with the baseline run (its regressions are failed hypotheses of the report). */
  readonly baseline?: Comparison;
}

export interface RunWorkflowOptions {
  readonly argv?: readonly string[];
  /** Where reports go (default dist/reports under the current directory). */
  readonly reportsRoot?: string | undefined;
  readonly out?: NodeJS.WritableStream;
  /** Install SIGINT/SIGTERM handlers (default true). */
  readonly handleSignals?: boolean;
  /** The engine to run on (default: connect to DOCKER_HOST or the local socket). */
  readonly engine?: Engine;
  /** Passed to ChaosRun.start (tests turn the watchdog and the sweep off). */
  readonly run?: { readonly watchdog?: boolean; readonly sweep?: boolean; readonly stateRoot?: string };
  /** How long the environment's teardown may take before the run goes on without it (default 180 s; closing traffic: a sixth of it). */
  readonly teardownTimeoutMs?: number;
}

/** Metrics the runner's conditions measure. */
const CONDITION_METRICS: readonly MetricSpec[] = [
  { name: 'election', unit: 'ms', description: 'fault start to the system naming a new primary' },
  { name: 'demotion', unit: 'ms', description: 'fault start to the old primary no longer accepting writes (polled directly); not measured if it accepted writes until the heal' },
  { name: 'noPrimary', unit: 'ms', description: 'time no node of a system accepted writes (polled directly, every 100 ms), per fault' },
  { name: 'splitBrain', unit: 'ms', description: 'time two or more nodes accepted writes at once (polled directly, every 100 ms)' },
  { name: 'staleAcks', unit: 'count', aggregate: 'sum', description: 'writes of a probe acknowledged by the old primary after a new one was elected' },
  { name: 'ackWindow', unit: 'ms', description: 'fault start to the last write of a probe the cut-off old primary acknowledged (0: none)' },
  { name: 'rejoin', unit: 'ms', description: 'heal to the old primary listed back in the cluster' },
  { name: 'redundancy', unit: 'ms', description: 'fault start to full redundancy again' },
  { name: 'contractViolations', unit: 'count', aggregate: 'sum', description: 'answers of a probe (any status, degraded ones included) that the system\'s contract does not allow' },
];

const key = (h: Hypothesis) => `${h.metric}(${h.args.join(',')})`;

/**
 * User hypotheses replace defaults on the same metric and arguments; one without arguments
 * replaces every default of its metric. A default given twice (the same text: a workflow's own
 * and the lossHypothesis of several write probes) is judged once.
 */
export function mergeHypotheses(defaults: readonly Hypothesis[], user: readonly Hypothesis[]): Hypothesis[] {
  const replaced = new Set(user.map(key));
  const wholeMetric = new Set(user.filter((h) => h.args.length === 0).map((h) => h.metric));
  const seen = new Set<string>();
  const once = (h: Hypothesis) => !seen.has(h.text) && Boolean(seen.add(h.text));
  return [...defaults.filter((h) => !replaced.has(key(h)) && !wholeMetric.has(h.metric) && once(h)), ...user];
}

function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Per fault: faultRto = the worst RTO of the probes judged on it (null when one did not
 * recover); per variant and scope: rtoP50 / rtoP95 / rtoMax over the iterations (null when a
 * fault is unmeasured, so `rtoP95 <= 30s` cannot pass on a fault that never recovered).
 */
export function faultMeasurements(summary: RunSummary): Measurement[] {
  const out: Measurement[] = [];
  const groups = new Map<string, { scope: string; variant: string | undefined; values: (number | null)[] }>();
  for (const f of summary.faults) {
    if (f.scope === null) continue;
    const variant = f.variant ?? undefined;
    const judged = Object.values(summary.probes).map((p) => p.recoveries.find((x) => x.faultId === f.id)).filter((x) => x !== undefined);
    const rto = judged.length === 0 || judged.some((x) => x.rtoMs === null) ? null : Math.max(...judged.map((x) => x.rtoMs!));
    const who = Object.values(summary.probes).filter((p) => p.recoveries.some((x) => x.faultId === f.id)).map((p) => baseName(p.probe));
    out.push({
      name: 'faultRto', scope: f.scope, ...(f.iteration !== null ? { iteration: f.iteration } : {}), ...(variant ? { variant } : {}), unit: 'ms', value: rto,
      description: `client-visible RTO of this ${f.kind}: the worst of ${who.join(', ') || 'no probe'} (fault start to the first of 1 s of consecutive successes)${rto === null ? '; a probe did not recover' : ''}`,
    });
    const k = `${variant ?? ''}\u0000${f.scope}`;
    const g = groups.get(k) ?? { scope: f.scope, variant, values: [] };
    g.values.push(rto);
    groups.set(k, g);
  }
  for (const g of groups.values()) {
    const measured = g.values.every((v) => v !== null);
    const sorted = measured ? (g.values as number[]).slice().sort((a, b) => a - b) : [];
    const over = `over ${g.values.length} fault(s) of ${g.scope}, nearest rank${measured ? '' : '; not measured: a fault did not recover'}`;
    const v = g.variant ? { variant: g.variant } : {};
    out.push({ name: 'rtoP50', scope: g.scope, ...v, unit: 'ms', value: measured ? nearestRank(sorted, 50) : null, description: `median faultRto ${over}` });
    out.push({ name: 'rtoP95', scope: g.scope, ...v, unit: 'ms', value: measured ? nearestRank(sorted, 95) : null, description: `95th percentile faultRto ${over}` });
    out.push({ name: 'rtoMax', scope: g.scope, ...v, unit: 'ms', value: measured ? sorted.at(-1)! : null, description: `worst faultRto ${over}` });
  }
  return out;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What --dry-run prints of the baseline. */
function baselineLine(b: { readonly loaded: LoadedReport; readonly given: string; readonly tolerance: number }): string {
  const r = b.loaded.report;
  return `baseline (--baseline): ${b.loaded.path}, run ${r.run.id} of ${r.run.workflow} started ${r.run.startedAt} (${r.verdict.outcome}, ${r.probes.length} probe${r.probes.length === 1 ? '' : 's'}, ${r.faultCount} fault${r.faultCount === 1 ? '' : 's'}); `
    + `at the end RTO, time to detect, availability, p99 and lost writes per probe and scope are compared with it, and a regression beyond the run-to-run noise fails the run `
    + `(where the noise is unknown, ${Number((b.tolerance * 100).toPrecision(6))} % of the baseline is allowed; --baseline-tolerance)`;
}

/** What --dry-run prints of the safeguards and the blast-radius cap. */
function safetyLines(safeguards: readonly Safeguard[], windowMs: number, maxTargets: number | undefined, steps: readonly Step[]): string[] {
  const out: string[] = [];
  if (safeguards.length) {
    out.push(`safeguards (--abort-if; checked every 250 ms, availability and latency over the last ${formatDuration(windowMs)}; when one is true every fault is healed at once and the run ends FAILED):`);
    for (const s of safeguards) out.push(`  ${s.text}${s.over === 'so far' ? ' (its value so far)' : ''}`);
  }
  if (maxTargets !== undefined) {
    const { undeclared } = blastRadius(steps, maxTargets);
    out.push(`blast radius: at most ${maxTargets} container${maxTargets === 1 ? '' : 's'} per fault (--max-targets)${undeclared.length ? `; ${undeclared.map((x) => `\`${x.label}\``).join(', ')} declare${undeclared.length === 1 ? 's' : ''} no count and ${undeclared.length === 1 ? 'is' : 'are'} checked when applied` : ''}`);
  }
  return out;
}

function help<O>(def: WorkflowDefinition<O, unknown>): string {
  return `${def.name}: ${def.description}\n\n${def.usage}\n\n  --slo EXPR   add or replace a hypothesis, e.g. --slo "rto<=30s" or --slo "lostWrites(redis-write) <= 100" (repeatable)\n  --dry-run    print the plan (variants, steps, hypotheses) and start nothing\n  --no-png     skip the PNG of the HTML report\n  --metrics-port N   serve live metrics for Prometheus on 127.0.0.1:N/metrics (0 picks a port)\n  --abort-if EXPR    a safeguard, e.g. --abort-if "availability(fault) < 50%": watched every 250 ms over the last --abort-window; when true every fault is healed at once and the run ends FAILED with a finding (repeatable)\n  --abort-window D   the safeguards' window (default 10s)\n  --max-targets N    refuse (before anything starts) a fault that would hit more than N containers\n  --baseline PATH    compare the run with a baseline run's report (its report.json or folder): RTO, time to detect, availability, p99 and lost writes per probe and scope; a regression beyond the run-to-run noise is a failed hypothesis (the run ends FAILED) and the report shows the baseline beside the run\n  --baseline-tolerance T   allowed change where the noise is unknown (one sample in a run), e.g. 20% (default)\n${def.resumable ? '  --resume DIR go on with a run whose runner stopped (its report folder), with the options it started with\n' : ''}  --help       this text\n\nExit codes: 0 passed, 1 a hypothesis failed, 2 bad input or setup error, 3 a heal failed, 130 interrupted.`;
}

function parseOptions<O>(def: WorkflowDefinition<O, unknown>, values: Record<string, unknown>): O {
  const parsed = def.options.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (issue?.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    throw new InvalidArgumentError('option', keys.map(flag).join(', '), 'one of the options listed by --help');
  }
  const expected = (issue?.message ?? 'a valid value (see --help)')
    .replace(/^Invalid (option|input): expected /, '')
    .replace(/^Too (small|big): expected (\w+) to (be|have) /, 'a $2 ')
    .replace(/"\|"/g, '", "');
  throw new InvalidArgumentError(flag(path), values[path], expected);
}

/** A stopped run read back for --resume: its analysis so far, its options, what it did. */
interface Resumable {
  readonly dir: string;
  readonly analyser: RunAnalyser;
  readonly given: { readonly values: Record<string, unknown>; readonly slo: string[]; readonly abortIf: string[] };
  readonly startedAt: string;
  readonly runId: string;
  readonly stoppedAt: number;
  readonly faults: ResumeState['faults'];
  readonly resumes: number;
  readonly acked: number;
  readonly scheduleStartedAt: number | null;
  /** Measurements journalled before the runner stopped, for the hypotheses. */
  readonly measurements: readonly Measurement[];
}

/** Reads a stopped run's journal for --resume; bad input (exit 2) when it is not one. */
async function resumeState(workflow: string, dir: string): Promise<Resumable> {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) throw new InvalidArgumentError('--resume', dir, `the report folder of a run (with a ${JOURNAL_FILE})`);
  const analyser = new RunAnalyser();
  let start: Extract<JournalEvent, { type: 'run-start' }> | undefined;
  let stoppedAt = 0;
  let resumes = 0;
  let acked = 0;
  let scheduleStartedAt: number | null = null;
  const measurements: Measurement[] = [];
  const faults = new Map<string, { id: string; kind: string; scope: string | null; iteration: number | null; at: number; healedAt: number | null }>();
  for await (const e of readJournal(path)) {
    if (e.type === 'run-start') {
      if (start) continue;
      start = e;
      if (e.workflow !== workflow) throw new InvalidArgumentError('--resume', dir, `a run of ${workflow} (it is a run of ${e.workflow})`);
    }
    if (e.type === 'run-end' && e.status !== 'interrupted') throw new InvalidArgumentError('--resume', dir, `a run whose runner stopped or was interrupted before the end (this one ended: ${e.status})`);
    if (e.type === 'note' && (e.data as { resumed?: unknown } | undefined)?.resumed === true) resumes += 1;
    if (e.type === 'fault-injected') faults.set(e.id, { id: e.id, kind: e.kind, scope: e.scope ?? null, iteration: e.iteration ?? null, at: e.at, healedAt: null });
    if (e.type === 'fault-healed') {
      const f = faults.get(e.id);
      if (f) f.healedAt = e.at;
    }
    if (e.type === 'sample' && e.ok && e.writeId !== undefined) acked += 1;
    if (e.type === 'phase' && scheduleStartedAt === null) scheduleStartedAt = e.at;
    if (e.type === 'measurement') {
      const { type: _t, at: _a, ...m } = e;
      measurements.push(m);
    }
    const at = e.type === 'sample' ? e.completed : (e as { at?: unknown }).at;
    if (typeof at === 'number' && at > stoppedAt) stoppedAt = at;
    analyser.push(e);
  }
  if (!start) throw new InvalidArgumentError('--resume', dir, `a folder whose ${JOURNAL_FILE} begins with run-start`);
  const g = (start.meta as { given?: { values?: unknown; slo?: unknown; abortIf?: unknown } } | undefined)?.given;
  if (!g || typeof g.values !== 'object' || g.values === null || !Array.isArray(g.slo)) {
    throw new InvalidArgumentError('--resume', dir, 'a run whose journal records the options it started with (runs of this version do)');
  }
  return { dir, analyser, given: { values: { ...(g.values as Record<string, unknown>) }, slo: g.slo.map(String), abortIf: Array.isArray(g.abortIf) ? g.abortIf.map(String) : [] }, startedAt: start.startedAt, runId: start.runId, stoppedAt, faults: [...faults.values()], resumes, acked, scheduleStartedAt, measurements };
}

export async function runWorkflow<O, E>(def: WorkflowDefinition<O, E>, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  const out = options.out ?? process.stdout;
  const write = (s: string) => out.write(s.endsWith('\n') ? s : `${s}\n`);
  const empty = (exitCode: number, status: RunStatus): WorkflowResult => ({ exitCode, status, outcomes: [], summary: null, findings: [], reportDir: undefined, files: {} });
  const registry = new MetricRegistry([...CONDITION_METRICS, ...(def.metrics ?? [])]);

  // 1. Options and hypotheses: every problem is reported before anything starts.
  let opts: O;
  let userHypotheses: Hypothesis[];
  let defaults: Hypothesis[];
  let variants: readonly string[];
  let png = true;
  let dryRun = false;
  let metricsPort: number | undefined;
  let resume: Resumable | undefined;
  /** The options as given (before validation), the --slo and --abort-if expressions: the journal keeps them for --resume. */
  let given: { values: Record<string, unknown>; slo: string[]; abortIf: string[] };
  let safeguards: Safeguard[] = [];
  let abortWindowMs = DEFAULT_ABORT_WINDOW_MS;
  let maxTargets: number | undefined;
  let baseline: { readonly loaded: LoadedReport; readonly given: string; readonly tolerance: number } | undefined;
  try {
    const args = parseArgs(options.argv ?? process.argv.slice(2));
    if (args.help) {
      write(help(def as WorkflowDefinition<O, unknown>));
      return empty(ExitCode.passed, 'completed');
    }
    let values: Record<string, unknown> = { ...args.values };
    let slo = args.slo;
    let abortIf = args.abortIf;
    for (const [k, set] of [['png', (v: boolean) => (png = v)], ['dryRun', (v: boolean) => (dryRun = v)]] as const) {
      if (k in values) {
        const v = values[k];
        if (v !== true && v !== false && v !== 'true' && v !== 'false') throw new InvalidArgumentError(`--${k === 'dryRun' ? 'dry-run' : k}`, v, 'no value, true or false');
        set(v === true || v === 'true');
        delete values[k];
      }
    }
    if ('metricsPort' in values) {
      const v = values['metricsPort'];
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
      if (!(Number.isInteger(n) && n >= 0 && n <= 65_535)) throw new InvalidArgumentError('--metrics-port', v, 'a TCP port number from 0 to 65535 (0 picks a free one), served on 127.0.0.1');
      metricsPort = n;
      delete values['metricsPort'];
    }
    if ('resume' in values) {
      const dir = values['resume'];
      delete values['resume'];
      if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError('--resume', dir, 'the report folder of a run whose runner stopped');
      if (!def.resumable) throw new InvalidArgumentError('--resume', dir, `a workflow that can resume (${def.name} cannot: run it again)`);
      if (Object.keys(values).length || slo.length || abortIf.length) {
        throw new InvalidArgumentError('--resume', [...Object.keys(values).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`), ...(slo.length ? ['--slo'] : []), ...(abortIf.length ? ['--abort-if'] : [])].join(', '), 'no other option: a resumed run keeps the options it started with (only --metrics-port and --no-png may be given)');
      }
      resume = await resumeState(def.name, resolve(dir));
      values = resume.given.values;
      slo = resume.given.slo;
      abortIf = resume.given.abortIf;
    }
    given = { values, slo, abortIf };
    // The safety options (kept with the others for --resume).
    values = { ...values };
    if ('maxTargets' in values) {
      const v = values['maxTargets'];
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
      if (!(Number.isInteger(n) && n >= 1)) throw new InvalidArgumentError('--max-targets', v, 'a whole number of containers, at least 1');
      maxTargets = n;
      delete values['maxTargets'];
    }
    if ('abortWindow' in values) {
      const v = values['abortWindow'];
      abortWindowMs = parseDuration('--abort-window', typeof v === 'string' ? v : String(v));
      delete values['abortWindow'];
    }
    // The baseline is read and checked now: a missing or foreign report is bad input, nothing started.
    if ('baselineTolerance' in values && !('baseline' in values)) throw new InvalidArgumentError('--baseline-tolerance', values['baselineTolerance'], 'given with --baseline');
    if ('baseline' in values) {
      const v = values['baseline'];
      delete values['baseline'];
      const t = values['baselineTolerance'];
      delete values['baselineTolerance'];
      if (typeof v !== 'string' || v === '') throw new InvalidArgumentError('--baseline', v, 'the report.json (or report folder) of an earlier run of this workflow');
      const report = await import('@resilience/report');
      const tolerance = t === undefined ? report.DEFAULT_TOLERANCE : report.parseTolerance(String(t), '--baseline-tolerance');
      baseline = { loaded: await report.loadReport(resolve(v), '--baseline', { workflow: def.name }), given: v, tolerance };
    }
    safeguards = abortIf.map((text) => parseSafeguard(text, registry));
    opts = parseOptions(def as WorkflowDefinition<O, unknown>, values);
    userHypotheses = slo.map((s) => parseHypothesis(s, undefined, registry));
    defaults = def.hypotheses(opts).map((h) => hypothesisOf(h, registry));
    variants = def.variants?.(opts) ?? [];
    if (new Set(variants).size !== variants.length || variants.some((v) => !/^[a-z0-9][a-z0-9-]*$/i.test(v))) throw new InvalidArgumentError('variants', variants.join(', '), 'distinct names of letters, digits and dashes');
    // The blast-radius cap, on the plan: a fault declared to hit more containers is refused before anything starts.
    if (maxTargets !== undefined) {
      const { over } = blastRadius(def.schedule(opts) as readonly Step[], maxTargets);
      if (over.length) {
        throw new InvalidArgumentError('--max-targets', maxTargets, `at least ${Math.max(...over.map((x) => x.targets!))} for this plan: ${over.map((x) => `\`${x.label}\` hits ${x.targets} containers`).join('; ')}`);
      }
    }
  } catch (e) {
    write(`${def.name}: ${errorText(e)}\nSee --help. Nothing was started.`);
    return empty(ExitCode.badInput, 'aborted');
  }
  const timeoutMs = def.timeoutMs?.(opts) ?? 60_000;

  if (dryRun) {
    write(`${def.name} (dry run: nothing is started)`);
    write(`options: ${JSON.stringify(opts)}`);
    write(`report: report.json, junit.xml, summary.md, report.html${png ? ', report.png' : ' (no PNG)'}, ${EVIDENCE_FILE} (when the workflow gathers evidence), ${CHECKSUMS_FILE}`);
    write(`variants: ${variants.length ? variants.join(', ') : '(one)'}`);
    write('schedule, per variant:');
    for (const line of describePlan(def.schedule(opts) as readonly Step[])) write(`  ${line}`);
    write('hypotheses (plus lostWrites(<probe>) == 0 for every write probe whose traffic names no lossHypothesis; the run prints the probes that do):');
    for (const h of mergeHypotheses(defaults, userHypotheses)) write(`  ${h.text}`);
    for (const line of safetyLines(safeguards, abortWindowMs, maxTargets, def.schedule(opts) as readonly Step[])) write(line);
    if (baseline) write(baselineLine(baseline));
    return empty(ExitCode.passed, 'completed');
  }

  // The images the options need exist (nothing is started otherwise).
  let engine = options.engine;
  const images = def.images?.(opts) ?? [];
  if (images.length) {
    try {
      engine ??= await Engine.connect();
      for (const img of images) {
        const built = await engine.docker.getImage(img.tag).inspect().then(() => true, () => false);
        if (!built) throw new InvalidArgumentError(img.flag, img.value, `an image that is built (${img.tag} is not; build it with \`npx nx run docker:images\`)`);
      }
    } catch (e) {
      write(`${def.name}: ${errorText(e)}\nNothing was started.`);
      return empty(ExitCode.badInput, 'aborted');
    }
  }

  // 2. The run: engine, ledger, watchdog, journal in the report folder, live analysis.
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const reportDir = resume?.dir ?? resolve(options.reportsRoot ?? process.env['RESILIENCE_REPORTS_DIR'] ?? join(process.cwd(), 'dist', 'reports'), `${def.name}-${stamp}`);
  mkdirSync(reportDir, { recursive: true });
  // A killed runner's write logs: its writes went with its environment (see the resume finding).
  if (resume) rmSync(join(reportDir, ACK_LOG_DIR), { recursive: true, force: true });
  let run: ChaosRun;
  try {
    run = await ChaosRun.start({
      ...options.run, ...(engine ? { engine } : {}), workflow: def.name, journalDir: reportDir, handleSignals: false, ...(resume ? { resume: true } : {}),
      meta: { hypotheses: mergeHypotheses(defaults, userHypotheses).map((h) => h.text), variants, given },
      ...(maxTargets === undefined ? {} : { maxTargets }),
    });
  } catch (e) {
    write(`${def.name}: ${errorText(e)}`);
    return empty(isResilienceError(e) && e.exitCode === 2 ? ExitCode.badInput : ExitCode.failed, 'aborted');
  }
  // The analysis follows the events as they happen: one pass, nothing re-read (a resumed run's
  // analyser has read what was journalled before its runner stopped).
  const analyser = resume?.analyser ?? new RunAnalyser();
  const startedAt = run.journal?.startedAt ?? new Date().toISOString();
  if (!resume) analyser.push({ type: 'run-start', runId: run.runId, workflow: def.name, startedAt, at: 0 });
  const stopAnalysis = run.bus.subscribe((e) => analyser.push(e));
  let resumed: ResumeState | undefined;
  if (resume) {
    const resumedAt = run.resumed?.resumedAt ?? run.now();
    resumed = { dir: resume.dir, stoppedAt: resume.stoppedAt, resumedAt, faults: resume.faults, resumes: resume.resumes, scheduleStartedAt: resume.scheduleStartedAt };
  }
  const schedule = def.schedule(opts, resumed);
  let exporter: { close(): Promise<void> } | undefined;
  if (metricsPort !== undefined) {
    try {
      const { MetricsExporter } = await import('./prometheus.ts');
      const m = new MetricsExporter({ workflow: def.name, runId: run.runId });
      const stopExport = run.bus.subscribe((e) => m.observe(e));
      const served = await m.listen(metricsPort);
      write(`metrics: ${served.url} (Prometheus text format, 127.0.0.1 only)`);
      exporter = { close: async () => { stopExport(); await served.close(); } };
    } catch (e) {
      write(`${def.name}: ${errorText(e)}\nNothing was started.`);
      await run.close('aborted').catch(() => undefined);
      if (!resume) await rm(reportDir, { recursive: true, force: true });
      return empty(ExitCode.badInput, 'aborted');
    }
  }

  const abort = new AbortController();
  const con = new ConsoleReporter(() => run.now(), { out });
  con.attach(run.bus);

  let interrupts = 0;
  /** An emergency stop (`npm run stop`) is seen by its SIGTERM or, without one, by this poll. */
  let stopSeen = false;
  const onStop = (): boolean => {
    const stop = run.ledger.stopRequest();
    if (!stop || stopSeen) return stop !== undefined;
    stopSeen = true;
    const keep = !stop.remove;
    const message = `emergency stop (\`npm run stop\`, pid ${stop.pid}) at ${new Date(stop.at).toISOString()}: it healed the faults in effect; the run ends here with a partial report${keep ? ', and its containers stay for inspection (`npm run cleanup -- --all` removes them)' : ''}`;
    con.line(`STOPPED: ${message}`);
    emit({ type: 'note', at: run.now(), message, data: { emergencyStop: { at: stop.at, pid: stop.pid, remove: stop.remove } } });
    abort.abort(new Error('stopped by `npm run stop`'));
    return true;
  };
  const stopPoll = setInterval(onStop, 250);
  stopPoll.unref();
  // Safeguards (--abort-if): judged every 250 ms on what the probes saw; when one holds, the
  // schedule is stopped, every fault healed at once, and the run ends FAILED with a finding.
  let tripped: Trip | undefined;
  let tripping: Promise<void> | undefined;
  const tripText = (t: Trip) => `safeguard tripped: ${t.safeguard.text} (observed ${formatValue(t.observed, t.safeguard.unit)}, ${t.basis})`;
  const trip = async (t: Trip) => {
    tripped = t;
    con.line(`SAFEGUARD: ${tripText(t)} — healing every fault now and ending the run`);
    abort.abort(new Error(tripText(t)));
    const open = run.chaos.active.map((f) => `${f.kind} ${f.id} on ${f.targets.map((x) => x.name).join(', ')}`);
    const started = performance.now();
    await healEverything();
    const healMs = performance.now() - started;
    finding({
      id: 'safeguard-tripped', kind: 'safeguard-tripped', severity: 'critical', at: t.at,
      title: `safeguard tripped: ${t.safeguard.text} (observed ${formatValue(t.observed, t.safeguard.unit)})`,
      detail: `The safeguard \`--abort-if ${t.safeguard.text}\` held at ${formatDuration(t.at)} over ${t.basis}. ${open.length ? `Every fault in effect was healed at once (${open.length} in ${Math.round(healMs)} ms)` : 'No fault was in effect'}, the schedule stopped there and the run ended FAILED; the hypotheses are judged on what was measured until then, and the acknowledged writes were still checked.`,
      evidence: [
        { label: 'safeguard', text: `--abort-if ${t.safeguard.text} (${t.safeguard.over === 'window' ? `over the last ${formatDuration(monitor?.windowMs ?? abortWindowMs)}` : 'its value so far'}): observed ${formatValue(t.observed, t.safeguard.unit)}` },
        { label: 'healed at once', text: open.join('\n') || 'no fault was in effect' },
      ],
    });
  };
  const monitor = safeguards.length ? new SafeguardMonitor(safeguards, { windowMs: abortWindowMs, registry }) : undefined;
  const stopWatching = monitor ? run.bus.subscribe((e) => monitor.observe(e)) : undefined;
  const guardPoll = monitor ? setInterval(() => {
    if (tripped || abort.signal.aborted) return;
    const t = monitor.check(run.now());
    if (t) tripping = trip(t);
  }, 250) : undefined;
  guardPoll?.unref();
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      if (onStop()) return;
      con.line(`${signal}: interrupting — healing faults, tearing down, writing a partial report (again to force)`);
      abort.abort(new Error(`interrupted by ${signal}`));
    } else {
      con.line(`${signal} again: removing the run's containers and exiting`);
      void run.close('interrupted').finally(() => process.exit(ExitCode.interrupted));
    }
  };
  if (options.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const measurements: Measurement[] = [];
  const findings: FindingEvent[] = [];
  const settings: Record<string, unknown> = {
    options: opts,
    ...(baseline ? { baseline: { report: baseline.loaded.path, run: baseline.loaded.report.run.id, tolerance: baseline.tolerance } } : {}),
    ...(safeguards.length || maxTargets !== undefined ? { safety: { ...(safeguards.length ? { abortIf: safeguards.map((x) => x.text), abortWindow: formatDuration(abortWindowMs) } : {}), ...(maxTargets === undefined ? {} : { maxTargets }) } } : {}),
  };
  const environment: Record<string, unknown> = {};
  /** Per write probe (base name): the hypothesis that judges its loss, null for lostWrites(<probe>) == 0. */
  const lossJudges = new Map<string, Hypothesis | null>();
  /** Whether any probe's answers were checked against a contract (contractViolations == 0 is then a default hypothesis). */
  let contractsChecked = false;
  const allProbes: ProbeLike[] = [];
  const emit = (e: JournalEvent) => run.emit(e);
  const measure = (m: Measurement) => {
    measurements.push(m);
    emit({ type: 'measurement', at: run.now(), ...m });
  };
  const finding = (f: Omit<FindingEvent, 'type' | 'id'> & { id?: string }) => {
    const id = f.id ?? `${f.kind}:${findings.length + 1}`;
    const event: FindingEvent = { ...f, type: 'finding', id };
    findings.push(event);
    emit(event);
  };
  /** Records which hypothesis judges a write probe's loss (the same in every variant), and says so when it is not the default. */
  const judgeLoss = (t: Traffic) => {
    const base = baseName(t.probe.name);
    const judge = t.lossHypothesis === undefined ? null : hypothesisOf(t.lossHypothesis, registry, `the loss accepted for ${base}, in place of lostWrites(${base}) == 0`);
    if (lossJudges.has(base)) {
      const known = lossJudges.get(base)?.text ?? `lostWrites(${base}) == 0`;
      if ((judge?.text ?? `lostWrites(${base}) == 0`) !== known) throw new InvalidArgumentError(`lossHypothesis of ${t.probe.name}`, judge?.text ?? '(none)', `the same in every variant (${known} in the first)`);
      return;
    }
    lossJudges.set(base, judge);
    if (judge) con.line(`${base}: its loss is judged by ${judge.text} (its lossHypothesis), not lostWrites(${base}) == 0`);
  };
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal });
  const teardownMs = options.teardownTimeoutMs ?? 180_000;
  /**
   * A step of the teardown that must not hold the run forever (a client waiting on a server that
   * never answers): after `ms` it is left running and the teardown goes on; the run's close then
   * removes every container, network and volume of the run by label.
   */
  const bounded = async (ms: number, what: string, fn: () => unknown): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        con.line(`${what} did not finish within ${ms / 1000} s; going on (the run's Docker objects are removed by label next)`);
        emit({ type: 'note', at: run.now(), message: `${what} did not finish within ${ms / 1000} s`, data: { teardownTimeout: what } });
        resolve();
      }, ms);
    });
    try {
      await Promise.race([Promise.resolve().then(fn), late]);
    } finally {
      clearTimeout(timer);
    }
  };
  let healFailed = false;
  /** Heals every fault still in effect; a heal that fails is printed and makes the exit code 3. */
  const healEverything = async () => {
    const errors = await run.chaos.healAll();
    if (errors.length) healFailed = true;
    for (const e of errors) con.line(`HEAL FAILED: ${e.message}`);
  };

  if (resume && resumed) {
    // What the runner's death did: its watchdog healed the faults in effect and removed the
    // environment. The heal is journalled at the last event seen, the gap is a finding.
    const open = resume.faults.filter((f) => f.healedAt === null);
    for (const f of open) run.emit({ type: 'fault-healed', id: f.id, at: resume.stoppedAt });
    const downS = ((resumed.resumedAt - resume.stoppedAt) / 1000).toFixed(1);
    run.emit({
      type: 'note', at: run.now(),
      message: `resumed ${resume.dir}: the runner stopped at ${formatDuration(resume.stoppedAt)} (its last event) and is back at ${formatDuration(resumed.resumedAt)}, ${downS} s later; the environment is provisioned again`,
      data: { resumed: true, stoppedAt: resume.stoppedAt, resumedAt: resumed.resumedAt, healedByWatchdog: open.map((f) => f.id), resumes: resume.resumes + 1 },
    });
    finding({
      id: `runner-stopped:${resume.resumes + 1}`, kind: 'runner-stopped', severity: 'warning', at: resume.stoppedAt, until: resumed.resumedAt,
      title: `the runner stopped for ${downS} s and the run was resumed`,
      detail: `Nothing was measured from ${formatDuration(resume.stoppedAt)} to ${formatDuration(resumed.resumedAt)}: no traffic ran and that time counts in no availability. The runner's watchdog removed the environment${open.length ? ` and healed ${open.map((f) => `${f.kind} ${f.id}`).join(', ')} (its recovery was not observed: its RTO, if any, runs to the first success after the resume)` : ''}; a fresh one was provisioned. The ${resume.acked.toLocaleString('en-US')} writes acknowledged before the stop went with the old environment and could not be read back: lostWrites counts the writes after the resume only.`,
      evidence: [{ label: 'journal', text: `${join(resume.dir, JOURNAL_FILE)}: a new segment begins after the stop` }],
    });
  }
  // Checkpoints: the report rewritten from the journal (file by file, each replaced atomically),
  // with the hypotheses judged on what was measured so far; no PNG.
  const checkpointEvery = def.checkpointMs?.(opts);
  const checkpoint = async () => {
    if (!run.journal) return;
    const started = performance.now();
    await run.journal.flush();
    const writeDefaults = [...lossJudges].map(([p, judge]) => judge ?? parseHypothesis(`lostWrites(${p}) == 0`, `acknowledged writes of ${p} missing after recovery`, registry));
    const r = await checkpointInChild({
      journalPath: run.journal.path, reportDir,
      hypotheses: mergeHypotheses([...defaults, ...writeDefaults], userHypotheses).map((h) => ({ text: h.text, ...(h.description ? { description: h.description } : {}) })),
      metrics: [...CONDITION_METRICS, ...(def.metrics ?? [])], variants: [...variants],
      settings: { ...settings, checkpoint: { at: formatDuration(run.now()), note: 'written while the run goes on: it ends as interrupted if the runner stops before the end; the final report replaces it' } },
      environment,
    });
    con.line(`checkpoint: report rewritten in ${((performance.now() - started) / 1000).toFixed(1)} s, in a child process (of ${r.total} hypotheses: ${r.holding} holding, ${r.failing} failing, ${r.unmeasured} not measured yet)`);
  };
  let checkpointing: Promise<void> | undefined;
  const checkpointTimer = checkpointEvery === undefined ? undefined : setInterval(() => {
    checkpointing ??= checkpoint().catch((e: unknown) => con.line(`checkpoint failed: ${errorText(e)}`)).finally(() => { checkpointing = undefined; });
  }, checkpointEvery);

  // 3. The method, per variant. Heals and teardowns always run.
  let status: RunStatus = 'completed';
  let failure: unknown;
  const variantList: readonly (string | undefined)[] = variants.length ? variants : [undefined];
  // The runner's own timers, judged while traffic runs: a starved runner's failures are not the system's.
  const lag = new LagMonitor({ now: () => run.now() });
  let variantFailure: unknown;
  try {
    for (const variant of variantList) {
      if (variant) emit({ type: 'variant', name: variant, at: run.now() });
      con.line(`provisioning the environment${variant ? ` for variant ${variant}` : ''}`);
      const env = await def.environment(opts, { engine: run.engine, run, signal: abort.signal, now: () => run.now(), variant, note: (m) => con.line(m) });
      const probes: ProbeLike[] = [];
      let sampler: ResourceSampler | undefined;
      const watchers: RoleWatcher[] = [];
      const closers: (() => void | Promise<void>)[] = [];
      try {
        if (env.settings) settings[variant ? `environment@${variant}` : 'environment'] = env.settings;
        for (const [k, v] of Object.entries(env.versions ?? {})) environment[variant ? `${k}@${variant}` : k] = v;
        const name = (base: string) => (variant && variantList.length > 1 ? `${base}@${variant}` : base);
        const traffic = await def.traffic(env.handle, opts, { now: () => run.now(), variant, name, reportDir });
        const collectors: { traffic: Traffic; collector: WriteCollector }[] = [];
        const byScope = new Map<string, ProbeLike[]>();
        for (const t of traffic) {
          if (t.close) closers.push(t.close);
          emit({ type: 'probe', name: t.probe.name, op: t.probe.op, scopes: [...t.scopes], intervalMs: t.probe.intervalMs, writes: Boolean(t.verify), ...(variant ? { variant } : {}), at: run.now() });
          // Its writes go to a log in the report folder (not to memory), removed once checked.
          const collector = t.verify ? new WriteCollector(t.probe.name, { spillDir: reportDir }) : undefined;
          if (collector) {
            closers.push(() => collector.close());
            collectors.push({ traffic: t, collector });
            judgeLoss(t);
          } else if (t.lossHypothesis !== undefined) {
            throw new InvalidArgumentError(`lossHypothesis of ${t.probe.name}`, t.lossHypothesis, 'set only on a write probe (one with `verify`)');
          }
          t.probe.subscribe((s) => {
            const e = toSampleEvent(s);
            emit(e);
            collector?.push(e);
          });
          for (const s of t.scopes) byScope.set(s, [...(byScope.get(s) ?? []), t.probe]);
          await t.probe.start();
          probes.push(t.probe);
          allProbes.push(t.probe);
          con.watch(allProbes.filter((p) => p.state === 'running'));
        }
        lag.start();
        const systems = env.systems ?? {};
        const plan = def.resources?.(opts);
        if (plan) {
          const failing = new Set<string>();
          sampler = new ResourceSampler({
            engine: run.engine, intervalMs: plan.intervalMs, now: () => run.now(), emit, ...(env.readings ? { readings: env.readings } : {}),
            onError: (source, e) => {
              if (failing.has(source)) return;
              failing.add(source);
              con.line(`resource sampling (${source}) failed, skipped until it works: ${errorText(e)}`);
            },
          }).start();
        }
        const mine: ScheduledFault[] = [];
        const makeContext = (iteration: number): StepContext<E, O> => ({
          env: env.handle, systems, options: opts, variant, iteration, run, signal: abort.signal, timeoutMs,
          now: () => run.now(),
          sleep: pause,
          phase: (n) => emit({ type: 'phase', name: n, at: run.now(), ...(variant ? { variant } : {}) }),
          note: (message, data) => emit({ type: 'note', at: run.now(), message, ...(data === undefined ? {} : { data }) }),
          measure: (m) => measure({ ...m, ...(variant ? { variant } : {}) }),
          finding: (f) => finding({ ...f, evidence: f.evidence ?? [], ...(variant ? { variant } : {}) }),
          evidence: (n, data, tables = []) => emit(evidenceEvent(n, data, tables, run.now(), variant)),
          probes: (scope) => byScope.get(scope) ?? [],
          faults: mine,
          currentFault: (scope) => {
            const f = [...mine].reverse().find((x) => x.scope === scope);
            if (!f) throw new Error(`no fault of scope \`${scope}\` was injected before this step`);
            return f;
          },
          withIteration: (i) => makeContext(i),
        });
        // Every node of a system with role sources is asked directly what it is, every 100 ms.
        const roleEvents: RoleEvent[] = [];
        for (const [scope, sys] of Object.entries(systems)) {
          const sources = sys.roles?.() ?? [];
          if (sources.length === 0) continue;
          const w = new RoleWatcher({ scope, sources, now: () => run.now(), variant, emit: (e) => { roleEvents.push(e); emit(e); } });
          w.start();
          watchers.push(w);
        }
        const root = makeContext(1);
        const expected = def.expectedMs?.(opts);
        if (expected !== undefined) con.expectEnd((resumed?.scheduleStartedAt ?? run.now()) + expected);
        let scheduleError: unknown;
        for (const step of schedule) {
          // After a failed step only the steps that always run (the analysis of what was measured).
          if (scheduleError !== undefined && !(step.always && !abort.signal.aborted)) continue;
          try {
            await step.run(root);
          } catch (e) {
            if (scheduleError === undefined) scheduleError = e;
            else con.line(`${step.label} failed after the schedule had stopped: ${errorText(e)}`);
          }
        }
        // Interrupted: straight to the teardown. A tripped safeguard still checks the writes.
        if (scheduleError !== undefined && abort.signal.aborted && !tripped) throw scheduleError;

        // Write check: every acknowledged write is read back after recovery, also when the
        // schedule stopped early (a system that never recovered): what was lost matters most then.
        await Promise.allSettled(probes.map((p) => p.stop()));
        lag.stop();
        await sampler?.stop();
        await Promise.allSettled(watchers.splice(0).map((w) => w.stop()));
        if (scheduleError !== undefined) await healEverything();
        for (const [scope, sys] of Object.entries(systems)) {
          (sys.clientIncidents?.() ?? []).forEach((c, i) => finding({
            id: `client-incident:${scope}:${i + 1}`, kind: 'client-incident', severity: 'warning', scope, at: c.at, title: c.title, detail: c.detail, evidence: c.evidence ?? [],
            ...(variant ? { variant } : {}),
          }));
        }
        await roleMeasurements({ systems, faults: mine, roles: roleEvents, collectors, endAt: run.now(), variant, measure, finding });
        for (const { traffic: t, collector } of collectors) {
          const spans = mine.filter((f) => t.scopes.includes(f.scope)).map((f) => ({ id: f.injected.id, scope: f.scope, iteration: f.iteration, at: f.at, promotedAt: f.promoted?.at, healedAt: f.healedAt }));
          let present: Iterable<string>;
          try {
            present = await t.verify!.readBack();
          } catch (e) {
            // Not read back: its lostWrites stays unmeasured, which fails its hypothesis.
            con.line(`write check of ${t.probe.name} failed: ${errorText(e)}`);
            continue;
          }
          const check = collector.check(present, { store: t.verify!.store, intervalMs: t.probe.intervalMs, faults: spans, at: run.now(), scope: t.scopes[0] ?? '', ...(variant ? { variant } : {}) });
          emit(check);
          const outcome = writeCheckOutcome(check, { probe: baseName(t.probe.name), store: t.verify!.store, ...(variant ? { variant } : {}), ...(t.scopes[0] ? { scope: t.scopes[0] } : {}) });
          for (const m of outcome.measurements) measure(m);
          if (outcome.finding) {
            // The system's own account of the loss (its replication mode, its logs).
            const sys = t.scopes.map((sc) => systems[sc]).find((x) => x?.explain);
            // Its logs from the fault that lost the most (the finding's fault; a soak has dozens), else the first.
            const { faultId } = outcome.finding;
            const from = mine.find((f) => f.injected.id === faultId) ?? mine.find((f) => t.scopes.includes(f.scope));
            const why = await explainFinding(sys, 'lost-writes', outcome.finding.nodes ?? [], from?.atEpochMs ?? Date.now() - 120_000);
            // A loss the workflow expects (its lossHypothesis judges it: a DR drill's RPO) is a
            // warning; the verdict says whether it stayed within what was accepted.
            const judgedBy = lossJudges.get(baseName(t.probe.name))?.text;
            finding({
              ...outcome.finding,
              ...(judgedBy ? { severity: 'warning' as const } : {}),
              detail: `${outcome.finding.detail}${why?.detail ? ` ${why.detail}` : ''}${judgedBy ? ` This loss is judged by \`${judgedBy}\` (the workflow's accepted loss), not by lostWrites == 0: see that hypothesis.` : ''}`,
              evidence: [...outcome.finding.evidence, ...(why?.evidence ?? [])],
            });
          }
        }
        for (const t of traffic) {
          if (!t.contract) continue;
          contractsChecked = true;
          const base = baseName(t.probe.name);
          const c = t.contract;
          measure({ name: 'contractViolations', scope: base, value: c.violations, unit: 'count', description: `answers of ${base} (of ${c.checked} checked, any status) that the contract does not allow`, ...(variant ? { variant } : {}) });
          if (c.violations > 0) {
            finding({
              id: `contract:${t.probe.name}`, kind: 'contract-violation', severity: 'critical', scope: base, at: run.now(),
              title: `${c.violations} of ${c.checked} answers to ${base} broke the contract`,
              detail: `Clients written against the contract break on these answers. The first: ${c.examples.slice(0, 3).map((v) => `${v.route} ${v.status} at ${v.path || '(the answer)'}: ${v.message}`).join('; ')}.`,
              evidence: [{ label: 'violations (first 10)', text: c.examples.slice(0, 10).map((v) => `${formatDuration(v.at)}  ${v.route}  HTTP ${v.status}  ${v.path || '(the answer)'}: ${v.message}`).join('\n') }],
              ...(variant ? { variant } : {}),
            });
          }
        }
        for (const t of traffic) {
          if (!t.measure) continue;
          let measured: TrafficMeasures;
          try {
            measured = await t.measure();
          } catch (e) {
            con.line(`measuring ${t.probe.name} failed: ${errorText(e)}`);
            continue;
          }
          for (const m of measured.measurements) measure({ ...m, ...(variant ? { variant } : {}) });
          for (const f of measured.findings ?? []) finding({ ...f, ...(variant ? { variant } : {}) });
        }
        if (scheduleError !== undefined) {
          // A variant whose system did not recover still leaves the others to run: a version
          // matrix is for comparing them (the run ends FAILED on the first such error, after them).
          if (abort.signal.aborted) throw scheduleError;
          variantFailure ??= scheduleError;
          if (variant !== variantList.at(-1)) con.line(`variant ${variant} stopped: ${errorText(scheduleError)}; the next variant still runs`);
        }
      } finally {
        await Promise.allSettled(probes.map((p) => p.stop()));
        lag.stop();
        await sampler?.stop();
        await Promise.allSettled(watchers.splice(0).map((w) => w.stop()));
        for (const close of closers) await bounded(teardownMs / 6, 'closing traffic', close).catch((e: unknown) => con.line(`closing traffic: ${errorText(e)}`));
        await healEverything();
        try {
          await bounded(teardownMs, 'the environment\'s teardown', () => env.teardown());
        } catch (e) {
          con.line(`teardown error: ${errorText(e)}`);
        }
      }
    }
    if (variantFailure !== undefined) throw variantFailure;
  } catch (e) {
    failure = e;
    // A fault refused because the run was stopped: the stop is why the run ended.
    onStop();
    status = tripped ? 'failed' : abort.signal.aborted ? 'interrupted' : isResilienceError(e) && e.exitCode === 2 ? 'aborted' : 'failed';
    if (tripped) failure = new Error(tripText(tripped));
    con.line(`${status}: ${errorText(failure)}`);
  } finally {
    if (checkpointTimer) clearInterval(checkpointTimer);
    if (guardPoll) clearInterval(guardPoll);
    await tripping;
    await Promise.allSettled(allProbes.map((p) => p.stop()));
    await healEverything();
    await checkpointing;
  }
  stopWatching?.();
  // A safeguard that tripped as the schedule ended: the run still ends FAILED on it.
  if (tripped && status === 'completed') {
    status = 'failed';
    failure = new Error(tripText(tripped));
  }
  const lagged = lagFinding(lag, formatDuration);
  if (lagged) finding({ id: 'runner-lagged', ...lagged });
  clearInterval(stopPoll);
  con.stop();

  // 4. Analysis (already streamed), per-fault RTO, hypotheses per variant, verdict.
  stopAnalysis();
  const summary = analyser.finish();
  for (const m of faultMeasurements(summary)) measure(m);
  // The resources the system under test ran out of, from the errors its clients got (a finding
  // each; emitted after the analysis, so added to its findings here).
  const exhausted: FindingEvent[] = exhaustionFindings(Object.values(summary.probes)).map((f) => ({ ...f, type: 'finding' as const }));
  for (const f of exhausted) finding(f);
  const allFindings = [...summary.findings, ...exhausted];
  const writeDefaults = [...lossJudges].map(([p, judge]) => judge ?? parseHypothesis(`lostWrites(${p}) == 0`, `acknowledged writes of ${p} missing after recovery`, registry));
  const contractDefaults = contractsChecked ? [parseHypothesis('contractViolations == 0', 'every answer checked against the contract, degraded ones included, is one it allows', registry)] : [];
  const hypotheses = mergeHypotheses([...defaults, ...writeDefaults, ...contractDefaults], userHypotheses);
  const judged = status === 'completed' || status === 'failed';
  const outcomes: HypothesisOutcome[] = [];
  for (const variant of variantList) {
    const lookup = metricLookup({ summary, measurements: resume ? [...resume.measurements, ...measurements] : measurements, registry, variant });
    if (judged) outcomes.push(...evaluate(hypotheses, lookup, variant));
    else outcomes.push(...hypotheses.map((h) => ({ ...h, ok: false, observed: null, ...(variant ? { variant } : {}) })));
  }
  const reportHypotheses = outcomes.map((o) => ({ name: o.text, description: o.description ?? '', ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, ...(o.variant ? { variant: o.variant } : {}) }));
  // With --baseline the run is compared with the baseline run before its verdict is journaled:
  // the regressions are failed hypotheses of the journal's verdict too, so a report rebuilt from
  // the journal alone fails as the run did. A comparison that cannot be made fails the run.
  let comparison: Comparison | undefined;
  let comparisonFailed: HypothesisResult | undefined;
  if (baseline && judged) {
    try {
      await run.journal?.flush();
      const report = await import('@resilience/report');
      const current = await report.buildReport({ journalPath: join(reportDir, 'journal.ndjson'), hypotheses: reportHypotheses, settings, environment, exitCode: 0 });
      comparison = report.compareReports(baseline.loaded.report, current, { tolerance: baseline.tolerance, source: baseline.loaded.path });
    } catch (e) {
      comparisonFailed = { name: 'baseline: compared', ok: false, observed: null, threshold: baseline.loaded.path, description: `the run could not be compared with the baseline: ${errorText(e)}` };
    }
  }
  const regressions = comparison?.hypotheses ?? [];
  emit({ type: 'verdict', at: run.now(), hypotheses: [
    ...outcomes.map((o) => ({ name: o.text, ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, ...(o.description ? { description: o.description } : {}), ...(o.variant ? { variant: o.variant } : {}) })),
    ...regressions.map((h) => ({ name: h.name, ok: h.ok, observed: h.observed, threshold: h.threshold, ...(h.unit ? { unit: h.unit as MetricUnit } : {}), ...(h.description ? { description: h.description } : {}), ...(h.variant ? { variant: h.variant } : {}) })),
    ...(comparisonFailed ? [comparisonFailed] : []),
  ] });
  const exitCode: number = status === 'interrupted' ? ExitCode.interrupted
    : healFailed ? ExitCode.healFailed
    : status === 'aborted' ? ExitCode.badInput
    : status === 'failed' || outcomes.some((o) => !o.ok) || regressions.length > 0 || comparisonFailed ? ExitCode.failed
    : ExitCode.passed;
  try {
    await run.close(status);
  } catch (e) {
    write(`cleanup error: ${errorText(e)}`);
  }

  // 5. Reports (one pass over the journal), the comparison with the baseline, evidence.json,
  // SHA256SUMS, and the console summary, findings first.
  const endedAtMs = run.now();
  let files: Record<string, string> = {};
  let ordered: readonly FindingEvent[] = allFindings;
  let endedAt: string | undefined;
  let comparisonNote: string | undefined;
  let comparisonText: string | undefined;
  try {
    const report = await import('@resilience/report');
    ordered = report.sortFindings(allFindings);
    let built = await report.buildReport({
      journalPath: join(reportDir, 'journal.ndjson'),
      hypotheses: [...reportHypotheses, ...(comparisonFailed ? [{ ...comparisonFailed, description: comparisonFailed.description ?? '' }] : [])],
      settings,
      environment,
      exitCode,
    });
    // With --baseline: the run beside the baseline run (compared above, before the verdict).
    if (comparison) {
      built = report.withBaseline(built, comparison);
      comparisonText = report.renderComparisonText(comparison);
    } else if (comparisonFailed) {
      comparisonNote = comparisonFailed.description;
    } else if (baseline) {
      comparisonNote = `baseline: not compared, the run ${status === 'interrupted' ? 'was interrupted' : 'was aborted'} (its numbers cover only part of the plan)`;
    }
    const written = (await report.writeReport(built, reportDir, { png })) as unknown as Record<string, unknown>;
    files = Object.fromEntries(Object.entries(written).filter((e): e is [string, string] => typeof e[1] === 'string'));
    for (const problem of (written['pageProblems'] as string[] | undefined) ?? []) write(`report.html: ${problem}`);
    endedAt = built.run.endedAt;
  } catch (e) {
    write(`report: ${errorText(e)}`);
  }
  const verdict = exitCode === ExitCode.passed ? (outcomes.length ? 'PASSED' : 'NO VERDICT (no hypothesis was checked)') : exitCode === ExitCode.interrupted ? 'INTERRUPTED' : exitCode === ExitCode.healFailed ? 'HEAL FAILED' : exitCode === ExitCode.badInput ? 'ABORTED' : 'FAILED';
  if (summary.evidence.length) {
    try {
      files['evidence'] = await writeEvidenceFile(reportDir, {
        workflow: def.name,
        runId: run.runId,
        startedAt,
        // The report's (its run-end event), else the time the run was closed.
        endedAt: endedAt ?? new Date(Date.parse(startedAt) + endedAtMs).toISOString(),
        exitCode,
        verdict,
        hypotheses: [
          ...outcomes.map((o) => ({ name: o.text, ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, ...(o.variant ? { variant: o.variant } : {}) })),
          // The regressions against the baseline; threshold: the worst value that still passed.
          ...regressions.map((h) => ({
            name: h.name, ok: h.ok, observed: typeof h.observed === 'number' ? h.observed : null,
            threshold: Number(/-?[\d.]+(?:e[-+]?\d+)?$/.exec(String(h.threshold))?.[0] ?? 0), unit: (h.unit ?? 'count') as MetricUnit, ...(h.variant ? { variant: h.variant } : {}),
          })),
        ],
        measurements,
        evidence: evidenceData(summary.evidence),
      });
    } catch (e) {
      write(`${EVIDENCE_FILE}: ${errorText(e)}`);
    }
  }
  // Last, over every file of the report folder (the journal too).
  try {
    files['sha256'] = await writeChecksums(reportDir);
  } catch (e) {
    write(`${CHECKSUMS_FILE}: ${errorText(e)}`);
  }
  if (options.handleSignals !== false) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await exporter?.close();

  write('');
  // In the order every report shows them: most severe first, then by time.
  if (ordered.length) {
    write(`FINDINGS (${ordered.length})`);
    for (const f of ordered) {
      write(`  [${f.severity}] ${f.title}${f.variant ? ` [${f.variant}]` : ''} (at ${formatDuration(f.at)}${f.iteration ? `, iteration ${f.iteration}` : ''})`);
      write(`    ${f.detail}`);
      for (const ev of f.evidence.slice(0, 3)) write(`    - ${ev.label}: ${ev.text.split('\n')[0]}`);
    }
    write('');
  }
  const rows: string[][] = [['hypothesis', ...(variants.length > 1 ? ['variant'] : []), 'observed', 'threshold', 'result']];
  for (const o of outcomes) rows.push([o.text, ...(variants.length > 1 ? [o.variant ?? ''] : []), formatValue(o.observed, o.unit), formatThreshold(o), o.ok ? 'PASS' : 'FAIL']);
  for (const h of regressions) {
    const unit = (h.unit ?? 'count') as MetricUnit;
    const limit = typeof h.threshold === 'string' ? /^(<=|>=)\s*(-?[\d.e+-]+)$/.exec(h.threshold) : null;
    rows.push([h.name, ...(variants.length > 1 ? [h.variant ?? ''] : []), formatValue(typeof h.observed === 'number' ? h.observed : null, unit), limit ? `${limit[1]} ${formatValue(Number(limit[2]), unit)}` : String(h.threshold), 'FAIL']);
  }
  if (comparisonFailed) rows.push([comparisonFailed.name, ...(variants.length > 1 ? [''] : []), 'not measured', 'compared', 'FAIL']);
  write(table(rows));
  // A `shed` column (operations refused on purpose, HTTP 429; counted in availability as not
  // served) only when some probe was refused.
  const shedColumn = Object.values(summary.probes).some((p) => p.shed > 0);
  const probeRows: string[][] = [['probe', 'attempts', ...(shedColumn ? ['shed'] : []), 'availability', 'p50', 'p99', 'outage', 'ttd (worst)', 'rto (worst)']];
  for (const p of Object.values(summary.probes)) {
    const rto = p.worst.status === 'no-faults' ? '-' : p.worst.status === 'not-recovered' ? 'not recovered' : formatValue(p.worst.rtoMs, 'ms');
    probeRows.push([p.probe, p.attempts.toLocaleString('en-US'), ...(shedColumn ? [p.shed.toLocaleString('en-US')] : []), formatValue(p.availability, 'ratio'), formatValue(p.latency?.p50Ms ?? null, 'ms'), formatValue(p.latency?.p99Ms ?? null, 'ms'), formatValue(p.outageMs, 'ms'), p.worst.timeToDetectMs === null ? '-' : formatValue(p.worst.timeToDetectMs, 'ms'), rto]);
  }
  write('');
  write(table(probeRows));
  if (measurements.length) {
    write('');
    write(table([['measurement', 'value', 'how'], ...measurements.map((m) => [measurementName(m), formatValue(m.value, m.unit), m.description])]));
  }
  if (comparison) {
    write('');
    write(`COMPARED WITH BASELINE ${baseline!.given}`);
    write(comparisonText ?? '');
  } else if (comparisonNote) {
    write('');
    write(comparisonNote);
  }
  const failed = [...outcomes.filter((o) => !o.ok), ...regressions, ...(comparisonFailed ? [comparisonFailed] : [])];
  const checked = outcomes.length + regressions.length + (comparisonFailed ? 1 : 0);
  write('');
  write(`${def.name}: ${verdict} (exit ${exitCode})${failed.length && judged ? ` — ${failed.length} of ${checked} hypotheses failed${regressions.length ? ` (${regressions.length} regression${regressions.length === 1 ? '' : 's'} against the baseline)` : ''}` : ''}${failure && status !== 'interrupted' ? ` — ${errorText(failure)}` : ''}`);
  write(`report: ${reportDir}${Object.keys(files).length ? ` (${Object.keys(files).join(', ')})` : ''}`);
  return { exitCode, status, outcomes, summary, findings, reportDir, files, ...(comparison ? { baseline: comparison } : {}) };
}
