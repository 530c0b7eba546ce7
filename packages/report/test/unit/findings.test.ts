// Findings lead every report: first in summary.md and the HTML page, failed JUnit testcases
// when critical, plain text for the console, and in report.json as the journal has them.
import test from 'ava';
import type { FindingEvent, JournalEvent } from '@resilience/fixtures/events';
import { main } from '../../src/cli.ts';
import { renderFindingsText, renderHtml, renderJunit, renderMarkdown, reportSchema } from '../../src/index.ts';
import { tempDir } from '../support/journals.ts';
import { LOST_WRITES_FINDING, SLOW_FAILOVER_FINDING, reportOf, twoFaultEvents, writeJournal } from '../support/scenarios.ts';

const info: FindingEvent = { type: 'finding', id: 'version', kind: 'version', severity: 'info', title: 'Redis 7.2.4', detail: '', at: 5, evidence: [] };

test('report.json carries the findings as the journal has them (without type), redacted, in time order', async (t) => {
  const report = await reportOf(t, [...twoFaultEvents(), info]);
  t.true(reportSchema.safeParse(report).success);
  const { type: _type, ...lost } = LOST_WRITES_FINDING;
  const { type: _type2, ...slow } = SLOW_FAILOVER_FINDING;
  const { type: _type3, ...version } = info;
  t.deepEqual(report.findings, [
    version,
    { ...lost, evidence: [lost.evidence[0]!, { label: 'sentinel log', text: '+switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379 password=***' }] },
    slow,
  ]);
});

test('the verdict stays with the hypotheses, and its reason names a critical finding', async (t) => {
  const report = await reportOf(t, twoFaultEvents(), { hypotheses: [{ name: 'rto <= 30s', ok: true, observed: 3481, threshold: 30_000, unit: 'ms' }], exitCode: 0 });
  t.like(report.verdict, { passed: true, outcome: 'passed', reason: 'all 1 hypotheses held; 1 critical finding: 12 acknowledged writes lost (redis-write)' });
  const none = await reportOf(t, twoFaultEvents({ verdict: false }));
  t.like(none.verdict, { passed: false, outcome: 'no-hypotheses', reason: 'the run completed but no hypothesis was checked; 1 critical finding: 12 acknowledged writes lost (redis-write)' });
});

test('summary.md: Findings is the first section, most severe first, with time, nodes, scope, detail and evidence', async (t) => {
  const md = renderMarkdown(await reportOf(t, [...twoFaultEvents(), info]));
  const findings = md.indexOf('\n### Findings\n');
  t.true(findings > 0 && md.slice(0, findings).trim().split('\n').length === 1, 'right after the title');
  t.true(findings < md.indexOf('**Verdict:**') && findings < md.indexOf('### Hypotheses'));
  t.true(md.includes('### Findings\n\n1 critical, 1 warning, 1 info, most severe first.\n\n> [!CAUTION]\n> **CRITICAL: 12 acknowledged writes lost (redis-write)**\n'
    + '> t+20.00 s → t+23.48 s (3.48 s) · nodes redis1, redis2 · scope redis · iteration 2 · fault f2\n>\n'
    + '> redis1 acknowledged writes that never reached redis2 before it was promoted.\n> They are gone from the new primary.\n>\n'
    + '> _INFO replication (redis2)_\n>\n> ```\n> role:master\n> master_repl_offset:1234\n> <script>alert("evidence")</script>\n> ```\n'));
  t.true(md.includes('> [!WARNING]\n> **WARNING: Sentinel took 3.2 s to promote a replica**\n> t+20.10 s · scope redis\n>\n> down-after-milliseconds is 3000.\n'));
  t.true(md.includes('> [!NOTE]\n> **INFO: Redis 7.2.4**\n> t+5 ms\n'));
  t.true(md.indexOf('[!CAUTION]') < md.indexOf('[!WARNING]') && md.indexOf('[!WARNING]') < md.indexOf('[!NOTE]'));
  t.false(md.includes('hunter2'));
});

test('summary.md: evidence with backticks gets a longer fence, and Markdown in titles is neutralised', async (t) => {
  const tricky: FindingEvent = { ...SLOW_FAILOVER_FINDING, id: 'x', title: 'a *bold* <img src=x> claim', evidence: [{ label: 'log', text: 'before\n```\ninside\n```\nafter' }] };
  const md = renderMarkdown(await reportOf(t, [...twoFaultEvents({ findings: false }), tricky]));
  t.true(md.includes('> **WARNING: a \\*bold\\* &lt;img src=x> claim**'));
  t.true(md.includes('> ````\n> before\n> ```\n> inside\n> ```\n> after\n> ````'));
});

test('report.html: a findings banner at the very top (red when critical), evidence escaped in <pre>', async (t) => {
  const html = await renderHtml(await reportOf(t, twoFaultEvents()));
  const main = html.slice(html.indexOf('<main>') + '<main>'.length).trimStart();
  t.true(main.startsWith('<section class="findings critical" id="findings" role="alert" aria-label="Findings">\n<h2>Findings <span class="count">1 critical, 1 warning</span></h2>'));
  t.true(html.indexOf('id="findings"') < html.indexOf('<header class="verdict'));
  t.regex(html, /<article class="finding critical" id="finding-lost-writes:redis-write">\n<div class="head"><span class="pill bad">CRITICAL<\/span> <strong class="title">12 acknowledged writes lost \(redis-write\)<\/strong><\/div>\n<div class="facts"><span>t\+20\.00 s → t\+23\.48 s \(3\.48 s\)<\/span><span>nodes redis1, redis2<\/span><span>scope redis<\/span><span>iteration 2<\/span><span>fault f2<\/span><\/div>/);
  t.true(html.includes('<p class="detail">redis1 acknowledged writes that never reached redis2 before it was promoted.<br>They are gone from the new primary.</p>'));
  t.true(html.includes('<figure class="evidence"><figcaption>INFO replication (redis2)</figcaption><pre>role:master\nmaster_repl_offset:1234\n&lt;script&gt;alert(&quot;evidence&quot;)&lt;/script&gt;</pre></figure>'));
  t.regex(html, /<article class="finding warning"[^>]*>\n<div class="head"><span class="pill warn">WARNING<\/span>/);
  t.is(html.match(/<script[\s>]/g)?.length, 3, 'the evidence opened no script element');
  t.false(html.includes('hunter2'));

  const amber = await renderHtml(await reportOf(t, [...twoFaultEvents({ findings: false }), SLOW_FAILOVER_FINDING]));
  t.regex(amber, /<section class="findings warning" id="findings"/);
  const quiet = await renderHtml(await reportOf(t, twoFaultEvents({ findings: false })));
  t.false(quiet.includes('id="findings"'));
});

test('junit.xml: each critical finding is a failed testcase of a findings suite; warnings pass with their text', async (t) => {
  const xml = renderJunit(await reportOf(t, [...twoFaultEvents(), info]));
  t.regex(xml, /<testsuites name="redis-failover" tests="10" failures="4" errors="0"/);
  t.regex(xml, /<testsuite name="findings" tests="3" failures="1" errors="0"/);
  t.regex(xml, /<testcase name="critical: 12 acknowledged writes lost \(redis-write\)" classname="redis-failover\.findings\.lost-writes" time="0">\n {6}<failure message="12 acknowledged writes lost \(redis-write\) \(t\+20\.00 s → t\+23\.48 s \(3\.48 s\) · nodes redis1, redis2 · scope redis · iteration 2 · fault f2\)" type="lost-writes">CRITICAL: 12 acknowledged writes lost/);
  t.true(xml.includes('--- INFO replication (redis2)\nrole:master\nmaster_repl_offset:1234\n&lt;script&gt;alert("evidence")&lt;/script&gt;'));
  t.regex(xml, /<testcase name="warning: Sentinel took 3\.2 s to promote a replica" [^>]*>\n {6}<system-out>WARNING: Sentinel/);
  t.notRegex(xml, /<testcase name="warning:[^>]*>\n {6}<failure/);
  const quiet = renderJunit(await reportOf(t, twoFaultEvents({ findings: false })));
  t.false(quiet.includes('<testsuite name="findings"'));
});

test('console text: most severe first, one block per finding, long evidence cut', async (t) => {
  const long: FindingEvent = { ...SLOW_FAILOVER_FINDING, id: 'long', evidence: [{ label: 'log', text: Array.from({ length: 15 }, (_, i) => `line ${i + 1}`).join('\n') }] };
  const report = await reportOf(t, [...twoFaultEvents({ findings: false }), long, LOST_WRITES_FINDING]);
  const text = renderFindingsText(report.findings, { maxEvidenceLines: 3 });
  t.is(text, [
    'FINDINGS: 1 critical, 1 warning',
    'CRITICAL  12 acknowledged writes lost (redis-write)',
    '          t+20.00 s → t+23.48 s (3.48 s) · nodes redis1, redis2 · scope redis · iteration 2 · fault f2',
    '          redis1 acknowledged writes that never reached redis2 before it was promoted.',
    '          They are gone from the new primary.',
    '          evidence: INFO replication (redis2)',
    '            | role:master',
    '            | master_repl_offset:1234',
    '            | <script>alert("evidence")</script>',
    '          evidence: sentinel log',
    '            | +switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379 password=***',
    'WARNING   Sentinel took 3.2 s to promote a replica',
    '          t+20.10 s · scope redis',
    '          down-after-milliseconds is 3000.',
    '          evidence: log',
    '            | line 1',
    '            | line 2',
    '            | line 3',
    '            | … 12 more lines (see report.html)',
  ].join('\n'));
  t.is(renderFindingsText([]), '');
  // The journal's own events work too (their `type` is ignored).
  t.regex(renderFindingsText([SLOW_FAILOVER_FINDING]), /^FINDINGS: 1 warning\nWARNING {3}Sentinel/);
});

test('`report <journal>` prints the findings after the verdict', async (t) => {
  const dir = await tempDir(t);
  const journalPath = await writeJournal(dir, twoFaultEvents());
  const out: string[] = [];
  t.is(await main([journalPath, '--out', `${dir}/r`, '--no-png'], { out: (l) => out.push(l), err: () => {} }), 0);
  t.regex(out[0]!, /^FAILED: 3 of 4 hypotheses failed/);
  t.regex(out[1]!, /^FINDINGS: 1 critical, 1 warning\nCRITICAL {2}12 acknowledged writes lost/);
});

test('a malformed finding from a newer or buggy writer is kept, with what can be read', async (t) => {
  const odd = { type: 'finding', id: 'odd', severity: 'fatal', title: 42, at: 'soon', evidence: [{ label: 'x', text: { rows: 3 } }, 'junk'], nodes: ['a', 1] } as unknown as JournalEvent;
  const report = await reportOf(t, [...twoFaultEvents({ findings: false }), odd]);
  t.deepEqual(report.findings, [{ id: 'odd', kind: 'finding', severity: 'warning', title: 'finding', detail: '', at: 0, nodes: ['a', '1'], evidence: [{ label: 'x', text: '{"rows":3}' }] }]);
  t.true(renderMarkdown(report).includes('### Findings'));
});
