// What the rolling deploy measures from the probes' samples, as pure functions (unit-tested
// against samples with a known answer): the requests that failed in a window, and latency
// percentiles of a window, both counted from each request's intended start.
import type { ProbeSample } from '@resilience/fixtures';

/** A span of the run clock (ms). */
export interface Window {
  readonly from: number;
  readonly to: number;
}

/**
 * The requests a window saw: intended before its end and completed after its start. A request
 * issued just before the deploy began and cut by it belongs to the deploy.
 */
export function touching(samples: readonly ProbeSample[], w: Window): ProbeSample[] {
  return samples.filter((s) => s.intended <= w.to && s.completed >= w.from);
}

/** Requests intended inside the window (for latency: each request counted once, in the phase it was due). */
export function intendedIn(samples: readonly ProbeSample[], w: Window): ProbeSample[] {
  return samples.filter((s) => s.intended >= w.from && s.intended < w.to);
}

export interface FailureCount {
  readonly attempted: number;
  readonly failed: number;
  /** Failed requests per error text (`HTTP 502`, `timeout`...), most frequent first. */
  readonly errors: readonly (readonly [string, number])[];
}

/** How many requests touching the window failed, and why. */
export function failures(samples: readonly ProbeSample[], w: Window): FailureCount {
  const seen = touching(samples, w);
  const byError = new Map<string, number>();
  let failed = 0;
  for (const s of seen) {
    if (s.ok) continue;
    failed++;
    const key = s.error ?? 'failed';
    byError.set(key, (byError.get(key) ?? 0) + 1);
  }
  return { attempted: seen.length, failed, errors: [...byError.entries()].sort((a, b) => b[1] - a[1]) };
}

/** The nearest-rank `p`th percentile of latency (completed - intended) of the requests intended in the window; null when there are none. */
export function latencyPercentile(samples: readonly ProbeSample[], w: Window, p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const xs = intendedIn(samples, w).map((s) => s.completed - s.intended).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;
}
