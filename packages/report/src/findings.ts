// Findings lead every report: the words shared by the HTML banner, summary.md, JUnit and the
// console, so a finding reads the same wherever it is seen.
import { formatSpan } from './format.ts';
import type { ReportFinding } from './schema.ts';

/** A finding as report.json carries it, or the journal's `finding` event (its `type` is ignored). */
export interface FindingLike {
  readonly id: string;
  readonly kind: string;
  readonly severity: ReportFinding['severity'];
  readonly title: string;
  readonly detail: string;
  readonly at: number;
  readonly until?: number | undefined;
  readonly scope?: string | undefined;
  readonly variant?: string | undefined;
  readonly iteration?: number | undefined;
  readonly faultId?: string | undefined;
  readonly nodes?: readonly string[] | undefined;
  readonly evidence: readonly { readonly label: string; readonly text: string }[];
}

export const SEVERITY_LABEL: Record<ReportFinding['severity'], string> = { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' };
const RANK: Record<ReportFinding['severity'], number> = { critical: 0, warning: 1, info: 2 };

/** Most severe first, then in time order. */
export function sortFindings<F extends FindingLike>(findings: readonly F[]): F[] {
  return findings.map((f, i) => ({ f, i })).sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.f.at - b.f.at || a.i - b.i).map((x) => x.f);
}

/** `1 critical, 2 warnings`. */
export function findingCounts(findings: readonly FindingLike[]): string {
  const parts: string[] = [];
  for (const severity of ['critical', 'warning', 'info'] as const) {
    const n = findings.filter((f) => f.severity === severity).length;
    if (n) parts.push(`${n} ${severity === 'warning' && n > 1 ? 'warnings' : severity}`);
  }
  return parts.join(', ');
}

/** The most severe level present, or null without findings. */
export function topSeverity(findings: readonly FindingLike[]): ReportFinding['severity'] | null {
  return sortFindings(findings)[0]?.severity ?? null;
}

/** When and where: `t+12.34 s → t+15.00 s (2.66 s)`, `nodes pg1, pg2`, `scope postgres`, `variant naive`, `iteration 2`, `fault f2`. */
export function findingFacts(f: FindingLike): string[] {
  const facts = [formatSpan(f.at, f.until)];
  if (f.nodes?.length) facts.push(`node${f.nodes.length > 1 ? 's' : ''} ${f.nodes.join(', ')}`);
  if (f.scope) facts.push(`scope ${f.scope}`);
  if (f.variant) facts.push(`variant ${f.variant}`);
  if (typeof f.iteration === 'number') facts.push(`iteration ${f.iteration}`);
  if (f.faultId) facts.push(`fault ${f.faultId}`);
  return facts;
}

export interface FindingsTextOptions {
  /** Lines of each evidence shown; the rest are counted. Default 12. */
  readonly maxEvidenceLines?: number;
}

/**
 * Findings as plain text for a terminal (most severe first), or '' without any:
 *
 *     FINDINGS: 1 critical
 *     CRITICAL  12 acknowledged writes lost (sql-write)
 *               t+12.34 s → t+15.00 s (2.66 s) · node pg1 · scope postgres
 *               The new leader did not have ...
 *               evidence: patroni log pg1
 *                 | 2026-11-22 02:49:01 ...
 */
export function renderFindingsText(findings: readonly FindingLike[], options: FindingsTextOptions = {}): string {
  if (findings.length === 0) return '';
  const max = options.maxEvidenceLines ?? 12;
  const pad = ' '.repeat(10);
  const lines = [`FINDINGS: ${findingCounts(findings)}`];
  for (const f of sortFindings(findings)) {
    lines.push(`${SEVERITY_LABEL[f.severity].padEnd(10)}${oneLine(f.title)}`);
    lines.push(`${pad}${findingFacts(f).join(' · ')}`);
    for (const line of f.detail.split(/\r?\n/)) if (line.trim()) lines.push(`${pad}${line.trimEnd()}`);
    for (const e of f.evidence) {
      lines.push(`${pad}evidence: ${oneLine(e.label)}`);
      const body = e.text.replace(/\s+$/, '').split(/\r?\n/);
      for (const line of body.slice(0, max)) lines.push(`${pad}  | ${line.trimEnd()}`);
      if (body.length > max) lines.push(`${pad}  | … ${body.length - max} more lines (see report.html)`);
    }
  }
  return lines.join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ');
}
