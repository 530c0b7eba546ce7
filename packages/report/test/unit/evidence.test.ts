// The workflow's evidence in the report: report.json carries each evidence's tables (the last of
// a name and variant), report.html and summary.md show them in an Evidence section, escaped and
// redacted like everything else; nothing without evidence. And the `disaster` fault kind's label.
import test from 'ava';
import type { JournalEvent } from '@resilience/fixtures/events';
import { renderHtml, renderMarkdown, reportSchema } from '../../src/index.ts';
import { faultWhat } from '../../src/swimlanes.ts';
import { faultsTable, writeCheckDetailTables } from '../../src/tables.ts';
import { DISASTER_AT, END_AT, RESTORED_AT, RESTORE_EVIDENCE, drillEvents, reportOf, samples, twoFaultEvents } from '../support/scenarios.ts';

test('report.json carries the tables of each evidence, the last of a name winning, without its data', async (t) => {
  const report = await reportOf(t, drillEvents());
  t.notThrows(() => reportSchema.parse(report));
  t.deepEqual(report.evidence?.map((e) => e.name), ['backups', 'restore', 'timings']);
  const restore = report.evidence!.find((e) => e.name === 'restore')!;
  t.deepEqual(restore.tables.map((x) => x.title), ['Restore steps', 'Rows after the restore'], 'the partial restore evidence was replaced');
  t.deepEqual(restore.tables[0], { ...RESTORE_EVIDENCE.tables[0]! });
  t.deepEqual(report.evidence!.find((e) => e.name === 'timings')!.tables, []);
  t.false(report.evidence!.some((e) => 'data' in e || 'variant' in e), 'the data is evidence.json\'s; no variant in a run without variants');
  t.is(report.journal.eventCounts['evidence'], 4);
});

test('evidence is redacted like the rest of the report', async (t) => {
  const report = await reportOf(t, drillEvents());
  const json = JSON.stringify(report);
  t.false(json.includes('s3cret-pw'));
  t.deepEqual(report.evidence!.find((e) => e.name === 'restore')!.tables[1]!.rows[1], ['secrets', '1', 'reached via postgres://app:***@10.0.0.5/app']);
});

test('the evidence of each variant is kept apart, and report.variants names the variant', async (t) => {
  const tables = (cell: string) => [{ title: 'Restore', header: ['rows'], rows: [[cell]] }];
  const report = await reportOf(t, [
    { type: 'evidence', at: 100, name: 'restore', variant: 'bookworm', data: 1, tables: tables('10') },
    { type: 'evidence', at: 200, name: 'restore', variant: 'trixie', data: 2, tables: tables('20') },
    { type: 'evidence', at: 300, name: 'restore', variant: 'bookworm', data: 3, tables: tables('30') },
    { type: 'run-end', status: 'completed', at: 1000 },
  ]);
  t.deepEqual(report.evidence, [
    { name: 'restore', variant: 'trixie', tables: tables('20') },
    { name: 'restore', variant: 'bookworm', tables: tables('30') },
  ]);
  t.deepEqual(report.variants, ['trixie', 'bookworm']);
  const md = renderMarkdown(report);
  t.regex(md, /#### restore \\\[trixie\\\][\s\S]*\| 20 \|[\s\S]*#### restore \\\[bookworm\\\][\s\S]*\| 30 \|/);
});

test('an evidence event from another writer is made to fit: cells as text, tables that are not objects dropped', async (t) => {
  const odd = { type: 'evidence', at: 10, name: 'odd', data: null, tables: [{ title: 7, header: ['n', null], rows: [[1, true], 'not a row'] }, 'not a table'] } as unknown as JournalEvent;
  const report = await reportOf(t, [odd, { type: 'run-end', status: 'completed', at: 100 }]);
  t.deepEqual(report.evidence, [{ name: 'odd', tables: [{ title: '7', header: ['n', ''], rows: [['1', 'true']] }] }]);
});

test('report.html: an Evidence section after the findings and hypotheses, before the timeline, each table with its title, escaped', async (t) => {
  const report = await reportOf(t, [...drillEvents(), { type: 'finding', id: 'lost-writes:sql-write', kind: 'lost-writes', severity: 'warning', title: 'writes lost', detail: '', at: DISASTER_AT, evidence: [] }]);
  const html = await renderHtml(report);
  const at = (s: string) => {
    const i = html.indexOf(s);
    t.true(i >= 0, `${s} is on the page`);
    return i;
  };
  const evidence = at('<section id="evidence"><h2>Evidence</h2>');
  t.true(at('id="findings"') < evidence);
  t.true(at('<h2>Hypotheses</h2>') < evidence);
  t.true(evidence < at('<h2>Timeline</h2>'));
  const section = html.slice(evidence, html.indexOf('</section>', evidence));
  t.deepEqual([...section.matchAll(/<h3 class="table-title">([^<]*)<\/h3>/g)].map((m) => m[1]), ['backups', 'restore', 'timings']);
  t.deepEqual([...section.matchAll(/<h4>([^<]*)<\/h4>/g)].map((m) => m[1]), ['Backups in the repository', 'Restore steps', 'Rows after the restore']);
  t.regex(section, /<th>step<\/th><th>started<\/th><th>took<\/th>/);
  t.regex(section, /<td>restore<\/td><td>t\+11\.30 s<\/td><td>12\.40 s<\/td>/);
  t.regex(section, /<p class="empty">No table: the data is in evidence\.json\.<\/p>/);
  t.false(html.includes('<script>alert("evidence")'));
  t.true(section.includes('&lt;/table&gt;&lt;script&gt;alert(&quot;evidence&quot;)&lt;/script&gt; | `x` *y*'));
  t.false(html.includes('s3cret-pw'));
  // The only <script> elements are the three of the page, and it stays within the size of any other report.
  t.is(html.match(/<script[\s>]/g)?.length, 3);
  t.true(html.length < 200_000, `${html.length} bytes`);
});

test('summary.md: an Evidence section after the hypotheses, its tables escaped', async (t) => {
  const md = renderMarkdown(await reportOf(t, drillEvents()));
  const evidence = md.indexOf('\n### Evidence\n');
  t.true(evidence > md.indexOf('\n### Hypotheses\n') && evidence < md.indexOf('\n### Probes\n'), md);
  t.true(md.includes('#### restore\n\n**Restore steps**\n\n| step | started | took |\n| --- | --- | --- |\n| stanza-create | t+10.20 s | 1.10 s |'));
  t.true(md.includes('**Rows after the restore**'));
  t.true(md.includes('| resilience\\_writes | 1,990 | &lt;/table>&lt;script>alert("evidence")&lt;/script> \\| \\`x\\` \\*y\\* |'));
  t.true(md.includes('#### timings\n\n_No table: the data is in evidence.json._'));
});

test('without evidence there is no Evidence section and no evidence field', async (t) => {
  const report = await reportOf(t, twoFaultEvents());
  t.false('evidence' in report);
  t.false((await renderHtml(report)).includes('Evidence</h2>'));
  t.false(renderMarkdown(report).includes('### Evidence'));
});

test('a disaster is named as irreversible, and its heal as its end, wherever the report names fault kinds', async (t) => {
  const report = await reportOf(t, [
    ...drillEvents(),
    { type: 'write-check', at: END_AT - 100, probe: 'sql-write', scope: 'postgres', store: 'table resilience_writes', acked: 2000, present: 1990, lost: 10, ghost: 0, lostByNode: { pg1: 10 }, lostByWindow: { 'before-fault': 10, fault: 0, 'after-election': 0, 'after-heal': 0 }, perFault: [{ faultId: 'disaster-1', scope: 'postgres', iteration: 1, lost: 10, rpoSeconds: 0.1, firstLostAckAt: DISASTER_AT - 100, lastLostAckAt: DISASTER_AT - 10 }], examples: [] },
    ...samples({ probe: 'other', to: 100 }),
  ]);
  t.is(faultsTable(report).rows[0]![0]!.text, 'disaster (irreversible)');
  t.is(faultWhat(report, report.faults[0]!), 'disaster (irreversible) pg1, pg2, pg3');
  t.deepEqual(report.timeline.markers.filter((m) => m.kind !== 'phase'), [
    { kind: 'fault', at: DISASTER_AT, label: 'disaster (irreversible) rz-run-2f-pg1, rz-run-2f-pg2, rz-run-2f-pg3' },
    { kind: 'heal', at: RESTORED_AT, label: 'end of disaster' },
  ]);
  const rpo = writeCheckDetailTables(report, report.writeChecks[0]!).find((x) => x.id.startsWith('rpo-'))!;
  t.is(rpo.rows[0]![0]!.text, 'disaster-1 (disaster (irreversible) rz-run-2f-pg1, rz-run-2f-pg2, rz-run-2f-pg3)');
  // Other kinds keep their name; a kind from the journal is never looked up on the prototype.
  const other = await reportOf(t, [
    { type: 'fault-injected', id: 'p', kind: 'pause', targets: ['pg1'], params: {}, at: 10 },
    { type: 'fault-healed', id: 'p', at: 20 },
    { type: 'fault-injected', id: 'c', kind: 'constructor', targets: [], params: {}, at: 30 },
    { type: 'fault-healed', id: 'c', at: 40, error: 'no such container' },
    { type: 'run-end', status: 'completed', at: 100 },
  ]);
  t.deepEqual(other.timeline.markers.filter((m) => m.kind !== 'phase').map((m) => m.label), ['pause pg1', 'healed pause', 'constructor', 'heal failed: constructor']);
  t.deepEqual(faultsTable(other).rows.map((r) => r[0]!.text), ['pause', 'constructor']);
});
