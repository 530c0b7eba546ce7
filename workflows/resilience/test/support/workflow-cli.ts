// What the workflows' end-to-end tests share: run a workflow's CLI as users do (in CI mode, its
// reports in a fresh folder), read the report it names, and list what a run left in Docker.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Labels } from '@resilience/fixtures';

/** The report folder a workflow printed (`report: <dir>`); throws with the output when there is none. */
export function reportDirOf(out: string, err = ''): string {
  const dir = /report: (\S+)/.exec(out)?.[1];
  if (!dir) throw new Error(`no report folder in the output:\n${out}\n${err}`);
  return dir;
}

/** How the workflow's process ended, and what it printed. */
export interface CliResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface WorkflowRun<R> {
  readonly r: CliResult;
  readonly dir: string;
  readonly report: R;
  /** A measurement's value by name and scope (and iteration), null when absent or not measured. */
  value(name: string, scope: string, iteration?: number): number | null;
}

/**
 * Runs `main` with `args` under `node`, with CI=true and the reports in a new folder named after
 * `name`; logs the output lines that match `show`, and returns the report.json it wrote.
 */
export async function runWorkflowCli<R extends { measurements: readonly { name: string; scope: string | null; iteration?: number | null; value: number | null }[] }>(
  t: { log(...s: string[]): void }, name: string, main: string, args: readonly string[], show: RegExp,
): Promise<WorkflowRun<R>> {
  const reports = mkdtempSync(join(tmpdir(), `rz-${name}-`));
  const run = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  const r: CliResult = { exitCode: run.exitCode, stdout: String(run.stdout), stderr: String(run.stderr) };
  t.log(r.stdout.split('\n').filter((l) => show.test(l)).join('\n'));
  const dir = reportDirOf(r.stdout, r.stderr);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as R;
  const value = (m: string, scope: string, iteration?: number) =>
    report.measurements.find((x) => x.name === m && x.scope === scope && (iteration === undefined || x.iteration === iteration))?.value ?? null;
  return { r, dir, report, value };
}

/** The ids of every container still labelled with the run's id. */
export async function leftovers(runId: string): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=${Labels.runId}=${runId}`]);
  return stdout.split('\n').filter(Boolean);
}
