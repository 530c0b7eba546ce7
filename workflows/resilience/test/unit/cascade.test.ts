import test from 'ava';
import type { ProbeSample } from '@resilience/fixtures';
import { amplification, appReading, parseProm, sumOf, windowStats, within } from '../../src/cascade-metrics.ts';
import { ALL_SCENARIOS, CascadeOptions, CASCADE_SCENARIO_NAMES } from '../../src/cascade-options.ts';
import { cascadeSchedule, clientAttempts } from '../../src/cascade.ts';

const sample = (intended: number, latency: number, ok = true): ProbeSample => ({ probe: 'p', op: 'GET /', intended, completed: intended + latency, ok });

test('windowStats counts only the samples that started inside the windows, failures at their own latency', (t) => {
  // 100 requests 10 ms apart from t=0: those from 200 to 500 ms (30) are inside [200, 500); 6 of them failed after 2 s.
  const samples = Array.from({ length: 100 }, (_, i) => sample(i * 10, i >= 20 && i < 26 ? 2_000 : 5, !(i >= 20 && i < 26)));
  const s = windowStats(samples, [{ from: 200, to: 500 }]);
  t.is(s.attempts, 30);
  t.is(s.failures, 6);
  t.is(s.availability, 24 / 30);
  // p99 of 30 values (nearest rank 30): the slowest, a failed one at 2 s.
  t.is(s.p99Ms, 2_000);
  // Two windows pool their samples; a sample at a window's end is outside it.
  const two = windowStats(samples, [{ from: 0, to: 100 }, { from: 900, to: 1_000 }]);
  t.is(two.attempts, 20);
  t.is(two.availability, 1);
  t.false(within(100, [{ from: 0, to: 100 }]));
});

test('windowStats of no sample is not measured (null), never 100 %', (t) => {
  t.deepEqual(windowStats([sample(5_000, 1)], [{ from: 0, to: 1_000 }]), { attempts: 0, failures: 0, availability: null, p99Ms: null });
});

test('amplification: a dependency failing every call, 2 retries per request in the app, 1 client attempt -> 3 attempts per request', (t) => {
  // Known answer: 40 client requests, each tried 3 times by the app (1 + 2 retries) before it gave up.
  t.is(amplification(17, 17 + 40 * 3, 40), 3);
  // With clients retrying 3 times each on top (retry-storm without a breaker): 9 per client request.
  t.is(amplification(0, 40 * 3 * 3, 40), 9);
  // A breaker that opened: 5 attempts for 200 requests.
  t.is(amplification(100, 105, 200), 0.025);
  // Nothing to divide by, or a counter that was not read: not measured.
  t.is(amplification(0, 10, 0), null);
  t.is(amplification(undefined, 10, 5), null);
});

test('appReading reads attempts per dependency, in-flight and event-loop p99 from the app\'s Prometheus text', (t) => {
  const text = [
    '# HELP app_dependency_attempts_total Attempts at a dependency',
    '# TYPE app_dependency_attempts_total counter',
    'app_dependency_attempts_total{dependency="database",outcome="ok",app="sample-app",mode="hardened"} 120',
    'app_dependency_attempts_total{dependency="database",outcome="error",app="sample-app",mode="hardened"} 30',
    'app_dependency_attempts_total{dependency="cache",outcome="ok",app="sample-app",mode="hardened"} 7',
    'app_http_inflight_requests{app="sample-app",mode="hardened"} 4',
    'nodejs_eventloop_lag_p99_seconds{app="sample-app",mode="hardened"} 0.0125',
    'app_cache_requests_total{result="hit",app="sample-app",mode="hardened"} 900',
    'app_cache_requests_total{result="miss",app="sample-app",mode="hardened"} 50',
  ].join('\n');
  const r = appReading(text);
  t.deepEqual(r.attempts, { database: 150, cache: 7 });
  t.is(r.inflight, 4);
  t.is(r.eventLoopP99Ms, 12.5);
  t.is(r.cacheMisses, 50);
  t.is(sumOf(parseProm(text), 'app_dependency_attempts_total', { outcome: 'error' }), 30);
  t.is(sumOf(parseProm(text), 'no_such_metric'), undefined);
  // An app without the counters: nothing invented.
  t.deepEqual(appReading('up 1\n'), { attempts: {}, inflight: undefined, eventLoopP99Ms: undefined, cacheMisses: undefined });
});

test('options: defaults, every scenario accepted, bad values refused with the flag named', (t) => {
  t.deepEqual(CascadeOptions.parse({}).scenario, ['redis-slow']);
  t.like(CascadeOptions.parse({}), { image: 'bookworm', steady: 10_000, hold: 20_000, after: 10_000, interval: 100, clientTimeout: 2_000 });
  for (const scenario of CASCADE_SCENARIO_NAMES) t.deepEqual(CascadeOptions.parse({ scenario }).scenario, [scenario]);
  t.deepEqual(CascadeOptions.parse({ scenario: 'retry-storm, db-slow' }).scenario, ['retry-storm', 'db-slow']);
  // all: every scenario once, the black hole last (it leaves the naive app's connection dead).
  const all = CascadeOptions.parse({ scenario: 'all' }).scenario;
  t.deepEqual([...all].sort(), [...CASCADE_SCENARIO_NAMES].sort());
  t.is(all.at(-1), 'redis-blackhole');
  t.deepEqual(all, [...ALL_SCENARIOS]);
  for (const scenario of ['redis-fast', 'redis-slow,redis-fast', 'redis-slow,redis-slow', '']) {
    const bad = CascadeOptions.safeParse({ scenario });
    t.false(bad.success, scenario);
    t.is(bad.error?.issues[0]?.path.join('.'), 'scenario');
    t.regex(bad.error?.issues[0]?.message ?? '', /comma-separated list/);
  }
  t.is(CascadeOptions.safeParse({ hold: '0s' }).error?.issues[0]?.path.join('.'), 'hold');
  t.is(CascadeOptions.safeParse({ instances: 2 }).success, false);
});

test('every scenario\'s plan: the fault on its dependency, measured, then the settle; two-stage scenarios heal between stages', (t) => {
  const labels = (scenario: string) => cascadeSchedule(CascadeOptions.parse({ scenario })).flatMap((s) => (s.children ?? [s]).map((c) => c.label));
  const slow = labels('redis-slow');
  t.is(slow.filter((l) => l.startsWith('inject')).length, 2);
  t.true(slow.every((l) => !l.startsWith('inject') || l.includes('link-cache')));
  t.true(slow.indexOf('heal cache') < slow.lastIndexOf('inject latency 2s on link-cache (scope cache)'));
  const db = labels('db-slow');
  t.true(db.some((l) => l.startsWith('inject latency 500ms on link-database')));
  t.true(db.some((l) => l.startsWith('inject lock orders (writes) on primaryOf(postgres)')));
  t.true(labels('pool-exhaustion').some((l) => l.startsWith('inject lock orders (everything)')));
  t.true(labels('retry-storm').some((l) => l.startsWith('inject reset on link-database')));
  for (const s of CASCADE_SCENARIO_NAMES) {
    const l = labels(s);
    t.true(l.indexOf(l.find((x) => x.startsWith('measure'))!) > l.lastIndexOf(l.filter((x) => x.startsWith('heal')).at(-1)!), s);
    t.is(l.at(-2), 'until both apps are back (1 s of successes on every endpoint)', s);
    t.is(l[0], `${s}: ${l[0]!.slice(s.length + 2)}`);
  }
  // A list runs one block per scenario, in order, each its own iteration.
  const blocks = cascadeSchedule(CascadeOptions.parse({ scenario: 'cache-flush,retry-storm' }));
  t.deepEqual(blocks.map((b) => b.label), ['scenario 1: cache-flush', 'scenario 2: retry-storm']);
  t.true(blocks[0]!.children!.some((c) => c.label.startsWith('inject flushall on primaryOf(redis)')));
  t.is(clientAttempts('retry-storm'), 3);
  t.is(clientAttempts('redis-slow'), 1);
});
