// report.html: one self-contained page (uPlot, styles, data and chart code inline; a CSP that
// forbids any request), readable offline years later and attachable to a ticket as one file.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { SEVERITY_LABEL, findingCounts, findingFacts, sortFindings, topSeverity } from './findings.ts';
import { NONE, OUTCOME_LABEL, formatAt, formatCount, formatLatency, formatMs, formatRatio } from './format.ts';
import { partialText } from './markdown.ts';
import { comparisonHeadline, comparisonNotes, comparisonTable } from './compare.ts';
import type { Report, ReportFinding } from './schema.ts';
import {
  errorsTable, evidenceTables, evidenceTitle, faultsTable, hypothesesTables, measurementsTable, phasesTable, probePhasesTable, probesTable, variantsTable,
  worstRtoText, writeCheckDetailTables, writeCheckHeadline, writeChecksTable,
} from './tables.ts';
import type { Cell, Table } from './tables.ts';
import { resourcesHtml } from './resource-charts.ts';
import { loadScreenshots } from './screenshots.ts';
import type { LoadedScreenshot } from './screenshots.ts';
import { overlapsTable, roleChartId, roleChartTitle, roleMomentsText, rolesTable, splitBrainText, swimlaneKey, swimlaneSvg } from './swimlanes.ts';

const require = createRequire(import.meta.url);

/** The page's assets, read once: uPlot's IIFE build and CSS, our CSS and chart code. */
let assets: Promise<{ uplotJs: string; uplotCss: string; css: string; charts: string }> | null = null;

function loadAssets(): Promise<{ uplotJs: string; uplotCss: string; css: string; charts: string }> {
  assets ??= (async () => {
    const [uplotJs, uplotCss, css, charts] = await Promise.all([
      readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
      readFile(new URL('./assets/report.css', import.meta.url), 'utf8'),
      readFile(new URL('./assets/charts.js', import.meta.url), 'utf8'),
    ]);
    return { uplotJs, uplotCss, css, charts };
  })();
  return assets;
}

// Nothing may be fetched: inline scripts and styles only, images only as data: URLs.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export interface RenderHtmlOptions {
  /**
   * The run's report folder (where the journal is): the screenshots report.json names are read
   * from it and inlined. Without it the page says they are not available.
   */
  readonly attachmentsDir?: string;
}

export async function renderHtml(report: Report, options: RenderHtmlOptions = {}): Promise<string> {
  const a = await loadAssets();
  const shots = await loadScreenshots(report.screenshots?.shown ?? [], options.attachmentsDir);
  const { run, verdict } = report;
  const title = `${OUTCOME_LABEL[verdict.outcome]} · ${run.workflow} · ${run.id}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">
<meta name="generator" content="${esc(`${report.generator.name} ${report.generator.version}`)}">
<title>${esc(title)}</title>
<style>${styleText(a.uplotCss)}</style>
<style>${styleText(a.css)}</style>
</head>
<body>
<main>
${findingsBanner(report)}
${header(report)}
${run.partial ? `<div class="banner" role="alert">⚠ ${esc(partialText(report))}</div>` : ''}
${tiles(report)}
${variantsSection(report)}
${section('Hypotheses', hypothesesTables(report).map((t) => table(t, t.caption)).join('\n'))}
${baselineSection(report)}
${lostWritesSection(report)}
${evidenceSection(report)}
${screenshotsSection(report, shots)}
${section('Timeline', charts(report))}
${resourcesHtml(report)}
${rolesSection(report)}
${section('Probes', table(probesTable(report)) + table(probePhasesTable(report), 'Per phase') + table(errorsTable(report), 'Errors clients saw'))}
${section('Measurements', table(measurementsTable(report)))}
${section('Faults', table(faultsTable(report)))}
${section('Phases', table(phasesTable(report)))}
${section('Settings and environment', details(report))}
<footer>${esc(report.generator.name)} ${esc(report.generator.version)} · report.json schema v${report.schemaVersion} · generated ${esc(report.generatedAt)} · journal <code>${esc(report.journal.file)}</code>, ${formatCount(report.journal.events)} events</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(chartData(report))}</script>
<script>${scriptText(a.uplotJs)}</script>
<script>${scriptText(a.charts)}</script>
</body>
</html>
`;
}

function header(report: Report): string {
  const { run, verdict } = report;
  const facts: [string, string][] = [
    ['Run id', `<code>${esc(run.id)}</code>`],
    ['Started', esc(run.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))],
    ['Duration', esc(formatMs(run.durationMs) + (run.status === 'interrupted' ? ' (to the last event)' : ''))],
    ['Status', esc(run.status)],
    ['Exit code', run.exitCode === null ? NONE : String(run.exitCode)],
    ['Faults · probes', `${report.faultCount} · ${report.probes.length}`],
  ];
  return `<header class="verdict ${esc(verdict.outcome)}">
<div class="badge"><div class="word">${esc(OUTCOME_LABEL[verdict.outcome])}</div><div class="why">${esc(verdict.reason)}</div></div>
<div class="facts"><h1>${esc(run.workflow)}</h1><dl>${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join('')}</dl></div>
</header>`;
}

/** The findings, most severe first, above everything else: red when one is critical, amber for warnings. */
function findingsBanner(report: Report): string {
  if (report.findings.length === 0) return '';
  const level = topSeverity(report.findings)!;
  const items = sortFindings(report.findings).map(findingHtml).join('\n');
  return `<section class="findings ${level}" id="findings" role="alert" aria-label="Findings">
<h2>Findings <span class="count">${esc(findingCounts(report.findings))}</span></h2>
${items}
</section>`;
}

function findingHtml(f: ReportFinding): string {
  const tone = f.severity === 'critical' ? 'bad' : f.severity === 'warning' ? 'warn' : 'info';
  const detail = f.detail.trim() ? `<p class="detail">${esc(f.detail.trim()).replace(/\r?\n/g, '<br>')}</p>` : '';
  const evidence = f.evidence.map((e) => `<figure class="evidence"><figcaption>${esc(e.label || 'evidence')}</figcaption><pre>${esc(e.text.replace(/\s+$/, ''))}</pre></figure>`).join('');
  return `<article class="finding ${esc(f.severity)}" id="finding-${esc(f.id)}">
<div class="head"><span class="pill ${tone}">${esc(SEVERITY_LABEL[f.severity])}</span> <strong class="title">${esc(f.title)}</strong></div>
<div class="facts">${findingFacts(f).map((x) => `<span>${esc(x)}</span>`).join('')}</div>
${detail}${evidence}
</article>`;
}

function tiles(report: Report): string {
  const probes = report.probes;
  const worst = [...probes].filter((p) => p.availability !== null).sort((a, b) => a.availability! - b.availability!)[0];
  const longest = [...probes].sort((a, b) => b.outageMs - a.outageMs)[0];
  // RTO over every fault of every probe: a probe that did not recover after one fault is the worst of all.
  const judged = probes.filter((p) => p.worst.status !== 'no-faults');
  const notRecovered = judged.filter((p) => p.worst.status === 'not-recovered');
  const slowest = [...judged].sort((a, b) => (b.worst.rtoMs ?? -1) - (a.worst.rtoMs ?? -1))[0];
  const failed = report.verdict.hypotheses.filter((h) => !h.ok).length;
  const tile = (label: string, value: string, sub: string, tone = '', id = ''): string =>
    `<div class="tile"${id ? ` id="${esc(id)}"` : ''}><div class="label">${esc(label)}</div><div class="value ${tone}">${esc(value)}</div><div class="sub" title="${esc(sub)}">${esc(sub)}</div></div>`;
  const rtoTile = notRecovered.length
    ? tile('Worst RTO', 'not recovered', notRecovered.map((p) => p.name).join(', '), 'bad text', 'tile-rto')
    : slowest
      ? tile('Worst RTO', worstRtoText(slowest), `${slowest.name}${slowest.worst.faultId ? ` · fault ${slowest.worst.faultId}` : ''}`, slowest.worst.rtoMs === 0 ? 'text' : '', 'tile-rto')
      : tile('Worst RTO', NONE, 'no faults', '', 'tile-rto');
  const checks = report.writeChecks;
  const lost = checks.reduce((n, c) => n + c.lost, 0);
  const acked = checks.reduce((n, c) => n + c.acked, 0);
  return `<div class="tiles">
${report.verdict.hypotheses.length === 0
    ? tile('Hypotheses', NONE, 'none checked')
    : tile('Hypotheses', `${report.verdict.hypotheses.length - failed} / ${report.verdict.hypotheses.length}`, 'held', failed > 0 ? 'bad' : 'ok')}
${tile('Lowest availability', formatRatio(worst?.availability), worst ? worst.name : 'no samples', worst && worst.availability! < 1 ? 'warn' : '')}
${tile('Longest outage', formatMs(longest?.outageMs), longest ? longest.name : 'no samples', longest && longest.outageMs > 0 ? 'warn' : '')}
${rtoTile}
${checks.length ? tile('Lost writes', formatCount(lost), `of ${formatCount(acked)} acked, ${checks.length} write probe${checks.length === 1 ? '' : 's'}`, lost > 0 ? 'bad' : 'ok', 'tile-lost') : ''}
${report.baseline ? tile('Against baseline', report.baseline.regressions ? `${report.baseline.regressions} regressed` : 'no regression', `of ${report.baseline.rows.length} metrics, run ${report.baseline.run.id}`, report.baseline.regressions ? 'bad' : 'ok', 'tile-baseline') : ''}
${tile('All-probe outage', formatMs(report.anyProbeOutage.outageMs), `union of failing intervals${report.anyProbeOutage.exact ? '' : ' (lower bound)'}`)}
</div>`;
}

function variantsSection(report: Report): string {
  const t = variantsTable(report);
  return t ? section(t.title, table(t)) : '';
}

/** The run beside its baseline (`--baseline`): per probe and scope baseline, current, diff, noise and verdict, regressions in red. */
function baselineSection(report: Report): string {
  const c = report.baseline;
  if (!c) return '';
  const head = `<p class="baseline-head ${c.regressions ? 'bad' : 'ok'}">${esc(comparisonHeadline(c))}${c.source ? ` · <code>${esc(c.source)}</code>` : ''}</p>`;
  const notes = `<ul class="baseline-notes">${comparisonNotes(c).map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`;
  return `<section id="baseline"><h2>Compared with baseline</h2><div class="card">${head}${tableElement(comparisonTable(c))}${notes}</div></section>`;
}

function lostWritesSection(report: Report): string {
  if (report.writeChecks.length === 0) return '';
  const details = report.writeChecks.filter((c) => c.lost > 0 || c.ghost > 0).map((c) => {
    const tables = writeCheckDetailTables(report, c).map((t) => smallTable(t)).join('');
    return `<div class="card write-check${c.lost > 0 ? ' lost' : ''}"><h3 class="table-title">${esc(writeCheckHeadline(c))}</h3><div class="write-detail">${tables}</div></div>`;
  }).join('\n');
  return section('Lost writes', table(writeChecksTable(report)) + details);
}

/** The workflow's evidence: one card per name (and variant) with its tables; no section without any. */
function evidenceSection(report: Report): string {
  const evidence = report.evidence ?? [];
  if (evidence.length === 0) return '';
  const cards = evidence.map((e) => {
    const tables = evidenceTables(e);
    const body = tables.length ? tables.map((t) => smallTable(t)).join('') : '<p class="empty">No table: the data is in evidence.json.</p>';
    return `<div class="card"><h3 class="table-title">${esc(evidenceTitle(e))}</h3><div class="ev-tables">${body}</div></div>`;
  }).join('\n');
  return `<section id="evidence"><h2>Evidence</h2>${cards}</section>`;
}

/** Failed journeys with what the page showed then: the first few, inlined, and how many more there were. */
function screenshotsSection(report: Report, loaded: ReadonlyMap<string, LoadedScreenshot>): string {
  const s = report.screenshots;
  if (!s || s.total === 0) return '';
  const figures = s.shown.map((shot) => {
    const image = loaded.get(shot.file);
    const caption = `<figcaption><strong>${esc(shot.probe)}</strong> · started ${esc(formatAt(shot.at))} · failed after ${esc(formatMs(shot.durationMs))}<br><code>${esc(shot.error || 'failed')}</code></figcaption>`;
    const body = image && 'dataUrl' in image
      ? `<img src="${image.dataUrl}" alt="${esc(`${shot.probe}: the page when the journey failed (${shot.file})`)}">`
      : `<p class="empty">Screenshot <code>${esc(shot.file)}</code>: ${esc(image && 'problem' in image ? image.problem : 'not available')}.</p>`;
    return `<figure class="shot">${caption}${body}</figure>`;
  }).join('\n');
  const left = s.total - s.shown.length;
  const more = left > 0 ? `<p class="more">${formatCount(left)} more failed journey${left === 1 ? '' : 's'} with a screenshot not shown here (their files are in the run's <code>screenshots/</code> folder).</p>` : '';
  return `<section id="screenshots"><h2>Failed journeys <span class="count">(${formatCount(s.total)})</span></h2><div class="card shots">${figures}${more}</div></section>`;
}

/** A table inside a card (no card of its own), with its title and caption. */
function smallTable(t: Table): string {
  const head = `<h4>${esc(t.title)}${t.caption ? ` <span class="caption">${esc(t.caption)}</span>` : ''}</h4>`;
  if (t.rows.length === 0) return `<div class="small" id="${esc(t.id)}">${head}<p class="empty">${esc(t.empty)}</p></div>`;
  return `<div class="small" id="${esc(t.id)}">${head}${tableElement(t)}</div>`;
}

function charts(report: Report): string {
  const tl = report.timeline;
  if (tl.probes.length === 0) return '<div class="card"><p class="empty">No samples to chart.</p></div>';
  const key = `<div class="key"><span class="rate">success rate</span><span class="p50">p50 latency</span><span class="p99">p99 latency</span><span class="errors">failed operations</span><span class="band">fault active</span><span class="fault">fault injected</span><span class="heal">healed</span><span class="phase">phase start</span></div>`;
  return tl.probes.map((p, i) => {
    const probe = report.probes.find((x) => x.name === p.probe);
    const stats = probe
      ? `availability ${formatRatio(probe.availability)}${(probe.shed ?? 0) > 0 ? ` (${formatCount(probe.shed ?? 0)} shed)` : ''} · outage ${formatMs(probe.outageMs)} · worst RTO ${worstRtoText(probe)} · p99 ${formatLatency(probe.latency?.p99Ms)} · ${formatMs(tl.bucketMs)} buckets`
      : '';
    return `<div class="card"><div class="chart-head"><h3><code>${esc(p.probe)}</code></h3><div class="stats">${esc(stats)}</div></div>${key}<div class="chart" id="chart-${i}" data-probe="${esc(p.probe)}"></div></div>`;
  }).join('\n');
}

/** Node roles: one swimlane chart per variant and system with role events; no section without any. */
function rolesSection(report: Report): string {
  const charts = report.roles ?? [];
  if (charts.length === 0) return '';
  const cards = charts.map((c) => {
    const split = c.overlaps.length > 0;
    const moments = roleMomentsText(report, c).map((t) => `<li>${esc(t)}</li>`).join('');
    return `<div class="card roles${split ? ' split' : ''}" id="${esc(roleChartId(c))}"><div class="chart-head"><h3><code>${esc(roleChartTitle(c))}</code></h3>`
      + `<div class="stats${split ? ' bad' : ''}">${esc(splitBrainText(c))}</div></div>${swimlaneKey()}${swimlaneSvg(report, c)}`
      + (moments ? `<ul class="rl-faults">${moments}</ul>` : '')
      + `<div class="rl-tables">${smallTable(rolesTable(c))}${split ? smallTable(overlapsTable(c)) : ''}</div></div>`;
  }).join('\n');
  return `<section id="roles"><h2>Node roles</h2>${cards}</section>`;
}

function details(report: Report): string {
  const block = (name: string, value: unknown): string =>
    `<details${Object.keys(value as object).length ? ' open' : ''}><summary>${esc(name)}</summary><pre>${esc(JSON.stringify(value, null, 2))}</pre></details>`;
  const analysis = `<p class="note">RTO needs ${esc(formatMs(report.analysis.sustainMs))} of sustained success; `
    + `latency budget ${report.analysis.latencyBudgetMs === null ? 'none' : esc(formatMs(report.analysis.latencyBudgetMs))}; `
    + `phases start at ${report.phases.map((p) => `${esc(p.name)} ${esc(formatAt(p.from))}`).join(', ') || NONE}.</p>`;
  return `<div class="card">${analysis}${block('Settings', report.settings)}${block('Environment', report.environment)}</div>`;
}

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>${body}</section>`;
}

function table(t: Table, heading?: string): string {
  const head = heading ? `<h3 class="table-title">${esc(capitalized(heading))}</h3>` : '';
  if (t.rows.length === 0) return `<div class="card" id="${esc(t.id)}">${head}<p class="empty">${esc(t.empty)}</p></div>`;
  return `<div class="card" id="${esc(t.id)}">${head}${tableElement(t)}</div>`;
}

function tableElement(t: Table): string {
  const th = t.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${esc(c.label)}</th>`).join('');
  const rows = t.rows.map((row) => `<tr>${row.map((cell, i) => td(cell, t.columns[i]?.numeric === true)).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function td(cell: Cell, numeric: boolean): string {
  const classes = [numeric ? 'num' : '', !cell.badge && cell.tone ? cell.tone : ''].filter(Boolean).join(' ');
  let body = esc(cell.text);
  if (cell.code) body = `<code>${body}</code>`;
  if (cell.badge) body = `<span class="pill ${cell.tone ?? ''}">${body}</span>`;
  return `<td${classes ? ` class="${classes}"` : ''}>${body}</td>`;
}

/** What the chart code needs, nothing more (keeps the page small). */
function chartData(report: Report): unknown {
  return {
    run: { durationMs: report.run.durationMs },
    faults: report.faults.map((f) => ({ at: f.at, healedAt: f.healedAt })),
    timeline: report.timeline,
  };
}

/** HTML-escaped text (for element content and double-quoted attributes). */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON that cannot end its <script> element early: every `<` becomes \u003c. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Script text that cannot close its element or open a comment state. */
function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function styleText(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}
