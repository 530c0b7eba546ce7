// The app in-process in both modes against a real PostgreSQL and a real Redis (infra image
// containers), with each paused in turn: hardened degrades and answers fast, naive hangs.
import test from 'ava';
import pg from 'pg';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Chaos, Engine, FaultProxy, Images, freePort, startPostgres, startRedis, waitFor, type ContainerHandle } from '@resilience/fixtures';
import { loadConfig, type Mode } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createDatabase } from '../../src/db.ts';
import { contractChecker } from '@resilience/fixtures/probes/contract';
import { contractDocument } from '../../src/schemas.ts';
import { start, call, answered, type Running } from '../support/http.ts';

/** The app's own contract: every answer below must conform to it. */
const contract = contractChecker(JSON.parse(JSON.stringify(contractDocument())));

const redisPassword = 'redis-' + randomUUID();
/** The database's password (random per server), checked absent from the logs. */
let pgPassword = '';
const logLines: string[] = [];

let engine: Engine;
let chaos: Chaos;
let pgC: ContainerHandle;
let redisC: ContainerHandle;
let databaseUrl: string;
let redisUrl: string;
let db: pg.Client;
let redis: Redis;
const apps: Partial<Record<Mode, Running>> = {};
const extra: Running[] = [];

function env(mode: Mode, more: Record<string, string> = {}): Record<string, string> {
  return { APP_MODE: mode, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PASSWORD: redisPassword, BREAKER_HALF_OPEN_MS: '1000', ...more };
}

async function startApp(mode: Mode, more: Record<string, string> = {}): Promise<Running> {
  return start(loadConfig(env(mode, more)), createLogger({ level: 'debug', write: (line) => void logLines.push(line) }));
}

function app(mode: Mode): Running {
  const a = apps[mode];
  if (!a) throw new Error(`no ${mode} app`);
  return a;
}

test.before(async () => {
  engine = await Engine.connect();
  chaos = new Chaos(engine);
  const [pgServer, redisServer] = await Promise.all([
    startPostgres(engine, { name: 'app-pg' }),
    startRedis(engine, { name: 'app-redis', password: redisPassword }),
  ]);
  pgC = pgServer.container;
  redisC = redisServer.container;
  databaseUrl = pgServer.url;
  pgPassword = String(pgServer.connection.password);
  redisUrl = `redis://127.0.0.1:${redisServer.port}`;
  db = new pg.Client(pgServer.connection);
  db.on('error', () => undefined);
  await db.connect();
  redis = new Redis({ host: '127.0.0.1', port: redisServer.port, password: redisPassword, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  await waitFor(() => redis.status === 'ready', { what: 'the test client connected to Redis', timeoutMs: 10_000, intervalMs: 50 });
  apps.hardened = await startApp('hardened');
  apps.naive = await startApp('naive');
  // Both apps create the table at start (retrying until the database answers).
  await waitFor(async () => (await db.query("select to_regclass('public.orders') as t")).rows[0]?.t === 'orders', { what: 'the orders table', timeoutMs: 20_000 });
});

test.after.always(async () => {
  await chaos?.healAll();
  await Promise.all([...Object.values(apps), ...extra].map((a) => a.served.close()));
  redis?.disconnect();
  await db?.end().catch(() => undefined);
  if (engine) await engine.removeRun();
});

async function placeOrder(mode: Mode, item = 'widget', quantity = 2): Promise<string> {
  const res = answered(await call(`${app(mode).url}/orders`, { method: 'POST', body: { item, quantity } }));
  if (res.status !== 201) throw new Error(`POST /orders answered ${res.status}: ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

async function read(mode: Mode, id: string, timeoutMs = 5_000) {
  return call(`${app(mode).url}/orders/${id}`, { timeoutMs });
}

async function breakerState(mode: Mode, dependency: string): Promise<number | undefined> {
  const text = answered(await call(`${app(mode).url}/metrics`)).body as string;
  const m = new RegExp(`^app_circuit_breaker_state\\{dependency="${dependency}".*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const placeAndRead = test.macro({
  async exec(t, mode: Mode) {
    const res = answered(await call(`${app(mode).url}/orders`, { method: 'POST', body: { item: `book-${mode}`, quantity: 3 } }));
    t.is(res.status, 201);
    const { id } = res.body as { id: string };
    t.is(res.headers.get('location'), `/orders/${id}`);
    // The answer names the server that committed the INSERT: the container's address.
    const addresses = Object.values((await pgC.inspect()).NetworkSettings.Networks ?? {}).map((n) => n.IPAddress);
    t.like(res.body, { id, item: `book-${mode}`, quantity: 3 });
    t.regex(String((res.body as { createdAt: unknown }).createdAt), /^\d{4}-\d\d-\d\dT/);
    t.true(addresses.includes(String((res.body as { server: unknown }).server)), `server ${JSON.stringify((res.body as { server: unknown }).server)} is one of ${addresses.join(', ')}`);
    // Acknowledged means committed: the row is there for another connection.
    const rows = (await db.query('select item, quantity from orders where id = $1', [id])).rows;
    t.deepEqual(rows, [{ item: `book-${mode}`, quantity: 3 }]);

    const first = answered(await read(mode, id));
    t.is(first.status, 200);
    t.like(first.body, { id, item: `book-${mode}`, quantity: 3, source: 'database' });
    t.is(first.headers.get('x-cache'), 'miss');
    t.is(await redis.exists(`order:${id}`), 1);
    const ttl = await redis.ttl(`order:${id}`);
    t.true(ttl > 0 && ttl <= 60, `ttl ${ttl}`);

    const second = answered(await read(mode, id));
    t.like(second.body, { id, item: `book-${mode}`, quantity: 3, source: 'cache' });
    t.is(second.headers.get('x-cache'), 'hit');
    const missing = randomUUID();
    const notFound = answered(await read(mode, missing));
    t.is(notFound.status, 404);
    // The list: the table's newest rows, newest first (the order just placed leads it).
    const list = answered(await call(`${app(mode).url}/orders?limit=3`));
    t.is(list.status, 200);
    const newest = (await db.query<{ id: string }>('select id::text as id from orders order by created_at desc, id desc limit 3')).rows.map((r) => r.id);
    t.deepEqual((list.body as { orders: { id: string }[] }).orders.map((o) => o.id), newest);
    t.like((list.body as { orders: unknown[] }).orders[0], { id, item: `book-${mode}`, quantity: 3, createdAt: (res.body as { createdAt: string }).createdAt });
    // The created order, the uncached and the cached read, the 404 and the list conform to the contract.
    for (const [method, path, answer, route] of [['POST', '/orders', res, 'POST /orders'], ['GET', `/orders/${id}`, first, 'GET /orders/:id'], ['GET', `/orders/${id}`, second, 'GET /orders/:id'], ['GET', `/orders/${missing}`, notFound, 'GET /orders/:id'], ['GET', '/orders?limit=3', list, 'GET /orders']] as const) {
      t.deepEqual(contract.check({ method, path, status: answer.status, body: answer.body, contentType: answer.headers.get('content-type') ?? undefined }), { ok: true, route });
    }
  },
  title: (_, mode: Mode) => `${mode}: an order is committed, read back from the database, then from the cache, and leads the list`,
});

test.serial('a retried insert of the same order answers the same row and the server that holds it', async (t) => {
  const database = createDatabase(databaseUrl, { mode: 'hardened', timeoutMs: 2_000, poolMax: 2, log: createLogger({ level: 'error', write: () => undefined }) });
  t.teardown(() => database.close(2_000));
  const id = randomUUID();
  const first = await database.insertOrder(id, { item: 'retried', quantity: 1 }, AbortSignal.timeout(5_000));
  const again = await database.insertOrder(id, { item: 'retried', quantity: 1 }, AbortSignal.timeout(5_000));
  t.deepEqual(again, first);
  t.regex(first.server ?? '', /^\d+\.\d+\.\d+\.\d+$/, 'an address without its /32');
  t.is((await db.query('select count(*)::int as n from orders where id = $1', [id])).rows[0]?.n, 1);
});

test.serial(placeAndRead, 'hardened');
test.serial(placeAndRead, 'naive');

async function patch(url: string, id: string, quantity: number) {
  return answered(await call(`${url}/orders/${id}`, { method: 'PATCH', body: { quantity } }));
}

function counter(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const updateAndRead = test.macro({
  async exec(t, mode: Mode) {
    const { url } = app(mode);
    const id = await placeOrder(mode, `updated-${mode}`, 2);
    answered(await read(mode, id));
    t.like(answered(await read(mode, id)).body, { quantity: 2, source: 'cache' });
    const res = await patch(url, id, 9);
    t.is(res.status, 200);
    t.like(res.body, { id, item: `updated-${mode}`, quantity: 9 });
    t.deepEqual(contract.check({ method: 'PATCH', path: `/orders/${id}`, status: res.status, body: res.body, contentType: res.headers.get('content-type') ?? undefined }), { ok: true, route: 'PATCH /orders/:id' });
    t.deepEqual((await db.query('select quantity from orders where id = $1', [id])).rows, [{ quantity: 9 }]);
    if (mode === 'hardened') {
      // Cache-aside: the entry is gone, the next read fills it from the database.
      t.is(await redis.exists(`order:${id}`), 0);
      t.like(answered(await read(mode, id)).body, { quantity: 9, source: 'database' });
    } else {
      // Write-through: the entry holds the new value at once, with a fresh TTL.
      t.like(JSON.parse((await redis.get(`order:${id}`))!), { quantity: 9 });
      t.true(await redis.ttl(`order:${id}`) > 50);
    }
    t.like(answered(await read(mode, id)).body, { quantity: 9, source: 'cache' });
    const missing = answered(await call(`${url}/orders/${randomUUID()}`, { method: 'PATCH', body: { quantity: 3 } }));
    t.is(missing.status, 404);
    t.like(missing.body, { error: 'order not found' });
  },
  title: (_, mode: Mode) => `${mode}: PATCH sets the quantity in PostgreSQL; the next reads, through the cache, return the new one; an unknown id is 404`,
});

test.serial(updateAndRead, 'hardened');
test.serial(updateAndRead, 'naive');

test.serial('hardened, Redis unreachable during an update: 200 (committed), the failed invalidation counted; after the heal the cache serves the OLD quantity until its TTL (a stale read)', async (t) => {
  const ttlMs = 3_000;
  // Through a fault proxy whose reset cuts the app off while Redis keeps its data. (A pause
  // would not do: the DEL that timed out sits in Redis's socket buffer and runs at the unpause.)
  const proxy = await FaultProxy.start({ upstream: { host: '127.0.0.1', port: Number(new URL(redisUrl).port) }, name: 'redis' });
  t.teardown(() => proxy.close());
  const short = await startApp('hardened', { CACHE_TTL_SECONDS: String(ttlMs / 1000), REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  extra.push(short);
  const created = answered(await call(`${short.url}/orders`, { method: 'POST', body: { item: 'stale', quantity: 1 } }));
  const { id } = created.body as { id: string };
  // The read that fills the cache: its entry expires ttlMs after it was SET, between this read's
  // start and its answer.
  const fillStart = Date.now();
  t.like(answered(await call(`${short.url}/orders/${id}`)).body, { quantity: 1, source: 'database' });
  const fillEnd = Date.now();

  const fault = await chaos.proxy(proxy, { reset: true });
  let updated;
  try {
    updated = await patch(short.url, id, 5);
  } finally {
    await fault.heal();
  }
  t.is(updated.status, 200, JSON.stringify(updated.body));
  t.like(updated.body, { id, quantity: 5 });
  t.deepEqual((await db.query('select quantity from orders where id = $1', [id])).rows, [{ quantity: 5 }]);
  t.is(counter(answered(await call(`${short.url}/metrics`)).body as string, 'app_cache_invalidation_failures_total'), 1);
  t.true(logLines.some((l) => l.includes('cache invalidation failed')), 'the failed invalidation is logged');
  await waitFor(async () => (answered(await call(`${short.url}/health`)).body as { dependencies: { cache: string } }).dependencies.cache === 'up',
    { what: 'the app reconnected to Redis', timeoutMs: 5_000, intervalMs: 50 });

  // Every read now: the old entry from the cache until it expires, then the database's value.
  const reads: { start: number; end: number; quantity: number; source: string }[] = [];
  while (Date.now() < fillEnd + ttlMs + 1_000) {
    const start = Date.now();
    const r = answered(await call(`${short.url}/orders/${id}`));
    const body = r.body as { quantity: number; source: string };
    reads.push({ start, end: Date.now(), quantity: body.quantity, source: body.source });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stale = reads.filter((r) => r.quantity === 1);
  const fresh = reads.filter((r) => r.quantity === 5);
  t.log(`stale reads: ${stale.length}, the last ${stale.at(-1) ? stale.at(-1)!.end - fillStart : '-'} ms after the entry was filled; fresh from ${fresh[0] ? fresh[0].start - fillStart : '-'} ms`);
  t.true(stale.length > 0, 'the old quantity was served after the update was acknowledged');
  t.true(stale.every((r) => r.source === 'cache'), 'stale answers come from the cache');
  t.true(stale.every((r) => r.start < fillEnd + ttlMs), 'no stale read began after the TTL');
  t.true(fresh.length > 0 && fresh.every((r) => r.end >= fillStart + ttlMs), 'the new quantity only once the entry expired');
  t.true(stale.at(-1)!.start < fresh[0]!.start, 'stale, then fresh, never back');
});

test.serial('hardened, Redis paused: reads fall back to the database in < 1.5 s; /health 200 degraded', async (t) => {
  const id = await placeOrder('hardened');
  const fault = await chaos.pause(redisC);
  t.teardown(() => fault.heal());
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const res = answered(await read('hardened', id));
    t.is(res.status, 200);
    t.like(res.body, { id, source: 'database' });
    times.push(Math.round(res.ms));
  }
  t.log(`reads with Redis paused (ms): ${times.join(', ')}`);
  t.true(Math.max(...times) < 1_500, `slowest ${Math.max(...times)} ms`);
  t.is(await breakerState('hardened', 'cache'), 2, 'the cache breaker is open');
  t.true(times.at(-1)! < 100, 'with the breaker open the cache is skipped');
  const health = answered(await call(`${app('hardened').url}/health`));
  t.is(health.status, 200);
  t.like(health.body, { status: 'degraded', dependencies: { database: 'up', cache: 'down' }, breakers: { cache: 'open' } });

  await fault.heal();
  const healedAt = performance.now();
  // Back to the cache once the breaker lets a trial through: first a miss fills it, then a hit.
  await waitFor(async () => {
    const r = answered(await read('hardened', id));
    return (r.body as { source: string }).source === 'cache';
  }, { what: 'reads served from the cache again', timeoutMs: 15_000, intervalMs: 100 });
  t.log(`cache serving again ${Math.round(performance.now() - healedAt)} ms after heal`);
});

test.serial('naive, Redis paused: reads hang (no answer within 3 s); /health 503', async (t) => {
  const id = await placeOrder('naive');
  const fault = await chaos.pause(redisC);
  t.teardown(() => fault.heal());
  const res = await read('naive', id, 3_000);
  t.log(`naive read with Redis paused: ${res.kind} after ${Math.round(res.ms)} ms`);
  t.is(res.kind, 'timed out', 'the read hangs: no timeout, no fallback');
  t.true(res.ms >= 2_990);
  const health = answered(await call(`${app('naive').url}/health`));
  t.is(health.status, 503);
  t.like(health.body, { dependencies: { database: 'up', cache: 'down' } });

  await fault.heal();
  const again = answered(await read('naive', id));
  t.is(again.status, 200);
});

test.serial('hardened, database paused: writes 503 in < 1.5 s, cached reads still served', async (t) => {
  const cached = await placeOrder('hardened', 'cached', 1);
  answered(await read('hardened', cached));
  t.like(answered(await read('hardened', cached)).body, { source: 'cache' });
  const fault = await chaos.pause(pgC);
  t.teardown(() => fault.heal());

  const writes: number[] = [];
  for (let i = 0; i < 7; i++) {
    const res = answered(await call(`${app('hardened').url}/orders`, { method: 'POST', body: { item: 'during', quantity: 1 }, timeoutMs: 5_000 }));
    t.is(res.status, 503);
    t.like(res.body, { error: 'database unavailable' });
    writes.push(Math.round(res.ms));
  }
  t.log(`writes with the database paused (ms): ${writes.join(', ')}`);
  t.true(Math.max(...writes) < 1_500, `slowest ${Math.max(...writes)} ms`);
  t.is(await breakerState('hardened', 'database'), 2, 'the database breaker is open');
  t.true(writes.at(-1)! < 100, 'with the breaker open writes fail at once');

  const hit = answered(await read('hardened', cached));
  t.is(hit.status, 200);
  t.like(hit.body, { id: cached, source: 'cache' });
  t.log(`cached read with the database paused: ${Math.round(hit.ms)} ms`);
  const miss = answered(await read('hardened', randomUUID()));
  t.is(miss.status, 503);
  t.true(miss.ms < 1_500);
  const health = answered(await call(`${app('hardened').url}/health`));
  t.is(health.status, 200);
  t.like(health.body, { status: 'degraded', dependencies: { database: 'down', cache: 'up' } });

  await fault.heal();
  const healedAt = performance.now();
  const id = await waitFor(async () => {
    const r = answered(await call(`${app('hardened').url}/orders`, { method: 'POST', body: { item: 'after', quantity: 1 } }));
    return r.status === 201 ? (r.body as { id: string }).id : undefined;
  }, { what: 'writes to succeed again', timeoutMs: 15_000, intervalMs: 100 });
  t.log(`writes succeed again ${Math.round(performance.now() - healedAt)} ms after heal`);
  t.is((await db.query('select count(*)::int as n from orders where id = $1', [id])).rows[0]?.n, 1);
});

test.serial('naive, database paused: writes hang (no answer within 3 s); cached reads still work', async (t) => {
  const cached = await placeOrder('naive', 'cached', 1);
  answered(await read('naive', cached));
  const before = (await db.query("select count(*)::int as n from orders where item = 'hung'")).rows[0]?.n as number;
  const fault = await chaos.pause(pgC);
  t.teardown(() => fault.heal());
  const res = await call(`${app('naive').url}/orders`, { method: 'POST', body: { item: 'hung', quantity: 1 }, timeoutMs: 3_000 });
  t.log(`naive write with the database paused: ${res.kind} after ${Math.round(res.ms)} ms`);
  t.is(res.kind, 'timed out', 'the write hangs: no deadline');
  t.true(res.ms >= 2_990);
  t.like(answered(await read('naive', cached)).body, { source: 'cache' });

  await fault.heal();
  // The hung insert was never cancelled: it commits once the server runs again, though the
  // client gave up long ago (an unacknowledged write that did happen).
  await waitFor(async () => (await db.query("select count(*)::int as n from orders where item = 'hung'")).rows[0]?.n === before + 1,
    { what: 'the hung insert to commit', timeoutMs: 15_000 });
  t.is(answered(await call(`${app('naive').url}/orders`, { method: 'POST', body: { item: 'after', quantity: 1 } })).status, 201);
});

test.serial('graceful stop: an in-flight request is answered before the app closes; a hung one is cut at the budget', async (t) => {
  const hardened = await startApp('hardened');
  const naive = await startApp('naive', { SHUTDOWN_TIMEOUT_MS: '3000' });
  extra.push(hardened, naive);
  // Let both connect and create (or find) the table before the fault.
  for (const a of [hardened, naive]) {
    await waitFor(async () => answered(await call(`${a.url}/health`)).status === 200, { what: 'app healthy', timeoutMs: 10_000 });
  }
  const fault = await chaos.pause(pgC);
  t.teardown(() => fault.heal());

  const inFlight = call(`${hardened.url}/orders`, { method: 'POST', body: { item: 'x', quantity: 1 }, timeoutMs: 5_000 });
  await new Promise((r) => setTimeout(r, 200));
  const closing = performance.now();
  const closed = await hardened.served.close();
  const answer = answered(await inFlight);
  t.is(answer.status, 503, 'the in-flight request got its answer');
  t.false(closed.forced);
  t.log(`hardened stop with a request in flight: ${Math.round(performance.now() - closing)} ms`);

  const hung = call(`${naive.url}/orders`, { method: 'POST', body: { item: 'x', quantity: 1 }, timeoutMs: 8_000 });
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  const forced = await naive.served.close();
  const took = performance.now() - started;
  t.true(forced.forced, 'the hung request was cut');
  t.true(took < 4_000, `naive stop took ${Math.round(took)} ms`);
  t.is((await hung).kind, 'failed', 'its connection was closed');
  t.log(`naive stop with a hung request: ${Math.round(took)} ms (budget 3000 ms)`);
  await fault.heal();
});

test.serial('Sentinel: the app finds the master through Sentinel (with passwords) and caches there', async (t) => {
  // Redis and Sentinel share one container and the same port inside and on 127.0.0.1, so the
  // master address Sentinel hands out is reachable from here too.
  const [redisPort, sentinelPort] = [await freePort(), await freePort()];
  const c = await engine.startContainer({
    image: Images.infra,
    name: 'app-sentinel',
    role: 'redis-sentinel',
    user: 'redis',
    env: { PW: redisPassword, RP: String(redisPort), SP: String(sentinelPort) },
    ports: [{ container: redisPort, host: redisPort }, { container: sentinelPort, host: sentinelPort }],
    cmd: ['bash', '-c', [
      'set -e',
      'printf "port %s\\nbind 0.0.0.0\\nprotected-mode no\\nsentinel monitor mymaster 127.0.0.1 %s 1\\nsentinel auth-pass mymaster %s\\n" "$SP" "$RP" "$PW" > /tmp/sentinel.conf',
      'redis-server --port "$RP" --bind 0.0.0.0 --save "" --appendonly no --requirepass "$PW" --daemonize yes',
      'exec redis-sentinel /tmp/sentinel.conf',
    ].join('\n')],
  });
  t.teardown(() => c.remove());
  const direct = new Redis({ host: '127.0.0.1', port: redisPort, password: redisPassword, lazyConnect: true, maxRetriesPerRequest: 1 });
  direct.on('error', () => undefined);
  t.teardown(() => direct.disconnect());
  const a = await start(loadConfig({
    APP_MODE: 'hardened', DATABASE_URL: databaseUrl, REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_MASTER_NAME: 'mymaster', REDIS_PASSWORD: redisPassword,
  }), createLogger({ level: 'debug', write: (line) => void logLines.push(line) }));
  extra.push(a);
  await waitFor(async () => (answered(await call(`${a.url}/health`)).body as { dependencies: { cache: string } }).dependencies.cache === 'up',
    { what: 'the cache through Sentinel', timeoutMs: 20_000, intervalMs: 200 });
  const id = (answered(await call(`${a.url}/orders`, { method: 'POST', body: { item: 'via-sentinel', quantity: 1 } })).body as { id: string }).id;
  t.like(answered(await call(`${a.url}/orders/${id}`)).body, { source: 'database' });
  await direct.connect();
  t.is(await direct.exists(`order:${id}`), 1);
  t.like(answered(await call(`${a.url}/orders/${id}`)).body, { source: 'cache' });
});

test.serial('logs: one JSON object a line, no password, no connection string', (t) => {
  t.true(logLines.length > 10);
  for (const line of logLines) {
    t.notThrows(() => JSON.parse(line), line);
    t.false(line.includes(pgPassword) || line.includes(redisPassword), `a password in: ${line}`);
    t.false(/postgres(ql)?:\/\/|redis:\/\//.test(line), `a connection string in: ${line}`);
  }
  t.true(logLines.some((l) => l.includes('"circuit breaker state changed"') && l.includes('"open"')));
});
