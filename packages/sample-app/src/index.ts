// @resilience/sample-app as a library: build the app in-process (tests, benchmarks) without
// starting the entry point.
export { createApp, cachedOrder, encodeCachedOrder, type App, type AppOptions, type Health, type HealthStatus } from './app.ts';
export { serve, type Served, type ServeOptions } from './server.ts';
export { loadConfig, ConfigError, isConfigError, redactUrl, describeTarget, type Config, type Mode, type RedisTarget, type HostPort, type LogLevel } from './config.ts';
export { createLogger, silentLogger, type Logger, type Level } from './log.ts';
export { parseOrderBody, parseListLimit, isOrderId, cacheKey, orderBodySchema, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type Order, type OrderBody, type BodyCheck, type LimitCheck } from './orders.ts';
export { hardenedPolicy, naivePolicy, DependencyUnavailableError, isDependencyUnavailableError, type DependencyPolicy, type BreakerState, type HardenedPolicyOptions } from './policy.ts';
export { PAGE_IDS, PAGE_CSP, renderPage } from './page.ts';
export type { DependencyState, AttemptOutcome } from './metrics.ts';
export { withFaults, corruptText, type Faults } from './faults.ts';
export type { FaultConfig } from './config.ts';
export { contractDocument, ROUTES, type ContractDocument, type RouteDocument, type ResponseDocument, type Scope } from './schemas.ts';
export { TokenBucket, type RateLimit, type Admission } from './rate-limit.ts';
