// Several variants (the app hardened and naive): a side-by-side table, hypotheses per variant.
// With one variant or none nothing changes.
import test from 'ava';
import type { JournalEvent } from '@resilience/fixtures/events';
import { renderHtml, renderJunit, renderMarkdown } from '../../src/index.ts';
import { reportOf, twoFaultEvents, variantEvents } from '../support/scenarios.ts';

test('report.json: the variants in the order they ran, on probes, faults, hypotheses and measurements', async (t) => {
  const report = await reportOf(t, variantEvents());
  t.deepEqual(report.variants, ['hardened', 'naive']);
  t.deepEqual(report.probes.map((p) => [p.name, p.variant, p.worst.status, p.rtoMs]), [
    ['app-write@hardened', 'hardened', 'recovered', 1501],
    ['app-read@hardened', 'hardened', 'recovered', 401],
    ['app-write@naive', 'naive', 'recovered', 4001],
    ['app-read@naive', 'naive', 'recovered', 1001],
  ]);
  // A variant's probes are judged on its own faults only.
  t.deepEqual(report.probes.map((p) => p.recoveries.map((r) => r.faultId)), [['h1'], ['h1'], ['n1'], ['n1']]);
  t.deepEqual(report.faults.map((f) => f.variant), ['hardened', 'naive']);
  t.deepEqual(report.verdict.hypotheses.map((h) => h.variant), ['hardened', 'hardened', 'naive', 'naive']);
  t.deepEqual(report.measurements.map((m) => m.variant), ['hardened', 'naive']);
});

test('summary.md: one row per probe and key metric, one column per variant', async (t) => {
  const md = renderMarkdown(await reportOf(t, variantEvents()));
  t.true(md.indexOf('### Variants side by side') < md.indexOf('### Hypotheses'));
  t.true(md.includes([
    '### Variants side by side',
    '',
    '| probe | metric | hardened | naive |',
    '| --- | --- | ---: | ---: |',
    '| `app-write` | availability | 92.50 % | 80.00 % |',
    '| `app-write` | p99 latency | 5.00 ms | 5.00 ms |',
    '| `app-write` | worst RTO | 1.50 s | 4.00 s |',
    '| `app-write` | lost writes | 0 of 1,850 | **7 of 900** |',
    '| `app-read` | availability | 98.00 % | 95.00 % |',
    '| `app-read` | p99 latency | 5.00 ms | 5.00 ms |',
    '| `app-read` | worst RTO | 401 ms | 1.00 s |',
  ].join('\n')));
});

test('summary.md: hypotheses grouped per variant', async (t) => {
  const md = renderMarkdown(await reportOf(t, variantEvents()));
  const section = md.slice(md.indexOf('### Hypotheses'), md.indexOf('### Lost writes'));
  t.true(section.includes('#### Variant hardened\n\n| result | hypothesis | observed | threshold | description |\n| --- | --- | ---: | ---: | --- |\n'
    + '| ✅ held | `rto(app-write) <= 5s` | 1.50 s | 5.00 s |  |\n| ✅ held | `lostWrites(app-write) == 0` | 0 | 0 |  |'));
  t.true(section.includes('#### Variant naive\n\n| result | hypothesis | observed | threshold | description |\n| --- | --- | ---: | ---: | --- |\n'
    + '| ✅ held | `rto(app-write) <= 5s` | 4.00 s | 5.00 s |  |\n| ❌ failed | `lostWrites(app-write) == 0` | **7** | 0 |  |'));
  t.true(section.indexOf('Variant hardened') < section.indexOf('Variant naive'));
  // The lost writes table names the variant, the breakdown only the check that lost writes.
  t.true(md.includes('| `app-write` | naive | table items | 900 | 893 | **7** | 0 | **610 ms** |'));
  t.true(md.includes('#### app-write@naive: 7 of 900 acknowledged writes lost (table items)'));
  t.false(md.includes('#### app-write@hardened'));
});

test('summary.md: hypotheses of the whole run come first, under their own heading', async (t) => {
  const events = variantEvents().map((e) => (e.type === 'verdict'
    ? { ...e, hypotheses: [{ name: 'anyProbeOutage <= 10s', ok: true, observed: 5500, threshold: 10_000, unit: 'ms' as const }, ...e.hypotheses] }
    : e));
  const md = renderMarkdown(await reportOf(t, events));
  t.regex(md, /### Hypotheses\n\n#### Whole run\n\n\| result [^\n]*\n[^\n]*\n\| ✅ held \| `anyProbeOutage <= 10s` \| 5\.50 s \| 10\.00 s \| {2}\|\n\n#### Variant hardened/);
});

test('report.html: the side-by-side table and hypotheses per variant; JUnit names the variant', async (t) => {
  const report = await reportOf(t, variantEvents());
  const html = await renderHtml(report);
  t.true(html.includes('<section><h2>Variants side by side</h2><div class="card" id="variants"><table><thead><tr><th>probe</th><th>metric</th><th class="num">hardened</th><th class="num">naive</th></tr></thead>'));
  t.true(html.includes('<tr><td><code>app-write</code></td><td>lost writes</td><td class="num ok">0 of 1,850</td><td class="num bad">7 of 900</td></tr>'));
  t.regex(html, /<div class="card" id="hypotheses-variant-hardened"><h3 class="table-title">Variant hardened<\/h3>/);
  t.regex(html, /<div class="card" id="hypotheses-variant-naive"><h3 class="table-title">Variant naive<\/h3>/);
  t.true(html.indexOf('id="variants"') < html.indexOf('<h2>Hypotheses</h2>'));
  const xml = renderJunit(report);
  t.regex(xml, /<testcase name="lostWrites\(app-write\) == 0 \[naive\]" classname="redis-failover\.hypotheses" time="0">\n {6}<failure message="observed 7, threshold 0"/);
});

test('one variant or none: no side-by-side table and one hypotheses table', async (t) => {
  const one: JournalEvent[] = [{ type: 'variant', name: 'bookworm', at: 0 }, ...twoFaultEvents().map((e) => (e.type === 'verdict' ? { ...e, hypotheses: e.hypotheses.map((h) => ({ ...h, variant: 'bookworm' })) } : e))];
  for (const events of [one, twoFaultEvents()]) {
    const report = await reportOf(t, events);
    const md = renderMarkdown(report);
    t.false(md.includes('Variants side by side'));
    t.false(md.includes('#### Variant'));
    t.true(md.includes('### Hypotheses\n\n| result | hypothesis |'));
    const html = await renderHtml(report);
    t.false(html.includes('id="variants"'));
    t.true(html.includes('<div class="card" id="hypotheses"><table>'));
  }
});
