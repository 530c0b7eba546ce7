// Prometheus metrics on a registry of the app's own (two apps in one process, as in the tests,
// do not collide): requests by route and status, dependency state and breaker state read at
// scrape time, cache outcomes, and the process's own metrics for soak trends (prom-client's
// defaults, which include the event-loop delay as nodejs_eventloop_lag_*_seconds). For cascade
// analysis: every attempt at a dependency (so calls per request can be counted, retries
// included), the requests being served now, and the requests shed by the rate limit.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Mode } from './config.ts';
import type { BreakerState } from './policy.ts';

export type DependencyState = 'up' | 'down' | 'not configured';
export type CacheOutcome = 'hit' | 'miss' | 'error' | 'skipped';
/** How one attempt at a dependency ended: answered, failed, or cut by its deadline. */
export type AttemptOutcome = 'ok' | 'error' | 'timeout';

export interface Metrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  observeCall(dependency: string, operation: string, outcome: 'ok' | 'error', seconds: number): void;
  /** One attempt at a dependency: each retry counts; a call refused by an open breaker makes none. */
  attempt(dependency: string, outcome: AttemptOutcome): void;
  /** A request started (+1) or ended (-1). */
  inflight(delta: 1 | -1): void;
  /** A request shed by the rate limit. */
  shed(route: string): void;
  cache(outcome: CacheOutcome): void;
  /** An update committed whose cache entry could not be deleted (it may be served stale until its TTL). */
  cacheInvalidationFailed(): void;
  orderCreated(): void;
}

export interface MetricsSources {
  readonly mode: Mode;
  readonly dependencies: () => Promise<Readonly<Record<string, DependencyState>>>;
  readonly breakers: () => Readonly<Record<string, BreakerState | undefined>>;
}

/** Breaker state as a number, worst last: closed 0, half-open 1, open 2, isolated 3. */
export const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 };

const SECONDS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'sample-app', mode: sources.mode });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by method, route and status', labelNames: ['method', 'route', 'status'], registers });
  const latency = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request latency, by method, route and status', labelNames: ['method', 'route', 'status'], buckets: SECONDS, registers });
  const calls = new Histogram({ name: 'app_dependency_call_duration_seconds', help: 'Calls to a dependency, by operation and outcome', labelNames: ['dependency', 'operation', 'outcome'], buckets: SECONDS, registers });
  const cache = new Counter({ name: 'app_cache_requests_total', help: 'Cache lookups by outcome (skipped: the cache breaker was open)', labelNames: ['result'], registers });
  const attempts = new Counter({ name: 'app_dependency_attempts_total', help: 'Attempts at a dependency (each retry counts; calls refused by an open breaker make none), by outcome', labelNames: ['dependency', 'outcome'], registers });
  const inflight = new Gauge({ name: 'app_http_inflight_requests', help: 'HTTP requests being served now', registers });
  const shed = new Counter({ name: 'app_rate_limited_requests_total', help: 'Requests shed with 429 by the rate limit (APP_RATE_LIMIT), by route', labelNames: ['route'], registers });
  const invalidationFailures = new Counter({ name: 'app_cache_invalidation_failures_total', help: 'Updates committed whose cache entry could not be deleted (hardened mode): that entry may be served stale until its TTL', registers });
  const orders = new Counter({ name: 'app_orders_created_total', help: 'Orders committed and acknowledged', registers });
  new Gauge({
    name: 'app_dependency_up',
    help: 'Whether a dependency answered a check at scrape time (1 up, 0 down); absent when not configured',
    labelNames: ['dependency'],
    registers,
    async collect() {
      this.reset();
      for (const [dependency, state] of Object.entries(await sources.dependencies())) {
        if (state !== 'not configured') this.set({ dependency }, state === 'up' ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'app_circuit_breaker_state',
    help: 'Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open, 3 isolated (hardened mode only)',
    labelNames: ['dependency'],
    registers,
    collect() {
      this.reset();
      for (const [dependency, state] of Object.entries(sources.breakers())) {
        if (state) this.set({ dependency }, BREAKER_VALUE[state]);
      }
    },
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    observeCall(dependency, operation, outcome, seconds) {
      calls.observe({ dependency, operation, outcome }, seconds);
    },
    attempt: (dependency, outcome) => attempts.inc({ dependency, outcome }),
    inflight: (delta) => inflight.inc(delta),
    shed: (route) => shed.inc({ route }),
    cache: (outcome) => cache.inc({ result: outcome }),
    cacheInvalidationFailed: () => invalidationFailures.inc(),
    orderCreated: () => orders.inc(),
  };
}
