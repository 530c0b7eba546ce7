import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isInvalidArgumentError } from '@resilience/fixtures/errors';
import { buildReport, renderHtml, renderJunit, renderMarkdown, reportSchema, writeReport } from '../../src/index.ts';
import type { Report } from '../../src/index.ts';
import { tempDir, writeFailoverJournal } from '../support/journals.ts';

async function failoverReport(t: Parameters<typeof tempDir>[0], options: Parameters<typeof writeFailoverJournal>[1] = {}): Promise<Report> {
  const journalPath = await writeFailoverJournal(await tempDir(t), options);
  return buildReport({
    journalPath,
    exitCode: 1,
    measurements: [{ name: 'lost-writes', value: 0, unit: 'rows', description: 'acknowledged ids missing | after recovery' }],
  });
}

/** The testcases of a JUnit document: name and the failure message, if any. */
function testcases(xml: string): { name: string; failure: string | null; error: string | null }[] {
  return [...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: m[1]!,
    failure: /<failure message="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? null,
    error: /<error message="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? null,
  }));
}

test('junit.xml has a testsuite with one testcase per hypothesis, a failure with observed vs threshold for the failed one, and a probes suite', async (t) => {
  const xml = renderJunit(await failoverReport(t));
  t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="failover" tests="5" failures="1" errors="0"'));
  t.deepEqual([...xml.matchAll(/<testsuite name="([^"]*)" tests="(\d+)" failures="(\d+)"/g)].map((m) => [m[1], m[2], m[3]]), [['failover', '3', '1'], ['probes', '2', '0']]);
  t.deepEqual(testcases(xml), [
    { name: 'steady-availability', failure: null, error: null },
    { name: 'rto', failure: 'observed 2.00 s, threshold &lt;= 1.00 s', error: null },
    { name: 'lost-writes', failure: null, error: null },
    { name: 'sql-read', failure: null, error: null },
    { name: 'http-get', failure: null, error: null },
  ]);
  t.regex(xml, /<failure [^>]*type="hypothesis">clients recover within 1 s of the fault\nobserved: {2}2\.00 s\nthreshold: &lt;= 1\.00 s<\/failure>/);
  t.regex(xml, /<testcase name="sql-read" classname="failover\.probes" time="0">\n {6}<system-out>availability 80\.00 %\np99 500 ms\noutage 2\.00 s\ntime to detect \(worst\) 500 ms\nRTO \(worst of 1 fault\) 2\.00 s \(fault f1\)<\/system-out>/);
});

test('junit.xml escapes names and values, and drops characters XML cannot hold', async (t) => {
  const report = await failoverReport(t);
  const xml = renderJunit({
    ...report,
    verdict: { ...report.verdict, hypotheses: [{ name: 'a<b & "c" \'d\'\u0001', description: ']]> <x/>', ok: false, observed: '<1>', threshold: '&2', unit: null, variant: null }] },
  });
  t.true(xml.includes('<testcase name="a&lt;b &amp; &quot;c&quot; &apos;d&apos;\uFFFD"'));
  t.true(xml.includes('<failure message="observed &lt;1&gt;, threshold &amp;2" type="hypothesis">]]&gt; &lt;x/&gt;\n'));
  t.false(xml.includes('\u0001'));
});

test('junit.xml of an interrupted run has an error testcase, so CI never shows a crashed run as green', async (t) => {
  const xml = renderJunit(await failoverReport(t, { crashAt: 4000 }));
  t.regex(xml, /<testsuite name="failover" tests="1" failures="0" errors="1"/);
  const [only] = testcases(xml);
  t.is(only?.name, 'run interrupted');
  t.regex(only?.error ?? '', /interrupted/);
});

test('summary.md has the verdict line and the hypotheses, probes, measurements and faults tables', async (t) => {
  const md = renderMarkdown(await failoverReport(t));
  t.true(md.startsWith('## ❌ FAILED: failover\n\n**Verdict:** 1 of 3 hypotheses failed (rto).'));
  t.true(md.includes('| result | hypothesis | observed | threshold | description |\n| --- | --- | ---: | ---: | --- |\n| ✅ held | `steady-availability` | 1 | >= 0.999 | availability in the steady phase |'));
  // In the hypothesis' unit, as formatMetric prints it: no `2,002 ms` beside `1000 ms`.
  t.true(md.includes('| ❌ failed | `rto` | **2.00 s** | <= 1.00 s | clients recover within 1 s of the fault |'));
  t.true(md.includes('### Probes\n\n| probe | attempts | failures | availability | p50 | p99 | outage | time to detect (worst) | RTO (worst) |'));
  t.regex(md, /\| `sql-read` \| 1,000 \| \*\*200\*\* \| 80\.00 % \| 2\.\d\d ms \| 500 ms \| 2\.00 s \| 500 ms \| 2\.00 s \|/);
  t.regex(md, /\| `http-get` \| 1,000 \| \*\*200\*\* \| 80\.00 % \| \d\.\d\d ms \| \d\d ms \| 2\.00 s \| 1 ms \| 2\.00 s \|/);
  t.true(md.includes('### Measurements\n\n| measurement | value | how it was measured |'));
  // A pipe inside a cell is escaped, so the table keeps its columns.
  t.true(md.includes('| `lost-writes` | 0 rows | acknowledged ids missing \\| after recovery |'));
  t.true(md.includes('| `leader-election` | 8.42 s | from the pause to the first write accepted by the new leader |'));
  // Nothing of the new sections for a run without findings, write checks or variants.
  for (const absent of ['### Findings', '### Lost writes', '### Variants']) t.false(md.includes(absent), absent);
  t.regex(md, /### Faults\n\n\| fault \| targets \| injected \| healed \| lasted \| RTO per probe \| heal error \|\n.*\n\| `pause` \| pg-1 \| t\+3\.00 s \| t\+5\.00 s \| 2\.00 s \| sql-read: 2\.00 s; http-get: 2\.00 s \| — \|/);
  t.false(md.includes('[!WARNING]'));
});

test('summary.md marks an interrupted run', async (t) => {
  const md = renderMarkdown(await failoverReport(t, { crashAt: 4000, tornLine: true }));
  t.true(md.startsWith('## ⚠️ INTERRUPTED: failover'));
  t.regex(md, /> \[!WARNING\]\n> The run was interrupted: its journal ends at t\+3\.\d\d s without a run-end event\. The last line of the journal was torn/);
  t.true(md.includes('_No hypotheses were checked._'));
});

test('writeReport writes the four text files and appends the summary to the step summary file', async (t) => {
  const report = await failoverReport(t);
  const dir = await tempDir(t);
  const stepSummary = join(dir, 'step-summary.md');
  await writeFile(stepSummary, '# earlier step\n');
  const written = await writeReport(report, join(dir, 'out', 'nested'), { png: false, stepSummary });
  t.deepEqual(Object.keys(written).sort(), ['html', 'json', 'junit', 'markdown', 'stepSummary']);
  const json: unknown = JSON.parse(await readFile(written.json, 'utf8'));
  t.true(reportSchema.safeParse(json).success);
  t.deepEqual(json, report);
  t.is(await readFile(written.junit, 'utf8'), renderJunit(report));
  const md = await readFile(written.markdown, 'utf8');
  t.is(await readFile(stepSummary, 'utf8'), `# earlier step\n${md}\n`);
  t.true((await readFile(written.html, 'utf8')).startsWith('<!doctype html>'));
});

test('writeReport refuses a report that does not match the schema, naming the field', async (t) => {
  const report = await failoverReport(t);
  const broken = { ...report, run: { ...report.run, status: 'exploded' } } as unknown as Report;
  const error = await t.throwsAsync(writeReport(broken, await tempDir(t), { png: false }));
  t.true(isInvalidArgumentError(error));
  t.like(error, { argument: 'report.run.status', value: 'exploded' });
});

test('report.html is self-contained: everything inline, a CSP that forbids requests, data that parses', async (t) => {
  const report = await failoverReport(t);
  const html = await renderHtml(report);
  t.false(/<(script|link|img|iframe)[^>]*\s(src|href)=/i.test(html), 'no external resources');
  t.regex(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
  t.regex(html, /<header class="verdict failed">[\s\S]*?<div class="word">FAILED<\/div>/);
  t.is(html.match(/<div class="chart" id="chart-\d+"/g)?.length, 2);
  const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  const parsed = JSON.parse(data!) as { timeline: Report['timeline'] };
  t.deepEqual(parsed.timeline, report.timeline);
  t.true(html.length > 60_000 && html.length < 200_000, `${html.length} bytes`);
});

test('report.html escapes text from the journal and cannot be broken out of', async (t) => {
  const report = await failoverReport(t);
  const evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
  const html = await renderHtml({
    ...report,
    run: { ...report.run, workflow: evil },
    verdict: { ...report.verdict, hypotheses: [{ name: evil, description: evil, ok: false, observed: evil, threshold: 1, unit: null, variant: null }] },
    timeline: { ...report.timeline, markers: [{ kind: 'phase', at: 0, label: evil }] },
  });
  t.false(html.includes('<script>alert'));
  t.false(html.includes('<img src=x'));
  // The only <script> elements are the three of the page.
  t.is(html.match(/<script[\s>]/g)?.length, 3);
  t.true(html.includes('\\u003c/script>\\u003cscript>alert(1)'));
});

test('report.html marks an interrupted run with a banner and an amber header', async (t) => {
  const html = await renderHtml(await failoverReport(t, { crashAt: 4000 }));
  t.regex(html, /<header class="verdict interrupted">[\s\S]*?<div class="word">INTERRUPTED<\/div>/);
  t.regex(html, /<div class="banner" role="alert">⚠ The run was interrupted/);
});
