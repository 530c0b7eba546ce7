// The soak's options and its seeded schedule: bad input is named, the same seed gives the same
// schedule, a different seed another; faults keep their spacing and leave room to recover.
import test from 'ava';
import { SoakOptions, parseRate, parseTiming, settleMs } from '../../src/options.ts';
import { RECOVERY_ROOM_MS, describeFaults, planFaults } from '../../src/plan.ts';
import { sliceMs } from '../../src/analysis.ts';
import { infoNumbers, promNumbers } from '../../src/readings.ts';

const opts = (o: Record<string, unknown>) => SoakOptions.parse(o);

test('timings: every, poisson, none; anything else is undefined', (t) => {
  t.like(parseTiming('every:20m'), { type: 'every', periodMs: 1_200_000 });
  t.like(parseTiming('poisson:3/h'), { type: 'poisson', perHour: 3 });
  t.like(parseTiming('poisson:1/m'), { type: 'poisson', perHour: 60 });
  t.like(parseTiming('none'), { type: 'none' });
  for (const bad of ['every:', 'every:0s', 'poisson:0/h', 'poisson:3', 'weekly:3', '']) t.is(parseTiming(bad), undefined, bad);
  t.is(parseRate('50/s'), 50);
  t.is(parseRate('0/s'), undefined);
  t.is(parseRate('fast'), undefined);
});

test('bad options are refused with the value named', (t) => {
  for (const [o, path] of [
    [{ duration: '0' }, 'duration'], [{ duration: '8d' }, 'duration'], [{ duration: '30s' }, 'duration'],
    [{ kinds: 'kill,nuke' }, 'kinds'], [{ faults: 'every:10s', hold: '20s' }, 'faults'], [{ faults: 'every:25h' }, 'faults'],
    [{ rate: '0' }, 'rate'], [{ seed: '-1' }, 'seed'], [{ sampleEvery: '100ms' }, 'sampleEvery'], [{ settle: '25h' }, 'settle'],
  ] as const) {
    const r = SoakOptions.safeParse(o);
    t.false(r.success, JSON.stringify(o));
    t.deepEqual(r.error?.issues[0]?.path, [path], JSON.stringify(o));
  }
  t.throws(() => opts({ unknown: 1 }));
});

test('the same seed gives the same schedule; another seed another', (t) => {
  const a = planFaults(opts({ duration: '24h', seed: 42 }));
  const b = planFaults(opts({ duration: '24h', seed: 42 }));
  const c = planFaults(opts({ duration: '24h', seed: 43 }));
  t.deepEqual(a, b);
  t.notDeepEqual(a.map((f) => `${f.kind}/${f.target}`), c.map((f) => `${f.kind}/${f.target}`));
  t.deepEqual(describeFaults(a), describeFaults(b));
});

test('every:20m over 24 h: faults from the settling period on, 20 min apart, each with room to recover', (t) => {
  const o = opts({ duration: '24h', seed: 1 });
  const plan = planFaults(o);
  t.is(settleMs(o), 30 * 60_000);
  t.is(plan[0]!.at, 30 * 60_000);
  for (const [i, f] of plan.entries()) {
    t.is(f.index, i + 1);
    if (i > 0) t.is(f.at - plan[i - 1]!.at, 20 * 60_000);
    t.true(f.at + o.hold + RECOVERY_ROOM_MS <= o.duration);
  }
  t.is(plan.length, Math.floor((o.duration - o.hold - RECOVERY_ROOM_MS - settleMs(o)) / 1_200_000) + 1);
  // Every kind and both systems are drawn over a day.
  t.deepEqual(new Set(plan.map((f) => f.kind)).size, 7);
  t.true(plan.some((f) => f.scope === 'postgres') && plan.some((f) => f.scope === 'redis'));
  t.true(plan.every((f) => (f.kind === 'latency') === (f.target === 'clients')));
});

test('poisson:3/h: about 3 per hour, never closer than hold + 5 s', (t) => {
  const o = opts({ duration: '168h', faults: 'poisson:3/h', seed: 9 });
  const plan = planFaults(o);
  const hours = (o.duration - settleMs(o)) / 3_600_000;
  t.true(Math.abs(plan.length / hours - 3) < 0.4, `${(plan.length / hours).toFixed(2)} per hour`);
  for (let i = 1; i < plan.length; i++) t.true(plan[i]!.at - plan[i - 1]!.at >= o.hold + 5_000);
});

test('none: no faults; only listed kinds are drawn', (t) => {
  t.deepEqual(planFaults(opts({ duration: '1h', faults: 'none' })), []);
  const plan = planFaults(opts({ duration: '24h', kinds: 'kill,cpu', seed: 3 }));
  t.true(plan.every((f) => f.kind === 'kill' || f.kind === 'cpu'));
});

test('slices: an hour for long runs, a sixth of a short one', (t) => {
  t.is(sliceMs(24 * 3_600_000), 3_600_000);
  t.is(sliceMs(180_000), 30_000);
});

test('Redis INFO numbers, keys summed over databases', (t) => {
  const n = infoNumbers('# Clients\r\nconnected_clients:7\r\nused_memory:1048576\r\nmem_fragmentation_ratio:1.5\r\nredis_version:7.0.15\r\n# Keyspace\r\ndb0:keys=10,expires=0,avg_ttl=0\r\ndb1:keys=5,expires=0\r\n');
  t.is(n['connected_clients'], 7);
  t.is(n['used_memory'], 1_048_576);
  t.is(n['keys'], 15);
  t.false('redis_version' in n);
});

test('Prometheus numbers of the named metrics, labelled series summed, others and comments ignored', (t) => {
  const text = [
    '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
    '# TYPE nodejs_heap_size_used_bytes gauge',
    'nodejs_heap_size_used_bytes{app="sample-app",mode="hardened"} 12345678',
    'nodejs_heap_space_size_used_bytes{space="old"} 999',
    'process_resident_memory_bytes 8.5e7 1733000000000',
    'nodejs_external_memory_bytes{app="a"} 10',
    'nodejs_external_memory_bytes{app="b"} 5',
    'nodejs_heap_size_total_bytes NaN',
  ].join('\n');
  const n = promNumbers(text, { nodejs_heap_size_used_bytes: 'heap', process_resident_memory_bytes: 'rss', nodejs_external_memory_bytes: 'ext', nodejs_heap_size_total_bytes: 'total' });
  t.deepEqual(n, { heap: 12_345_678, rss: 85_000_000, ext: 15 });
});

test('hypotheses: a soak without faults judges no recovery; with faults it does; leaks only on runs long enough', async (t) => {
  const { soak } = await import('../../src/soak.ts');
  const texts = (o: Record<string, unknown>) => soak.hypotheses(opts(o)).map((h) => (typeof h === 'string' ? h : h.text));
  t.false(texts({ duration: '15m', faults: 'none' }).includes('rto <= 60s'));
  t.true(texts({ duration: '3m', faults: 'every:30s' }).includes('rto <= 60s'));
  t.false(texts({ duration: '3m', faults: 'every:30s' }).includes('leaks == 0'));
  t.true(texts({ duration: '1h', faults: 'none' }).includes('leaks == 0'));
});

test('--sync asks Patroni for synchronous mode; off by default (asynchronous replication)', (t) => {
  t.false(opts({}).sync);
  t.true(opts({ sync: true }).sync);
  t.true(opts({ sync: 'true' }).sync);
  t.false(SoakOptions.safeParse({ sync: 'yes' }).success, 'a value other than true or false is refused');
});
