// Reading a report.json back (for comparing runs): a file or a report folder, checked against
// the schema; bad input is an InvalidArgumentError naming the value and what is accepted.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import { SCHEMA_VERSION, reportSchema } from './schema.ts';
import type { Report } from './schema.ts';
import { REPORT_FILES } from './write.ts';

export interface LoadedReport {
  readonly report: Report;
  /** The report.json that was read. */
  readonly path: string;
}

const ACCEPTED = `a ${REPORT_FILES.json} file or a report folder that contains one`;

/**
 * Reads `path` (a report.json, or a folder with one) as a report of schema v2. `argument` names
 * the value in errors (`--baseline`, `baseline`). Throws InvalidArgumentError for a missing file,
 * a folder without report.json, a file that is not JSON or not a report, or (with `workflow`) a
 * report of another workflow.
 */
export async function loadReport(path: string, argument: string, options: { readonly workflow?: string } = {}): Promise<LoadedReport> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError(argument, path, ACCEPTED);
  const info = await stat(path).catch(() => null);
  if (!info) throw new InvalidArgumentError(argument, path, `${ACCEPTED} (nothing is there)`);
  const file = info.isDirectory() ? join(path, REPORT_FILES.json) : path;
  if (info.isDirectory() && !(await stat(file).catch(() => null))?.isFile()) throw new InvalidArgumentError(argument, path, `${ACCEPTED} (the folder has no ${REPORT_FILES.json})`);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new InvalidArgumentError(argument, path, `${ACCEPTED} (${e instanceof SyntaxError ? `not JSON: ${e.message}` : String(e)})`);
  }
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof data !== 'object' || data === null || version === undefined) throw new InvalidArgumentError(argument, path, `${ACCEPTED} (this JSON is not a report: it has no schemaVersion)`);
  if (version !== SCHEMA_VERSION) throw new InvalidArgumentError(argument, path, `a report of schema v${SCHEMA_VERSION} (this one is v${String(version)})`);
  const parsed = reportSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(argument, path, `a report matching schema v${SCHEMA_VERSION} (at ${issue?.path.join('.') || 'the top'}: ${issue?.message ?? 'invalid'})`);
  }
  if (options.workflow !== undefined && parsed.data.run.workflow !== options.workflow) {
    throw new InvalidArgumentError(argument, path, `a report of workflow ${options.workflow} (it is a report of ${parsed.data.run.workflow})`);
  }
  return { report: parsed.data, path: file };
}
