// summary.md: the verdict and the report's tables in GitHub-flavoured Markdown, short enough
// for a CI step summary.
import { OUTCOME_LABEL, formatAt, formatMs } from './format.ts';
import type { Report } from './schema.ts';
import { faultsTable, hypothesesTable, measurementsTable, probesTable } from './tables.ts';
import type { Cell, Table } from './tables.ts';

const OUTCOME_ICON: Record<Report['verdict']['outcome'], string> = {
  passed: '✅',
  failed: '❌',
  interrupted: '⚠️',
  aborted: '⚠️',
  'no-hypotheses': '➖',
};

const TONE_ICON = { ok: '✅', bad: '❌', warn: '⚠️', muted: '' } as const;

export function renderMarkdown(report: Report): string {
  const { run, verdict } = report;
  const lines = [
    `## ${OUTCOME_ICON[verdict.outcome]} ${OUTCOME_LABEL[verdict.outcome]}: ${inline(run.workflow)}`,
    '',
    `**Verdict:** ${inline(verdict.reason)}.`,
    '',
    `Run \`${code(run.id)}\` · started ${inline(run.startedAt)} · lasted ${formatMs(run.durationMs)} · status \`${run.status}\``
      + (run.exitCode === null ? '' : ` · exit code ${run.exitCode}`),
  ];
  if (run.partial) {
    lines.push('', `> [!WARNING]\n> ${partialText(report)}`);
  }
  for (const table of [hypothesesTable(report), probesTable(report), measurementsTable(report), faultsTable(report)]) {
    lines.push('', `### ${table.title}`, '', ...renderTable(table));
  }
  lines.push('', `<sub>${inline(report.generator.name)} ${inline(report.generator.version)} · report.json schema v${report.schemaVersion} · journal ${inline(report.journal.file)}</sub>`, '');
  return lines.join('\n');
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
