// Resource series: buckets that merge exactly as the width doubles, a bounded series length,
// units from the metric's name, and a Resources section only for a journal with resource events.
import test from 'ava';
import fc from 'fast-check';
import { seededRandom } from '@resilience/fixtures/faulty';
import { isInvalidArgumentError } from '@resilience/fixtures/errors';
import type { JournalEvent, ResourceEvent } from '@resilience/fixtures/events';
import { ResourceBuilder, renderHtml, renderMarkdown, reportSchema, resourceUnit, resources } from '../../src/index.ts';
import { formatResource } from '../../src/resource-charts.ts';
import { reportOf, samples } from '../support/scenarios.ts';

const res = (container: string, at: number, fields: Partial<ResourceEvent> = {}): ResourceEvent => ({ type: 'resource', container, at, ...fields });

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Brute force: the readings grouped by floor(at / bucketMs), as the builder should end up with them. */
function bruteForce(readings: readonly { at: number; value: number }[], bucketMs: number): Map<number, { count: number; sum: number; min: number; max: number }> {
  const out = new Map<number, { count: number; sum: number; min: number; max: number }>();
  for (const { at, value } of readings) {
    const i = Math.floor(Math.max(0, at) / bucketMs);
    const b = out.get(i);
    if (!b) out.set(i, { count: 1, sum: value, min: value, max: value });
    else {
      b.count += 1;
      b.sum += value;
      b.min = Math.min(b.min, value);
      b.max = Math.max(b.max, value);
    }
  }
  return out;
}

test('10 000 readings: count, mean, min and max per bucket are those of a brute-force grouping at the final width', async (t) => {
  const rand = seededRandom(0x7e5);
  const events: JournalEvent[] = [];
  const readings: { at: number; value: number }[] = [];
  let at = 0;
  for (let i = 0; i < 10_000; i++) {
    // Irregular sampling, now and then out of order, with a few unusable readings.
    at += 2000 + 18_000 * rand();
    const when = rand() < 0.05 ? Math.max(0, at - 60_000 * rand()) : at;
    const value = rand() < 0.01 ? (rand() < 0.5 ? Number.NaN : Number.POSITIVE_INFINITY) : 100 * 2 ** 20 + 50 * 2 ** 20 * rand();
    events.push(res('pg1', when, { memoryBytes: value }));
    if (Number.isFinite(value)) readings.push({ at: when, value });
  }
  const out = (await resources(events))!;
  const maxAt = Math.max(...readings.map((r) => r.at));
  // The width is the smallest doubling of 1 s that fits the run in 240 buckets.
  let expectedWidth = 1000;
  while (Math.floor(maxAt / expectedWidth) >= 240) expectedWidth *= 2;
  t.is(out.bucketMs, expectedWidth);
  t.is(out.series.length, 1);
  const s = out.series[0]!;
  t.like(s, { container: 'pg1', metric: 'memoryBytes', unit: 'bytes' });
  const expected = bruteForce(readings, out.bucketMs);
  const indices = [...expected.keys()].sort((a, b) => a - b);
  t.deepEqual(s.t, indices.map((i) => round3(i * out.bucketMs)));
  t.deepEqual(s.count, indices.map((i) => expected.get(i)!.count));
  t.deepEqual(s.min, indices.map((i) => round3(expected.get(i)!.min)));
  t.deepEqual(s.max, indices.map((i) => round3(expected.get(i)!.max)));
  s.mean.forEach((m, k) => {
    const b = expected.get(indices[k]!)!;
    t.true(Math.abs(m - b.sum / b.count) <= (Math.abs(m) >= 1000 ? 0.5 : 5e-4) + 1e-12 * Math.abs(m), `mean of bucket ${indices[k]}: ${m} vs ${b.sum / b.count}`);
  });
  t.is(s.count.reduce((a, b) => a + b, 0), readings.length);
  t.is(s.peak, round3(Math.max(...readings.map((r) => r.value))));
});

test('property: any readings, any maxBuckets: exact counts, min and max; no series longer than maxBuckets', async (t) => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({ at: fc.double({ min: -10, max: 1e8, noNaN: true }), value: fc.integer({ min: -1000, max: 1_000_000 }), container: fc.constantFrom('a', 'b') }), { minLength: 1, maxLength: 300 }),
    fc.integer({ min: 1, max: 64 }),
    async (rows, maxBuckets) => {
      const out = (await resources(rows.map((r) => res(r.container, r.at, { pids: r.value })), { maxBuckets }))!;
      for (const s of out.series) {
        t.true(s.t.length <= maxBuckets);
        const mine = rows.filter((r) => r.container === s.container);
        const expected = bruteForce(mine, out.bucketMs);
        const indices = [...expected.keys()].sort((a, b) => a - b);
        t.deepEqual(s.count, indices.map((i) => expected.get(i)!.count));
        t.deepEqual(s.min, indices.map((i) => expected.get(i)!.min));
        t.deepEqual(s.max, indices.map((i) => expected.get(i)!.max));
      }
    },
  ), { numRuns: 200 });
});

test('a 24 h soak sampled every 10 s: 8 640 readings per series end in at most 240 buckets, every series on the same width', async (t) => {
  const builder = new ResourceBuilder();
  for (let at = 0; at < 24 * 3600_000; at += 10_000) {
    for (const c of ['pgha-pg1', 'app', 'runner']) {
      builder.push(res(c, at, { memoryBytes: 2 ** 27 + at, cpuPercent: 12.5, pids: 30, fds: 80, connections: 12, values: { heapUsedBytes: 2 ** 25, eventLoopDelayP99Ms: 4.2 } }));
    }
  }
  const out = builder.finish()!;
  t.is(out.series.length, 3 * 7);
  t.is(out.bucketMs, 1000 * 2 ** 9); // 512 s: 169 buckets of a day
  for (const s of out.series) {
    t.true(s.t.length <= 240);
    t.is(s.t.length, Math.ceil(24 * 3600_000 / out.bucketMs));
    t.is(s.count.reduce((a, b) => a + b, 0), 8640);
  }
});

test('metrics: the five named fields and every key of values, per container in order of first reading; non-finite readings skipped', async (t) => {
  const out = (await resources([
    { type: 'run-start', runId: 'r', workflow: 'w', startedAt: '2026-01-01T00:00:00.000Z', at: 0 },
    res('app', 0, { memoryBytes: 100, cpuPercent: 5, values: { heapUsedBytes: 10, eventLoopDelayP99Ms: 2 } }),
    res('redis1', 500, { connections: 3, values: { keys: 12, usedMemoryBytes: 2048, memoryBytes: 999 } }),
    res('app', 1500, { memoryBytes: 300, cpuPercent: Number.NaN, pids: 7, values: { heapUsedBytes: Number.POSITIVE_INFINITY } }),
    res('app', 1200, { memoryBytes: 200 }),
    { type: 'resource', container: '', at: 0, memoryBytes: 1 } as ResourceEvent,
    res('app', Number.NaN, { memoryBytes: 1 }),
  ]))!;
  t.is(out.bucketMs, 1000);
  t.deepEqual(out.series.map((s) => [s.container, s.metric, s.unit]), [
    ['app', 'memoryBytes', 'bytes'], ['app', 'cpuPercent', 'percent'], ['app', 'heapUsedBytes', 'bytes'], ['app', 'eventLoopDelayP99Ms', 'ms'], ['app', 'pids', 'count'],
    ['redis1', 'connections', 'count'], ['redis1', 'keys', 'count'], ['redis1', 'usedMemoryBytes', 'bytes'],
  ]);
  const mem = out.series[0]!;
  t.deepEqual([mem.t, mem.count, mem.mean, mem.min, mem.max], [[0, 1000], [1, 2], [100, 250], [100, 200], [100, 300]]);
  // first and last by time, not by arrival.
  t.like(mem, { first: 100, last: 300, peak: 300 });
  t.deepEqual(out.series[1]!.count, [1]);
  t.deepEqual(out.series[2]!.count, [1]);
  t.is(await resources([{ type: 'phase', name: 'steady', at: 0 }]), null);
});

test('units from the metric name, and readings in human units', (t) => {
  t.is(resourceUnit('memoryBytes'), 'bytes');
  t.is(resourceUnit('dbSizeBytes'), 'bytes');
  t.is(resourceUnit('cpuPercent'), 'percent');
  t.is(resourceUnit('eventLoopDelayP99Ms'), 'ms');
  t.is(resourceUnit('keys'), 'count');
  t.is(resourceUnit('fds'), 'count');
  t.is(resourceUnit('bytesIn'), 'count');
  t.is(formatResource(168 * 2 ** 20, 'bytes'), '168.0 MiB');
  t.is(formatResource(12.345, 'percent'), '12.3 %');
  t.is(formatResource(4.2, 'ms'), '4.20 ms');
  t.is(formatResource(12_345, 'count'), '12,345');
  t.is(formatResource(12.5, 'count'), '12.50');
});

test('bad options are rejected', (t) => {
  t.true(isInvalidArgumentError(t.throws(() => new ResourceBuilder({ bucketMs: 0 }))));
  t.true(isInvalidArgumentError(t.throws(() => new ResourceBuilder({ maxBuckets: 0 }))));
});

const FAULT_AT = 10_000;
const HEAL_AT = 25_000;
const END_AT = 40_000;

function runEvents(options: { resources?: boolean } = {}): JournalEvent[] {
  const readings: JournalEvent[] = [];
  if (options.resources !== false) {
    for (let at = 0; at < END_AT; at += 1000) {
      readings.push(res('pgha-pg1', at, { memoryBytes: (120 + at / 1000) * 2 ** 20, cpuPercent: at >= FAULT_AT && at < HEAL_AT ? 0 : 20 }));
      // Two readings a second: the charts' buckets have a min–max range.
      for (const half of [0, 500]) {
        readings.push(res('app', at + half, { memoryBytes: 64 * 2 ** 20, values: { heapUsedBytes: (30 + ((at + half) % 7)) * 2 ** 20, eventLoopDelayP99Ms: 3 } }));
      }
    }
  }
  return [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'fault-injected', id: 'f1', kind: 'pause', targets: ['pgha-pg1'], params: {}, at: FAULT_AT, scope: 'postgres', iteration: 1 },
    { type: 'fault-healed', id: 'f1', at: HEAL_AT },
    ...samples({ probe: 'sql-write', op: 'INSERT', to: END_AT, intervalMs: 100, fails: (t) => t >= FAULT_AT && t < HEAL_AT }),
    ...readings,
    { type: 'run-end', status: 'completed', at: END_AT },
  ];
}

test('report.json: resources per container and metric, on one bucket width', async (t) => {
  const report = await reportOf(t, runEvents());
  t.true(reportSchema.safeParse(report).success);
  const r = report.resources!;
  t.is(r.bucketMs, 1000);
  t.deepEqual(r.series.map((s) => `${s.container}/${s.metric}`), ['pgha-pg1/memoryBytes', 'pgha-pg1/cpuPercent', 'app/memoryBytes', 'app/heapUsedBytes', 'app/eventLoopDelayP99Ms']);
  t.like(r.series[0], { unit: 'bytes', first: 120 * 2 ** 20, last: 159 * 2 ** 20, peak: 159 * 2 ** 20 });
  t.is(r.series[0]!.t.length, 40);
});

test('report.html: a Resources section after the timeline, a card per container, one SVG per series with its fault band', async (t) => {
  const report = await reportOf(t, runEvents());
  const html = await renderHtml(report);
  const start = html.indexOf('<section id="resources"><h2>Resources</h2>');
  t.true(start > html.indexOf('<h2>Timeline</h2>'));
  const section = html.slice(start, html.indexOf('</section>', start));
  t.is([...section.matchAll(/<svg class="rs-svg" [^>]*role="img" aria-label="[^"]+"/g)].length, report.resources!.series.length);
  t.regex(section, /<div class="card resources" id="resources-pgha-pg1"><div class="chart-head"><h3><code>pgha-pg1<\/code><\/h3><div class="stats">2 metrics · 1\.00 s buckets<\/div>/);
  t.regex(section, /<div class="card resources" id="resources-app">/);
  t.regex(section, /<figcaption><code>memoryBytes<\/code> 120\.0 MiB → 159\.0 MiB, peak 159\.0 MiB<\/figcaption>/);
  t.regex(section, /aria-label="pgha-pg1 memoryBytes 120\.0 MiB → 159\.0 MiB, peak 159\.0 MiB; mean per 1\.00 s with min–max band, 1 fault shaded"/);
  // The fault hit pgha-pg1: darker there, the ordinary band on app's charts. 40 s on 316 units: 10 s → x 81, 15 s wide.
  t.regex(section, /<path class="rs-band rs-band-own" d="M81 12h118\.5v80h-118\.5z"><title>1 fault on pgha-pg1, injection to heal<\/title><\/path>/);
  t.regex(section.slice(section.indexOf('id="resources-app"')), /<path class="rs-band" d="M81 12h118\.5v80h-118\.5z">/);
  t.regex(section, /<path class="rs-mean" d="M[\d.]+,[\d.]+L/);
  t.regex(section, /<path class="rs-range" d="M/);
  // Coordinates keep one decimal at most.
  for (const m of section.matchAll(/ (?:d|x|y|width|height)="([^"]*)"/g)) t.notRegex(m[1]!, /\d\.\d\d/, m[1]);
  t.regex(renderMarkdown(report), /### Resources\n\n\| container \| metric \| first \| last \| peak \|\n\| --- \| --- \| ---: \| ---: \| ---: \|\n\| `pgha-pg1` \| memoryBytes \| 120\.0 MiB \| 159\.0 MiB \| 159\.0 MiB \|\n\| `pgha-pg1` \| cpuPercent \| 20\.0 % \| 20\.0 % \| 20\.0 % \|/);
});

test('container names and metrics are escaped', async (t) => {
  const report = await reportOf(t, [res('<b>x</b>', 0, { values: { '"><script>': 1 } }), { type: 'run-end', status: 'completed', at: 1000 }]);
  const html = await renderHtml(report);
  const section = html.slice(html.indexOf('<section id="resources">'), html.indexOf('</section>', html.indexOf('<section id="resources">')));
  t.false(section.includes('<b>x</b>'));
  t.false(section.includes('"><script>'));
  t.true(section.includes('&lt;b&gt;x&lt;/b&gt;'));
});

test('without resource events: no resources in report.json, no Resources section', async (t) => {
  const report = await reportOf(t, runEvents({ resources: false }));
  t.false('resources' in report);
  const html = await renderHtml(report);
  t.false(html.includes('<h2>Resources</h2>'));
  t.false(html.includes('class="rs-svg"'));
  t.false(renderMarkdown(report).includes('### Resources'));
});
