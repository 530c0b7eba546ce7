// `report <journal.ndjson>`: rebuilds every report file from a journal alone, e.g. after a run
// crashed before it could write its report.
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { isResilienceError } from '@resilience/fixtures/errors';
import { buildReport } from './build.ts';
import { renderFindingsText } from './findings.ts';
import { verdictLine } from './format.ts';
import { reportJsonSchema } from './schema.ts';
import { defaultReportDir, writeReport } from './write.ts';

export const USAGE = `usage: report <journal.ndjson> [--out DIR] [--no-png] [--bucket-ms N]
       report --json-schema

Rebuilds report.json, junit.xml, summary.md, report.html and report.png from a run's journal.
  --out DIR       output folder (default dist/reports/<workflow>-<start time>)
  --no-png        skip report.png (no Chromium needed)
  --bucket-ms N   chart bucket width in ms (default 250, widened for long runs)
  --json-schema   print the JSON Schema of report.json and exit
Exit codes: 0 written, 2 bad arguments, unreadable journal or Chromium missing, 1 other errors.`;

/** Where a CLI writes (the console, or lines a test collects). */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      allowNegative: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        png: { type: 'boolean', default: true },
        'bucket-ms': { type: 'string' },
        'json-schema': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`report: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values['json-schema']) {
    io.out(JSON.stringify(reportJsonSchema(), null, 2));
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`report: expected exactly one journal file, got ${positionals.length === 0 ? 'none' : positionals.map((p) => `\`${p}\``).join(', ')}\n\n${USAGE}`);
    return 2;
  }
  let bucketMs: number | undefined;
  if (values['bucket-ms'] !== undefined) {
    bucketMs = Number(values['bucket-ms']);
    if (!(Number.isFinite(bucketMs) && bucketMs > 0)) {
      io.err(`report: expected \`--bucket-ms\` to be a duration > 0 ms, got \`${values['bucket-ms']}\`\n\n${USAGE}`);
      return 2;
    }
  }
  if (values.out === '') {
    io.err(`report: expected \`--out\` to be a directory path, got an empty string\n\n${USAGE}`);
    return 2;
  }
  try {
    const report = await buildReport({ journalPath: positionals[0]!, ...(bucketMs === undefined ? {} : { bucketMs }) });
    const outDir = values.out ?? defaultReportDir(report);
    // Screenshots of failed journeys are in the run's folder, next to its journal.
    const written = await writeReport(report, outDir, { png: values.png, attachmentsDir: dirname(positionals[0]!) });
    io.out(verdictLine(report));
    if (report.run.partial) io.out(`note: partial run (status ${report.run.status}${report.journal.tornLastLine ? ', torn last line skipped' : ''})`);
    const findings = renderFindingsText(report.findings);
    if (findings) io.out(findings);
    for (const path of [written.json, written.junit, written.markdown, written.html, written.png]) if (path) io.out(`wrote ${path}`);
    for (const problem of written.pageProblems ?? []) io.err(`warning: report.html: ${problem}`);
    return 0;
  } catch (error) {
    if (isResilienceError(error)) {
      io.err(`report: ${error.message}`);
      return error.exitCode;
    }
    io.err(`report: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
