// Hypotheses: declarative thresholds over measured values (`rto <= 30s`,
// `availability(steady) >= 99.9%`, `lostWrites == 0`, `p99(fault) <= 2s`). Probes only record;
// these decide the verdict (k6's thresholds, chaostoolkit's steady-state hypotheses).
import { InvalidArgumentError, formatMetric, type MetricUnit } from '@resilience/fixtures';
import { MetricRegistry, type MetricLookup } from './metrics.ts';

export type Operator = '<=' | '<' | '>=' | '>' | '==' | '!=';
/** @deprecated use MetricUnit */
export type Unit = MetricUnit;

export interface Hypothesis {
  /** The expression as written, e.g. `availability(steady) >= 99.9%`. */
  readonly text: string;
  readonly metric: string;
  /** Phase, probe, scope (or severity) names in the parentheses. */
  readonly args: readonly string[];
  readonly op: Operator;
  /** Normalised to the metric's unit: ms or s for durations, a fraction for percentages. */
  readonly threshold: number;
  readonly unit: MetricUnit;
  readonly description?: string;
}

export interface HypothesisOutcome extends Hypothesis {
  readonly ok: boolean;
  /** null when the value was not measured (which fails the hypothesis). */
  readonly observed: number | null;
  /** The variant it was checked on, when the run has several. */
  readonly variant?: string;
}

const DURATION: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const EXPR = /^\s*([a-zA-Z][a-zA-Z0-9_]*)\s*(?:\(([^)]*)\))?\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|%)?\s*$/;

const DEFAULT_REGISTRY = new MetricRegistry();

/** Metrics and the unit their values are in (the built-in ones). */
export const METRICS: Readonly<Record<string, MetricUnit>> = Object.fromEntries(DEFAULT_REGISTRY.names().map((n) => [n, DEFAULT_REGISTRY.get(n)!.unit]));

/**
 * Parses `metric(args) op value[unit]`; throws InvalidArgumentError naming the bad text and
 * what is accepted. `registry` holds the metrics a workflow can measure (default: built-ins).
 */
export function parseHypothesis(text: string, description?: string, registry: MetricRegistry = DEFAULT_REGISTRY): Hypothesis {
  const m = typeof text === 'string' ? EXPR.exec(text) : null;
  if (!m) throw new InvalidArgumentError('hypothesis', text, 'an expression like `rto <= 30s`, `availability(steady) >= 99.9%` or `lostWrites == 0`');
  const [, metric = '', rawArgs, op = '<=', number = '0', suffix] = m;
  const spec = registry.get(metric);
  if (!spec) throw new InvalidArgumentError('hypothesis', text, `a known metric (${registry.names().join(', ')})`);
  const unit = spec.unit;
  let threshold = Number(number);
  if (unit === 'ms' || unit === 's') {
    if (suffix === '%') throw new InvalidArgumentError('hypothesis', text, `a duration for ${metric} (ms, s, m or h)`);
    const factor = DURATION[suffix ?? (unit === 's' ? 's' : 'ms')] ?? 1;
    threshold = unit === 's' ? (threshold * factor) / 1000 : threshold * factor;
  } else if (unit === 'ratio') {
    if (suffix && suffix !== '%') throw new InvalidArgumentError('hypothesis', text, `a percentage or a fraction for ${metric}`);
    // Divide through a decimal shift, not a float division: 99.9% must be exactly 0.999.
    if (suffix === '%') threshold = Number((threshold / 100).toPrecision(12));
    if (threshold < 0 || threshold > 1) throw new InvalidArgumentError('hypothesis', text, `${metric} between 0 and 100%`);
  } else if (suffix) {
    throw new InvalidArgumentError('hypothesis', text, `a plain number for ${metric}`);
  }
  const args = rawArgs ? rawArgs.split(',').map((a) => a.trim()).filter(Boolean) : [];
  return { text: text.trim(), metric, args, op: op as Operator, threshold, unit, ...(description ? { description } : {}) };
}

export function compare(observed: number, op: Operator, threshold: number): boolean {
  switch (op) {
    case '<=': return observed <= threshold;
    case '<': return observed < threshold;
    case '>=': return observed >= threshold;
    case '>': return observed > threshold;
    case '==': return observed === threshold;
    case '!=': return observed !== threshold;
  }
}

export type { MetricLookup };

export function evaluate(hypotheses: readonly Hypothesis[], lookup: MetricLookup, variant?: string): HypothesisOutcome[] {
  return hypotheses.map((h) => {
    const observed = lookup(h.metric, h.args);
    return { ...h, observed, ok: observed !== null && Number.isFinite(observed) && compare(observed, h.op, h.threshold), ...(variant === undefined ? {} : { variant }) };
  });
}

/** A value in the hypothesis' unit, for people: `12.34 s`, `99.95 %`, `0` (formatMetric). */
export function formatValue(value: number | null, unit: MetricUnit): string {
  return formatMetric(value, unit);
}

/** `rto <= 30s` with a threshold in the hypothesis' unit: `<= 30.00 s`. */
export function formatThreshold(h: Pick<Hypothesis, 'op' | 'threshold' | 'unit'>): string {
  return `${h.op} ${formatMetric(h.threshold, h.unit)}`;
}
