import test from 'ava';
import fc from 'fast-check';
import { createLatencyHistogram, encodeHistogram, recordLatency } from '@resilience/fixtures/analysis';
import { isInvalidArgumentError } from '@resilience/fixtures/errors';
import type { JournalEvent, SampleEvent } from '@resilience/fixtures/events';
import { TimelineBuilder, timeline } from '../../src/index.ts';
import { QuantileSketch } from '../../src/sketch.ts';

const sample = (probe: string, intended: number, latency: number, ok = true): SampleEvent =>
  ({ type: 'sample', probe, op: 'op', intended, completed: intended + latency, ok });

test('buckets of a hand-made input: counts, success rate and percentiles per bucket', async (t) => {
  const events: JournalEvent[] = [
    { type: 'run-start', runId: 'r', workflow: 'w', startedAt: '2026-01-01T00:00:00.000Z', at: 0 },
    sample('a', 0, 1),
    sample('a', 100, 3),
    sample('a', 999, 2, false),
    { type: 'phase', name: 'x', at: 1000 },
    sample('a', 1000, 10),
    sample('b', 2500, 4),
    sample('b', 2999.9, 6, false),
  ];
  const result = await timeline(events, { bucketMs: 1000 });
  t.is(result.bucketMs, 1000);
  t.deepEqual(result.t, [0, 1000, 2000]);
  t.deepEqual(result.probes.map((p) => p.probe), ['a', 'b']);
  const [a, b] = result.probes;
  t.deepEqual(a!.attempts, [3, 1, 0]);
  t.deepEqual(a!.failures, [1, 0, 0]);
  t.deepEqual(a!.successRate, [0.666667, 1, null]);
  t.deepEqual(b!.attempts, [0, 0, 2]);
  t.deepEqual(b!.successRate, [null, null, 0.5]);
  const close = (actual: number | null | undefined, expected: number): boolean => actual != null && Math.abs(actual - expected) <= expected * 0.005;
  // Failed operations count in latency too (a user waited for them).
  t.true(close(a!.p50Ms[0], 2) && close(a!.p99Ms[0], 3), `${a!.p50Ms[0]} ${a!.p99Ms[0]}`);
  t.true(close(a!.p50Ms[1], 10) && close(a!.p99Ms[1], 10));
  t.deepEqual([a!.p50Ms[2], a!.p99Ms[2]], [null, null]);
  t.true(close(b!.p50Ms[2], 4) && close(b!.p99Ms[2], 6));
});

test('latencyBudgetMs makes slow successes failures, as the analyser does', async (t) => {
  const result = await timeline([sample('a', 0, 5), sample('a', 10, 60)], { bucketMs: 1000, latencyBudgetMs: 50 });
  t.deepEqual(result.probes[0]!.failures, [1]);
});

test('a long run doubles the bucket width until it fits maxBuckets, merging counts exactly', async (t) => {
  const events = Array.from({ length: 101 }, (_, i) => sample('a', i * 10, 1 + (i % 7), i % 10 === 0));
  const result = await timeline(events, { bucketMs: 100, maxBuckets: 4 });
  // 0..1000 ms needs 11 buckets of 100 ms; 400 ms buckets give 3.
  t.is(result.bucketMs, 400);
  t.deepEqual(result.t, [0, 400, 800]);
  t.deepEqual(result.probes[0]!.attempts, [40, 40, 21]);
  t.deepEqual(result.probes[0]!.failures, [36, 36, 18]);
});

test('a window event widens the buckets to its length and counts in the bucket of its start', async (t) => {
  const histogram = createLatencyHistogram();
  for (let i = 0; i < 100; i++) recordLatency(histogram, i < 50 ? 2 : 8);
  const builder = new TimelineBuilder({ bucketMs: 250 });
  builder.push({ type: 'window', probe: 'w', from: 1000, to: 2000, attempts: 100, failures: 10, histogram: encodeHistogram(histogram) });
  const result = builder.finish();
  t.is(result.bucketMs, 1000);
  t.deepEqual(result.t, [0, 1000]);
  t.deepEqual(result.probes[0]!.attempts, [0, 100]);
  t.deepEqual(result.probes[0]!.successRate, [null, 0.9]);
  t.true(Math.abs(result.probes[0]!.p50Ms[1]! - 2) < 0.02, String(result.probes[0]!.p50Ms[1]));
  t.true(Math.abs(result.probes[0]!.p99Ms[1]! - 8) < 0.05, String(result.probes[0]!.p99Ms[1]));
});

test('samples in any order give the same buckets', async (t) => {
  const events = Array.from({ length: 300 }, (_, i) => sample(i % 2 ? 'a' : 'b', i * 7, (i * 37) % 11, i % 13 !== 0));
  const forward = await timeline(events, { bucketMs: 250 });
  const backward = await timeline([...events].reverse(), { bucketMs: 250 });
  t.deepEqual(backward.t, forward.t);
  const byName = (probes: typeof forward.probes) => [...probes].sort((x, y) => x.probe.localeCompare(y.probe));
  t.deepEqual(byName(backward.probes), byName(forward.probes));
});

test('no samples: no buckets', async (t) => {
  t.deepEqual(await timeline([{ type: 'note', at: 5, message: 'x' }]), { bucketMs: 250, t: [], probes: [] });
});

const badTimeline = test.macro((t, options: Record<string, unknown>, argument: string) => {
  const error = t.throws(() => new TimelineBuilder(options));
  t.true(isInvalidArgumentError(error));
  t.is((error as { argument?: string }).argument, argument);
});
test('rejects bucketMs 0', badTimeline, { bucketMs: 0 }, 'bucketMs');
test('rejects bucketMs NaN', badTimeline, { bucketMs: Number.NaN }, 'bucketMs');
test('rejects maxBuckets 0', badTimeline, { maxBuckets: 0 }, 'maxBuckets');
test('rejects a fractional maxBuckets', badTimeline, { maxBuckets: 2.5 }, 'maxBuckets');

test('a sample with a bad time is refused with the field named', (t) => {
  const builder = new TimelineBuilder();
  const error = t.throws(() => builder.push({ type: 'sample', probe: 'a', op: 'x', intended: Number.NaN, completed: 1, ok: true }));
  t.true(isInvalidArgumentError(error));
  t.is((error as { argument?: string }).argument, 'sample.intended');
});

test('sketch quantiles are within 0.5 % of the exact nearest-rank value, merged or not', (t) => {
  fc.assert(fc.property(
    fc.array(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
    fc.integer({ min: 0, max: 300 }),
    (values, split) => {
      const whole = new QuantileSketch();
      const left = new QuantileSketch();
      const right = new QuantileSketch();
      values.forEach((v, i) => {
        whole.add(v);
        (i < split ? left : right).add(v);
      });
      left.merge(right);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.5, 0.99]) {
        const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
        for (const s of [whole, left]) {
          const [got] = s.quantiles([q]);
          if (!(Math.abs(got! - exact) <= exact * 0.0051)) return false;
        }
      }
      const [min, max] = whole.quantiles([0, 1]);
      return min === sorted[0] && max === sorted.at(-1);
    },
  ));
  t.pass();
});
