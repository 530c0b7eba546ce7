// The soak's analysis on a synthetic journal whose truth is known: a heap that grows 5 %/h is a
// leak and a flat one is not; a data store's growing memory is shown, not judged; steady p99 that
// rises slice after slice is a degradation; RTO per fault is each fault's own outage, a fault
// that never recovered reads "not recovered"; a failure in steady state long after a fault is not
// that fault's RTO.
import test from 'ava';
import type { JournalEvent } from '@resilience/fixtures';
import { seededRandom } from '@resilience/fixtures/faulty';
import { analyseSoak, heapSplit, sliceMs } from '../../src/analysis.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DURATION = 2 * HOUR;
const SETTLE = 10 * MIN;

interface Outage { readonly from: number; readonly to: number }

/**
 * A soak of DURATION: one probe (`sql-write`, on postgres) every second, resources every 30 s,
 * and faults at `faults` (each fails the probe over its outage, is healed 5 s after its start
 * and followed by a steady phase once the outage is over).
 */
function journal(o: {
  readonly faults: readonly (Outage & { readonly id: string })[];
  readonly steadyOutages?: readonly Outage[];
  readonly latencyMs: (t: number) => number;
  readonly heapGrowthPerHour: number;
}): JournalEvent[] {
  const random = seededRandom(7);
  const events: { at: number; order: number; e: JournalEvent }[] = [];
  let order = 0;
  const push = (at: number, e: JournalEvent) => events.push({ at, order: order++, e });
  push(0, { type: 'run-start', runId: 'r', workflow: 'soak', startedAt: '2026-12-02T00:00:00.000Z', at: 0 });
  push(0, { type: 'probe', name: 'sql-write', op: 'insert', scopes: ['postgres'], intervalMs: 1000, writes: true, at: 0 });
  push(0, { type: 'phase', name: 'steady', at: 0 });
  for (const f of o.faults) {
    push(f.from, { type: 'phase', name: 'fault', at: f.from });
    push(f.from, { type: 'fault-injected', id: f.id, kind: 'kill', targets: ['pg1'], params: {}, at: f.from, scope: 'postgres' });
    push(f.from + 5000, { type: 'fault-healed', id: f.id, at: f.from + 5000 });
    push(f.from + 5000, { type: 'phase', name: 'recovery', at: f.from + 5000 });
    if (f.to < DURATION) push(Math.max(f.to, f.from + 5000) + 1000, { type: 'phase', name: 'steady', at: Math.max(f.to, f.from + 5000) + 1000 });
  }
  const failing = (t: number) => [...o.faults, ...(o.steadyOutages ?? [])].some((x) => t >= x.from && t < x.to);
  for (let t = 0; t < DURATION; t += 1000) {
    const ok = !failing(t);
    push(t, { type: 'sample', probe: 'sql-write', op: 'insert', intended: t, completed: t + (ok ? o.latencyMs(t) : 1), ok });
  }
  for (let t = 0; t < DURATION; t += 30_000) {
    const noise = () => 1 + (random() - 0.5) * 0.004;
    push(t, { type: 'resource', container: 'runner', at: t, memoryBytes: 200e6 * noise(), values: { heapUsedBytes: 80e6 * (1 + (o.heapGrowthPerHour / 100) * (t / HOUR)) * noise(), externalBytes: 4e6 * noise(), arrayBuffersBytes: 6e6 * (1 + 0.33 * (t / HOUR)) * noise(), eventLoopDelayP99Ms: 20 * noise() } });
    push(t, { type: 'resource', container: 'app', at: t, memoryBytes: 60e6 * noise(), pids: 11 });
    push(t, { type: 'resource', container: 'pg1', at: t, memoryBytes: 100e6 * (1 + 0.2 * (t / HOUR)) * noise() });
  }
  events.sort((a, b) => a.at - b.at || a.order - b.order);
  return events.map((x) => x.e);
}

const input = { durationMs: DURATION, settleMs: SETTLE, origin: 0, leakThreshold: 1, stores: new Set(['pg1']) };
const faults = [
  { id: 'f1', from: 30 * MIN, to: 30 * MIN + 10_000 },
  { id: 'f2', from: 50 * MIN, to: 50 * MIN + 20_000 },
  { id: 'f3', from: 70 * MIN, to: 70 * MIN + 30_000 },
  // Never recovers: fails to the end of the run.
  { id: 'f4', from: 110 * MIN, to: DURATION },
];

test('a heap growing 5 %/h is the one leak; a flat heap and a data store are not; RTO per fault; the last fault did not recover', async (t) => {
  const r = await analyseSoak(journal({ faults, latencyMs: () => 5, heapGrowthPerHour: 5 }), input);
  const verdict = (container: string, metric: string) => r.verdicts.find((v) => v.container === container && v.metric === metric);
  t.like(verdict('runner', 'heapUsedBytes'), { judged: true, result: { verdict: 'leak' } });
  const growth = verdict('runner', 'heapUsedBytes')!.result.growthPctPerHour!;
  // 5 %/h of the value at t = 0: relative to the baseline after settling, a little less.
  t.true(growth > 4 && growth < 5.2, `growth ${growth}`);
  t.like(verdict('runner', 'memoryBytes'), { judged: true, result: { verdict: 'stable' } });
  t.like(verdict('runner', 'externalBytes'), { judged: false, why: 'counts buffers not yet collected (not judged; the RSS that holds them is)' }, 'external memory includes garbage until a full collection: shown, not judged');
  t.like(verdict('runner', 'eventLoopDelayP99Ms'), { judged: false }, 'a delay: shown, not judged');
  t.like(verdict('app', 'memoryBytes'), { judged: true, result: { verdict: 'stable' } });
  t.like(verdict('pg1', 'memoryBytes'), { judged: false, result: { verdict: 'leak' } });
  t.like(r.measurements.find((m) => m.name === 'leaks'), { value: 1 });
  t.deepEqual(r.findings.filter((f) => f.kind === 'leak').map((f) => f.nodes), [['runner']]);

  t.deepEqual(r.faults.map((f) => f.id), ['f1', 'f2', 'f3', 'f4']);
  const rto = r.faults.map((f) => f.rtoMs);
  // Recovery counts from the fault to the first success of a sustained run (samples every second).
  for (const [i, outage] of [10_000, 20_000, 30_000].entries()) t.true(Math.abs(rto[i]! - outage) <= 1000, `f${i + 1}: ${rto[i]}`);
  t.is(rto[3], null);
  t.regex(r.evidence.tables.find((x) => x.title === 'Faults in order')!.rows[3]!.at(-1)!, /not recovered/);
  // Flat latency: no degradation of p99; three RTOs in order are too few to be significant.
  t.like(r.measurements.find((m) => m.name === 'degradations'), { value: 0 });
});

test('no leak when nothing grows: every judged series is flat', async (t) => {
  const r = await analyseSoak(journal({ faults, latencyMs: () => 5, heapGrowthPerHour: 0 }), input);
  t.deepEqual(r.verdicts.filter((v) => v.judged && v.result.verdict === 'leak').map((v) => `${v.container} ${v.metric}`), []);
  t.like(r.measurements.find((m) => m.name === 'leaks'), { value: 0 });
  // The runner's array buffers rise 33 %/h here, as their uncollected garbage did in a real soak:
  // shown with their trend, never a leak verdict.
  t.like(r.verdicts.find((v) => v.container === 'runner' && v.metric === 'arrayBuffersBytes'), { judged: false, result: { verdict: 'leak' } });
});

test('steady p99 that rises slice after slice is a degradation; the slices read the latency they were given', async (t) => {
  const width = sliceMs(DURATION);
  const r = await analyseSoak(journal({ faults, latencyMs: (ms) => 5 + 5 * Math.floor(ms / width), heapGrowthPerHour: 0 }), input);
  t.is(r.slices.length, 6);
  t.deepEqual(r.slices.map((s) => Math.round(s.p99!)), [5, 10, 15, 20, 25, 30]);
  t.like(r.measurements.find((m) => m.name === 'degradations'), { value: 1 });
  t.regex(r.findings.find((f) => f.kind === 'degradation')!.title, /p99 latency rises over the run: 5\.0 ms in the first slice, 30\.0 ms in the last/);
});

test('a failure in steady state 20 minutes after a fault the probe never felt is not that fault\'s RTO', async (t) => {
  const quiet = [{ id: 'q', from: 20 * MIN, to: 20 * MIN }, faults[1]!];
  const r = await analyseSoak(journal({ faults: quiet, steadyOutages: [{ from: 40 * MIN, to: 40 * MIN + 60_000 }], latencyMs: () => 5, heapGrowthPerHour: 0 }), input);
  t.like(r.faults[0], { id: 'q', rtoMs: 0 });
  t.true(Math.abs(r.faults[1]!.rtoMs! - 20_000) <= 1000, String(r.faults[1]!.rtoMs));
  // The minute of failures at 40 min counts against its slice's availability instead.
  const slice = r.slices.find((s) => s.from <= 40 * MIN && s.to > 40 * MIN)!;
  t.true(slice.availability! < 1 - 50 / slice.attempts, `availability ${slice.availability}`);
});

/** A Node process's series every 30 s over an hour: each reading a function of the minute. */
function nodeSeries(read: Record<string, (minute: number) => number>): Map<string, { t: number; value: number }[]> {
  return new Map(Object.entries(read).map(([metric, f]) => [metric, Array.from({ length: 120 }, (_, i) => ({ t: i * 30_000, value: f(i / 2) }))]));
}
const MiB = 1024 * 1024;

test('a Node process\'s memory leak finding says where the growth sits: V8\'s reserved heap, objects alive, or outside the heap', (t) => {
  // The reference app in a real hour: RSS stepped 133 → 160 → 212 MiB as V8 grew its young
  // generation (heap total 57 → 89 → 153 MiB) while heap used stayed near 45 MiB.
  const step = (a: number, b: number, c: number) => (m: number) => (m < 12 ? a : m < 27 ? b : c) * MiB;
  const reserved = nodeSeries({ rssBytes: step(133, 160, 212), heapTotalBytes: step(57, 89, 153), heapUsedBytes: (m) => (45 + (m % 3)) * MiB });
  const said = heapSplit(reserved, 'rssBytes', 0, HOUR);
  t.regex(said, /rssBytes went 133\.0 MiB → 212\.0 MiB, V8's heap total 57\.0 MiB → 153\.0 MiB and heap used 4\d\.\d MiB → 4\d\.\d MiB: most of it is heap V8 reserved, not objects alive/);
  // Objects kept alive: heap used climbs with the RSS.
  const alive = nodeSeries({ memoryBytes: (m) => (100 + m) * MiB, heapTotalBytes: (m) => (60 + m) * MiB, heapUsedBytes: (m) => (40 + 0.9 * m) * MiB });
  t.regex(heapSplit(alive, 'memoryBytes', 0, HOUR), /heap used grew with it: objects kept alive/);
  // Native memory: the RSS grows, the heap does not.
  const native = nodeSeries({ rssBytes: (m) => (100 + m) * MiB, heapTotalBytes: () => 60 * MiB, heapUsedBytes: () => 40 * MiB });
  t.regex(heapSplit(native, 'rssBytes', 0, HOUR), /accounts for little of it: the growth is outside the heap/);
  // Only the window judged counts: before minute 27 the reserved heap has not stepped yet.
  t.regex(heapSplit(reserved, 'rssBytes', 0, 20 * MIN), /rssBytes went 133\.0 MiB → 160\.0 MiB/);
  // Nothing said where there is no heap to split (a container that is not Node), or for heap used itself.
  t.is(heapSplit(new Map([['memoryBytes', reserved.get('rssBytes')!]]), 'memoryBytes', 0, HOUR), '');
  t.is(heapSplit(reserved, 'heapUsedBytes', 0, HOUR), '');
  t.is(heapSplit(undefined, 'rssBytes', 0, HOUR), '');
});

test('the leak finding on a Node process\'s RSS carries the split and its heap series as evidence', async (t) => {
  // On the journal with four faults, the last never recovered: the split is the same whatever the faults did.
  const base = journal({ faults, latencyMs: () => 5, heapGrowthPerHour: 0 });
  // A service whose RSS and heap total rise 10 MiB an hour while heap used stays put.
  const svc: JournalEvent[] = Array.from({ length: DURATION / 30_000 }, (_, i) => {
    const hours = (i * 30_000) / HOUR;
    return { type: 'resource', container: 'svc', at: i * 30_000, values: { rssBytes: (150 + 10 * hours + (i % 2)) * MiB, heapTotalBytes: (60 + 10 * hours) * MiB, heapUsedBytes: (30 + (i % 3)) * MiB } };
  });
  const when = (e: JournalEvent) => (e as { at?: number }).at ?? (e as { intended?: number }).intended ?? 0;
  const r = await analyseSoak([...base, ...svc].sort((a, b) => when(a) - when(b)), input);
  const finding = r.findings.find((f) => f.kind === 'leak' && f.nodes?.[0] === 'svc' && f.title.startsWith('rssBytes'))!;
  t.truthy(finding, r.findings.map((f) => f.title).join('; '));
  t.regex(finding.detail!, /most of it is heap V8 reserved, not objects alive/);
  t.deepEqual(finding.evidence.map((e) => e.label), ['svc rssBytes', 'svc heapTotalBytes', 'svc heapUsedBytes']);
  // heap total is judged too (a leak here), and its finding does not list it twice.
  const total = r.findings.find((f) => f.kind === 'leak' && f.nodes?.[0] === 'svc' && f.title.startsWith('heapTotalBytes'))!;
  t.deepEqual(total.evidence.map((e) => e.label), ['svc heapTotalBytes', 'svc heapUsedBytes']);
  // The split says where, the verdict stands: both are counted leaks, heap used (flat) is not.
  t.deepEqual(r.verdicts.filter((v) => v.container === 'svc' && v.result.verdict === 'leak').map((v) => v.metric).sort(), ['heapTotalBytes', 'rssBytes']);
  t.like(r.measurements.find((m) => m.name === 'leaks'), { value: 2 });
  t.is(r.faults.at(-1)!.rtoMs, null);
});
