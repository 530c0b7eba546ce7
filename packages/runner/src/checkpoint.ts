// A checkpoint: the report rewritten from the journal while the run goes on, the hypotheses
// judged on what was measured so far; each file replaced atomically (written beside, renamed
// over). It runs in a child process at low priority (checkpoint-main.ts), so building the report
// of a long run neither stalls the runner's event loop (its probes' timers) nor takes CPU from
// the system under test before anything else.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunAnalyser, readJournal } from '@resilience/fixtures';
import { evaluate, parseHypothesis } from './hypotheses.ts';
import { MetricRegistry, metricLookup, type MetricSpec } from './metrics.ts';
import { faultMeasurements } from './workflow.ts';

export interface CheckpointInput {
  readonly journalPath: string;
  readonly reportDir: string;
  /** The run's hypotheses as merged (defaults, loss judges, --slo). */
  readonly hypotheses: readonly { readonly text: string; readonly description?: string }[];
  /** Every metric beyond the built-in ones (the runner's conditions', the workflow's). */
  readonly metrics: readonly MetricSpec[];
  readonly variants: readonly string[];
  readonly settings: Record<string, unknown>;
  readonly environment: Record<string, unknown>;
}

export interface CheckpointResult {
  readonly total: number;
  readonly holding: number;
  readonly failing: number;
  readonly unmeasured: number;
}

export async function writeCheckpoint(input: CheckpointInput): Promise<CheckpointResult> {
  const registry = new MetricRegistry([...input.metrics]);
  const hypotheses = input.hypotheses.map((h) => parseHypothesis(h.text, h.description, registry));
  const analyser = new RunAnalyser();
  for await (const e of readJournal(input.journalPath)) analyser.push(e);
  const summary = analyser.finish();
  const measurements = [...summary.measurements.map(({ type: _t, at: _a, ...m }) => m), ...faultMeasurements(summary)];
  const outcomes = (input.variants.length ? input.variants : [undefined]).flatMap((variant) => evaluate(hypotheses, metricLookup({ summary, measurements, registry, variant }), variant));
  const report = await import('@resilience/report');
  const built = await report.buildReport({
    journalPath: input.journalPath,
    hypotheses: outcomes.map((o) => ({ name: o.text, description: o.description ?? '', ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, ...(o.variant ? { variant: o.variant } : {}) })),
    settings: input.settings,
    environment: input.environment,
  });
  const tmp = await mkdtemp(join(input.reportDir, '.checkpoint-'));
  try {
    // Attachments (screenshots) stay in the report folder: the interim report reads them there.
    await report.writeReport(built, tmp, { png: false, attachmentsDir: input.reportDir });
    for (const f of await readdir(tmp)) await rename(join(tmp, f), join(input.reportDir, f));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const failing = outcomes.filter((o) => !o.ok && o.observed !== null).length;
  const unmeasured = outcomes.filter((o) => o.observed === null).length;
  return { total: outcomes.length, holding: outcomes.length - failing - unmeasured, failing, unmeasured };
}

/** Runs writeCheckpoint in a child process at nice 10; rejects with its error output when it fails. */
export function checkpointInChild(input: CheckpointInput): Promise<CheckpointResult> {
  const main = fileURLToPath(new URL('./checkpoint-main.ts', import.meta.url));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, main], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      if (child.pid !== undefined) setPriority(child.pid, 10);
    } catch {
      // Not allowed here: it runs at the runner's priority.
    }
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d.slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        try {
          resolvePromise(JSON.parse(out.trim().split('\n').at(-1) ?? '') as CheckpointResult);
        } catch (e) {
          reject(new Error(`checkpoint printed no result: ${String(e)}; ${err.trim()}`));
        }
      } else reject(new Error(`checkpoint exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.end(JSON.stringify(input));
  });
}
