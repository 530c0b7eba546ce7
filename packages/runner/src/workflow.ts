// The workflow runner. A workflow declares what (options, variants, environment, traffic with
// the scope each probe depends on, a schedule of steps, hypotheses); the runner does how, once
// for every workflow: options -> run -> per variant: environment, probes, schedule, heal
// (always), write check, teardown (always) -> analysis (one streaming pass, live) -> per-fault
// and per-scope RTO -> hypotheses -> verdict -> report -> exit code. Ctrl-C heals, tears down
// and still reports.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ZodType } from 'zod';
import {
  ChaosRun, Engine, InvalidArgumentError, RunAnalyser, formatDuration, isResilienceError, measurementName, toSampleEvent,
  type FindingEvent, type JournalEvent, type Probe, type RoleEvent, type RunStatus, type RunSummary,
} from '@resilience/fixtures';
import { parseArgs } from './args.ts';
import { ConsoleReporter, table } from './console.ts';
import { ExitCode } from './exit-codes.ts';
import { evaluate, formatThreshold, formatValue, parseHypothesis, type Hypothesis, type HypothesisOutcome } from './hypotheses.ts';
import { MetricRegistry, baseName, metricLookup, type Measurement, type MetricSpec } from './metrics.ts';
import { RoleWatcher, roleMeasurements } from './roles.ts';
import { describePlan, explainFinding, type ScheduledFault, type Step, type StepContext, type System } from './schedule.ts';
import { WriteCollector, writeCheckOutcome, type WriteVerifier } from './writes.ts';

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
  teardown(): Promise<void>;
}

export interface TrafficContext {
  now(): number;
  readonly variant: string | undefined;
  /** The probe name to use: `sql-write`, or `sql-write@naive` when the run has several variants. */
  name(base: string): string;
}

/** One probe of the live traffic, with the scopes its success depends on. */
export interface Traffic {
  readonly probe: Probe;
  /** Systems it depends on (`postgres`, `redis`); [] when it depends on none of the faulted ones. */
  readonly scopes: readonly string[];
  /** For a write probe: how to read its ids back (its acknowledged writes are then verified). */
  readonly verify?: WriteVerifier;
  /** Closes what the probe shares with others (a client), after the probes stopped and the writes were checked. */
  readonly close?: () => void | Promise<void>;
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
  readonly schedule: (options: O) => readonly Step<E, O>[];
  /** Default hypotheses; `lostWrites(<probe>) == 0` is added for every write probe. */
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
];

const key = (h: Hypothesis) => `${h.metric}(${h.args.join(',')})`;

/** User hypotheses replace defaults on the same metric and arguments; one without arguments replaces every default of its metric. */
export function mergeHypotheses(defaults: readonly Hypothesis[], user: readonly Hypothesis[]): Hypothesis[] {
  const replaced = new Set(user.map(key));
  const wholeMetric = new Set(user.filter((h) => h.args.length === 0).map((h) => h.metric));
  return [...defaults.filter((h) => !replaced.has(key(h)) && !wholeMetric.has(h.metric)), ...user];
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

function help<O>(def: WorkflowDefinition<O, unknown>): string {
  return `${def.name}: ${def.description}\n\n${def.usage}\n\n  --slo EXPR   add or replace a hypothesis, e.g. --slo "rto<=30s" or --slo "lostWrites(redis-write) <= 100" (repeatable)\n  --dry-run    print the plan (variants, steps, hypotheses) and start nothing\n  --no-png     skip the PNG of the HTML report\n  --help       this text\n\nExit codes: 0 passed, 1 a hypothesis failed, 2 bad input or setup error, 3 a heal failed, 130 interrupted.`;
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
  try {
    const args = parseArgs(options.argv ?? process.argv.slice(2));
    if (args.help) {
      write(help(def as WorkflowDefinition<O, unknown>));
      return empty(ExitCode.passed, 'completed');
    }
    const values: Record<string, unknown> = { ...args.values };
    for (const [k, set] of [['png', (v: boolean) => (png = v)], ['dryRun', (v: boolean) => (dryRun = v)]] as const) {
      if (k in values) {
        const v = values[k];
        if (v !== true && v !== false && v !== 'true' && v !== 'false') throw new InvalidArgumentError(`--${k === 'dryRun' ? 'dry-run' : k}`, v, 'no value, true or false');
        set(v === true || v === 'true');
        delete values[k];
      }
    }
    opts = parseOptions(def as WorkflowDefinition<O, unknown>, values);
    userHypotheses = args.slo.map((s) => parseHypothesis(s, undefined, registry));
    defaults = def.hypotheses(opts).map((h) => (typeof h === 'string' ? parseHypothesis(h, undefined, registry) : parseHypothesis(h.text, h.description, registry)));
    variants = def.variants?.(opts) ?? [];
    if (new Set(variants).size !== variants.length || variants.some((v) => !/^[a-z0-9][a-z0-9-]*$/i.test(v))) throw new InvalidArgumentError('variants', variants.join(', '), 'distinct names of letters, digits and dashes');
  } catch (e) {
    write(`${def.name}: ${errorText(e)}\nSee --help. Nothing was started.`);
    return empty(ExitCode.badInput, 'aborted');
  }
  const schedule = def.schedule(opts);
  const timeoutMs = def.timeoutMs?.(opts) ?? 60_000;

  if (dryRun) {
    write(`${def.name} (dry run: nothing is started)`);
    write(`options: ${JSON.stringify(opts)}`);
    write(`report: report.json, junit.xml, summary.md, report.html${png ? ', report.png' : ' (no PNG)'}`);
    write(`variants: ${variants.length ? variants.join(', ') : '(one)'}`);
    write('schedule, per variant:');
    for (const line of describePlan(schedule as readonly Step[])) write(`  ${line}`);
    write('hypotheses (plus lostWrites(<probe>) == 0 for every write probe):');
    for (const h of mergeHypotheses(defaults, userHypotheses)) write(`  ${h.text}`);
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
  const reportDir = resolve(options.reportsRoot ?? process.env['RESILIENCE_REPORTS_DIR'] ?? join(process.cwd(), 'dist', 'reports'), `${def.name}-${stamp}`);
  mkdirSync(reportDir, { recursive: true });
  let run: ChaosRun;
  try {
    run = await ChaosRun.start({ ...options.run, ...(engine ? { engine } : {}), workflow: def.name, journalDir: reportDir, handleSignals: false, meta: { hypotheses: mergeHypotheses(defaults, userHypotheses).map((h) => h.text), variants } });
  } catch (e) {
    write(`${def.name}: ${errorText(e)}`);
    return empty(isResilienceError(e) && e.exitCode === 2 ? ExitCode.badInput : ExitCode.failed, 'aborted');
  }
  // The analysis follows the events as they happen: one pass, nothing re-read.
  const analyser = new RunAnalyser();
  analyser.push({ type: 'run-start', runId: run.runId, workflow: def.name, startedAt: run.journal?.startedAt ?? new Date().toISOString(), at: 0 });
  const stopAnalysis = run.bus.subscribe((e) => analyser.push(e));

  const abort = new AbortController();
  const con = new ConsoleReporter(() => run.now(), { out });
  con.attach(run.bus);
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
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
  const settings: Record<string, unknown> = { options: opts };
  const environment: Record<string, unknown> = {};
  const writeProbes = new Set<string>();
  const allProbes: Probe[] = [];
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
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal });
  let healFailed = false;
  /** Heals every fault still in effect; a heal that fails is printed and makes the exit code 3. */
  const healEverything = async () => {
    const errors = await run.chaos.healAll();
    if (errors.length) healFailed = true;
    for (const e of errors) con.line(`HEAL FAILED: ${e.message}`);
  };

  // 3. The method, per variant. Heals and teardowns always run.
  let status: RunStatus = 'completed';
  let failure: unknown;
  const variantList: readonly (string | undefined)[] = variants.length ? variants : [undefined];
  try {
    for (const variant of variantList) {
      if (variant) emit({ type: 'variant', name: variant, at: run.now() });
      con.line(`provisioning the environment${variant ? ` for variant ${variant}` : ''}`);
      const env = await def.environment(opts, { engine: run.engine, run, signal: abort.signal, now: () => run.now(), variant, note: (m) => con.line(m) });
      const probes: Probe[] = [];
      const watchers: RoleWatcher[] = [];
      const closers: (() => void | Promise<void>)[] = [];
      try {
        if (env.settings) settings[variant ? `environment@${variant}` : 'environment'] = env.settings;
        for (const [k, v] of Object.entries(env.versions ?? {})) environment[variant ? `${k}@${variant}` : k] = v;
        const name = (base: string) => (variant && variantList.length > 1 ? `${base}@${variant}` : base);
        const traffic = await def.traffic(env.handle, opts, { now: () => run.now(), variant, name });
        const collectors: { traffic: Traffic; collector: WriteCollector }[] = [];
        const byScope = new Map<string, Probe[]>();
        for (const t of traffic) {
          if (t.close) closers.push(t.close);
          emit({ type: 'probe', name: t.probe.name, op: t.probe.op, scopes: [...t.scopes], intervalMs: t.probe.intervalMs, writes: Boolean(t.verify), ...(variant ? { variant } : {}), at: run.now() });
          const collector = t.verify ? new WriteCollector(t.probe.name) : undefined;
          if (collector) {
            collectors.push({ traffic: t, collector });
            writeProbes.add(baseName(t.probe.name));
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
        const systems = env.systems ?? {};
        const mine: ScheduledFault[] = [];
        const makeContext = (iteration: number): StepContext<E, O> => ({
          env: env.handle, systems, options: opts, variant, iteration, run, signal: abort.signal, timeoutMs,
          now: () => run.now(),
          sleep: pause,
          phase: (n) => emit({ type: 'phase', name: n, at: run.now(), ...(variant ? { variant } : {}) }),
          note: (message, data) => emit({ type: 'note', at: run.now(), message, ...(data === undefined ? {} : { data }) }),
          measure: (m) => measure({ ...m, ...(variant ? { variant } : {}) }),
          finding: (f) => finding({ ...f, evidence: f.evidence ?? [], ...(variant ? { variant } : {}) }),
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
        let scheduleError: unknown;
        try {
          for (const step of schedule) await step.run(root);
        } catch (e) {
          scheduleError = e;
        }
        if (scheduleError !== undefined && abort.signal.aborted) throw scheduleError;

        // Write check: every acknowledged write is read back after recovery, also when the
        // schedule stopped early (a system that never recovered): what was lost matters most then.
        await Promise.allSettled(probes.map((p) => p.stop()));
        await Promise.allSettled(watchers.splice(0).map((w) => w.stop()));
        if (scheduleError !== undefined) await healEverything();
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
            const first = mine.find((f) => t.scopes.includes(f.scope));
            const why = await explainFinding(sys, 'lost-writes', outcome.finding.nodes ?? [], first?.atEpochMs ?? Date.now() - 120_000);
            finding({ ...outcome.finding, detail: `${outcome.finding.detail}${why?.detail ? ` ${why.detail}` : ''}`, evidence: [...outcome.finding.evidence, ...(why?.evidence ?? [])] });
          }
        }
        if (scheduleError !== undefined) throw scheduleError;
      } finally {
        await Promise.allSettled(probes.map((p) => p.stop()));
        await Promise.allSettled(watchers.splice(0).map((w) => w.stop()));
        for (const close of closers) await Promise.resolve().then(close).catch((e: unknown) => con.line(`closing traffic: ${errorText(e)}`));
        await healEverything();
        try {
          await env.teardown();
        } catch (e) {
          con.line(`teardown error: ${errorText(e)}`);
        }
      }
    }
  } catch (e) {
    failure = e;
    status = abort.signal.aborted ? 'interrupted' : isResilienceError(e) && e.exitCode === 2 ? 'aborted' : 'failed';
    con.line(`${status}: ${errorText(e)}`);
  } finally {
    await Promise.allSettled(allProbes.map((p) => p.stop()));
    await healEverything();
  }
  con.stop();

  // 4. Analysis (already streamed), per-fault RTO, hypotheses per variant, verdict.
  stopAnalysis();
  const summary = analyser.finish();
  for (const m of faultMeasurements(summary)) measure(m);
  const writeDefaults = [...writeProbes].map((p) => parseHypothesis(`lostWrites(${p}) == 0`, `acknowledged writes of ${p} missing after recovery`, registry));
  const hypotheses = mergeHypotheses([...defaults, ...writeDefaults], userHypotheses);
  const judged = status === 'completed' || status === 'failed';
  const outcomes: HypothesisOutcome[] = [];
  for (const variant of variantList) {
    const lookup = metricLookup({ summary, measurements, registry, variant });
    if (judged) outcomes.push(...evaluate(hypotheses, lookup, variant));
    else outcomes.push(...hypotheses.map((h) => ({ ...h, ok: false, observed: null, ...(variant ? { variant } : {}) })));
  }
  emit({ type: 'verdict', at: run.now(), hypotheses: outcomes.map((o) => ({ name: o.text, ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, ...(o.description ? { description: o.description } : {}), ...(o.variant ? { variant: o.variant } : {}) })) });
  const exitCode = status === 'interrupted' ? ExitCode.interrupted
    : healFailed ? ExitCode.healFailed
    : status === 'aborted' ? ExitCode.badInput
    : status === 'failed' || outcomes.some((o) => !o.ok) ? ExitCode.failed
    : ExitCode.passed;
  try {
    await run.close(status);
  } catch (e) {
    write(`cleanup error: ${errorText(e)}`);
  }

  // 5. Reports (one pass over the journal) and the console summary, findings first.
  let files: Record<string, string> = {};
  let ordered: readonly FindingEvent[] = summary.findings;
  try {
    const report = await import('@resilience/report');
    ordered = report.sortFindings(summary.findings);
    const built = await report.buildReport({
      journalPath: join(reportDir, 'journal.ndjson'),
      hypotheses: outcomes.map((o) => ({ name: o.text, description: o.description ?? '', ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, ...(o.variant ? { variant: o.variant } : {}) })),
      settings,
      environment,
      exitCode,
    });
    const written = (await report.writeReport(built, reportDir, { png })) as unknown as Record<string, unknown>;
    files = Object.fromEntries(Object.entries(written).filter((e): e is [string, string] => typeof e[1] === 'string'));
    for (const problem of (written['pageProblems'] as string[] | undefined) ?? []) write(`report.html: ${problem}`);
  } catch (e) {
    write(`report: ${errorText(e)}`);
  }
  if (options.handleSignals !== false) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

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
  write(table(rows));
  const probeRows: string[][] = [['probe', 'attempts', 'availability', 'p50', 'p99', 'outage', 'ttd (worst)', 'rto (worst)']];
  for (const p of Object.values(summary.probes)) {
    const rto = p.worst.status === 'no-faults' ? '-' : p.worst.status === 'not-recovered' ? 'not recovered' : formatValue(p.worst.rtoMs, 'ms');
    probeRows.push([p.probe, p.attempts.toLocaleString('en-US'), formatValue(p.availability, 'ratio'), formatValue(p.latency?.p50Ms ?? null, 'ms'), formatValue(p.latency?.p99Ms ?? null, 'ms'), formatValue(p.outageMs, 'ms'), p.worst.timeToDetectMs === null ? '-' : formatValue(p.worst.timeToDetectMs, 'ms'), rto]);
  }
  write('');
  write(table(probeRows));
  if (measurements.length) {
    write('');
    write(table([['measurement', 'value', 'how'], ...measurements.map((m) => [measurementName(m), formatValue(m.value, m.unit), m.description])]));
  }
  const verdict = exitCode === ExitCode.passed ? (outcomes.length ? 'PASSED' : 'NO VERDICT (no hypothesis was checked)') : exitCode === ExitCode.interrupted ? 'INTERRUPTED' : exitCode === ExitCode.healFailed ? 'HEAL FAILED' : exitCode === ExitCode.badInput ? 'ABORTED' : 'FAILED';
  const failed = outcomes.filter((o) => !o.ok);
  write('');
  write(`${def.name}: ${verdict} (exit ${exitCode})${failed.length && judged ? ` — ${failed.length} of ${outcomes.length} hypotheses failed` : ''}${failure && status !== 'interrupted' ? ` — ${errorText(failure)}` : ''}`);
  write(`report: ${reportDir}${Object.keys(files).length ? ` (${Object.keys(files).join(', ')})` : ''}`);
  return { exitCode, status, outcomes, summary, findings, reportDir, files };
}
