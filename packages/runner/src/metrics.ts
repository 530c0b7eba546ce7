// Looks up hypothesis metrics in a run's analysis and the workflow's own measurements.
import type { RunSummary, ProbeSummary } from '@resilience/fixtures';
import type { MetricLookup } from './hypotheses.ts';

export interface Measurement {
  /** Also the metric name hypotheses use (e.g. `lostWrites`, `election`). */
  readonly name: string;
  readonly value: number | null;
  readonly unit: 'ms' | 'count' | 'ratio' | 'bytes' | 's';
  /** How it was measured, for the report. */
  readonly description: string;
  /** Target or probe it belongs to (hypotheses select by it: `election(postgres)`). */
  readonly scope?: string;
  /** Iteration (1-based) when the workflow repeats. */
  readonly iteration?: number;
}

const PERCENTILES: Record<string, 'p50Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms' | 'maxMs'> = {
  p50: 'p50Ms', p95: 'p95Ms', p99: 'p99Ms', p999: 'p999Ms', max: 'maxMs',
};

function worst(values: (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return xs.length ? Math.max(...xs) : null;
}

/**
 * Arguments name phases and/or probes: `availability(steady)`, `p99(fault, http-write)`.
 * Over several probes: availability pools their operations; durations take the worst probe;
 * RTO and time to detect take the worst over every fault. Measurements with several scopes
 * (iterations) take the worst value.
 */
export function metricLookup(summary: RunSummary, measurements: readonly Measurement[]): MetricLookup {
  const phaseNames = new Set(summary.phases.map((p) => p.name));
  const probeMetrics = new Set(['availability', 'rto', 'ttd', 'outage', ...Object.keys(PERCENTILES)]);
  return (metric, args) => {
    if (!probeMetrics.has(metric)) {
      // A workflow's own measurement, selected by its scope: `election(postgres)`.
      const found = measurements.filter((m) => m.name === metric && (!args.length || args.includes(m.scope ?? '')));
      return worst(found.map((m) => m.value));
    }
    const phase = args.find((a) => phaseNames.has(a));
    const probeArgs = args.filter((a) => a !== phase);
    if (probeArgs.some((a) => !summary.probes[a])) return null;
    const probes: ProbeSummary[] = probeArgs.length ? probeArgs.map((a) => summary.probes[a]!) : Object.values(summary.probes);
    switch (metric) {
      case 'availability': {
        let good = 0;
        let attempts = 0;
        for (const p of probes) {
          const s = phase ? p.phases[phase] : p;
          if (!s) continue;
          attempts += s.attempts;
          good += s.attempts - s.failures;
        }
        return attempts ? good / attempts : null;
      }
      case 'rto':
        return worst(probes.flatMap((p) => p.faults.map((f) => f.rtoMs)));
      case 'ttd':
        return worst(probes.flatMap((p) => p.faults.map((f) => f.timeToDetectMs)));
      case 'outage':
        return worst(probes.map((p) => p.outageMs));
      default: {
        const key = PERCENTILES[metric]!;
        return worst(probes.map((p) => (phase ? p.phases[phase]?.latency?.[key] : p.latency?.[key])));
      }
    }
  };
}
