// Units: every value in its unit through formatMetric / formatDuration (no `1 ratio`, no
// `10870.2 ms` beside `30,000 ms`), `not measured` for null; measurements from the journal's
// measurement events and older measurement notes, named `name(scope)#iteration [variant]`.
import test from 'ava';
import { formatAt, formatLatency, formatSpan, formatValue, measurementName, renderHtml, renderMarkdown } from '../../src/index.ts';
import { reportOf, twoFaultEvents } from '../support/scenarios.ts';

test('formatValue: metric units through formatMetric, other units after the number, null as not measured', (t) => {
  t.is(formatValue(10_870.2, 'ms'), '10.87 s');
  t.is(formatValue(30_000, 'ms'), '30.00 s');
  t.is(formatValue(850, 'ms'), '850 ms');
  t.is(formatValue(1.2, 's'), '1.20 s');
  t.is(formatValue(0.99873, 'ratio'), '99.87 %');
  t.is(formatValue(0.99951, 'ratio'), '99.951 %');
  t.is(formatValue(1, 'ratio'), '100.00 %');
  t.is(formatValue(12_345, 'count'), '12,345');
  t.is(formatValue(3_355_443, 'bytes'), '3.2 MiB');
  t.is(formatValue(12, 'rows'), '12 rows');
  t.is(formatValue(null, 'ms'), 'not measured');
  t.is(formatValue(null, 'ms', '—'), '—');
  t.is(formatValue('<= 30000', 'ms'), '<= 30.00 s');
  t.is(formatValue('>= 0.999', 'ratio'), '>= 99.90 %');
  t.is(formatValue('>= 0.999', null), '>= 0.999');
  t.is(formatValue('= 0', 'rows'), '= 0 rows');
  t.is(formatValue(true, null), 'true');
});

test('times and latencies', (t) => {
  t.is(formatAt(12_340), 't+12.34 s');
  t.is(formatAt(850), 't+850 ms');
  t.is(formatAt(125_000), 't+2 min 05 s');
  t.is(formatSpan(20_000, 23_480), 't+20.00 s → t+23.48 s (3.48 s)');
  t.is(formatSpan(20_000), 't+20.00 s');
  t.is(formatLatency(0.42), '0.42 ms');
  t.is(formatLatency(42.3), '42 ms');
  t.is(formatLatency(1200), '1.20 s');
});

test('measurementName: name(scope)#iteration [variant]', (t) => {
  t.is(measurementName({ name: 'lostWrites', scope: 'sql-write', iteration: 2, variant: 'naive' }), 'lostWrites(sql-write)#2 [naive]');
  t.is(measurementName({ name: 'election', scope: null, iteration: 0, variant: null }), 'election#0');
  t.is(measurementName({ name: 'rto' }), 'rto');
});

test('report.json: measurements from measurement events and notes, in time order, with scope, iteration, variant and unit', async (t) => {
  const report = await reportOf(t, twoFaultEvents());
  t.deepEqual(report.measurements.map((m) => [m.name, m.value, m.unit, m.scope, m.iteration, m.variant]), [
    ['election', null, 'ms', null, 2, null],
    ['rpo', 1.2, 's', 'redis-write', null, null],
    ['availability', 0.99873, 'ratio', 'redis-write', null, null],
    ['rtoP95', 10_870.2, 'ms', 'redis-write', null, null],
    ['usedMemory', 3_355_443, 'bytes', 'redis2', null, null],
    ['leader-election', 3200, 'ms', null, null, null],
  ]);
  t.deepEqual(report.measurements.map((m) => m.at), [30_000, 30_001, 30_002, 30_003, 30_004, 30_005]);
});

test('a measurement passed in replaces the journal one with the same name, scope, iteration and variant', async (t) => {
  const report = await reportOf(t, twoFaultEvents(), {
    measurements: [
      { name: 'rpo', value: 1.5, unit: 's', description: 'recomputed', scope: 'redis-write' },
      { name: 'rpo', value: 9, unit: 's', description: 'another scope', scope: 'redis-read' },
    ],
  });
  t.deepEqual(report.measurements.filter((m) => m.name === 'rpo').map((m) => [m.scope, m.value, m.description, m.at]), [
    ['redis-write', 1.5, 'recomputed', null],
    ['redis-read', 9, 'another scope', null],
  ]);
  t.is(report.measurements.length, 7);
});

test('summary.md and report.html print measurements and hypotheses in their units', async (t) => {
  const report = await reportOf(t, twoFaultEvents());
  const md = renderMarkdown(report);
  for (const row of [
    '| `election#2` | not measured | sentinel +switch-master after the kill |',
    '| `rpo(redis-write)` | 1.20 s | span of the lost acknowledged writes |',
    '| `availability(redis-write)` | 99.87 % | good / attempted |',
    '| `rtoP95(redis-write)` | 10.87 s | p95 of the RTOs |',
    '| `usedMemory(redis2)` | 3.2 MiB | INFO memory |',
    '| `leader-election` | 3.20 s | from the kill to +switch-master |',
    '| ✅ held | `rto(redis-write) <= 30s` | 3.48 s | 30.00 s | writes recover within 30 s |',
    '| ❌ failed | `lostWrites(redis-write) == 0` | **12** | 0 |  |',
    '| ❌ failed | `availability(redis-write) >= 99.9%` | **99.87 %** | 99.90 % |  |',
    '| ❌ failed | `election <= 10s` | **not measured** | 10.00 s | a new primary within 10 s |',
  ]) t.true(md.includes(row), row);
  for (const bad of [' ratio', '10870.2', '30,000 ms', '3481 ms', '1.2 s ']) t.false(md.includes(bad), bad);
  const html = await renderHtml(report);
  t.true(html.includes('<tr><td><code>election#2</code></td><td class="num warn">not measured</td>'));
  t.true(html.includes('<td class="num bad">not measured</td><td class="num">10.00 s</td>'));
});
