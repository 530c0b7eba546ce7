// Resource charts: per container a card of small inline SVG charts, one per metric (the mean as
// a line, min–max as a band, faults shaded), on the timeline charts' time axis; and the same
// series as a first / last / peak table for summary.md.
import { formatMetric } from '@resilience/fixtures/analysis';
import { formatCount, formatLatency, formatMs } from './format.ts';
import { esc } from './html.ts';
import type { Report, ReportFault, ResourceSeries, ResourceUnit } from './schema.ts';
import { axisEndMs } from './swimlanes.ts';
import type { Cell, Table } from './tables.ts';

/** A reading in its unit: `168.0 MiB`, `12.5 %`, `4.20 ms`, `1,024`. */
export function formatResource(value: number, unit: ResourceUnit): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'bytes':
      return formatMetric(value, 'bytes');
    case 'percent':
      return `${value.toFixed(1)} %`;
    case 'ms':
      return formatLatency(value);
    default:
      return Number.isInteger(value) ? formatCount(value) : value.toFixed(Math.abs(value) >= 100 ? 0 : 2);
  }
}

/** `120.0 MiB → 168.0 MiB, peak 170.2 MiB`: first and last reading, and the largest. */
export function resourceSummary(s: ResourceSeries): string {
  return `${formatResource(s.first, s.unit)} → ${formatResource(s.last, s.unit)}, peak ${formatResource(s.peak, s.unit)}`;
}

/** `memoryBytes 120.0 MiB → 168.0 MiB, peak 170.2 MiB`. */
export function resourceTitle(s: ResourceSeries): string {
  return `${s.metric} ${resourceSummary(s)}`;
}

/** The containers with series, in the order of the report (their first reading). */
export function resourceContainers(report: Report): { container: string; series: ResourceSeries[] }[] {
  const out = new Map<string, ResourceSeries[]>();
  for (const s of report.resources?.series ?? []) {
    let list = out.get(s.container);
    if (!list) out.set(s.container, (list = []));
    list.push(s);
  }
  return [...out].map(([container, series]) => ({ container, series }));
}

/** True when a fault hit the container: its target is the container's name, with or without a prefix (`rz-<run>-pg1`, `pgha-pg1`). */
export function faultHits(fault: Pick<ReportFault, 'targets'>, container: string): boolean {
  return fault.targets.some((t) => t === container || t.endsWith(`-${container}`) || container.endsWith(`-${t}`));
}

// Geometry of one chart (user units; it scales to its cell's width).
const W = 320;
const H = 96;
const LEFT = 2;
const RIGHT = 2;
const TOP = 12;
const BOTTOM = 4;
const PLOT_W = W - LEFT - RIGHT;
const PLOT_H = H - TOP - BOTTOM;

/**
 * One series as an inline SVG: faults shaded from injection to heal (darker when the fault
 * hit this container), the min–max band, the mean as a line through each bucket's middle (broken
 * where readings are missing for much longer than usual), the range of the y axis written in its
 * top and bottom corners. Coordinates have one decimal.
 */
export function resourceChartSvg(report: Report, s: ResourceSeries, bucketMs: number): string {
  const endMs = axisEndMs(report);
  const x = (t: number): number => LEFT + (Math.min(Math.max(t, 0), endMs) / endMs) * PLOT_W;
  let lo = Math.min(...s.min);
  let hi = Math.max(...s.max);
  if (!(hi > lo)) {
    const pad = Math.abs(hi) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const y = (v: number): number => TOP + (1 - (v - lo) / (hi - lo)) * PLOT_H;
  const parts: string[] = [];

  const own: string[] = [];
  const other: string[] = [];
  for (const f of report.faults) {
    const x0 = x(f.at);
    const w = Math.max(1, x(f.healedAt ?? endMs) - x0);
    (faultHits(f, s.container) ? own : other).push(`M${d(x0)} ${TOP}h${d(w)}v${PLOT_H}h${d(-w)}z`);
  }
  const faultText = (n: number, what: string): string => `${n} fault${n === 1 ? '' : 's'}${what}, injection to heal`;
  if (other.length) parts.push(`<path class="rs-band" d="${other.join('')}"><title>${esc(faultText(other.length, ''))}</title></path>`);
  if (own.length) parts.push(`<path class="rs-band rs-band-own" d="${own.join('')}"><title>${esc(faultText(own.length, ` on ${s.container}`))}</title></path>`);

  // Runs of buckets without a gap much longer than the usual spacing.
  const gaps = s.t.slice(1).map((t, i) => t - s.t[i]!).sort((a, b) => a - b);
  const usual = gaps.length ? gaps[gaps.length >> 1]! : bucketMs;
  const maxGap = Math.max(2 * bucketMs, 3 * usual);
  const runs: [number, number][] = [];
  for (let i = 0; i < s.t.length; i++) {
    if (i === 0 || s.t[i]! - s.t[i - 1]! > maxGap) runs.push([i, i]);
    else runs[runs.length - 1]![1] = i;
  }
  const mid = (i: number): string => d(x(s.t[i]! + bucketMs / 2));
  const band: string[] = [];
  const line: string[] = [];
  for (const [a, b] of runs) {
    const top: string[] = [];
    const bottom: string[] = [];
    const mean: string[] = [];
    for (let i = a; i <= b; i++) {
      top.push(`${mid(i)},${d(y(s.max[i]!))}`);
      bottom.push(`${mid(i)},${d(y(s.min[i]!))}`);
      mean.push(`${mid(i)},${d(y(s.mean[i]!))}`);
    }
    if (s.max.slice(a, b + 1).some((v, k) => v !== s.min[a + k])) band.push(`M${top.join(' ')}L${bottom.reverse().join(' ')}z`);
    line.push(a === b ? `M${mean[0]}h0` : `M${mean[0]}L${mean.slice(1).join(' ')}`);
  }
  if (band.length) parts.push(`<path class="rs-range" d="${band.join('')}"/>`);
  parts.push(`<path class="rs-mean" d="${line.join('')}"/>`);
  parts.push(`<text class="rs-y" x="${LEFT}" y="${TOP - 3}">${esc(`${formatResource(lo, s.unit)} – ${formatResource(hi, s.unit)}`)}</text>`);
  const label = `${s.container} ${resourceTitle(s)}; mean per ${formatMs(bucketMs)} with min–max band${report.faults.length ? `, ${report.faults.length} fault${report.faults.length === 1 ? '' : 's'} shaded` : ''}`;
  return `<svg class="rs-svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(label)}" data-metric="${esc(s.metric)}" xmlns="http://www.w3.org/2000/svg">`
    + `<rect class="rs-bg" x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PLOT_H}"/>${parts.join('')}</svg>`;
}

/** The Resources section of the page: a card per container, a chart per metric; empty without series. */
export function resourcesHtml(report: Report): string {
  const containers = resourceContainers(report);
  if (!report.resources || containers.length === 0) return '';
  const { bucketMs } = report.resources;
  const key = '<div class="key rs-key"><span class="rs-k-mean">mean</span><span class="rs-k-range">min–max</span>'
    + '<span class="band">fault active</span><span class="rs-k-own">fault on this container</span></div>';
  const cards = containers.map(({ container, series }) => {
    const charts = series.map((s) => `<figure class="rs-chart"><figcaption><code>${esc(s.metric)}</code> ${esc(resourceSummary(s))}</figcaption>${resourceChartSvg(report, s, bucketMs)}</figure>`).join('');
    const stats = `${series.length} metric${series.length === 1 ? '' : 's'} · ${formatMs(bucketMs)} buckets`;
    return `<div class="card resources" id="resources-${esc(slug(container))}"><div class="chart-head"><h3><code>${esc(container)}</code></h3><div class="stats">${esc(stats)}</div></div><div class="rs-grid">${charts}</div></div>`;
  }).join('\n');
  return `<section id="resources"><h2>Resources</h2>${key}${cards}</section>`;
}

/** Per container and metric: first, last and peak reading. */
export function resourcesTable(report: Report): Table {
  const cell = (text: string, extra: Omit<Cell, 'text'> = {}): Cell => ({ text, ...extra });
  return {
    id: 'resources',
    title: 'Resources',
    columns: [{ label: 'container' }, { label: 'metric' }, { label: 'first', numeric: true }, { label: 'last', numeric: true }, { label: 'peak', numeric: true }],
    rows: (report.resources?.series ?? []).map((s) => [
      cell(s.container, { code: true }), cell(s.metric),
      cell(formatResource(s.first, s.unit)), cell(formatResource(s.last, s.unit)), cell(formatResource(s.peak, s.unit)),
    ]),
    empty: 'No resource readings.',
  };
}

/** A coordinate with at most one decimal. */
function d(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}

