// The metrics a cascade analysis reads from /metrics, against ground truth made here without
// Docker: attempts per request at a database that refuses every connection (retries counted
// one by one), requests in flight while a "database" that never answers holds them, and the
// event-loop delay after the loop is blocked for a known time.
import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.ts';
import { start, call, answered, type Running } from '../support/http.ts';
import { waitFor } from '@resilience/fixtures';

const running: Running[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
test.after.always(async () => {
  // Stop accepting first, so the app's pool cannot open another silent connection while it closes.
  for (const s of servers) s.close();
  for (const s of sockets) s.destroy();
  await Promise.all(running.map((r) => r.served.close()));
});

async function app(env: Record<string, string>): Promise<Running> {
  const r = await start(loadConfig(env));
  running.push(r);
  return r;
}

async function metrics(url: string): Promise<string> {
  return answered(await call(`${url}/metrics`)).body as string;
}

function value(text: string, pattern: RegExp): number | undefined {
  const m = pattern.exec(text);
  return m ? Number(m[1]) : undefined;
}

const REFUSED = 'postgres://app:secret@127.0.0.1:1/orders';
const REQUESTS = 4;

const attempts = test.macro({
  async exec(t, env: Record<string, string>, perRequest: number) {
    const r = await app({ DATABASE_URL: REFUSED, BREAKER_THRESHOLD: '1000', DB_TIMEOUT_MS: '10000', ...env });
    for (let i = 0; i < REQUESTS; i++) {
      const res = answered(await call(`${r.url}/orders`, { method: 'POST', body: { item: 'w', quantity: 1 }, timeoutMs: 10_000 }));
      t.true(res.status === 503 || res.status === 500, `status ${res.status}`);
    }
    const text = await metrics(r.url);
    t.is(value(text, /^app_dependency_attempts_total\{dependency="database",outcome="error",.*\} (\d+)$/m), REQUESTS * perRequest);
    t.is(value(text, /^app_dependency_attempts_total\{dependency="database",outcome="ok",.*\} (\d+)$/m), undefined);
    // One call per request however many attempts it took.
    t.is(value(text, /^app_dependency_call_duration_seconds_count\{.*dependency="database",operation="insert",outcome="error"\} (\d+)$/m), REQUESTS);
  },
  title: (_, env: Record<string, string>, perRequest: number) => `attempts at a database refusing every connection, ${JSON.stringify(env)}: ${perRequest} per request`,
});

test(attempts, { APP_MODE: 'hardened', DB_RETRIES: '3' }, 4);
test(attempts, { APP_MODE: 'hardened' }, 3);
test(attempts, { APP_MODE: 'hardened', DB_RETRIES: '0' }, 1);
test(attempts, { APP_MODE: 'naive', DB_RETRIES: '3' }, 1);

test('an open breaker makes no attempt: refused calls are not counted as attempts', async (t) => {
  const r = await app({ APP_MODE: 'hardened', DATABASE_URL: REFUSED, BREAKER_THRESHOLD: '2', BREAKER_HALF_OPEN_MS: '600000', DB_RETRIES: '0' });
  const statuses: unknown[] = [];
  for (let i = 0; i < 5; i++) {
    const res = answered(await call(`${r.url}/orders`, { method: 'POST', body: { item: 'w', quantity: 1 } }));
    statuses.push([res.status, (res.body as { reason?: string }).reason]);
  }
  t.deepEqual(statuses, [[503, 'failed'], [503, 'failed'], [503, 'circuit open'], [503, 'circuit open'], [503, 'circuit open']]);
  t.is(value(await metrics(r.url), /^app_dependency_attempts_total\{dependency="database",outcome="error",.*\} (\d+)$/m), 2);
});

test('app_http_inflight_requests counts requests held by a database that accepts and never answers', async (t) => {
  // A TCP server that accepts connections and says nothing: pg waits for its greeting for ever.
  const silent = createServer((s) => void sockets.push(s));
  servers.push(silent);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  const r = await app({ APP_MODE: 'naive', DATABASE_URL: `postgres://app:secret@127.0.0.1:${port}/orders`, HEALTH_TIMEOUT_MS: '50', SHUTDOWN_TIMEOUT_MS: '500' });
  t.is(value(await metrics(r.url), /^app_http_inflight_requests\{.*\} (\d+)$/m), 1, 'only the scrape itself');
  const held = Array.from({ length: 3 }, () => call(`${r.url}/orders`, { method: 'POST', body: { item: 'w', quantity: 1 }, timeoutMs: 3_000 }));
  let seen: number | undefined;
  await waitFor(async () => {
    seen = value(await metrics(r.url), /^app_http_inflight_requests\{.*\} (\d+)$/m);
    return seen === 4;
  }, { what: 'three held requests and the scrape in flight', timeoutMs: 2_000, intervalMs: 20 });
  t.is(seen, 4);
  // The client gives up; the app sees the connections close and stops counting them.
  t.true((await Promise.all(held)).every((o) => o.kind === 'timed out'));
  await waitFor(async () => value(await metrics(r.url), /^app_http_inflight_requests\{.*\} (\d+)$/m) === 1, { what: 'in-flight back to the scrape alone', timeoutMs: 2_000, intervalMs: 20 });
  t.pass();
});

test('event-loop delay: prom-client defaults show a 300 ms block as nodejs_eventloop_lag_max_seconds', async (t) => {
  const r = await app({});
  await metrics(r.url); // the histogram is reset at each scrape
  const until = performance.now() + 300;
  while (performance.now() < until) {
    // block the event loop the app runs on (this process)
  }
  const text = await metrics(r.url);
  const max = value(text, /^nodejs_eventloop_lag_max_seconds\{.*\} ([\d.e+-]+)$/m);
  t.true(max !== undefined && max >= 0.25 && max < 1, `lag max ${max}`);
  for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_mean_seconds']) t.regex(text, new RegExp(`^${name}\\{`, 'm'));
});
