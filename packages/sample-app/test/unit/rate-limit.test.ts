// Load shedding: the token bucket on a controlled clock, and the app with APP_RATE_LIMIT under a
// burst (exactly burst requests admitted, the rest 429 with Retry-After), monitoring exempt.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { contractChecker } from '@resilience/fixtures/probes/contract';
import { loadConfig } from '../../src/config.ts';
import { TokenBucket } from '../../src/rate-limit.ts';
import { contractDocument } from '../../src/schemas.ts';
import { start, type Running } from '../support/http.ts';

const running: Running[] = [];
test.after.always(async () => {
  await Promise.all(running.map((r) => r.served.close()));
});

test('token bucket: burst tokens at once, then one per 1/rate seconds; the wait is exact', (t) => {
  let now = 0;
  const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, () => now);
  t.deepEqual([bucket.take(), bucket.take(), bucket.take()].map((a) => a.admitted), [true, true, true]);
  t.deepEqual(bucket.take(), { admitted: false, retryAfterMs: 100 });
  now = 40;
  t.deepEqual(bucket.take(), { admitted: false, retryAfterMs: 60 });
  now = 100;
  t.deepEqual(bucket.take(), { admitted: true });
  t.false(bucket.take().admitted);
  // A long quiet spell refills to the burst, not beyond.
  now = 60_000;
  t.is([1, 2, 3, 4, 5].filter(() => bucket.take().admitted).length, 3);
});

async function get(url: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

test('APP_RATE_LIMIT=1 APP_RATE_LIMIT_BURST=5: a burst of 20 gets exactly 15 429s with Retry-After 1; /health and /metrics are never shed', async (t) => {
  const r = await start(loadConfig({ APP_RATE_LIMIT: '1', APP_RATE_LIMIT_BURST: '5' }));
  running.push(r);
  const checker = contractChecker(JSON.parse(JSON.stringify(contractDocument())));
  // At 1 token a second, a burst that takes well under a second earns no extra token.
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${r.url}/api/info`)));
  const took = performance.now() - started;
  t.true(took < 800, `the burst took ${took} ms`);
  const shed = answers.filter((a) => a.status === 429);
  t.is(answers.filter((a) => a.status === 200).length, 5);
  t.is(shed.length, 15);
  for (const a of shed) {
    t.is(a.retryAfter, '1');
    const body = JSON.parse(a.body) as { error: string; retryAfterMs: number };
    t.is(body.error, 'rate limited');
    t.true(body.retryAfterMs > 0 && body.retryAfterMs <= 1_000, `retryAfterMs ${body.retryAfterMs}`);
    t.true(checker.check({ method: 'GET', path: '/api/info', status: 429, body: a.body }).ok);
  }
  // Monitoring gets through an empty bucket.
  const monitoring = await Promise.all([...Array.from({ length: 10 }, () => get(`${r.url}/health`)), get(`${r.url}/metrics`)]);
  t.deepEqual(monitoring.map((a) => a.status), Array.from({ length: 11 }, () => 200));
  t.regex(monitoring[10]!.body, /^app_rate_limited_requests_total\{route="\/api\/info",.*\} 15$/m);
  t.regex(monitoring[10]!.body, /^http_requests_total\{method="GET",route="\/api\/info",status="429",.*\} 15$/m);
  // Waiting as long as the answer said is enough.
  const wait = Math.max(...shed.map((a) => (JSON.parse(a.body) as { retryAfterMs: number }).retryAfterMs));
  await sleep(wait + 20);
  t.is((await get(`${r.url}/api/info`)).status, 200);
});

test('APP_RATE_LIMIT=50 APP_RATE_LIMIT_BURST=2: Retry-After is whole seconds (1), the body has the milliseconds', async (t) => {
  const r = await start(loadConfig({ APP_RATE_LIMIT: '50', APP_RATE_LIMIT_BURST: '2' }));
  running.push(r);
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await get(`${r.url}/orders/not-an-id`));
  t.deepEqual(answers.map((a) => a.status).slice(0, 2), [400, 400]);
  // The third may have earned a token if the two took 20 ms or more; otherwise it is shed with a wait under 20 ms.
  const third = answers[2]!;
  if (third.status === 429) {
    t.is(third.retryAfter, '1');
    const { retryAfterMs } = JSON.parse(third.body) as { retryAfterMs: number };
    t.true(retryAfterMs >= 1 && retryAfterMs <= 20, `retryAfterMs ${retryAfterMs}`);
  } else {
    t.is(third.status, 400);
  }
});

test('rate limiting is off by default and with APP_RATE_LIMIT=0', async (t) => {
  for (const env of [{}, { APP_RATE_LIMIT: '0' }]) {
    const r = await start(loadConfig(env));
    running.push(r);
    t.is(r.app.config.rateLimit, undefined);
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(`${r.url}/api/info`)));
    t.true(answers.every((a) => a.status === 200));
  }
});
