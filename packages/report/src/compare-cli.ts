// `npm run compare -- <baseline> <current>`: two runs' reports side by side, each change judged
// against the run-to-run noise; a regression beyond it fails (exit 1).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError, isResilienceError } from '@resilience/fixtures/errors';
import { DEFAULT_TOLERANCE, compareReports, parseTolerance, renderComparisonText } from './compare.ts';
import { consoleIo, type Io } from './cli.ts';
import { loadReport } from './load.ts';
import { renderComparisonMarkdown } from './markdown.ts';

export const USAGE = `usage: compare <baseline report> <current report> [--tolerance 20%] [--json] [--out DIR] [--force]

Compares a run's report with a baseline run's: per probe and per scope the worst RTO, the worst
time to detect, availability (overall and per phase), p99 latency and lost writes side by side,
with the difference and the run-to-run noise. A report is a report.json or a report folder.
  --tolerance T   allowed change when the noise is unknown (fewer than 2 samples in a run):
                  a percentage of the baseline's value, e.g. 20% (default) or 0.2
  --json          print the comparison as JSON instead of a table
  --out DIR       also write DIR/compare.json and DIR/compare.md (nothing is written without it)
  --force         compare reports of different workflows
Noise: the larger of the two runs' range (max - min) of a metric's per-fault samples; never less
than two probe intervals (times) or one operation (availability). Lost writes regress on any increase.
Exit codes: 0 no regression, 1 a regression, 2 bad input (nothing is written).`;

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        json: { type: 'boolean', default: false },
        tolerance: { type: 'string' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`compare: ${error instanceof Error ? error.message : String(error)}\nNothing was written.\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  try {
    if (positionals.length !== 2) {
      throw new InvalidArgumentError('reports', positionals.join(' '), `two reports, the baseline and the current run (got ${positionals.length})`);
    }
    if (values.out === '') throw new InvalidArgumentError('--out', '', 'a directory path');
    const tolerance = values.tolerance === undefined ? DEFAULT_TOLERANCE : parseTolerance(values.tolerance, '--tolerance');
    const [baselinePath, currentPath] = positionals as [string, string];
    const baseline = await loadReport(baselinePath, 'baseline');
    const current = await loadReport(currentPath, 'current');
    if (!values.force && baseline.report.run.workflow !== current.report.run.workflow) {
      throw new InvalidArgumentError('current', currentPath, `a report of workflow ${baseline.report.run.workflow} like the baseline (it is a report of ${current.report.run.workflow}; --force compares them anyway)`);
    }
    const comparison = compareReports(baseline.report, current.report, { tolerance, source: baseline.path });
    if (values.json) io.out(JSON.stringify(comparison, null, 2));
    else {
      io.out(`baseline: ${baseline.path} (run ${baseline.report.run.id}, ${baseline.report.verdict.outcome})`);
      io.out(`current:  ${current.path} (run ${current.report.run.id}, ${current.report.verdict.outcome})`);
      io.out('');
      io.out(renderComparisonText(comparison));
    }
    if (values.out !== undefined) {
      await mkdir(values.out, { recursive: true });
      const json = join(values.out, 'compare.json');
      const md = join(values.out, 'compare.md');
      await writeFile(json, `${JSON.stringify(comparison, null, 2)}\n`);
      await writeFile(md, renderComparisonMarkdown(comparison, current.report));
      if (!values.json) io.out(`\nwrote ${json}\nwrote ${md}`);
    }
    return comparison.regressions > 0 ? 1 : 0;
  } catch (error) {
    if (isResilienceError(error)) {
      io.err(`compare: ${error.message}${error.exitCode === 2 ? '\nSee --help. Nothing was written.' : ''}`);
      return error.exitCode;
    }
    io.err(`compare: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
