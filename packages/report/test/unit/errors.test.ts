// What clients saw: a probe whose operations failed with three causes (PostgreSQL out of
// connection slots, refused connections to two addresses, timeouts) shows each cause with its
// count in report.json, summary.md and report.html, the counts adding up to the failures, with
// the fault in effect when each was first seen. An older report without the field validates.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JournalEvent, SampleEvent } from '@resilience/fixtures/events';
import { renderMarkdown, reportSchema, writeReport } from '../../src/index.ts';
import { tempDir } from '../support/journals.ts';
import { reportOf, samples } from '../support/scenarios.ts';

/** 0..2 s steady; a pause of pg1 from 2 s to 4 s: `sql` fails 40 × 53300, 10 × refused (two addresses), 5 × timeout. */
function errorEvents(): JournalEvent[] {
  const sql: SampleEvent[] = [];
  for (let i = 0; i < 600; i++) {
    const intended = i * 10;
    const k = i - 200;
    const error = k < 0 || k >= 55 ? undefined
      : k < 40 ? '53300: sorry, too many clients already'
      : k < 50 ? `ECONNREFUSED: connect ECONNREFUSED 172.18.0.${k % 2 ? 5 : 6}:5432`
      : 'timeout';
    sql.push({ type: 'sample', probe: 'sql', op: 'insert', intended, completed: intended + 2, ok: !error, ...(error ? { error } : {}) });
  }
  return [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'fault-injected', id: 'f1', kind: 'pause', targets: ['pg1'], params: {}, at: 1990 },
    { type: 'fault-healed', id: 'f1', at: 4000 },
    ...sql,
    ...samples({ probe: 'cache', to: 6000 }),
    { type: 'run-end', status: 'completed', at: 6000 },
  ];
}

test('failures by cause in report.json, summary.md and report.html, adding up to the failures', async (t) => {
  const report = await reportOf(t, errorEvents());
  const sql = report.probes.find((p) => p.name === 'sql')!;
  t.is(sql.failures, 55);
  t.deepEqual(sql.errors?.map((e) => [e.cause, e.count, e.firstAt, e.lastAt]), [
    ['53300: sorry, too many clients already', 40, 2000, 2390],
    ['ECONNREFUSED: connect ECONNREFUSED <addr>', 10, 2400, 2490],
    ['timeout', 5, 2500, 2540],
  ]);
  t.is(sql.errors?.[1]?.example, 'ECONNREFUSED: connect ECONNREFUSED 172.18.0.6:5432');
  t.deepEqual(report.probes.find((p) => p.name === 'cache')!.errors, []);

  const md = renderMarkdown(report);
  t.true(md.includes('### Errors clients saw'), md);
  t.regex(md, /\| `sql` \| `53300: sorry, too many clients already` \| \*\*40\*\* \| 72\.73 % \| [^|]+ \| [^|]+ \| pause pg1 \|/);
  t.regex(md, /\| `sql` \| `ECONNREFUSED: connect ECONNREFUSED <addr>` \| \*\*10\*\* \|.*`ECONNREFUSED: connect ECONNREFUSED 172\.18\.0\.6:5432` \|/);

  const dir = await tempDir(t);
  await writeReport(report, dir, { png: false, stepSummary: false });
  const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as typeof report;
  t.is(json.probes.find((p) => p.name === 'sql')!.errors!.reduce((n, e) => n + e.count, 0), 55);
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  t.regex(html, /Errors clients saw/);
  t.regex(html, /<code>53300: sorry, too many clients already<\/code>/);

  const older = JSON.parse(JSON.stringify(json)) as { probes: Record<string, unknown>[] };
  for (const p of older.probes) delete p['errors'];
  t.true(reportSchema.safeParse(older).success, 'a report from before causes were counted still validates');
});

test('a run without failures has no errors table in summary.md, and says so in report.html', async (t) => {
  const report = await reportOf(t, [{ type: 'phase', name: 'steady', at: 0 }, ...samples({ probe: 'cache', to: 2000 }), { type: 'run-end', status: 'completed', at: 2000 }]);
  t.false(renderMarkdown(report).includes('Errors clients saw'));
  const dir = await tempDir(t);
  await writeReport(report, dir, { png: false, stepSummary: false });
  t.regex(await readFile(join(dir, 'report.html'), 'utf8'), /No operation failed\./);
});

/**
 * Three faults: pg1 paused 1–2 s, pg2 killed 3–4 s, redis-1 killed at 5 s and never healed. `sql`
 * fails with 53300 in the first and is refused in the second; `cache` fails from 5 s to the end
 * and never recovers. Each cause is counted exactly and attributed to the fault of its first failure.
 */
function severalFaults(): JournalEvent[] {
  const sql: SampleEvent[] = [];
  const cache: SampleEvent[] = [];
  for (let i = 0; i < 700; i++) {
    const intended = i * 10;
    const sqlError = intended >= 1000 && intended < 1500 ? '53300: sorry, too many clients already'
      : intended >= 3000 && intended < 3200 ? 'ECONNREFUSED: connect ECONNREFUSED 172.18.0.7:5432'
      : undefined;
    sql.push({ type: 'sample', probe: 'sql', op: 'insert', intended, completed: intended + 2, ok: !sqlError, ...(sqlError ? { error: sqlError } : {}) });
    const down = intended >= 5000;
    cache.push({ type: 'sample', probe: 'cache', op: 'get', intended, completed: intended + 1, ok: !down, ...(down ? { error: 'Error: Connection is closed.' } : {}) });
  }
  return [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'fault-injected', id: 'f1', kind: 'pause', targets: ['pg1'], params: {}, at: 990 },
    { type: 'fault-healed', id: 'f1', at: 2000 },
    { type: 'fault-injected', id: 'f2', kind: 'kill', targets: ['pg2'], params: {}, at: 2990 },
    { type: 'fault-healed', id: 'f2', at: 4000 },
    { type: 'fault-injected', id: 'f3', kind: 'kill', targets: ['redis-1'], params: {}, at: 4990 },
    ...sql,
    ...cache,
    { type: 'run-end', status: 'completed', at: 7000 },
  ];
}

test('several faults, one never healed, a probe that never recovers: each cause counted and placed in its fault', async (t) => {
  const report = await reportOf(t, severalFaults());
  const sql = report.probes.find((p) => p.name === 'sql')!;
  const cache = report.probes.find((p) => p.name === 'cache')!;
  t.deepEqual(sql.errors?.map((e) => [e.cause, e.count, e.firstAt, e.lastAt]), [
    ['53300: sorry, too many clients already', 50, 1000, 1490],
    ['ECONNREFUSED: connect ECONNREFUSED <addr>', 20, 3000, 3190],
  ]);
  t.is(sql.failures, 70);
  t.deepEqual(cache.errors?.map((e) => [e.cause, e.count, e.firstAt, e.lastAt]), [['Error: Connection is closed.', 200, 5000, 6990]]);
  t.is(cache.failures, 200);
  t.is(cache.worst.status, 'not-recovered', 'the cache probe never recovered');

  const md = renderMarkdown(report);
  t.regex(md, /\| `sql` \| `53300: sorry, too many clients already` \| \*\*50\*\* \|[^\n]*\| pause pg1 \|/);
  t.regex(md, /\| `sql` \| `ECONNREFUSED: connect ECONNREFUSED <addr>` \| \*\*20\*\* \|[^\n]*\| kill pg2 \|/);
  t.regex(md, /\| `cache` \| `Error: Connection is closed\.` \| \*\*200\*\* \| 100\.00 % \|[^\n]*\| kill redis-1 \|/);
});
