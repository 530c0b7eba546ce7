// The HTTP surface of the reference app: place, list, read and update orders (PostgreSQL,
// cache-aside through Redis for a single order; an update deletes its entry, or in naive mode
// overwrites it), /health, /metrics, /schema (the contract of every answer, src/schemas.ts), /api/info
// (no dependency) and a small page. Dependencies are optional so the image can be
// smoke tested alone. The mode decides how dependencies are called: hardened (deadlines,
// retries, breakers, cache fallback) or naive (plain driver calls, no fallback).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { isBrokenCircuitError, isTaskCancelledError } from 'cockatiel';
import { isAbortError } from './abort.ts';
import type { Config, Mode } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createDatabase, isDatabaseFailure, isDatabaseTransient, type Database } from './db.ts';
import { createCache, isCacheFailure, isCacheTransient, type Cache } from './cache.ts';
import { withFaults } from './faults.ts';
import type { FaultStats } from '@resilience/fixtures/faulty';
import {
  hardenedPolicy, naivePolicy, isDependencyUnavailableError, type BreakerState, type DependencyPolicy,
} from './policy.ts';
import { createMetrics, type DependencyState } from './metrics.ts';
import { cacheKey, isOrderId, parseListLimit, parseOrderBody, parseQuantityBody, type Order } from './orders.ts';
import { BodyTooLargeError, readBody, send, sendJson } from './http.ts';
import { PAGE_CSP, renderPage } from './page.ts';
import { TokenBucket } from './rate-limit.ts';
import {
  contractDocument, type CreatedOrderBody, type HealthBody, type InfoBody, type InternalErrorBody, type InvalidInputBody,
  type MethodNotAllowedBody, type NotFoundBody, type OrderListBody, type OrderNotFoundBody, type RateLimitedBody, type TooLargeBody,
  type UnavailableBody, type UpdatedOrderBody,
} from './schemas.ts';

export type HealthStatus = 'ok' | 'degraded' | 'down' | 'stopping';

export interface Health {
  readonly status: HealthStatus;
  readonly mode: Mode;
  readonly dependencies: { readonly database: DependencyState; readonly cache: DependencyState };
  /** Hardened mode only. */
  readonly breakers?: { readonly database?: BreakerState; readonly cache?: BreakerState };
  readonly uptimeSeconds: number;
  /** With APP_FAULTS: the faults injected so far, per wrapped call. */
  readonly faults?: Readonly<Record<string, FaultStats>>;
}

export interface App {
  readonly config: Config;
  /** The request listener for node:http's createServer. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The state /health reports, and the HTTP status it answers with. */
  health(): Promise<{ readonly httpStatus: number; readonly body: Health }>;
  readonly registry: Registry;
  /** From now on /health answers 503 `stopping` and responses close their connection. */
  drain(): void;
  /** Stops background work and closes the pool and the Redis connection (bounded by `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

export interface AppOptions {
  /** Default: JSON lines on stdout at the configured level. */
  readonly log?: Logger;
}

const MAX_BODY_BYTES = 16 * 1024;

type Route = '/' | '/health' | '/metrics' | '/schema' | '/api/info' | '/orders' | '/orders/:id' | 'unmatched';

function routeOf(path: string): Route {
  if (path === '/' || path === '/health' || path === '/metrics' || path === '/schema' || path === '/api/info' || path === '/orders') return path;
  if (/^\/orders\/[^/]+$/.test(path)) return '/orders/:id';
  return 'unmatched';
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The methods each route answers (HEAD too wherever GET is); the first is the Allow header's order. */
const ALLOWED: Record<Exclude<Route, 'unmatched'>, readonly ('GET' | 'POST' | 'PATCH')[]> = {
  '/': ['GET'], '/health': ['GET'], '/metrics': ['GET'], '/schema': ['GET'], '/api/info': ['GET'], '/orders': ['GET', 'POST'], '/orders/:id': ['GET', 'PATCH'],
};

/** Routes the rate limit never sheds: monitoring must see an overloaded instance. */
const UNLIMITED: ReadonlySet<Route> = new Set(['/health', '/metrics', '/schema']);

/** A short checksum of an order's fields, stored with its cache entry. */
function orderSum(o: Order): string {
  return createHash('sha256').update(JSON.stringify([o.id, o.item, o.quantity, o.createdAt])).digest('hex').slice(0, 16);
}

/** The cache entry of an order: its JSON with a checksum field `sum`. */
export function encodeCachedOrder(o: Order): string {
  return JSON.stringify({ id: o.id, item: o.item, quantity: o.quantity, createdAt: o.createdAt, sum: orderSum(o) });
}

/**
 * The cached text as an order when it is an intact entry of order `id` (well-formed, the right id,
 * the checksum matches); undefined for a torn, corrupted, or foreign entry.
 */
export function cachedOrder(text: string, id: string): Order | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const o = value as Partial<Order & { sum: string }> | null;
  if (!(typeof o === 'object' && o !== null && typeof o.id === 'string' && o.id.toLowerCase() === id.toLowerCase()
    && typeof o.item === 'string' && Number.isInteger(o.quantity) && typeof o.createdAt === 'string')) return undefined;
  const order: Order = { id: o.id, item: o.item, quantity: o.quantity!, createdAt: o.createdAt };
  return o.sum === orderSum(order) ? order : undefined;
}

function naiveCachedOrder(text: string): Order {
  const { sum: _sum, ...order } = JSON.parse(text) as Order & { sum?: string };
  return order;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const hardened = config.mode === 'hardened';
  const startedAt = performance.now();
  const closing = new AbortController();
  let draining = false;

  // With APP_FAULTS the database and cache calls go through seeded fault wrappers (src/faults.ts).
  const faults = withFaults(
    config.databaseUrl
      ? createDatabase(config.databaseUrl, { mode: config.mode, timeoutMs: config.databaseTimeoutMs, poolMax: config.databasePoolMax, log })
      : undefined,
    config.redis ? createCache(config.redis, { mode: config.mode, log }) : undefined,
    config.faults, log);
  const db: Database | undefined = faults.db;
  const cache: Cache | undefined = faults.cache;

  const dbPolicy: DependencyPolicy = hardened
    ? hardenedPolicy({
      dependency: 'database',
      timeoutMs: config.databaseTimeoutMs,
      retries: config.databaseRetries,
      backoffInitialMs: 50,
      backoffMaxMs: 250,
      breakerThreshold: config.breakerThreshold,
      halfOpenAfterMs: config.breakerHalfOpenMs,
      isTransient: isDatabaseTransient,
      isFailure: isDatabaseFailure,
      onStateChange: (state) => log(state === 'open' ? 'warn' : 'info', 'circuit breaker state changed', { dependency: 'database', state }),
    })
    : naivePolicy('database');
  const cachePolicy: DependencyPolicy = hardened
    ? hardenedPolicy({
      dependency: 'cache',
      timeoutMs: config.redisTimeoutMs,
      retries: config.redisRetries,
      backoffInitialMs: 10,
      backoffMaxMs: 50,
      breakerThreshold: config.breakerThreshold,
      halfOpenAfterMs: config.breakerHalfOpenMs,
      isTransient: isCacheTransient,
      isFailure: isCacheFailure,
      onStateChange: (state) => {
        log(state === 'open' ? 'warn' : 'info', 'circuit breaker state changed', { dependency: 'cache', state });
        // Repeated timeouts make the connection suspect (a partition keeps TCP open for minutes):
        // start a new one, through Sentinel when configured, so a new master is found.
        if (state === 'open') cache?.reconnect();
      },
    })
    : naivePolicy('cache');

  const breakers = (): Record<string, BreakerState | undefined> => ({
    ...(db ? { database: dbPolicy.breakerState() } : {}),
    ...(cache ? { cache: cachePolicy.breakerState() } : {}),
  });

  // Dependency checks for /health and /metrics: concurrent callers share one check.
  let checking: Promise<{ database: DependencyState; cache: DependencyState }> | undefined;
  async function check(probe: ((signal: AbortSignal) => Promise<void>) | undefined): Promise<DependencyState> {
    if (!probe) return 'not configured';
    try {
      await probe(AbortSignal.any([AbortSignal.timeout(config.healthTimeoutMs), closing.signal]));
      return 'up';
    } catch {
      return 'down';
    }
  }
  function dependencies(): Promise<{ database: DependencyState; cache: DependencyState }> {
    checking ??= (async () => {
      const [database, cacheState] = await Promise.all([check(db && ((s) => db.ping(s))), check(cache && ((s) => cache.ping(s)))]);
      return { database, cache: cacheState };
    })().finally(() => {
      checking = undefined;
    });
    return checking;
  }

  const metrics = createMetrics({ mode: config.mode, dependencies, breakers });
  const bucket = config.rateLimit ? new TokenBucket(config.rateLimit) : undefined;
  const instance = hostname();

  async function call<T>(dependency: 'database' | 'cache', operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const policy = dependency === 'database' ? dbPolicy : cachePolicy;
    const started = performance.now();
    // Each attempt the policy makes (the first, each retry) is counted on its own, so the load a
    // request puts on a dependency is visible: retries multiply it during an outage.
    const attempt = async (signal: AbortSignal): Promise<T> => {
      try {
        const value = await fn(signal);
        metrics.attempt(dependency, 'ok');
        return value;
      } catch (e) {
        metrics.attempt(dependency, signal.aborted || isAbortError(e) || isTaskCancelledError(e) ? 'timeout' : 'error');
        throw e;
      }
    };
    try {
      const value = await policy.execute(attempt);
      metrics.observeCall(dependency, operation, 'ok', (performance.now() - started) / 1000);
      return value;
    } catch (e) {
      metrics.observeCall(dependency, operation, 'error', (performance.now() - started) / 1000);
      throw e;
    }
  }

  // The table is created at start, retried with backoff until the database answers; a request
  // that comes first creates it itself.
  let schemaReady = false;
  async function ensureSchema(database: Database, signal: AbortSignal): Promise<void> {
    if (schemaReady) return;
    await database.ensureSchema(signal);
    if (!schemaReady) log('info', 'database schema ready', { target: database.target });
    schemaReady = true;
  }
  async function prepareSchema(database: Database): Promise<void> {
    let delay = 250;
    while (!closing.signal.aborted && !schemaReady) {
      const signal = hardened ? AbortSignal.any([AbortSignal.timeout(config.databaseTimeoutMs), closing.signal]) : closing.signal;
      try {
        await ensureSchema(database, signal);
        return;
      } catch (e) {
        if (closing.signal.aborted) return;
        log('warn', 'database not ready, will retry', { target: database.target, error: e, retryInMs: delay });
      }
      await sleep(delay, undefined, { signal: closing.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 10_000);
    }
  }
  const preparing = db ? prepareSchema(db) : Promise.resolve();

  async function health(): Promise<{ httpStatus: number; body: Health }> {
    const deps = await dependencies();
    const uptimeSeconds = Math.round((performance.now() - startedAt) / 1000);
    const b = breakers();
    const body = (status: HealthStatus): Health & HealthBody => ({
      status, mode: config.mode, dependencies: deps, ...(hardened ? { breakers: b } : {}), uptimeSeconds,
      ...(config.faults ? { faults: faults.stats() } : {}),
    });
    if (draining) return { httpStatus: 503, body: body('stopping') };
    const anyDown = deps.database === 'down' || deps.cache === 'down';
    // Hardened serves cached reads without the database and every request without the cache.
    const canServe = deps.database !== 'down' || deps.cache === 'up';
    const status: HealthStatus = !anyDown ? 'ok' : canServe ? 'degraded' : 'down';
    const ok = hardened ? canServe : !anyDown;
    return { httpStatus: ok ? 200 : 503, body: body(status) };
  }

  /**
   * Reads and checks a JSON body; undefined when it was answered already (413 too large, 400
   * invalid, 503 without a database), so the caller just returns.
   */
  async function bodyOf<T>(req: IncomingMessage, res: ServerResponse, parse: (text: string) => { readonly ok: true; readonly value: T } | { readonly ok: false; readonly field: string; readonly message: string }): Promise<T | undefined> {
    let text: string;
    try {
      text = await readBody(req, MAX_BODY_BYTES);
    } catch (e) {
      if (e instanceof BodyTooLargeError) return void sendJson(res, 413, { error: 'body too large', field: 'body', message: e.message } satisfies TooLargeBody);
      throw e;
    }
    const body = parse(text);
    if (!body.ok) return void sendJson(res, 400, { error: 'invalid body', field: body.field, message: body.message } satisfies InvalidInputBody);
    if (!db) return void sendJson(res, 503, { error: 'database not configured' } satisfies UnavailableBody);
    return body.value;
  }

  async function placeOrder(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const value = await bodyOf(req, res, parseOrderBody);
    if (value === undefined || !db) return;
    // The id is chosen here so a retried insert is idempotent (ON CONFLICT on the id).
    const id = randomUUID();
    const inserted = await call('database', 'insert', async (signal) => {
      await ensureSchema(db, signal);
      return db.insertOrder(id, value, signal);
    });
    metrics.orderCreated();
    // `server`: the PostgreSQL node that committed the order (its address), so a client can say
    // which node acknowledged the write.
    const order: Order & { server: string | null } & CreatedOrderBody = { id, item: value.item, quantity: value.quantity, createdAt: inserted.createdAt, server: inserted.server };
    sendJson(res, 201, order, { location: `/orders/${id}` });
  }

  async function listOrders(query: URLSearchParams, res: ServerResponse): Promise<void> {
    const limit = parseListLimit(query.getAll('limit'));
    if (!limit.ok) return sendJson(res, 400, { error: 'invalid query', field: limit.field, message: limit.message } satisfies InvalidInputBody);
    if (!db) return sendJson(res, 503, { error: 'database not configured' } satisfies UnavailableBody);
    // Always from the database: a list cached even for a second would hide the order just placed.
    const orders = await call('database', 'list', async (signal) => {
      await ensureSchema(db, signal);
      return db.listOrders(limit.value, signal);
    });
    sendJson(res, 200, { orders } satisfies OrderListBody);
  }

  async function readOrder(id: string, res: ServerResponse): Promise<void> {
    if (!isOrderId(id)) return sendJson(res, 400, { error: 'invalid id', field: 'id', message: `Expected \`id\` to be an order id (a UUID), got \`${id.slice(0, 60)}\`` } satisfies InvalidInputBody);
    const key = cacheKey(id);
    // Once the cache failed this request, it is not asked again (no second timeout to wait out).
    let cacheFailed = false;
    if (cache) {
      let cached: string | null = null;
      try {
        cached = await call('cache', 'get', (signal) => cache.get(key, signal));
        metrics.cache(cached === null ? 'miss' : 'hit');
      } catch (e) {
        if (!hardened) throw e;
        // Fallback: the database answers while the cache is slow, down, or its breaker is open.
        cacheFailed = true;
        metrics.cache(isDependencyUnavailableError(e) && isBrokenCircuitError(e.cause) ? 'skipped' : 'error');
      }
      if (cached !== null) {
        // Hardened: an entry that is not this order (torn, corrupted, another key's) is a miss,
        // answered from the database and overwritten; naive trusts it.
        const order = hardened ? cachedOrder(cached, id) : naiveCachedOrder(cached);
        if (order) return sendJson(res, 200, { ...order, source: 'cache' }, { 'x-cache': 'hit' });
        metrics.cache('error');
      }
    }
    if (!db) return sendJson(res, 503, { error: 'database not configured' } satisfies UnavailableBody);
    const order = await call('database', 'select', async (signal) => {
      await ensureSchema(db, signal);
      return db.findOrder(id, signal);
    });
    if (!order) return sendJson(res, 404, { error: 'order not found', id } satisfies OrderNotFoundBody);
    if (cache && !cacheFailed) {
      try {
        await call('cache', 'set', (signal) => cache.set(key, encodeCachedOrder(order), config.cacheTtlSeconds, signal));
      } catch (e) {
        if (!hardened) throw e;
      }
    }
    sendJson(res, 200, { ...order, source: 'database' }, { 'x-cache': cache ? 'miss' : 'none' });
  }

  /**
   * Sets an order's quantity in PostgreSQL, then makes the cache follow. Hardened: cache-aside
   * invalidation, the entry is deleted after the commit; when that fails the answer is 200 all
   * the same (the database is the truth and the update is committed), but the failure is logged
   * and counted (app_cache_invalidation_failures_total): the old entry may be served until its
   * TTL. Naive: write-through, the new value is SET with the usual TTL, and a failure of that SET
   * answers 500 although the update is committed.
   */
  async function updateOrder(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isOrderId(id)) {
      req.resume();
      return sendJson(res, 400, { error: 'invalid id', field: 'id', message: `Expected \`id\` to be an order id (a UUID), got \`${id.slice(0, 60)}\`` } satisfies InvalidInputBody);
    }
    const value = await bodyOf(req, res, parseQuantityBody);
    if (value === undefined || !db) return;
    const order = await call('database', 'update', async (signal) => {
      await ensureSchema(db, signal);
      return db.updateQuantity(id, value.quantity, signal);
    });
    if (!order) return sendJson(res, 404, { error: 'order not found', id } satisfies OrderNotFoundBody);
    const key = cacheKey(id);
    if (cache && hardened) {
      try {
        await call('cache', 'del', (signal) => cache.del(key, signal));
      } catch (e) {
        metrics.cacheInvalidationFailed();
        // Skipped by an open breaker: many while it is open, and its opening was logged once.
        const skipped = isDependencyUnavailableError(e) && e.reason === 'circuit open';
        log(skipped ? 'debug' : 'warn', 'cache invalidation failed: the old entry may be served until its TTL', {
          key, ttlSeconds: config.cacheTtlSeconds, error: isDependencyUnavailableError(e) ? `cache ${e.reason}` : e,
        });
      }
    } else if (cache) {
      await call('cache', 'set', (signal) => cache.set(key, encodeCachedOrder(order), config.cacheTtlSeconds, signal));
    }
    sendJson(res, 200, order satisfies UpdatedOrderBody);
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse, route: Route, path: string, query: URLSearchParams): Promise<void> {
    if (route === 'unmatched') return sendJson(res, 404, { error: 'not found', path } satisfies NotFoundBody);
    const allowed = ALLOWED[route];
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (!allowed.some((m) => m === method)) {
      const allow = allowed.join(', ');
      return sendJson(res, 405, { error: 'method not allowed', allow } satisfies MethodNotAllowedBody, { allow });
    }
    switch (route) {
      case '/':
        return send(res, 200, renderPage(config.mode), { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP });
      case '/health': {
        const h = await health();
        return sendJson(res, h.httpStatus, h.body);
      }
      case '/metrics':
        return send(res, 200, await metrics.registry.metrics(), { 'content-type': metrics.registry.contentType });
      case '/schema':
        return sendJson(res, 200, contractDocument());
      case '/api/info':
        return sendJson(res, 200, {
          app: 'sample-app', mode: config.mode, instance, uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
          rateLimit: config.rateLimit ? { perSecond: config.rateLimit.perSecond, burst: config.rateLimit.burst } : null,
        } satisfies InfoBody);
      case '/orders':
        return method === 'POST' ? placeOrder(req, res) : listOrders(query, res);
      case '/orders/:id': {
        const id = decodeSegment(path.slice('/orders/'.length));
        return method === 'PATCH' ? updateOrder(id, req, res) : readOrder(id, res);
      }
    }
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 64)) || randomUUID();
    res.setHeader('x-request-id', requestId);
    if (draining) res.setHeader('connection', 'close');
    let path = '/';
    let query = new URLSearchParams();
    try {
      const url = new URL(req.url ?? '/', 'http://app');
      path = url.pathname;
      query = url.searchParams;
    } catch {
      path = 'unparsable';
    }
    const route = routeOf(path);
    const method = req.method ?? 'GET';
    metrics.inflight(1);
    res.on('close', () => {
      metrics.inflight(-1);
      // A client that gave up before the answer: 499, as nginx logs it.
      const status = res.writableFinished ? res.statusCode : 499;
      const seconds = (performance.now() - started) / 1000;
      metrics.observeRequest(method, route, status, seconds);
      log('debug', 'request', { requestId, method, route, status, ms: Math.round(seconds * 1000) });
    });
    if (bucket && !UNLIMITED.has(route)) {
      const admission = bucket.take();
      if (!admission.admitted) {
        metrics.shed(route);
        // Drain an unread body so the connection can be reused.
        req.resume();
        // Retry-After has whole seconds; the body has the exact wait.
        return sendJson(res, 429, { error: 'rate limited', retryAfterMs: admission.retryAfterMs } satisfies RateLimitedBody,
          { 'retry-after': String(Math.ceil(admission.retryAfterMs / 1000)) });
      }
    }
    dispatch(req, res, route, path, query).catch((e: unknown) => {
      if (isDependencyUnavailableError(e)) {
        // Rejections by an open breaker are many and expected; its opening was logged once.
        log(e.reason === 'circuit open' ? 'debug' : 'warn', 'dependency unavailable', { requestId, route, dependency: e.dependency, reason: e.reason });
        return sendJson(res, 503, { error: `${e.dependency as 'database' | 'cache'} unavailable`, reason: e.reason } satisfies UnavailableBody);
      }
      log('error', 'request failed', { requestId, method, route, error: e });
      sendJson(res, 500, { error: 'internal error' } satisfies InternalErrorBody);
    });
  };

  log('info', 'app created', {
    mode: config.mode,
    database: db ? db.target : 'not configured',
    cache: cache ? cache.target : 'not configured',
  });

  let closed: Promise<void> | undefined;
  return {
    config,
    handle,
    health,
    registry: metrics.registry,
    drain() {
      draining = true;
    },
    close(timeoutMs = config.shutdownTimeoutMs) {
      closed ??= (async () => {
        draining = true;
        closing.abort();
        await preparing;
        await Promise.all([db?.close(timeoutMs), cache?.close(Math.min(timeoutMs, 2_000))]);
      })();
      return closed;
    },
  };
}
