// The app in-process with no dependencies configured: what the image smoke test relies on
// (/health 200 "not configured"), the page, metrics, validation and routing.
import test from 'ava';
import { loadConfig } from '../../src/config.ts';
import { PAGE_IDS } from '../../src/page.ts';
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

test('/health: 200 ok with both dependencies "not configured", in each mode', async (t) => {
  for (const mode of ['hardened', 'naive'] as const) {
    const { url } = await app({ APP_MODE: mode });
    const res = answered(await call(`${url}/health`));
    t.is(res.status, 200);
    t.like(res.body, { status: 'ok', mode, dependencies: { database: 'not configured', cache: 'not configured' } });
  }
});

test('/: a page with the place and look-up forms and the orders list, no external resources', async (t) => {
  const { url } = await app();
  const res = answered(await call(url));
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const html = res.body as string;
  for (const id of Object.values(PAGE_IDS)) t.true(html.includes(`id="${id}"`), id);
  t.false(/(src|href)="(https?:)?\/\//.test(html), 'no external resource');
  t.regex(html, /<ul id="orders" data-state="idle"/);
  t.regex(html, /fetch\('\/orders\?limit=20'/, 'the page loads the list from its own origin');
});

test('/metrics: Prometheus text with request counts by route and status', async (t) => {
  const { url } = await app({ APP_MODE: 'naive' });
  answered(await call(`${url}/health`));
  answered(await call(`${url}/nope`));
  const res = answered(await call(`${url}/metrics`));
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = res.body as string;
  t.regex(text, /^http_requests_total\{method="GET",route="\/health",status="200",app="sample-app",mode="naive"\} 1$/m);
  t.regex(text, /^http_requests_total\{method="GET",route="unmatched",status="404".*\} 1$/m);
  t.regex(text, /^http_request_duration_seconds_bucket\{le="0.1",.*route="\/health"/m);
  t.regex(text, /^process_resident_memory_bytes/m);
  t.notRegex(text, /^app_dependency_up\{/m, 'no gauge for dependencies that are not configured');
});

test('POST /orders: a bad body is 400 naming the field, before any dependency is asked', async (t) => {
  const { url } = await app();
  const res = answered(await call(`${url}/orders`, { method: 'POST', body: { item: 'w', quantity: 0 } }));
  t.is(res.status, 400);
  t.like(res.body, { error: 'invalid body', field: 'quantity' });
  const big = answered(await call(`${url}/orders`, { method: 'POST', body: { item: 'x'.repeat(20_000), quantity: 1 } }));
  t.is(big.status, 413);
});

test('POST /orders without a database: 503 "database not configured"', async (t) => {
  const { url } = await app();
  const res = answered(await call(`${url}/orders`, { method: 'POST', body: { item: 'w', quantity: 1 } }));
  t.is(res.status, 503);
  t.deepEqual(res.body, { error: 'database not configured' });
});

test('routing: bad id 400, unknown path 404, wrong method 405 with every allowed method', async (t) => {
  const { url } = await app();
  t.like(answered(await call(`${url}/orders/42`)), { status: 400, body: { field: 'id' } });
  t.is(answered(await call(`${url}/orders/a/b`)).status, 404);
  const wrong = answered(await call(`${url}/orders`, { method: 'DELETE' }));
  t.is(wrong.status, 405);
  t.is(wrong.headers.get('allow'), 'GET, POST');
  t.deepEqual(wrong.body, { error: 'method not allowed', allow: 'GET, POST' });
  const read = answered(await call(`${url}/orders/${'0b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11'}`, { method: 'POST', body: {} }));
  t.is(read.headers.get('allow'), 'GET, PATCH');
});

test('PATCH /orders/:id: a bad id or body is 400 naming the field, before any dependency is asked; none configured is 503', async (t) => {
  const { url } = await app();
  const id = '0b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11';
  t.like(answered(await call(`${url}/orders/42`, { method: 'PATCH', body: { quantity: 2 } })), { status: 400, body: { error: 'invalid id', field: 'id' } });
  t.like(answered(await call(`${url}/orders/${id}`, { method: 'PATCH', body: { quantity: 0 } })), { status: 400, body: { error: 'invalid body', field: 'quantity' } });
  t.like(answered(await call(`${url}/orders/${id}`, { method: 'PATCH', body: 'nope' })), { status: 400, body: { field: 'body' } });
  t.like(answered(await call(`${url}/orders/${id}`, { method: 'PATCH', body: { quantity: 2 } })), { status: 503, body: { error: 'database not configured' } });
});

const badLimit = test.macro({
  async exec(t, query: string, shown: RegExp) {
    const { url } = await app({ APP_MODE: 'naive' });
    const res = answered(await call(`${url}/orders${query}`));
    t.is(res.status, 400);
    t.like(res.body, { error: 'invalid query', field: 'limit' });
    t.regex((res.body as { message: string }).message, /^Expected `limit` to be a whole number from 1 to 100/);
    t.regex((res.body as { message: string }).message, shown);
  },
  title: (_, query: string) => `GET /orders${query}: 400 naming the limit and the value, before any dependency is asked`,
});
test(badLimit, '?limit=0', /got `0`$/);
test(badLimit, '?limit=101', /got `101`$/);
test(badLimit, '?limit=abc', /got `abc`$/);
test(badLimit, '?limit=1e2', /got `1e2`$/);
test(badLimit, '?limit=-5', /got `-5`$/);
test(badLimit, '?limit=2.5', /got `2.5`$/);
test(badLimit, '?limit=', /got an empty value$/);
test(badLimit, '?limit=5&limit=6', /given once, got 2 values: `5`, `6`$/);

test('GET /orders without a database: 503 "database not configured", counted under its route', async (t) => {
  const { url } = await app({ APP_MODE: 'naive' });
  for (const query of ['', '?limit=100', '?limit=1&other=x']) {
    const res = answered(await call(`${url}/orders${query}`));
    t.is(res.status, 503, query);
    t.deepEqual(res.body, { error: 'database not configured' });
  }
  answered(await call(`${url}/orders?limit=0`));
  const text = answered(await call(`${url}/metrics`)).body as string;
  t.regex(text, /^http_requests_total\{method="GET",route="\/orders",status="503",.*\} 3$/m);
  t.regex(text, /^http_requests_total\{method="GET",route="\/orders",status="400",.*\} 1$/m);
});

test('GET /orders, hardened, a database that refuses connections: 503 "database unavailable" after its retries, one list call in the metrics', async (t) => {
  const { url } = await app({ APP_MODE: 'hardened', DATABASE_URL: 'postgres://app:secret@127.0.0.1:1/orders', BREAKER_THRESHOLD: '1000', DB_RETRIES: '2' });
  const res = answered(await call(`${url}/orders?limit=5`, { timeoutMs: 10_000 }));
  t.is(res.status, 503);
  t.deepEqual(res.body, { error: 'database unavailable', reason: 'failed' });
  const text = answered(await call(`${url}/metrics`)).body as string;
  t.regex(text, /^app_dependency_call_duration_seconds_count\{.*dependency="database",operation="list",outcome="error"\} 1$/m);
  // The first attempt and two retries (the schema is created by the first call that reaches the database).
  t.regex(text, /^app_dependency_attempts_total\{dependency="database",outcome="error",.*\} 3$/m);
  t.regex(text, /^http_requests_total\{method="GET",route="\/orders",status="503",.*\} 1$/m);
});

test('a draining app answers /health 503 "stopping"', async (t) => {
  const r = await app();
  r.app.drain();
  const res = answered(await call(`${r.url}/health`));
  t.is(res.status, 503);
  t.like(res.body, { status: 'stopping' });
});
