// The app's contract (GET /schema, src/schemas.ts) checked against the app's own answers, in
// process and without Docker: every route, the errors, and the degraded answers of a database
// that refuses connections; and the checker (@resilience/fixtures/probes/contract) catching
// bodies that break it.
import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { contractChecker, type ContractChecker } from '@resilience/fixtures/probes/contract';
import { loadConfig } from '../../src/config.ts';
import { contractDocument } from '../../src/schemas.ts';
import { start, call, answered, type Running } from '../support/http.ts';

const running: Running[] = [];
test.after.always(async () => {
  await Promise.all(running.map((r) => r.served.close()));
});

async function app(env: Record<string, string> = {}): Promise<Running> {
  const r = await start(loadConfig(env));
  running.push(r);
  return r;
}

/** A database URL nothing listens on: every connection is refused at once. */
const REFUSED = 'postgres://app:secret@127.0.0.1:1/orders';

let checker: ContractChecker;
test.before(async () => {
  const { url } = await app();
  const res = answered(await call(`${url}/schema`));
  checker = contractChecker(res.body);
});

/** Requests `path` and asserts the answer has `status` and conforms to the contract. */
async function conforms(t: ExecutionContext, url: string, path: string, status: number, init: { method?: string; body?: unknown } = {}) {
  const method = init.method ?? 'GET';
  const res = await fetch(`${url}${path}`, { method, ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  t.is(res.status, status, `${method} ${path}: ${text.slice(0, 200)}`);
  const verdict = checker.check({ method, path, status: res.status, body: text, contentType: res.headers.get('content-type') ?? undefined });
  t.true(verdict.ok, `${method} ${path} ${res.status}: ${JSON.stringify(verdict)} for ${text.slice(0, 200)}`);
  return { verdict, body: text };
}

test('GET /schema is the document contractDocument() returns, with a JSON Schema per JSON answer', async (t) => {
  const { url } = await app();
  const res = answered(await call(`${url}/schema`));
  t.deepEqual(res.body, JSON.parse(JSON.stringify(contractDocument())));
  const doc = contractDocument();
  const read = doc.routes.find((r) => r.path === '/orders/:id');
  t.deepEqual(read?.dependencies, ['redis', 'postgres']);
  t.is((read?.responses['200'] as { schema: Record<string, unknown> }).schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  // The cascade workflow needs user routes that call no dependency, to measure a fault's blast radius.
  t.deepEqual(doc.routes.filter((r) => r.user && r.dependencies.length === 0).map((r) => r.path), ['/', '/api/info']);
});

test('no dependency configured: every route answers what the contract says', async (t) => {
  const { url } = await app({ APP_MODE: 'hardened' });
  await conforms(t, url, '/', 200);
  const info = await conforms(t, url, '/api/info', 200);
  t.like(JSON.parse(info.body), { app: 'sample-app', mode: 'hardened', rateLimit: null });
  await conforms(t, url, '/health', 200);
  await conforms(t, url, '/metrics', 200);
  await conforms(t, url, '/schema', 200);
  await conforms(t, url, '/health', 200, { method: 'HEAD' });
  await conforms(t, url, '/orders', 400, { method: 'POST', body: { item: '', quantity: 1 } });
  await conforms(t, url, '/orders', 400, { method: 'POST', body: 'not json' });
  await conforms(t, url, '/orders', 413, { method: 'POST', body: { item: 'x'.repeat(20_000), quantity: 1 } });
  await conforms(t, url, '/orders', 503, { method: 'POST', body: { item: 'w', quantity: 1 } });
  await conforms(t, url, `/orders/${randomUUID()}`, 503);
  await conforms(t, url, '/orders/42', 400);
  await conforms(t, url, '/orders', 503);
  await conforms(t, url, '/orders?limit=7', 503);
  await conforms(t, url, '/orders', 503, { method: 'HEAD' });
  await conforms(t, url, '/orders?limit=0', 400);
  await conforms(t, url, '/orders?limit=x', 400);
  await conforms(t, url, '/orders', 405, { method: 'DELETE' });
  await conforms(t, url, '/health', 405, { method: 'POST', body: {} });
  await conforms(t, url, `/orders/${randomUUID()}`, 503, { method: 'PATCH', body: { quantity: 2 } });
  await conforms(t, url, `/orders/${randomUUID()}`, 400, { method: 'PATCH', body: { quantity: 0 } });
  await conforms(t, url, '/orders/42', 400, { method: 'PATCH', body: { quantity: 2 } });
  await conforms(t, url, `/orders/${randomUUID()}`, 405, { method: 'DELETE' });
  const unmatched = await conforms(t, url, '/nope/deeper', 404);
  t.is(unmatched.verdict.route, 'unmatched');
});

test('degraded: a database that refuses connections gives conforming 503s (hardened) and 500s (naive)', async (t) => {
  const hardened = await app({ APP_MODE: 'hardened', DATABASE_URL: REFUSED, BREAKER_THRESHOLD: '1000' });
  const health = await conforms(t, hardened.url, '/health', 503);
  t.like(JSON.parse(health.body), { status: 'down', dependencies: { database: 'down' } });
  const write = await conforms(t, hardened.url, '/orders', 503, { method: 'POST', body: { item: 'w', quantity: 1 } });
  t.deepEqual(JSON.parse(write.body), { error: 'database unavailable', reason: 'failed' });
  await conforms(t, hardened.url, `/orders/${randomUUID()}`, 503);
  await conforms(t, hardened.url, `/orders/${randomUUID()}`, 503, { method: 'PATCH', body: { quantity: 3 } });
  const list = await conforms(t, hardened.url, '/orders?limit=3', 503);
  t.deepEqual(JSON.parse(list.body), { error: 'database unavailable', reason: 'failed' });
  // Naive passes the driver's error through as a 500: declared, and what the contract says it is.
  const naive = await app({ APP_MODE: 'naive', DATABASE_URL: REFUSED });
  await conforms(t, naive.url, '/health', 503);
  await conforms(t, naive.url, '/orders', 500, { method: 'POST', body: { item: 'w', quantity: 1 } });
  await conforms(t, naive.url, `/orders/${randomUUID()}`, 500);
  await conforms(t, naive.url, `/orders/${randomUUID()}`, 500, { method: 'PATCH', body: { quantity: 3 } });
  await conforms(t, naive.url, '/orders', 500);
});

const order = { id: randomUUID(), item: 'widget', quantity: 2, createdAt: '2025-01-02T03:04:05.678Z' };

test('the checker accepts the cached and the uncached read, and the created order', (t) => {
  const path = `/orders/${order.id}`;
  t.true(checker.check({ method: 'GET', path, status: 200, body: JSON.stringify({ ...order, source: 'cache' }) }).ok);
  t.true(checker.check({ method: 'GET', path, status: 200, body: { ...order, source: 'database' } }).ok);
  t.true(checker.check({ method: 'POST', path: '/orders', status: 201, body: { ...order, server: '172.19.0.3' } }).ok);
  t.true(checker.check({ method: 'POST', path: '/orders', status: 201, body: { ...order, server: null } }).ok);
});

test('the list: GET /orders needs PostgreSQL only; its checker accepts a list of orders and refuses a read\'s fields in it', (t) => {
  const list = contractDocument().routes.find((r) => r.method === 'GET' && r.path === '/orders');
  t.deepEqual(list?.dependencies, ['postgres']);
  t.like(list, { user: true, rateLimited: true });
  t.deepEqual(Object.keys(list!.responses), ['200', '400', '429', '500', '503']);
  t.is(checker.routeOf('GET', '/orders?limit=5'), 'GET /orders');
  t.is(checker.routeOf('POST', '/orders'), 'POST /orders');
  t.deepEqual(checker.check({ method: 'GET', path: '/orders?limit=2', status: 200, body: { orders: [order, { ...order, id: randomUUID() }] } }), { ok: true, route: 'GET /orders' });
  t.true(checker.check({ method: 'GET', path: '/orders', status: 200, body: { orders: [] } }).ok);
  t.like(checker.check({ method: 'GET', path: '/orders', status: 200, body: { orders: [{ ...order, source: 'database' }] } }),
    { ok: false, path: '/orders/0', message: '/orders/0 must not have the property `source`' });
  t.like(checker.check({ method: 'GET', path: '/orders', status: 200, body: { orders: Array.from({ length: 101 }, () => order) } }), { ok: false, path: '/orders' });
  t.like(checker.check({ method: 'GET', path: '/orders', status: 200, body: [order] }), { ok: false });
  t.true(checker.check({ method: 'GET', path: '/orders', status: 400, body: { error: 'invalid query', field: 'limit', message: 'Expected ...' } }).ok);
});

test('a wrong body is a violation with the path and what is wrong', (t) => {
  const path = `/orders/${order.id}`;
  t.like(checker.check({ method: 'GET', path, status: 200, body: { ...order, quantity: '2', source: 'cache' } }),
    { ok: false, route: 'GET /orders/:id', path: '/quantity' });
  t.like(checker.check({ method: 'GET', path, status: 200, body: { ...order, source: 'cache', sum: 'abc' } }),
    { ok: false, path: '', message: 'the body must not have the property `sum`' });
  t.like(checker.check({ method: 'GET', path, status: 200, body: { ...order, createdAt: 'yesterday', source: 'database' } }),
    { ok: false, path: '/createdAt' });
  t.like(checker.check({ method: 'POST', path: '/orders', status: 201, body: { ...order } }),
    { ok: false, path: '', message: 'the body must have the property `server`' });
  t.like(checker.check({ method: 'GET', path: '/health', status: 200, body: { status: 'fine', mode: 'hardened', dependencies: { database: 'up', cache: 'up' }, uptimeSeconds: 1 } }),
    { ok: false, path: '/status' });
  t.like(checker.check({ method: 'POST', path: '/orders', status: 503, body: { error: 'database unavailable', reason: 'gone' } }),
    { ok: false, path: '/reason' });
  t.like(checker.check({ method: 'GET', path, status: 418, body: {} }),
    { ok: false, path: '', message: 'status 418 is not an answer of GET /orders/:id (it answers 200, 400, 404, 429, 500, 503)' });
  t.like(checker.check({ method: 'GET', path: '/api/info', status: 200, body: '<html>' }), { ok: false, message: 'the body is not JSON: `<html>`' });
  t.like(checker.check({ method: 'GET', path: '/', status: 200, body: '{}', contentType: 'application/json' }), { ok: false, message: 'content type `application/json` is not text/html' });
});
