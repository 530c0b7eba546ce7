// Human-readable numbers for the Markdown summary, the HTML page and JUnit: the fixtures'
// formatMetric / formatDuration (what the console prints too), so a value reads the same everywhere.
import { formatDuration, formatMetric, measurementName } from '@resilience/fixtures/analysis';
import type { MetricUnit } from '@resilience/fixtures/events';
import type { FaultKind } from '@resilience/fixtures/faults';
import type { Report, Scalar } from './schema.ts';

export const NONE = '—';
export const NOT_MEASURED = 'not measured';

const METRIC_UNITS: readonly string[] = ['ms', 's', 'count', 'bytes', 'ratio'] satisfies MetricUnit[];

export function isMetricUnit(unit: string | null | undefined): unit is MetricUnit {
  return typeof unit === 'string' && METRIC_UNITS.includes(unit);
}

/** A duration (ms): `850 ms`, `3.48 s`, `2 min 05 s` (formatDuration); `—` when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  return formatDuration(ms);
}

/**
 * A latency percentile: formatDuration, with two decimals below 10 ms where a local datastore's
 * answers are (`0.42 ms`, `7.25 ms`, `42 ms`, `1.20 s`).
 */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  return Math.abs(ms) < 10 ? `${ms.toFixed(2)} ms` : formatDuration(ms);
}

/** A time on the run's clock: `t+12.34 s`, `t+850 ms`, `t+2 min 05 s`. */
export function formatAt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return NONE;
  return `t+${formatDuration(ms)}`;
}

/** A time, or a span with its length: `t+12.34 s`, `t+12.34 s → t+15.00 s (2.66 s)`. */
export function formatSpan(at: number, until?: number | null): string {
  if (until === undefined || until === null || !Number.isFinite(until)) return formatAt(at);
  return `${formatAt(at)} → ${formatAt(until)} (${formatDuration(until - at)})`;
}

/** A fraction as a percentage: `99.95 %`, `99.971 %`, `100.00 %`. */
export function formatRatio(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return NONE;
  return formatMetric(ratio, 'ratio');
}

export function formatCount(n: number): string {
  return formatMetric(Math.round(n), 'count');
}

/**
 * A hypothesis' or measurement's value in its unit: formatMetric for the metric units (ms, s,
 * count, bytes, ratio), the number and the unit for any other (`12 rows`); null is `missing`
 * (`not measured`). A comparison text such as `<= 30000` has its number formatted (`<= 30.00 s`).
 */
export function formatValue(value: Scalar, unit: string | null, missing = NOT_MEASURED): string {
  if (value === null) return missing;
  if (typeof value === 'number') {
    if (isMetricUnit(unit)) return formatMetric(value, unit);
    const text = formatNumber(value);
    return unit ? `${text} ${unit}` : text;
  }
  if (typeof value === 'string') {
    const comparison = /^\s*(<=|>=|==|!=|<|>|=)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*$/i.exec(value);
    if (comparison && unit) return `${comparison[1]} ${formatValue(Number(comparison[2]), unit)}`;
    return unit && !isMetricUnit(unit) ? `${value} ${unit}` : value;
  }
  return String(value);
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

export { measurementName };

/** Fault kinds the report names in other words than the kind itself. */
const FAULT_KIND_WORDS: Readonly<Partial<Record<FaultKind, { readonly label: string; readonly healed: string }>>> = {
  // Applied by a workflow through chaos.announce (every database container destroyed): nothing
  // undoes it, so its heal only marks its end (a restore brings the system back, not the heal).
  disaster: { label: 'disaster (irreversible)', healed: 'end of disaster' },
};

/** A fault kind as the report names it: `pause`, `disaster (irreversible)`. */
export function faultKindLabel(kind: string): string {
  return wordsOf(kind)?.label ?? kind;
}

/** The label of a fault's heal: `healed pause`, `heal failed: pause`, `end of disaster`. */
export function faultHealLabel(fault: { readonly kind: string; readonly healError: string | null }): string {
  if (fault.healError) return `heal failed: ${faultKindLabel(fault.kind)}`;
  return wordsOf(fault.kind)?.healed ?? `healed ${fault.kind}`;
}

function wordsOf(kind: string): { readonly label: string; readonly healed: string } | undefined {
  // hasOwn: a kind from the journal such as `constructor` is no key of the table.
  return Object.hasOwn(FAULT_KIND_WORDS, kind) ? FAULT_KIND_WORDS[kind as FaultKind] : undefined;
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
