// Shed load in the report: a probe whose every 4th operation was refused with a 429 (marked
// shed) shows that count per probe and per phase in report.json, in a `shed` column of
// summary.md and report.html and in its JUnit testcase; availability still counts them as not
// served. A run without shed operations has no such column, and an older report without the
// field still validates.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JournalEvent, SampleEvent } from '@resilience/fixtures/events';
import { renderHtml, renderJunit, renderMarkdown, reportSchema, writeReport } from '../../src/index.ts';
import { tempDir } from '../support/journals.ts';
import { reportOf, samples } from '../support/scenarios.ts';

/** 0..4 s steady, 4..6 s after: `api` is refused (429, shed) on every 4th operation of steady only; `db` never fails. */
function shedEvents(): JournalEvent[] {
  const api: SampleEvent[] = [];
  for (let i = 0; i < 600; i++) {
    const intended = i * 10;
    const refused = intended < 4000 && i % 4 === 3;
    api.push({ type: 'sample', probe: 'api', op: 'GET /orders', intended, completed: intended + 1, ok: !refused, ...(refused ? { error: 'HTTP 429 (Retry-After 1 s)', shed: true as const } : {}) });
  }
  return [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'phase', name: 'after', at: 4000 },
    ...api,
    ...samples({ probe: 'db', to: 6000 }),
    { type: 'run-end', status: 'completed', at: 6000 },
  ];
}

test('shed per probe and per phase in report.json, in the probe tables of summary.md and report.html, and in the JUnit testcase', async (t) => {
  const report = await reportOf(t, shedEvents());
  const api = report.probes.find((p) => p.name === 'api')!;
  // Ground truth: operations 3, 7, ..., 399 were refused: 100 of the 400 in steady, none after.
  t.like(api, { attempts: 600, failures: 100, shed: 100, availability: 500 / 600 });
  t.deepEqual(api.phases.map((ph) => [ph.phase, ph.attempts, ph.failures, ph.shed, ph.availability]), [['steady', 400, 100, 100, 0.75], ['after', 200, 0, 0, 1]]);
  t.like(report.probes.find((p) => p.name === 'db'), { failures: 0, shed: 0 });

  const dir = await tempDir(t);
  await writeReport(report, dir, { png: false, stepSummary: false });
  const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as typeof report;
  t.is(json.probes.find((p) => p.name === 'api')!.shed, 100);
  t.deepEqual(json.probes.find((p) => p.name === 'api')!.phases.map((ph) => ph.shed), [100, 0]);

  const md = renderMarkdown(report);
  t.true(md.includes('| probe | attempts | failures | shed | availability |'), md);
  t.true(md.includes('| `api` | 600 | **100** | 100 | 83.33 % |'), md);
  t.true(md.includes('| `db` | 600 | 0 | 0 | 100.00 % |'), md);

  const html = await readFile(join(dir, 'report.html'), 'utf8');
  // Both probe tables (overall and per phase) have the column; the api rows carry 100 (overall, steady).
  t.is([...html.matchAll(/<th[^>]*>shed<\/th>/g)].length, 2);
  const apiRows = [...html.matchAll(/<tr>(?:(?!<\/tr>).)*?<code>api<\/code>(?:(?!<\/tr>).)*<\/tr>/gs)].map((m) => m[0]);
  t.is(apiRows.length, 4, 'one overall row, one per phase, and one in the errors table (its 429s)');
  t.regex(apiRows[0]!, /<td[^>]*>100<\/td>\s*<td[^>]*>100<\/td>/, 'failures 100, shed 100');
  t.regex(html, /availability 83\.33 % \(100 shed\)/);

  t.regex(renderJunit(report), /<testcase name="api"[^>]*>\n {6}<system-out>availability 83\.33 %\nshed 100 \(refused on purpose, HTTP 429; counted as failures\)\n/);
});

test('without shed operations the tables have no shed column; a report from before shed was counted still validates', async (t) => {
  const events = shedEvents().map((e) => (e.type === 'sample' && e.shed ? { ...e, error: 'HTTP 503', shed: undefined } : e));
  const report = await reportOf(t, events);
  t.like(report.probes.find((p) => p.name === 'api'), { failures: 100, shed: 0, availability: 500 / 600 });
  t.false(renderMarkdown(report).includes('| shed |'));
  t.notRegex(await renderHtml(report), /<th[^>]*>shed<\/th>/);
  const old = JSON.parse(JSON.stringify(report)) as { probes: { shed?: number; phases: { shed?: number }[] }[] };
  for (const p of old.probes) {
    delete p.shed;
    for (const ph of p.phases) delete ph.shed;
  }
  t.true(reportSchema.safeParse(old).success);
  t.false(reportSchema.safeParse({ ...report, probes: [{ ...report.probes[0]!, shed: -1 }] }).success, 'a negative shed count is not a report');
});
