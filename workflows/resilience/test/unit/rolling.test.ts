// The rolling deploy's pure parts: failed requests and latency of a window against samples with
// a known answer, the options (defaults and bad input), the app's `stopped` log line, the schedule.
import test from 'ava';
import type { ProbeSample } from '@resilience/fixtures';
import { failures, intendedIn, latencyPercentile, touching } from '../../src/rolling-metrics.ts';
import { RollingOptions } from '../../src/rolling-options.ts';
import { appStoppedLine, rollingSchedule } from '../../src/rolling.ts';

const sample = (intended: number, latency: number, ok = true, error?: string): ProbeSample => ({
  probe: 'p', op: 'GET /', intended, completed: intended + latency, ok, ...(error ? { error } : {}),
});

test('failures: a deploy from 1 000 to 2 000 ms with 3 requests cut and 1 timed out counts exactly those 4 and the one open when it began', (t) => {
  // 300 requests 10 ms apart, 100 ms each; known answer: those due at 1 200, 1 210, 1 220 ms were
  // cut (HTTP 502), the one due at 1 500 ms timed out after 2 s, and the one due at 950 ms (still
  // open at 1 000) failed too. One failure before (at 500) and one after (at 2 500) are outside.
  const failed = new Map<number, [number, string]>([[500, [100, 'HTTP 502']], [950, [100, 'other side closed']], [1200, [100, 'HTTP 502']], [1210, [100, 'HTTP 502']], [1220, [100, 'HTTP 502']], [1500, [2000, 'timeout']], [2500, [100, 'HTTP 502']]]);
  const samples = Array.from({ length: 300 }, (_, i) => {
    const at = i * 10;
    const f = failed.get(at);
    return f ? sample(at, f[0], false, f[1]) : sample(at, 100);
  });
  const w = { from: 1_000, to: 2_000 };
  const f = failures(samples, w);
  t.is(f.failed, 5);
  t.deepEqual(f.errors, [['HTTP 502', 3], ['other side closed', 1], ['timeout', 1]]);
  // Touching [1000, 2000]: completed at or after 1000 (due from 900 on) and due at or before 2000.
  t.is(f.attempted, touching(samples, w).length);
  t.is(f.attempted, 111);
  // A later window sees the timed-out request while it was still open (due 1 500, failed at 3 500), then nothing.
  t.deepEqual(failures(samples, { from: 2_700, to: 2_900 }).errors, [['timeout', 1]]);
  t.is(failures(samples, { from: 3_600, to: 4_000 }).failed, 0);
});

test('latencyPercentile: nearest rank over the requests due in the window, null when none', (t) => {
  // 100 requests due in [0, 1000): latencies 1..100 ms; p99 (rank 99) = 99, p50 = 50, p100 = 100.
  const samples = Array.from({ length: 100 }, (_, i) => sample(i * 10, i + 1));
  t.is(latencyPercentile(samples, { from: 0, to: 1_000 }, 99), 99);
  t.is(latencyPercentile(samples, { from: 0, to: 1_000 }, 50), 50);
  t.is(latencyPercentile(samples, { from: 0, to: 1_000 }, 100), 100);
  // A window's end is outside it: [0, 500) holds the first 50.
  t.is(intendedIn(samples, { from: 0, to: 500 }).length, 50);
  t.is(latencyPercentile(samples, { from: 5_000, to: 6_000 }, 99), null);
  t.throws(() => latencyPercentile(samples, { from: 0, to: 1 }, 0), { instanceOf: RangeError });
});

test('options: the defaults', (t) => {
  t.deepEqual(RollingOptions.parse({}), {
    replicas: 3, mode: 'hardened', stop: 'drain', image: 'bookworm', steady: 10_000, after: 5_000, interval: 20,
    clientTimeout: 2_000, appDelay: 100, grace: 10_000, timeout: 60_000,
  });
  t.like(RollingOptions.parse({ replicas: '2', stop: 'sigkill', appDelay: 'off', grace: '3s' }), { replicas: 2, stop: 'sigkill', appDelay: 0, grace: 3_000 });
  t.is(RollingOptions.parse({ appDelay: '0' }).appDelay, 0);
});

test('options: bad input is refused, naming what is accepted', (t) => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ replicas: '4' }, /replicas/],
    [{ replicas: '1' }, /replicas/],
    [{ stop: 'sigint' }, /stop/],
    [{ grace: '1500ms' }, /whole seconds/],
    [{ appDelay: 'slow' }, /`off` or a positive duration/],
    [{ appDelay: '2s' }, /shorter than --client-timeout/],
    [{ drain: false }, /drain/],
  ];
  for (const [input, message] of bad) {
    const r = RollingOptions.safeParse(input);
    t.false(r.success, JSON.stringify(input));
    t.regex(JSON.stringify(r.error?.issues), message, JSON.stringify(input));
  }
});

test('appStoppedLine: the last `stopped` line of the app\'s JSON log, with or without Docker timestamps', (t) => {
  const logs = [
    '{"time":"2026-01-01T00:00:00Z","level":"info","msg":"listening","port":8080}',
    '{"time":"2026-01-01T00:00:05Z","level":"info","msg":"shutting down","signal":"SIGTERM"}',
    '2026-01-01T00:00:05.2Z {"time":"2026-01-01T00:00:05Z","level":"info","msg":"stopped","forced":false,"ms":213}',
    '',
  ].join('\n');
  t.deepEqual(appStoppedLine(logs), { forced: false, ms: 213 });
  t.deepEqual(appStoppedLine('{"msg":"stopped","forced":true,"ms":6001}\nnot json'), { forced: true, ms: 6001 });
  // Killed: no such line.
  t.is(appStoppedLine('{"msg":"listening"}\n'), null);
});

test('the schedule: steady, the deploy, observation, then the measurement', (t) => {
  const labels = rollingSchedule(RollingOptions.parse({ steady: '5s', after: '2s' })).map((s) => s.label);
  t.deepEqual(labels, [
    'mark the steady state\'s start', 'steady 5000 ms', 'deploy: replace every replica in turn (out of rotation, stop, start, health gate)',
    'observe 2000 ms', 'measure failed requests and latency of the deploy',
  ]);
});
