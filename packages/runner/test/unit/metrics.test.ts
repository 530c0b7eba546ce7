import test from 'ava';
import { RunAnalyser, type JournalEvent, type RunSummary } from '@resilience/fixtures';
import { MetricRegistry, metricLookup, type Measurement } from '../../src/metrics.ts';
import { faultMeasurements, mergeHypotheses } from '../../src/workflow.ts';
import { parseHypothesis, evaluate } from '../../src/hypotheses.ts';

const registry = new MetricRegistry([{ name: 'election', unit: 'ms', description: '' }]);

/** Samples of one probe every 10 ms over [from, to), failing in the given spans. */
function samples(probe: string, from: number, to: number, failing: readonly [number, number][]): JournalEvent[] {
  const out: JournalEvent[] = [];
  for (let t = from; t < to; t += 10) {
    const ok = !failing.some(([a, b]) => t >= a && t < b);
    out.push({ type: 'sample', probe, op: 'op', intended: t, completed: t + 2, ok });
  }
  return out;
}

/** Two faults: postgres at 1 s (sql-write fails 1.0-4.0 s), redis at 6 s (redis-write fails 6.0-9.48 s). */
function twoFaults(extra: JournalEvent[] = []): RunSummary {
  const a = new RunAnalyser();
  const events: JournalEvent[] = [
    { type: 'run-start', runId: 'r', workflow: 'w', startedAt: '2026-01-01T00:00:00.000Z', at: 0 },
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'probe', name: 'sql-write', op: 'op', scopes: ['postgres'], intervalMs: 10, writes: true, at: 0 },
    { type: 'probe', name: 'redis-write', op: 'op', scopes: ['redis'], intervalMs: 10, writes: true, at: 0 },
    { type: 'fault-injected', id: 'f1', kind: 'kill', targets: ['pg1'], params: {}, at: 1000, scope: 'postgres', iteration: 1 },
    { type: 'fault-injected', id: 'f2', kind: 'kill', targets: ['redis1'], params: {}, at: 6000, scope: 'redis', iteration: 1 },
    ...extra,
  ];
  const all = [...events, ...samples('sql-write', 0, 12_000, [[1000, 4000]]), ...samples('redis-write', 0, 12_000, [[6000, 9480]])];
  all.sort((x, y) => ((x as { at?: number; intended?: number }).at ?? (x as { intended: number }).intended) - ((y as { at?: number; intended?: number }).at ?? (y as { intended: number }).intended));
  for (const e of all) a.push(e);
  return a.finish();
}

test('each probe is judged only on the faults of its scope, and its RTO is the worst of them', (t) => {
  const s = twoFaults();
  t.deepEqual(s.probes['sql-write']!.recoveries.map((f) => f.faultId), ['f1']);
  t.deepEqual(s.probes['redis-write']!.recoveries.map((f) => f.faultId), ['f2']);
  t.is(Math.round(s.probes['redis-write']!.rtoMs!), 3482);
  t.is(Math.round(s.probes['sql-write']!.rtoMs!), 3002);
  const lookup = metricLookup({ summary: s, measurements: [], registry });
  t.is(Math.round(lookup('rto', [])!), 3482);
  t.is(Math.round(lookup('rto', ['postgres'])!), 3002);
  t.is(Math.round(lookup('rto', ['redis-write'])!), 3482);
});

test('a probe that never recovers makes rto unmeasured, and the hypothesis fails', (t) => {
  const a = new RunAnalyser();
  a.push({ type: 'probe', name: 'p', op: 'op', scopes: ['x'], intervalMs: 10, writes: false, at: 0 });
  a.push({ type: 'fault-injected', id: 'f1', kind: 'pause', targets: ['n'], params: {}, at: 100, scope: 'x' });
  for (const e of samples('p', 0, 3000, [[100, 3000]])) a.push(e);
  const s = a.finish();
  t.is(s.probes['p']!.worst.status, 'not-recovered');
  const [o] = evaluate([parseHypothesis('rto <= 30s')], metricLookup({ summary: s, measurements: [], registry }));
  t.is(o!.observed, null);
  t.false(o!.ok);
  const m = faultMeasurements(s);
  t.is(m.find((x) => x.name === 'faultRto')!.value, null);
  t.is(m.find((x) => x.name === 'rtoP95')!.value, null);
});

test('faultRto per fault and its distribution over iterations per scope', (t) => {
  const a = new RunAnalyser();
  a.push({ type: 'probe', name: 'p', op: 'op', scopes: ['pg'], intervalMs: 10, writes: false, at: 0 });
  const outages: [number, number][] = [[1000, 2000], [5000, 8000], [10_000, 10_500]];
  outages.forEach(([from], i) => a.push({ type: 'fault-injected', id: `f${i + 1}`, kind: 'kill', targets: ['n'], params: {}, at: from, scope: 'pg', iteration: i + 1 }));
  // Faults arrive before samples here; the analyser keeps samples in order of intended time.
  for (const e of samples('p', 0, 14_000, outages)) a.push(e);
  const m = faultMeasurements(a.finish());
  t.deepEqual(m.filter((x) => x.name === 'faultRto').map((x) => Math.round(x.value!)), [1002, 3002, 502]);
  t.is(Math.round(m.find((x) => x.name === 'rtoP50')!.value!), 1002);
  t.is(Math.round(m.find((x) => x.name === 'rtoMax')!.value!), 3002);
});

test('measurements: counts add up over scopes, durations take the worst; a system scope selects its probes', (t) => {
  const s = twoFaults();
  const measurements: Measurement[] = [
    { name: 'lostWrites', scope: 'sql-write', value: 3, unit: 'count', description: '' },
    { name: 'lostWrites', scope: 'redis-write', value: 5, unit: 'count', description: '' },
    { name: 'election', scope: 'postgres', iteration: 1, value: 8500, unit: 'ms', description: '' },
    { name: 'election', scope: 'postgres', iteration: 2, value: 9100, unit: 'ms', description: '' },
  ];
  const lookup = metricLookup({ summary: s, measurements, registry });
  t.is(lookup('lostWrites', []), 8);
  t.is(lookup('lostWrites', ['redis-write']), 5);
  t.is(lookup('lostWrites', ['postgres']), 3);
  t.is(lookup('election', ['postgres']), 9100);
  t.is(lookup('election', ['etcd']), null);
});

test('a measurement that could not be measured fails its hypothesis', (t) => {
  const s = twoFaults();
  const lookup = metricLookup({ summary: s, measurements: [{ name: 'election', scope: 'postgres', value: null, unit: 'ms', description: '' }], registry });
  const [o] = evaluate([parseHypothesis('election <= 30s', undefined, registry)], lookup);
  t.false(o!.ok);
});

test('variants: each variant sees only its probes and measurements', (t) => {
  const a = new RunAnalyser();
  for (const v of ['naive', 'hardened']) a.push({ type: 'probe', name: `p@${v}`, op: 'op', scopes: ['x'], intervalMs: 10, writes: false, variant: v, at: 0 });
  a.push({ type: 'fault-injected', id: 'f1', kind: 'kill', targets: ['n'], params: {}, at: 1000, scope: 'x', variant: 'naive' });
  a.push({ type: 'fault-injected', id: 'f2', kind: 'kill', targets: ['n'], params: {}, at: 1000, scope: 'x', variant: 'hardened' });
  for (const e of [...samples('p@naive', 0, 6000, [[1000, 4000]]), ...samples('p@hardened', 0, 6000, [[1000, 1500]])].sort((x, y) => (x as { intended: number }).intended - (y as { intended: number }).intended)) a.push(e);
  const s = a.finish();
  t.deepEqual(s.probes['p@naive']!.recoveries.map((f) => f.faultId), ['f1']);
  const naive = metricLookup({ summary: s, measurements: [], registry, variant: 'naive' });
  const hardened = metricLookup({ summary: s, measurements: [], registry, variant: 'hardened' });
  t.is(Math.round(naive('rto', ['p'])!), 3002);
  t.is(Math.round(hardened('rto', ['p'])!), 502);
});

test('findings(critical) counts findings by severity', (t) => {
  const s = twoFaults([{ type: 'finding', id: 'x', kind: 'lost-writes', severity: 'critical', title: 't', detail: 'd', at: 5000, evidence: [] }]);
  const lookup = metricLookup({ summary: s, measurements: [], registry });
  t.is(lookup('findings', ['critical']), 1);
  t.is(lookup('findings', ['warning']), 0);
});

test('a user hypothesis replaces the default on the same metric and arguments; without arguments, every default of the metric', (t) => {
  const defaults = ['lostWrites(sql-write) == 0', 'lostWrites(redis-write) == 0', 'rto <= 30s'].map((x) => parseHypothesis(x));
  t.deepEqual(mergeHypotheses(defaults, [parseHypothesis('lostWrites(redis-write) <= 100')]).map((h) => h.text), ['lostWrites(sql-write) == 0', 'rto <= 30s', 'lostWrites(redis-write) <= 100']);
  t.deepEqual(mergeHypotheses(defaults, [parseHypothesis('lostWrites <= 5')]).map((h) => h.text), ['rto <= 30s', 'lostWrites <= 5']);
  // The same default twice (a workflow's and several probes' lossHypothesis) is judged once.
  t.deepEqual(mergeHypotheses([...defaults, parseHypothesis('rto <= 30s'), parseHypothesis('rto <= 30s')], []).map((h) => h.text), ['lostWrites(sql-write) == 0', 'lostWrites(redis-write) == 0', 'rto <= 30s']);
});

test('shed counts the operations refused on purpose, per phase and probe; they stay failures in availability', (t) => {
  const a = new RunAnalyser();
  a.push({ type: 'phase', name: 'steady', at: 0 });
  a.push({ type: 'probe', name: 'http-read', op: 'GET /', scopes: ['app'], intervalMs: 10, writes: false, at: 0 });
  a.push({ type: 'probe', name: 'sql-read', op: 'op', scopes: ['postgres'], intervalMs: 10, writes: false, at: 0 });
  // http-read: 400 operations in steady (0..4 s), every 4th answered 429 (100 shed); 100 in
  // `fault` (4..5 s) with every 10th a 500 (failed, not shed). sql-read: 500 ok.
  a.push({ type: 'phase', name: 'fault', at: 4000 });
  for (let i = 0; i < 500; i++) {
    const intended = i * 10;
    const refused = intended < 4000 && i % 4 === 3;
    const broken = intended >= 4000 && i % 10 === 9;
    a.push({ type: 'sample', probe: 'http-read', op: 'GET /', intended, completed: intended + 2, ok: !refused && !broken, ...(refused ? { error: 'HTTP 429 (Retry-After 1 s)', shed: true as const } : broken ? { error: 'HTTP 500' } : {}) });
    a.push({ type: 'sample', probe: 'sql-read', op: 'op', intended, completed: intended + 2, ok: true });
  }
  const s = a.finish();
  const lookup = metricLookup({ summary: s, measurements: [], registry });
  t.is(lookup('shed', []), 100);
  t.is(lookup('shed', ['steady']), 100);
  t.is(lookup('shed', ['fault']), 0, 'a 500 is a failure, not shed');
  t.is(lookup('shed', ['steady', 'postgres']), 0);
  t.is(lookup('shed', ['nowhere']), null, 'selects no probe: not measured');
  t.is(lookup('availability', ['steady', 'http-read']), 0.75, 'shed operations are not served');
  t.is(registry.get('shed')?.unit, 'count');
  const [held, failed] = evaluate([parseHypothesis('shed(steady) <= 100', undefined, registry), parseHypothesis('shed(steady, app) == 0', undefined, registry)], lookup);
  t.true(held!.ok);
  t.is(failed!.observed, 100);
  t.false(failed!.ok);
});
