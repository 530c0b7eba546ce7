// Several faults: every table, tile and JUnit case shows a probe's WORST recovery over the faults
// it is judged on, never the first fault's (which hid a 3.48 s outage behind "no visible outage").
import test from 'ava';
import type { JournalEvent } from '@resilience/fixtures/events';
import { renderHtml, renderJunit, renderMarkdown, reportSchema } from '../../src/index.ts';
import type { Report } from '../../src/index.ts';
import { F1_AT, F2_AT, reportOf, twoFaultEvents } from '../support/scenarios.ts';

const probe = (report: Report, name: string) => {
  const p = report.probes.find((x) => x.name === name);
  if (!p) throw new Error(`no probe ${name}`);
  return p;
};

/** The Markdown table row of a probe in the Probes table. */
const probeRow = (md: string, name: string): string[] => {
  const section = md.slice(md.indexOf('### Probes'));
  const line = section.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  if (!line) throw new Error(`no row for ${name}`);
  return line.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
};

/** Without redis-read (which never recovers): redis-write is the slowest probe. */
const writeOnly = (events: JournalEvent[]): JournalEvent[] => events.filter((e) => !((e.type === 'sample' && e.probe === 'redis-read') || (e.type === 'probe' && e.name === 'redis-read')));

test('report.json: rtoMs and timeToDetectMs are the worst over the probe\'s faults, with worst and every recovery', async (t) => {
  const report = await reportOf(t, twoFaultEvents());
  t.true(reportSchema.safeParse(report).success);
  const write = probe(report, 'redis-write');
  t.like(write, { scopes: ['redis'], variant: null, writes: true, rtoMs: 3481, timeToDetectMs: 5 });
  t.deepEqual(write.worst, { status: 'recovered', faults: 2, rtoMs: 3481, timeToDetectMs: 5, faultId: 'f2', unrecovered: [] });
  t.deepEqual(write.recoveries.map((r) => [r.faultId, r.faultAt, r.status, r.rtoMs]), [['f1', F1_AT, 'no-visible-outage', 0], ['f2', F2_AT, 'recovered', 3481]]);

  const read = probe(report, 'redis-read');
  t.like(read, { rtoMs: null, timeToDetectMs: 5 });
  t.deepEqual(read.worst, { status: 'not-recovered', faults: 2, rtoMs: null, timeToDetectMs: 5, faultId: 'f2', unrecovered: ['f2'] });
  t.deepEqual(read.recoveries.map((r) => [r.faultId, r.status, r.rtoMs]), [['f1', 'recovered', 1201], ['f2', 'not-recovered', null]]);

  // sql-read depends on postgres: the redis faults do not judge it.
  const sql = probe(report, 'sql-read');
  t.like(sql, { scopes: ['postgres'], rtoMs: null, timeToDetectMs: null, recoveries: [] });
  t.is(sql.worst.status, 'no-faults');

  t.deepEqual(report.faults.map((f) => [f.id, f.scope, f.iteration, f.callMs, f.variant]), [['f1', 'redis', 1, 120.5, null], ['f2', 'redis', 2, 98.2, null]]);
});

test('summary.md: the probes table shows the worst RTO (3.48 s, not the first fault\'s 0) and "not recovered"', async (t) => {
  const md = renderMarkdown(await reportOf(t, twoFaultEvents()));
  t.true(md.includes('| probe | attempts | failures | availability | p50 | p99 | outage | time to detect (worst) | RTO (worst) |'));
  const write = probeRow(md, 'redis-write');
  t.is(write.at(-1), '3.48 s');
  t.is(write.at(-2), '5 ms');
  t.is(probeRow(md, 'redis-read').at(-1), '**not recovered**');
  t.deepEqual(probeRow(md, 'sql-read').slice(-2), ['—', '—']);
  t.false(write.join(' ').includes('no visible outage'), 'the probes row never shows the first fault only');
  // Per fault, the faults table lists each probe judged on it (not sql-read).
  t.regex(md, /\| `kill` \| redis1 \| redis #1 \| t\+10\.00 s \(call 121 ms\) \| t\+12\.00 s \| 2\.00 s \| redis-write: 0 \(no visible outage\); redis-read: 1\.20 s \| — \|/);
  t.regex(md, /\| `kill` \| redis2 \| redis #2 \| t\+20\.00 s \(call 98 ms\) \| t\+25\.00 s \| 5\.00 s \| redis-write: 3\.48 s; redis-read: not recovered \| — \|/);
});

test('report.html: the RTO tile and the probes table use the worst RTO', async (t) => {
  const withUnrecovered = await renderHtml(await reportOf(t, twoFaultEvents()));
  t.regex(withUnrecovered, /<div class="tile" id="tile-rto"><div class="label">Worst RTO<\/div><div class="value bad text">not recovered<\/div><div class="sub" title="redis-read">/);
  t.regex(withUnrecovered, /<tr><td><code>redis-write<\/code><\/td>(?:<td[^>]*>[^<]*<\/td>){7}<td class="num">3\.48 s<\/td><\/tr>/);
  t.regex(withUnrecovered, /<tr><td><code>redis-read<\/code><\/td>(?:<td[^>]*>[^<]*<\/td>){7}<td class="num bad">not recovered<\/td><\/tr>/);
  t.regex(withUnrecovered, /worst RTO 3\.48 s · p99/);

  const writes = await renderHtml(await reportOf(t, writeOnly(twoFaultEvents())));
  t.regex(writes, /<div class="label">Worst RTO<\/div><div class="value ">3\.48 s<\/div><div class="sub" title="redis-write · fault f2">/);
  t.false(writes.includes('RTO (first fault)'));
});

test('junit.xml: a probes suite with each probe\'s worst RTO over its faults', async (t) => {
  const xml = renderJunit(await reportOf(t, twoFaultEvents()));
  t.regex(xml, /<testsuite name="probes" tests="3" failures="0"/);
  t.regex(xml, /<testcase name="redis-write" classname="redis-failover\.probes" time="0">\n {6}<system-out>availability 91\.30 %\np99 5\.00 ms\noutage 3\.48 s\ntime to detect \(worst\) 5 ms\nRTO \(worst of 2 faults\) 3\.48 s \(fault f2\)<\/system-out>/);
  t.regex(xml, /<testcase name="redis-read"[^>]*>\n {6}<system-out>[^<]*RTO \(worst of 2 faults\) not recovered \(fault f2\)<\/system-out>/);
  t.regex(xml, /<testcase name="sql-read"[^>]*>\n {6}<system-out>[^<]*RTO — \(judged on no fault\)<\/system-out>/);
});

test('three faults, the worst in the middle: the worst is shown, not the first or the last', async (t) => {
  const events = writeOnly(twoFaultEvents()).filter((e) => !(e.type === 'run-end'));
  // A third fault at t = 32 s that causes a 500 ms outage.
  const third: JournalEvent[] = [
    { type: 'fault-injected', id: 'f3', kind: 'pause', targets: ['redis1'], params: {}, at: 32_000, scope: 'redis', iteration: 3 },
    { type: 'fault-healed', id: 'f3', at: 33_000 },
    { type: 'run-end', status: 'completed', at: 40_000 },
  ];
  const patched = events.map((e) => (e.type === 'sample' && e.probe === 'redis-write' && e.intended >= 32_000 && e.intended < 32_500 ? { ...e, ok: false, completed: e.intended + 5 } : e));
  const report = await reportOf(t, [...patched, ...third]);
  const write = probe(report, 'redis-write');
  t.deepEqual(write.recoveries.map((r) => [r.faultId, r.status]), [['f1', 'no-visible-outage'], ['f2', 'recovered'], ['f3', 'recovered']]);
  t.is(write.recoveries[2]!.rtoMs, 501);
  t.like(write.worst, { rtoMs: 3481, faultId: 'f2', faults: 3 });
  t.is(probeRow(renderMarkdown(report), 'redis-write').at(-1), '3.48 s');
});
