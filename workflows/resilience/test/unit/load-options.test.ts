// The load workflow's profiles, options and SLO judgement: the stages each profile offers, bad
// input refused with the value named, and which stages count towards the knee.
import test from 'ava';
import type { StageResult } from '@resilience/fixtures/load/index';
import { LoadOptions, loadStages, peakStage } from '../../src/load-options.ts';
import { loadHypotheses, withinSlo } from '../../src/load.ts';

const parse = (o: Record<string, unknown>) => LoadOptions.parse(o);

test('each profile offers its stages at the base rate', (t) => {
  t.deepEqual(loadStages(parse({})), [{ name: 'steady', durationMs: 60_000, rate: 60 }]);
  t.deepEqual(loadStages(parse({ profile: 'spike', rate: '50' })).map((s) => [s.name, s.rate, s.durationMs]), [['baseline', 50, 20_000], ['spike', 500, 15_000], ['after', 50, 20_000]]);
  t.deepEqual(loadStages(parse({ profile: 'sustained', duration: '2m' })), [{ name: 'sustained', durationMs: 120_000, rate: 240 }]);
  t.deepEqual(loadStages(parse({ profile: 'ramp', rate: '100', maxRate: '700' })).map((s) => s.rate), [100, 200, 300, 400, 600]);
});

test('the peak stage is the one at the highest rate', (t) => {
  t.is(peakStage(loadStages(parse({ profile: 'spike' }))), 1);
  t.is(peakStage(loadStages(parse({}))), 0);
});

const refused = test.macro((t, input: Record<string, unknown>, path: string) => {
  const r = LoadOptions.safeParse(input);
  t.false(r.success);
  t.true(r.error!.issues.some((i) => i.path.join('.') === path), JSON.stringify(r.error!.issues));
});

test('an unknown profile is refused', refused, { profile: 'nope' }, 'profile');
test('rate 0 is refused', refused, { rate: '0' }, 'rate');
test('a negative duration is refused', refused, { duration: '-5s' }, 'duration');
test('writes above 100 % are refused', refused, { writes: '120' }, 'writes');
test('a fault during a ramp is refused', refused, { profile: 'ramp', fault: 'pause' }, 'fault');
test('an unknown option is refused', refused, { users: '10' }, '');

function stage(over: Partial<StageResult> & { p99?: number | null }): StageResult {
  const { p99 = 100, ...rest } = over;
  return {
    name: 's', startedAt: 0, durationMs: 10_000, offeredRate: 100, offered: 1000, sent: 1000, ok: 1000, errors: 0, shed: 0, dropped: 0, timeouts: 0,
    throughput: 99.5, errorRate: 0, latency: { count: 1000, p50Ms: 10, p95Ms: 50, p99Ms: p99, maxMs: 200 }, maxSendLagMs: 1, errorKinds: {}, ...rest,
  };
}

test('a stage is within the ramp\'s SLO only with p99, error rate and throughput all within it', (t) => {
  const slo = { sloP99: 5000, sloErrors: 1 };
  t.true(withinSlo(stage({}), slo).ok);
  t.regex(withinSlo(stage({ p99: 6000 }), slo).why, /p99 6000 ms > 5000 ms/);
  t.regex(withinSlo(stage({ errorRate: 0.02 }), slo).why, /error rate 2\.00 % > 1 %/);
  t.regex(withinSlo(stage({ throughput: 80 }), slo).why, /throughput 80\.0\/s < 95 % of 100\.0\/s/);
  t.false(withinSlo(stage({ p99: null }), slo).ok);
});

test('a ramp is judged by its knee, the other profiles by every stage\'s latency, errors and throughput', (t) => {
  const text = (o: Record<string, unknown>) => loadHypotheses(parse(o)).map((h) => (typeof h === 'string' ? h : h.text));
  t.deepEqual(text({ profile: 'ramp' }), ['knee >= 50', 'appCpu < 80%', 'appMemory < 1073741824']);
  t.deepEqual(text({}), ['latencyP50 < 1s', 'latencyP95 < 3s', 'latencyP99 < 5s', 'errorRate < 1%', 'throughput >= 50', 'appCpu < 80%', 'appMemory < 1073741824']);
});
