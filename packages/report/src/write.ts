// Writes a report's files into one folder (and the CI step summary), the text files first so a
// failing browser never costs the rest.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { parseWith, writeOptionsSchema } from './options.ts';
import type { WriteReportOptions } from './options.ts';
import { renderPng } from './png.ts';
import { redact } from './redact.ts';
import { SCHEMA_VERSION, reportSchema } from './schema.ts';
import type { Report } from './schema.ts';

export const REPORT_FILES = {
  json: 'report.json',
  junit: 'junit.xml',
  markdown: 'summary.md',
  html: 'report.html',
  png: 'report.png',
} as const;

export interface WrittenReport {
  readonly json: string;
  readonly junit: string;
  readonly markdown: string;
  readonly html: string;
  /** Present when the PNG was rendered. */
  readonly png?: string;
  /** Console errors, page errors and unexpected requests seen while rendering the PNG. */
  readonly pageProblems?: string[];
  /** The step summary file the Markdown was appended to, if any. */
  readonly stepSummary?: string;
}

/**
 * Writes report.json, junit.xml, summary.md and report.html into `outDir` (created), then
 * report.png unless `png: false`, and appends summary.md to $GITHUB_STEP_SUMMARY when set.
 * The report is checked against the schema and redacted again first. Throws
 * InvalidArgumentError for a report that does not match the schema, SetupError when
 * Chromium cannot start (the other files are written by then).
 */
export async function writeReport(report: Report, outDir: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  if (typeof outDir !== 'string' || outDir === '') throw new InvalidArgumentError('outDir', outDir, 'a directory path');
  const o = parseWith(writeOptionsSchema, options, 'writeReport options');
  const parsed = reportSchema.safeParse(report);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path ?? [];
    let value: unknown = report;
    for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    throw new InvalidArgumentError(['report', ...path.map(String)].join('.'), value, `a report matching schema v${SCHEMA_VERSION} (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  }
  const safe = redact(parsed.data);
  await mkdir(outDir, { recursive: true });
  const paths = {
    json: join(outDir, REPORT_FILES.json),
    junit: join(outDir, REPORT_FILES.junit),
    markdown: join(outDir, REPORT_FILES.markdown),
    html: join(outDir, REPORT_FILES.html),
  };
  const markdown = renderMarkdown(safe);
  await Promise.all([
    writeFile(paths.json, `${JSON.stringify(safe, null, 2)}\n`),
    writeFile(paths.junit, renderJunit(safe)),
    writeFile(paths.markdown, markdown),
    renderHtml(safe, { attachmentsDir: o.attachmentsDir ?? outDir }).then((html) => writeFile(paths.html, html)),
  ]);
  const stepSummary = o.stepSummary ?? (process.env.GITHUB_STEP_SUMMARY || false);
  if (stepSummary) await appendFile(stepSummary, `${markdown}\n`);
  const written: WrittenReport = { ...paths, ...(stepSummary ? { stepSummary } : {}) };
  if (o.png === false) return written;
  const png = join(outDir, REPORT_FILES.png);
  const rendered = await renderPng(paths.html, png);
  return {
    ...written,
    png,
    pageProblems: [
      ...rendered.consoleErrors.map((m) => `console error: ${m}`),
      ...rendered.pageErrors.map((m) => `page error: ${m}`),
      ...rendered.requests.map((u) => `request: ${u}`),
    ],
  };
}

/** `<base>/<workflow>-<start time>`, e.g. dist/reports/failover-20261122T024900Z. */
export function defaultReportDir(report: Pick<Report, 'run'>, base = join('dist', 'reports')): string {
  const stamp = report.run.startedAt.replace(/[-:]/g, '').replace(/\.\d+/, '');
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  return join(base, `${safe(report.run.workflow)}-${safe(stamp)}`);
}
