// What the cascade workflow reads from the apps' own /metrics (Prometheus text): dependency
// attempts (every try, retries included), requests being served, event-loop delay. And the
// windowed arithmetic it measures with: availability and p99 of the samples inside the fault's
// windows, backend attempts per client request.
import type { ProbeSample } from '@resilience/fixtures';

/** One sample line: `name{a="x",b="y"} 12.5`. */
interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export function parseProm(text: string): Series[] {
  const out: Series[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = Number(m[4]);
    if (Number.isFinite(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of the series of `name` whose labels include `where`; undefined when there is none. */
export function sumOf(series: readonly Series[], name: string, where: Readonly<Record<string, string>> = {}): number | undefined {
  let found = false;
  let total = 0;
  for (const s of series) {
    if (s.name !== name) continue;
    if (!Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    found = true;
    total += s.value;
  }
  return found ? total : undefined;
}

/** What one scrape of an app's /metrics says, for the cascade's measurements. */
export interface AppReading {
  /** Attempts on each dependency so far (every try, retries included). */
  readonly attempts: Readonly<Record<string, number>>;
  /** Requests being served right now. */
  readonly inflight: number | undefined;
  /** Event-loop delay p99 in ms (prom-client's default metrics). */
  readonly eventLoopP99Ms: number | undefined;
  /** Cache lookups that missed so far. */
  readonly cacheMisses: number | undefined;
}

export const ATTEMPTS_METRIC = 'app_dependency_attempts_total';
export const INFLIGHT_METRIC = 'app_http_inflight_requests';
export const EVENT_LOOP_P99_METRIC = 'nodejs_eventloop_lag_p99_seconds';
export const CACHE_METRIC = 'app_cache_requests_total';

export function appReading(text: string): AppReading {
  const series = parseProm(text);
  const attempts: Record<string, number> = {};
  for (const dependency of ['database', 'cache']) {
    const n = sumOf(series, ATTEMPTS_METRIC, { dependency });
    if (n !== undefined) attempts[dependency] = n;
  }
  const lag = sumOf(series, EVENT_LOOP_P99_METRIC);
  return { attempts, inflight: sumOf(series, INFLIGHT_METRIC), eventLoopP99Ms: lag === undefined ? undefined : lag * 1000, cacheMisses: sumOf(series, CACHE_METRIC, { result: 'miss' }) };
}

/** A stretch of the run clock, [from, to). */
export interface Window {
  readonly from: number;
  readonly to: number;
}

export const within = (t: number, windows: readonly Window[]): boolean => windows.some((w) => t >= w.from && t < w.to);

/** Availability and p99 (nearest rank, of every operation, failures at their own latency) of the samples that started inside `windows`. */
export function windowStats(samples: readonly ProbeSample[], windows: readonly Window[]): { readonly attempts: number; readonly failures: number; readonly availability: number | null; readonly p99Ms: number | null } {
  const inside = samples.filter((s) => within(s.intended, windows));
  const failures = inside.filter((s) => !s.ok).length;
  if (inside.length === 0) return { attempts: 0, failures: 0, availability: null, p99Ms: null };
  const latencies = inside.map((s) => s.completed - s.intended).sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(0.99 * latencies.length));
  return { attempts: inside.length, failures, availability: (inside.length - failures) / inside.length, p99Ms: latencies[rank - 1]! };
}

/**
 * Backend calls per client request: the attempts the app made on the dependency over the
 * window, divided by the client requests that needed it. Null when no client request needed
 * it (nothing to divide by): not measured, which fails a hypothesis on it.
 */
export function amplification(attemptsBefore: number | undefined, attemptsAfter: number | undefined, clientRequests: number): number | null {
  if (attemptsBefore === undefined || attemptsAfter === undefined || clientRequests <= 0) return null;
  return (attemptsAfter - attemptsBefore) / clientRequests;
}
