// The workflow runner: options -> run -> steady state -> faults -> observation -> heal (always)
// -> verification -> analysis -> hypotheses -> verdict -> report -> teardown (always) -> exit
// code. Probes record; hypotheses decide. Ctrl-C heals, tears down and still reports.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ZodType } from 'zod';
import {
  ChaosRun, InvalidArgumentError, analyseEvents, isResilienceError, readJournal, toSampleEvent,
  type Probe, type RunStatus, type RunSummary,
} from '@resilience/fixtures';
import { parseArgs } from './args.ts';
import { ConsoleReporter, table } from './console.ts';
import { ExitCode } from './exit-codes.ts';
import { evaluate, formatValue, parseHypothesis, type Hypothesis, type HypothesisOutcome } from './hypotheses.ts';
import { metricLookup, type Measurement } from './metrics.ts';

export interface WorkflowContext<O> {
  readonly options: O;
  readonly run: ChaosRun;
  /** Aborted on Ctrl-C / SIGTERM; every wait in a workflow should take it. */
  readonly signal: AbortSignal;
  readonly console: ConsoleReporter;
  phase(name: string): void;
  /** Starts a probe whose samples go to the journal; the runner stops it at the end. */
  startProbe(probe: Probe): Promise<Probe>;
  stopProbes(): Promise<void>;
  measure(m: Measurement): void;
  /** Free-form settings and versions for the report (secrets are redacted there). */
  setting(key: string, value: unknown): void;
  environment(key: string, value: unknown): void;
  /** Registers a teardown; all run last-in first-out, even after an error or Ctrl-C. */
  defer(fn: () => Promise<void> | void): void;
  /** An abortable sleep. */
  sleep(ms: number): Promise<void>;
  note(message: string, data?: unknown): void;
}

export interface WorkflowDefinition<O> {
  readonly name: string;
  readonly description: string;
  /** Validates the options; keys are camelCase versions of the --kebab-case flags. */
  readonly options: ZodType<O>;
  /** Help text for the options. */
  readonly usage: string;
  readonly hypotheses: (options: O) => readonly Hypothesis[];
  readonly run: (ctx: WorkflowContext<O>) => Promise<void>;
  /** After the run's analysis, before the hypotheses: derive measurements from it. */
  readonly afterAnalysis?: (ctx: WorkflowContext<O>, summary: RunSummary) => void;
}

export interface WorkflowResult {
  readonly exitCode: number;
  readonly status: RunStatus;
  readonly outcomes: readonly HypothesisOutcome[];
  readonly summary: RunSummary | null;
  readonly reportDir: string | undefined;
  readonly files: Record<string, string>;
}

export interface RunWorkflowOptions {
  readonly argv?: readonly string[];
  /** Where reports go (default dist/reports under the current directory). */
  readonly reportsRoot?: string;
  readonly out?: NodeJS.WritableStream;
  /** Install SIGINT/SIGTERM handlers (default true). */
  readonly handleSignals?: boolean;
  readonly png?: boolean;
}

/** `election(postgres)#2`: the name hypotheses use, with the scope and iteration it belongs to. */
export function displayName(m: Measurement): string {
  return `${m.name}${m.scope ? `(${m.scope})` : ''}${m.iteration ? `#${m.iteration}` : ''}`;
}

function mergeSlo(defaults: readonly Hypothesis[], overrides: readonly string[]): Hypothesis[] {
  const parsed = overrides.map((s) => parseHypothesis(s));
  const key = (h: Hypothesis) => `${h.metric}(${h.args.join(',')})`;
  const replaced = new Set(parsed.map(key));
  return [...defaults.filter((h) => !replaced.has(key(h))), ...parsed];
}

export async function runWorkflow<O>(def: WorkflowDefinition<O>, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  const out = options.out ?? process.stdout;
  const write = (s: string) => out.write(s.endsWith('\n') ? s : `${s}\n`);
  const empty = (exitCode: number, status: RunStatus): WorkflowResult => ({ exitCode, status, outcomes: [], summary: null, reportDir: undefined, files: {} });

  // 1. Options: every problem is reported before anything starts.
  let opts: O;
  let hypotheses: Hypothesis[];
  try {
    const args = parseArgs(options.argv ?? process.argv.slice(2));
    if (args.help) {
      write(`${def.name}: ${def.description}\n\n${def.usage}\n\n  --slo EXPR   add or replace a hypothesis, e.g. --slo "rto<=30s" (repeatable)\n  --help       this text\n\nExit codes: 0 passed, 1 a hypothesis failed, 2 bad input or setup error, 3 a heal failed, 130 interrupted.`);
      return empty(ExitCode.passed, 'completed');
    }
    const parsed = def.options.safeParse(args.values);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue?.path.join('.') ?? '';
      const flag = `--${String(path).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      const value = issue?.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.map((k) => `--${k}`).join(', ') : (args.values as Record<string, unknown>)[String(path)];
      const expected = (issue?.message ?? 'a valid value (see --help)')
        .replace(/^Invalid (option|input): expected /, '')
        .replace(/^Too (small|big): expected (\w+) to (be|have) /, 'a $2 ')
        .replace(/"\|"/g, '", "');
      if (issue?.code === 'unrecognized_keys') throw new InvalidArgumentError('option', value, 'one of the options listed by --help');
      throw new InvalidArgumentError(flag, value, expected);
    }
    opts = parsed.data;
    hypotheses = mergeSlo(def.hypotheses(opts), args.slo);
  } catch (e) {
    write(`${def.name}: ${e instanceof Error ? e.message : String(e)}\nSee --help. Nothing was started.`);
    return empty(ExitCode.badInput, 'aborted');
  }

  // 2. The run: engine, ledger, watchdog, journal in the report folder.
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const reportDir = resolve(options.reportsRoot ?? process.env['RESILIENCE_REPORTS_DIR'] ?? join(process.cwd(), 'dist', 'reports'), `${def.name}-${stamp}`);
  mkdirSync(reportDir, { recursive: true });
  let run: ChaosRun;
  try {
    run = await ChaosRun.start({ workflow: def.name, journalDir: reportDir, handleSignals: false, meta: { hypotheses: hypotheses.map((h) => h.text) } });
  } catch (e) {
    write(`${def.name}: ${e instanceof Error ? e.message : String(e)}`);
    return empty(isResilienceError(e) && e.exitCode === 2 ? ExitCode.badInput : ExitCode.failed, 'aborted');
  }

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

  const probes: Probe[] = [];
  const deferred: (() => Promise<void> | void)[] = [];
  const measurements: Measurement[] = [];
  const settings: Record<string, unknown> = {};
  const environment: Record<string, unknown> = {};
  const ctx: WorkflowContext<O> = {
    options: opts,
    run,
    signal: abort.signal,
    console: con,
    phase: (name) => run.phase(name),
    startProbe: async (probe) => {
      probe.subscribe((s) => run.journal?.write(toSampleEvent(s)));
      await probe.start();
      probes.push(probe);
      con.watch(probes);
      return probe;
    },
    stopProbes: async () => {
      await Promise.allSettled(probes.map((p) => p.stop()));
    },
    measure: (m) => {
      measurements.push(m);
      // A `measurement` note keeps the value in the journal, so a report rebuilt from it has it too.
      run.emit({ type: 'note', at: run.now(), message: 'measurement', data: { ...m, name: displayName(m) } });
    },
    setting: (k, v) => {
      settings[k] = v;
    },
    environment: (k, v) => {
      environment[k] = v;
    },
    defer: (fn) => {
      deferred.push(fn);
    },
    sleep: (ms) => sleep(ms, undefined, { signal: abort.signal }),
    note: (message, data) => run.emit({ type: 'note', at: run.now(), message, ...(data === undefined ? {} : { data }) }),
  };

  // 3. The method. Heals and teardowns always run.
  let status: RunStatus = 'completed';
  let failure: unknown;
  let healFailed = false;
  try {
    await def.run(ctx);
  } catch (e) {
    failure = e;
    status = abort.signal.aborted ? 'interrupted' : isResilienceError(e) && e.exitCode === 2 ? 'aborted' : 'failed';
    con.line(`${status}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await ctx.stopProbes();
    const healErrors = await run.chaos.healAll();
    if (healErrors.length) {
      healFailed = true;
      for (const e of healErrors) con.line(`HEAL FAILED: ${e.message}`);
    }
    for (const fn of deferred.reverse()) {
      try {
        await fn();
      } catch (e) {
        con.line(`teardown error: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  // 4. Analysis, hypotheses, verdict.
  await run.journal?.flush();
  const summary = await analyseEvents(readJournal(run.journal!.path));
  if (def.afterAnalysis && status === 'completed') {
    // It only adds measurements (kept in memory and as journal notes); the analysis of the
    // samples does not change, so the journal is not read a second time.
    try {
      def.afterAnalysis(ctx, summary);
    } catch (e) {
      con.line(`analysis error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const outcomes = status === 'completed' || status === 'failed' ? evaluate(hypotheses, metricLookup(summary, measurements)) : hypotheses.map((h) => ({ ...h, ok: false, observed: null }));
  run.emit({ type: 'verdict', at: run.now(), hypotheses: outcomes.map((o) => ({ name: o.text, ok: o.ok, observed: o.observed, threshold: o.threshold })) });
  const exitCode = status === 'interrupted' ? ExitCode.interrupted
    : healFailed ? ExitCode.healFailed
    : status === 'aborted' ? ExitCode.badInput
    : status === 'failed' || outcomes.some((o) => !o.ok) ? ExitCode.failed
    : ExitCode.passed;
  try {
    await run.close(status);
  } catch (e) {
    con.line(`cleanup error: ${e instanceof Error ? e.message : String(e)}`);
  }
  con.stop();

  // 5. Reports and the summary table.
  let files: Record<string, string> = {};
  try {
    const report = await import('@resilience/report');
    const built = await report.buildReport({
      journalPath: join(reportDir, 'journal.ndjson'),
      hypotheses: outcomes.map((o) => ({ name: o.text, description: o.description ?? '', ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit })),
      measurements: measurements.map((m) => ({ name: displayName(m), value: m.value, unit: m.unit, description: m.description })),
      settings,
      environment,
      exitCode,
    });
    files = (await report.writeReport(built, reportDir, { png: options.png ?? false })) as unknown as Record<string, string>;
  } catch (e) {
    write(`report: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (options.handleSignals !== false) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const rows: string[][] = [['hypothesis', 'observed', 'result']];
  for (const o of outcomes) rows.push([o.text, formatValue(o.observed, o.unit), o.ok ? 'PASS' : 'FAIL']);
  write('');
  write(table(rows));
  const probeRows: string[][] = [['probe', 'attempts', 'availability', 'p50', 'p99', 'outage', 'ttd', 'rto']];
  for (const p of Object.values(summary.probes)) {
    const rto = p.faults.map((f) => f.rtoMs).filter((x): x is number => x !== null);
    const ttd = p.faults.map((f) => f.timeToDetectMs).filter((x): x is number => x !== null);
    probeRows.push([p.probe, String(p.attempts), formatValue(p.availability, 'ratio'), formatValue(p.latency?.p50Ms ?? null, 'ms'), formatValue(p.latency?.p99Ms ?? null, 'ms'), formatValue(p.outageMs, 'ms'), ttd.length ? formatValue(Math.max(...ttd), 'ms') : '-', rto.length ? formatValue(Math.max(...rto), 'ms') : '-']);
  }
  write('');
  write(table(probeRows));
  if (measurements.length) {
    write('');
    write(table([['measurement', 'value', 'how'], ...measurements.map((m) => [displayName(m), m.value === null ? 'not measured' : m.unit === 'ms' ? formatValue(m.value, 'ms') : `${m.value} ${m.unit}`, m.description])]));
  }
  const verdict = exitCode === ExitCode.passed ? 'PASSED' : exitCode === ExitCode.interrupted ? 'INTERRUPTED' : exitCode === ExitCode.healFailed ? 'HEAL FAILED' : exitCode === ExitCode.badInput ? 'ABORTED' : 'FAILED';
  write('');
  write(`${def.name}: ${verdict} (exit ${exitCode})${failure && status !== 'interrupted' ? ` — ${failure instanceof Error ? failure.message : String(failure)}` : ''}`);
  write(`report: ${reportDir}${Object.keys(files).length ? ` (${Object.keys(files).join(', ')})` : ''}`);
  return { exitCode, status, outcomes, summary, reportDir, files };
}
