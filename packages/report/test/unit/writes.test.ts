// Lost writes explained: per write check, by acknowledging node, by window and per fault with its RPO.
import test from 'ava';
import { renderHtml, renderMarkdown, reportSchema } from '../../src/index.ts';
import { WRITE_CHECK, reportOf, twoFaultEvents } from '../support/scenarios.ts';

test('report.json carries the write checks as the journal has them (without type)', async (t) => {
  const report = await reportOf(t, twoFaultEvents());
  t.true(reportSchema.safeParse(report).success);
  const { type: _type, ...check } = WRITE_CHECK;
  t.deepEqual(report.writeChecks, [check]);
});

test('summary.md: a Lost writes section with the check, lost by node and by window, RPO per fault and examples', async (t) => {
  const md = renderMarkdown(await reportOf(t, twoFaultEvents()));
  t.true(md.indexOf('### Hypotheses') < md.indexOf('### Lost writes') && md.indexOf('### Lost writes') < md.indexOf('### Probes'));
  t.true(md.includes('### Lost writes\n\n| probe | store | acked | present | lost | ghost | worst RPO |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n'
    + '| `redis-write` | keys resilience:\\* on the primary | 3,000 | 2,988 | **12** | 1 | **1.20 s** |'));
  t.true(md.includes('#### redis-write: 12 of 3,000 acknowledged writes lost, 1 ghost write (keys resilience:\\* on the primary)'));
  // Most lost first.
  t.true(md.includes('**Lost by acknowledging node**\n\n| node | lost |\n| --- | ---: |\n| `redis1` | **10** |\n| `unknown` | **2** |'));
  t.true(md.includes('**Lost by window**\n\n| acknowledged | lost |\n| --- | ---: |\n| before the fault | **1** |\n| fault to election | **8** |\n| election to heal | **3** |\n| after heal | 0 |'));
  t.true(md.includes('| fault | scope | lost | RPO | first lost ack | last lost ack |\n| --- | --- | ---: | ---: | ---: | ---: |\n'
    + '| `f1 (kill redis1)` | redis #1 | 0 | 0 ms | — | — |\n'
    + '| `f2 (kill redis2)` | redis #2 | **12** | **1.20 s** | t+19.99 s | t+21.18 s |'));
  t.true(md.includes('**Examples** (the first 10 of 12 lost)\n\n| id | acknowledged | node | window |'));
  t.true(md.includes('| `w-1999` | t+19.99 s | `redis1` | before the fault |\n| `w-2000` | t+20.09 s | `redis1` | fault to election |'));
  t.true(md.includes('| `w-2008` | t+20.89 s | `redis1` | election to heal |'));
  t.false(md.includes('w-2009'), 'only the first 10 examples');
});

test('summary.md: a check that lost nothing has its row and no breakdown; a run without checks has no section', async (t) => {
  const clean = { ...WRITE_CHECK, present: 3000, lost: 0, ghost: 0, lostByNode: {}, lostByWindow: { 'before-fault': 0, fault: 0, 'after-election': 0, 'after-heal': 0 }, examples: [], perFault: WRITE_CHECK.perFault.map((f) => ({ ...f, lost: 0, rpoSeconds: 0, firstLostAckAt: null, lastLostAckAt: null })) };
  const md = renderMarkdown(await reportOf(t, [...twoFaultEvents({ writeCheck: false, findings: false }), clean]));
  t.true(md.includes('| `redis-write` | keys resilience:\\* on the primary | 3,000 | 3,000 | 0 | 0 | 0 ms |'));
  t.false(md.includes('**Lost by window**'));
  const none = renderMarkdown(await reportOf(t, twoFaultEvents({ writeCheck: false })));
  t.false(none.includes('### Lost writes'));
});

test('report.html: a Lost writes section and a tile', async (t) => {
  const html = await renderHtml(await reportOf(t, twoFaultEvents()));
  t.true(html.indexOf('<h2>Hypotheses</h2>') < html.indexOf('<h2>Lost writes</h2>') && html.indexOf('<h2>Lost writes</h2>') < html.indexOf('<h2>Timeline</h2>'));
  t.regex(html, /<div class="tile" id="tile-lost"><div class="label">Lost writes<\/div><div class="value bad">12<\/div><div class="sub" title="of 3,000 acked, 1 write probe">/);
  t.regex(html, /<div class="card write-check lost"><h3 class="table-title">redis-write: 12 of 3,000 acknowledged writes lost, 1 ghost write \(keys resilience:\* on the primary\)<\/h3>/);
  t.regex(html, /<div class="small" id="lost-by-node-redis-write"><h4>Lost by acknowledging node<\/h4><table>.*?<tr><td><code>redis1<\/code><\/td><td class="num bad">10<\/td><\/tr>/s);
  t.regex(html, /<div class="small" id="lost-by-window-redis-write">.*?<tr><td>fault to election<\/td><td class="num bad">8<\/td><\/tr>\n<tr><td>election to heal<\/td><td class="num bad">3<\/td><\/tr>/s);
  t.regex(html, /<div class="small" id="rpo-redis-write">.*?<tr><td><code>f2 \(kill redis2\)<\/code><\/td><td>redis #2<\/td><td class="num bad">12<\/td><td class="num bad">1\.20 s<\/td><td class="num">t\+19\.99 s<\/td><td class="num">t\+21\.18 s<\/td><\/tr>/s);
  const none = await renderHtml(await reportOf(t, twoFaultEvents({ writeCheck: false })));
  t.false(none.includes('<h2>Lost writes</h2>'));
  t.false(none.includes('id="tile-lost"'));
});
