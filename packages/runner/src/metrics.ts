// The metric registry and the lookup hypotheses use. A metric is either computed from the
// probes' analysis (availability, rto, ttd, outage, percentiles) or measured by the runner or
// a workflow (lostWrites, election, rtoP95, ...); every measured metric declares its unit, and
// any of them can be named in a hypothesis.
import type { MeasurementEvent, MetricUnit, RunSummary, ProbeSummary } from '@resilience/fixtures';

export type { MetricUnit };

/** A measured value: the runner emits it as a `measurement` journal event (the event less its type and time). */
export type Measurement = Omit<MeasurementEvent, 'type' | 'at'>;

/** How values of one metric over several scopes or iterations combine into one. */
export type Aggregate = 'sum' | 'max' | 'min';

export interface MetricSpec {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly description: string;
  /** Default: counts add up, everything else takes the worst (max). */
  readonly aggregate?: Aggregate;
  /** Computed from the probes' analysis rather than measured. */
  readonly probeMetric?: boolean;
}

const PERCENTILES = { p50: 'p50Ms', p95: 'p95Ms', p99: 'p99Ms', p999: 'p999Ms', max: 'maxMs' } as const;

/** Metrics every run has. */
export const BUILTIN_METRICS: readonly MetricSpec[] = [
  { name: 'availability', unit: 'ratio', aggregate: 'min', probeMetric: true, description: 'successful / attempted operations (pooled over the selected probes)' },
  { name: 'shed', unit: 'count', aggregate: 'sum', probeMetric: true, description: 'operations the system refused on purpose to protect itself (HTTP 429, rate limited), summed over the selected probes; a part of the failures, so availability counts them as not served' },
  { name: 'rto', unit: 'ms', probeMetric: true, description: 'client-visible recovery time: fault start to the first of 1 s of consecutive successes; worst over faults and probes; not measured if any did not recover' },
  { name: 'ttd', unit: 'ms', probeMetric: true, description: 'time to detect: fault start to the first failed operation; worst over faults and probes' },
  { name: 'outage', unit: 'ms', probeMetric: true, description: 'sum of the failing intervals of a probe; worst probe' },
  ...Object.keys(PERCENTILES).map((p) => ({ name: p, unit: 'ms' as const, probeMetric: true, description: `${p} latency (from the intended start); worst probe` })),
  { name: 'lostWrites', unit: 'count', aggregate: 'sum', description: 'acknowledged writes missing after recovery (every write probe: SQL, HTTP, Redis)' },
  { name: 'ghostWrites', unit: 'count', aggregate: 'sum', description: 'writes that failed for the client but are present' },
  { name: 'rpoSeconds', unit: 's', description: 'per fault: span of the lost acknowledged writes (last - first ack + interval); worst fault' },
  { name: 'faultRto', unit: 'ms', description: 'per fault: the worst RTO of the probes depending on its scope; not measured if one did not recover' },
  { name: 'rtoP50', unit: 'ms', description: 'median of faultRto over iterations (nearest rank)' },
  { name: 'rtoP95', unit: 'ms', description: '95th percentile of faultRto over iterations (nearest rank)' },
  { name: 'rtoMax', unit: 'ms', description: 'worst faultRto over iterations' },
  { name: 'findings', unit: 'count', aggregate: 'sum', description: 'findings of a severity (findings(critical)), or all' },
];

export class MetricRegistry {
  readonly #specs = new Map<string, MetricSpec>();

  constructor(specs: readonly MetricSpec[] = []) {
    for (const s of [...BUILTIN_METRICS, ...specs]) this.#specs.set(s.name, s);
  }

  get(name: string): MetricSpec | undefined {
    return this.#specs.get(name);
  }

  names(): string[] {
    return [...this.#specs.keys()];
  }

  add(spec: MetricSpec): void {
    if (!this.#specs.has(spec.name)) this.#specs.set(spec.name, spec);
  }
}

function combine(values: readonly (number | null)[], aggregate: Aggregate): number | null {
  if (values.length === 0 || values.some((v) => v === null || !Number.isFinite(v))) return null;
  const xs = values as number[];
  if (aggregate === 'sum') return xs.reduce((a, b) => a + b, 0);
  return aggregate === 'min' ? Math.min(...xs) : Math.max(...xs);
}

/** Strips the `@variant` suffix of a probe name. */
export function baseName(probe: string): string {
  const i = probe.lastIndexOf('@');
  return i > 0 ? probe.slice(0, i) : probe;
}

export interface LookupContext {
  readonly summary: RunSummary;
  readonly measurements: readonly Measurement[];
  readonly registry: MetricRegistry;
  /** Only probes and measurements of this variant. */
  readonly variant?: string | undefined;
}

/** Looks a metric up in measured data; null when it was not measured (which fails a hypothesis). */
export type MetricLookup = (metric: string, args: readonly string[]) => number | null;

/**
 * Arguments select: phase names (probe metrics), probe names (without `@variant`), scopes
 * (systems: `postgres` selects the probes depending on it, and measurements of it and of its
 * probes), and for `findings` a severity. Without arguments every probe / measurement counts.
 * Probe metrics: availability pools operations; shed adds up shed operations; rto is the worst probe's worst fault and
 * unmeasured when any selected probe did not recover; percentiles and outage take the worst
 * probe. Measurements combine with the metric's aggregate (counts add up, else the worst).
 */
export function metricLookup(ctx: LookupContext): MetricLookup {
  const { summary, registry } = ctx;
  const phaseNames = new Set(summary.phases.map((p) => p.name));
  const probes = Object.values(summary.probes).filter((p) => ctx.variant === undefined || p.variant === null || p.variant === ctx.variant);
  const measurements = ctx.measurements.filter((m) => ctx.variant === undefined || m.variant === undefined || m.variant === ctx.variant);
  const scopesOf = (p: ProbeSummary) => p.scopes ?? [];
  return (metric, args) => {
    const spec = registry.get(metric);
    if (!spec) return null;
    if (metric === 'findings') {
      const found = summary.findings.filter((f) => (ctx.variant === undefined || f.variant === undefined || f.variant === ctx.variant) && (!args.length || args.includes(f.severity)));
      return found.length;
    }
    if (!spec.probeMetric) {
      const found = measurements.filter((m) => m.name === metric && (!args.length || args.some((a) => {
        if (m.scope === a) return true;
        // A system scope selects the measurements of its probes too: lostWrites(postgres).
        const probe = probes.find((p) => baseName(p.probe) === m.scope);
        return probe ? scopesOf(probe).includes(a) : false;
      })));
      return combine(found.map((m) => m.value), spec.aggregate ?? (spec.unit === 'count' ? 'sum' : 'max'));
    }
    const phase = args.find((a) => phaseNames.has(a));
    const selectors = args.filter((a) => a !== phase);
    let selected = probes;
    if (selectors.length) {
      selected = probes.filter((p) => selectors.some((a) => baseName(p.probe) === a || p.probe === a || scopesOf(p).includes(a)));
      if (selected.length === 0) return null;
    }
    switch (metric) {
      case 'availability': {
        let good = 0;
        let attempts = 0;
        for (const p of selected) {
          const s = phase ? p.phases[phase] : p;
          if (!s) continue;
          attempts += s.attempts;
          good += s.attempts - s.failures;
        }
        return attempts ? good / attempts : null;
      }
      case 'shed': {
        // Not measured when no selected probe ran in the phase (as availability).
        let shed = 0;
        let attempts = 0;
        for (const p of selected) {
          const s = phase ? p.phases[phase] : p;
          if (!s) continue;
          attempts += s.attempts;
          shed += s.shed;
        }
        return attempts ? shed : null;
      }
      case 'rto': {
        const judged = selected.filter((p) => p.worst.status !== 'no-faults');
        return judged.length ? combine(judged.map((p) => p.worst.rtoMs), 'max') : null;
      }
      case 'ttd': {
        const xs = selected.map((p) => p.worst.timeToDetectMs).filter((x): x is number => x !== null);
        return xs.length ? Math.max(...xs) : null;
      }
      case 'outage':
        return selected.length ? Math.max(...selected.map((p) => p.outageMs)) : null;
      default: {
        const key = PERCENTILES[metric as keyof typeof PERCENTILES];
        if (!key) return null;
        const xs = selected.map((p) => (phase ? p.phases[phase]?.latency?.[key] : p.latency?.[key])).filter((x): x is number => typeof x === 'number');
        return xs.length ? Math.max(...xs) : null;
      }
    }
  };
}
