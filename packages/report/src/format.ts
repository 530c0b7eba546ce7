// Human-readable numbers, one set of rules for the Markdown summary, the HTML page and JUnit.
import type { Report, Scalar } from './schema.ts';

export const NONE = '—';

/** 0.42 ms, 7.25 ms, 42.1 ms, 512 ms, 2.00 s, 3 min 05 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  const a = Math.abs(ms);
  if (a < 10) return `${ms.toFixed(2)} ms`;
  if (a < 100) return `${ms.toFixed(1)} ms`;
  if (a < 1000) return `${ms.toFixed(0)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const totalSeconds = Math.round(a / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = String(totalSeconds % 60).padStart(2, '0');
  return `${ms < 0 ? '-' : ''}${h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`} ${s} s`;
}

/** A time on the run's clock: t+12.34 s. */
export function formatAt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  return `t+${(ms / 1000).toFixed(2)} s`;
}

/** 0.99951 → 99.951 %; three decimals from 99 % up, where the nines matter. */
export function formatRatio(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return NONE;
  if (ratio === 1) return '100 %';
  return `${(ratio * 100).toFixed(ratio >= 0.99 ? 3 : 2)} %`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A hypothesis' or measurement's value with its unit. */
export function formatScalar(value: Scalar, unit: string | null): string {
  if (value === null) return NONE;
  const text = typeof value === 'number' ? formatNumber(value) : String(value);
  return unit ? `${text} ${unit}` : text;
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

export const OUTCOME_LABEL: Record<Report['verdict']['outcome'], string> = {
  passed: 'PASSED',
  failed: 'FAILED',
  interrupted: 'INTERRUPTED',
  aborted: 'ABORTED',
  'no-hypotheses': 'NO VERDICT',
};

/** One line: "FAILED: 1 of 3 hypotheses failed (rto)". */
export function verdictLine(report: Report): string {
  return `${OUTCOME_LABEL[report.verdict.outcome]}: ${report.verdict.reason}`;
}
