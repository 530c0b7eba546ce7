// Hypotheses: declarative thresholds over measured values (`rto <= 30s`,
// `availability(steady) >= 99.9%`, `lostWrites == 0`, `p99(fault) <= 2s`). Probes only record;
// these decide the verdict (k6's thresholds, chaostoolkit's steady-state hypotheses).
import { InvalidArgumentError } from '@resilience/fixtures';

export type Operator = '<=' | '<' | '>=' | '>' | '==' | '!=';
export type Unit = 'ms' | 'ratio' | 'count';

export interface Hypothesis {
  /** The expression as written, e.g. `availability(steady) >= 99.9%`. */
  readonly text: string;
  readonly metric: string;
  /** Phase and/or probe names in the parentheses. */
  readonly args: readonly string[];
  readonly op: Operator;
  /** Normalised: milliseconds for durations, a fraction for percentages. */
  readonly threshold: number;
  readonly unit: Unit;
  readonly description?: string;
}

export interface HypothesisOutcome extends Hypothesis {
  readonly ok: boolean;
  /** null when the value was not measured (which fails the hypothesis). */
  readonly observed: number | null;
}

const DURATION: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const EXPR = /^\s*([a-zA-Z][a-zA-Z0-9_]*)\s*(?:\(([^)]*)\))?\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|%)?\s*$/;

/** Metrics and the unit their values are in. */
export const METRICS: Readonly<Record<string, Unit>> = {
  rto: 'ms', ttd: 'ms', outage: 'ms', election: 'ms', rejoin: 'ms', redundancy: 'ms',
  availability: 'ratio',
  p50: 'ms', p95: 'ms', p99: 'ms', p999: 'ms', max: 'ms',
  lostWrites: 'count', ghostWrites: 'count', rpoSeconds: 'count', redisLostWrites: 'count',
  failoverRto: 'ms', rtoP50: 'ms', rtoP95: 'ms', rtoMax: 'ms',
};

/** Parses `metric(args) op value[unit]`; throws InvalidArgumentError naming the bad text. */
export function parseHypothesis(text: string, description?: string): Hypothesis {
  const m = typeof text === 'string' ? EXPR.exec(text) : null;
  if (!m) throw new InvalidArgumentError('hypothesis', text, 'an expression like `rto <= 30s`, `availability(steady) >= 99.9%` or `lostWrites == 0`');
  const [, metric = '', rawArgs, op = '<=', number = '0', suffix] = m;
  const unit = METRICS[metric];
  if (!unit) throw new InvalidArgumentError('hypothesis', text, `a known metric (${Object.keys(METRICS).join(', ')})`);
  let threshold = Number(number);
  if (unit === 'ms') {
    if (suffix === '%') throw new InvalidArgumentError('hypothesis', text, `a duration for ${metric} (ms, s, m or h)`);
    threshold *= DURATION[suffix ?? 'ms'] ?? 1;
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

/** Looks a metric up in the measured data; null when it was not measured. */
export type MetricLookup = (metric: string, args: readonly string[]) => number | null;

export function evaluate(hypotheses: readonly Hypothesis[], lookup: MetricLookup): HypothesisOutcome[] {
  return hypotheses.map((h) => {
    const observed = lookup(h.metric, h.args);
    return { ...h, observed, ok: observed !== null && Number.isFinite(observed) && compare(observed, h.op, h.threshold) };
  });
}

/** A value in the hypothesis' unit, for people: `12.3 s`, `99.95 %`, `0`. */
export function formatValue(value: number | null, unit: Unit): string {
  if (value === null) return 'not measured';
  if (unit === 'ratio') return `${(value * 100).toFixed(value >= 0.9995 && value < 1 ? 3 : 2)} %`;
  if (unit === 'ms') return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`;
  return String(value);
}
