// summary.md: the verdict and the report's tables in GitHub-flavoured Markdown, short enough
// for a CI step summary.
import { comparisonHeadline, comparisonNotes, comparisonTable } from './compare.ts';
import type { Comparison } from './compare.ts';
import { findingCounts, findingFacts, SEVERITY_LABEL, sortFindings } from './findings.ts';
import { OUTCOME_LABEL, formatAt, formatMs } from './format.ts';
import type { Report, ReportFinding } from './schema.ts';
import { errorsTable, evidenceTables, evidenceTitle, faultsTable, hypothesesTables, measurementsTable, probesTable, variantsTable, writeCheckDetailTables, writeCheckHeadline, writeChecksTable } from './tables.ts';
import type { Cell, Table } from './tables.ts';
import { resourcesTable } from './resource-charts.ts';
import { overlapsTable, roleChartTitle, roleMomentsText, rolesTable, splitBrainText } from './swimlanes.ts';

const OUTCOME_ICON: Record<Report['verdict']['outcome'], string> = {
  passed: '✅',
  failed: '❌',
  interrupted: '⚠️',
  aborted: '⚠️',
  'no-hypotheses': '➖',
};

const TONE_ICON = { ok: '✅', bad: '❌', warn: '⚠️', muted: '' } as const;

// GitHub's alert blocks: red for critical, amber for warning.
const ALERT: Record<ReportFinding['severity'], string> = { critical: 'CAUTION', warning: 'WARNING', info: 'NOTE' };

export function renderMarkdown(report: Report): string {
  const { run, verdict } = report;
  const lines = [
    `## ${OUTCOME_ICON[verdict.outcome]} ${OUTCOME_LABEL[verdict.outcome]}: ${inline(run.workflow)}`,
  ];
  // Findings first: what the system did is what people must read, before any number.
  if (report.findings.length) {
    lines.push('', `### Findings`, '', `${findingCounts(report.findings)}, most severe first.`);
    for (const f of sortFindings(report.findings)) lines.push('', ...renderFinding(f));
  }
  lines.push(
    '',
    `**Verdict:** ${inline(verdict.reason)}.`,
    '',
    `Run \`${code(run.id)}\` · started ${inline(run.startedAt)} · lasted ${formatMs(run.durationMs)} · status \`${run.status}\``
      + (run.exitCode === null ? '' : ` · exit code ${run.exitCode}`),
  );
  if (run.partial) {
    lines.push('', `> [!WARNING]\n> ${partialText(report)}`);
  }
  const variants = variantsTable(report);
  if (variants) lines.push('', `### ${variants.title}`, '', ...renderTable(variants));
  lines.push('', '### Hypotheses');
  for (const table of hypothesesTables(report)) {
    if (table.caption) lines.push('', `#### ${inline(capitalized(table.caption))}`);
    lines.push('', ...renderTable(table));
  }
  if (report.baseline) lines.push('', '### Compared with baseline', '', ...comparisonLines(report.baseline));
  if (report.writeChecks.length) {
    const overview = writeChecksTable(report);
    lines.push('', `### ${overview.title}`, '', ...renderTable(overview));
    for (const check of report.writeChecks.filter((c) => c.lost > 0 || c.ghost > 0)) {
      lines.push('', `#### ${inline(writeCheckHeadline(check))}`);
      for (const table of writeCheckDetailTables(report, check)) {
        lines.push('', `**${inline(table.title)}**${table.caption ? ` (${inline(table.caption)})` : ''}`, '', ...renderTable(table));
      }
    }
  }
  if (report.evidence?.length) {
    lines.push('', '### Evidence');
    for (const e of report.evidence) {
      lines.push('', `#### ${inline(evidenceTitle(e))}`);
      const tables = evidenceTables(e);
      if (tables.length === 0) lines.push('', '_No table: the data is in evidence.json._');
      for (const table of tables) lines.push('', `**${inline(table.title)}**`, '', ...renderTable(table));
    }
  }
  if (report.roles?.length) {
    lines.push('', '### Node roles');
    for (const c of report.roles) {
      const split = c.overlaps.length > 0;
      lines.push('', `#### ${inline(roleChartTitle(c))}: ${split ? '❌ ' : ''}${inline(splitBrainText(c))}`);
      const moments = roleMomentsText(report, c);
      if (moments.length) lines.push('', ...moments.map((m) => `- ${inline(m)}`));
      lines.push('', ...renderTable(rolesTable(c)));
      if (split) {
        const overlaps = overlapsTable(c, 10);
        lines.push('', `**${overlaps.title}**${overlaps.caption ? ` (${inline(overlaps.caption)})` : ''}`, '', ...renderTable(overlaps));
      }
    }
  }
  if (report.resources?.series.length) {
    const table = resourcesTable(report);
    lines.push('', `### ${table.title}`, '', ...renderTable(table));
  }
  for (const table of [probesTable(report), ...(report.probes.some((p) => p.errors?.length) ? [errorsTable(report)] : []), measurementsTable(report), faultsTable(report)]) {
    lines.push('', `### ${table.title}`, '', ...renderTable(table));
  }
  lines.push('', `<sub>${inline(report.generator.name)} ${inline(report.generator.version)} · report.json schema v${report.schemaVersion} · journal ${inline(report.journal.file)}</sub>`, '');
  return lines.join('\n');
}

/** The comparison with a baseline: headline, table (metric, probe / scope, baseline, current, diff, noise, verdict), notes. */
function comparisonLines(c: NonNullable<Report['baseline']>): string[] {
  return [`${c.regressions ? '❌' : '✅'} ${inline(comparisonHeadline(c))}.`, '', ...renderTable(comparisonTable(c)), '', ...comparisonNotes(c).map((n) => `- ${inline(n)}`)];
}

/** compare.md of `npm run compare`: the same headline, table and notes as summary.md's section. */
export function renderComparisonMarkdown(c: Comparison, current: Pick<Report, 'run'>): string {
  return [`## ${inline(current.run.workflow)}: run \`${code(current.run.id)}\` compared with baseline run \`${code(c.run.id)}\``, '', ...comparisonLines(c), ''].join('\n');
}

/** Why the numbers are incomplete, in one sentence. */
export function partialText(report: Report): string {
  const { run, journal } = report;
  const parts: string[] = [];
  if (run.status === 'interrupted') parts.push(`The run was interrupted: its journal ends at ${formatAt(journal.lastEventAt)} without a run-end event.`);
  else if (run.status !== 'completed') parts.push(`The run ended with status \`${run.status}\`.`);
  if (journal.tornLastLine) parts.push('The last line of the journal was torn (written during a crash) and was skipped.');
  parts.push('The numbers cover only what was recorded.');
  return parts.join(' ');
}

/** A finding as a GitHub alert: title, when and where, detail, each evidence in a code block. */
function renderFinding(f: ReportFinding): string[] {
  const body = [
    `**${SEVERITY_LABEL[f.severity]}: ${inline(f.title)}**`,
    `${findingFacts(f).map(inline).join(' · ')}`,
  ];
  const detail = f.detail.split(/\r?\n/).map((l) => l.trimEnd());
  if (detail.some((l) => l.trim())) body.push('', ...detail.map((l) => inline(l)));
  for (const e of f.evidence) {
    const fence = '`'.repeat(Math.max(3, ...[...e.text.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    body.push('', `_${inline(e.label || 'evidence')}_`, '', fence, ...e.text.replace(/\s+$/, '').split(/\r?\n/), fence);
  }
  return [`> [!${ALERT[f.severity]}]`, ...body.map((l) => (l === '' ? '>' : `> ${l}`))];
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function renderTable(table: Table): string[] {
  if (table.rows.length === 0) return [`_${table.empty}_`];
  const header = `| ${table.columns.map((c) => escapeCell(c.label)).join(' | ')} |`;
  const rule = `| ${table.columns.map((c) => (c.numeric ? '---:' : '---')).join(' | ')} |`;
  return [header, rule, ...table.rows.map((row) => `| ${row.map(renderCell).join(' | ')} |`)];
}

function renderCell(cell: Cell): string {
  const body = cell.code ? `\`${code(cell.text)}\`` : escapeCell(cell.text);
  if (cell.badge && cell.tone) return `${TONE_ICON[cell.tone]} ${body}`.trim();
  if (cell.tone === 'bad') return `**${body}**`;
  return body;
}

/** Text safe inside a table cell: no line breaks, pipes escaped, Markdown and HTML neutralised. */
function escapeCell(text: string): string {
  return inline(text).replace(/\|/g, '\\|');
}

function inline(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]]/g, (c) => `\\${c}`)
    // Only a `<` that could open a tag or comment is dangerous (`<= 30` is plain text).
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;');
}

/** Inside backticks: a backtick would end the span, a pipe the cell. */
function code(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/`/g, "'").replace(/\|/g, '\\|');
}
