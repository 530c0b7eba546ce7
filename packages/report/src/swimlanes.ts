// Node roles as swimlanes: one inline SVG per (variant, system), one lane per node, with the
// faults, elections, heals, split brain and lost writes on the same time axis as the timeline
// charts; and the same charts as tables for summary.md. Spans narrower than a pixel are merged,
// so a 24 h run with a flapping node draws at most a few thousand rectangles.
import { formatDuration } from '@resilience/fixtures/analysis';
import { NONE, faultHealLabel, faultKindLabel, formatAt, formatCount, formatMs, formatSpan } from './format.ts';
import type { Report, ReportFault, ReportRoleChart, ReportRoleSpan } from './schema.ts';
import type { Cell, Table } from './tables.ts';

/** How a span is drawn: writable primary, primary that refuses writes, replica, down. */
export type RoleKey = 'writable' | 'readonly' | 'replica' | 'down';

export const ROLE_LABEL: Record<RoleKey, string> = {
  writable: 'writable primary',
  readonly: 'primary, not writable',
  replica: 'replica',
  down: 'down',
};

export function roleKey(s: Pick<ReportRoleSpan, 'role' | 'writable'>): RoleKey {
  if (s.role === 'down') return 'down';
  if (s.writable) return 'writable';
  return s.role === 'primary' ? 'readonly' : 'replica';
}

/** `postgres`, `postgres [bookworm]`. */
export function roleChartTitle(c: Pick<ReportRoleChart, 'scope' | 'variant'>): string {
  return c.variant ? `${c.scope} [${c.variant}]` : c.scope;
}

export function roleChartId(c: Pick<ReportRoleChart, 'scope' | 'variant'>): string {
  return `roles-${c.variant ? `${slug(c.variant)}-` : ''}${slug(c.scope)}`;
}

/** One line on split brain: its total length (splitBrainMs) and how often. */
export function splitBrainText(c: ReportRoleChart): string {
  if (c.overlaps.length === 0) return 'no split brain: never two writable primaries at once';
  const most = Math.max(...c.overlaps.map((o) => o.nodes.length));
  const n = c.overlaps.length;
  return `split brain: ${most} writable primaries at once for ${formatMs(c.splitBrainMs)} in ${n} interval${n === 1 ? '' : 's'}`;
}

/** The chart's faults (report.faults in injection order). */
export function chartFaults(report: Report, c: ReportRoleChart): ReportFault[] {
  return report.faults.filter((f) => c.faults.includes(f.id));
}

/** A fault for a label: its kind and targets without the run's `rz-<run id>-` prefix, at most four named. */
export function faultWhat(report: Report, fault: { readonly kind: string; readonly targets: readonly string[] }): string {
  const prefix = `rz-${report.run.id}-`;
  const names = fault.targets.map((t) => (t.startsWith(prefix) ? t.slice(prefix.length) : t));
  const shown = names.length > 4 ? `${names.slice(0, 4).join(', ')} +${names.length - 4} more` : names.join(', ');
  return `${faultKindLabel(fault.kind)}${shown ? ` ${shown}` : ''}`;
}

/** Faults, elections and demotions of a chart in one line each: `partition pg1 t+10.00 s → t+25.00 s (15.00 s), election +2.10 s`. */
export function roleMomentsText(report: Report, c: ReportRoleChart): string[] {
  return chartFaults(report, c).map((f) => {
    const moments = c.moments.filter((m) => m.faultId === f.id).map((m) => `${m.kind} +${formatDuration(m.afterMs)}`);
    const what = faultWhat(report, f);
    return [`${what} ${formatSpan(f.at, f.healedAt)}${f.healedAt === null ? ', not healed' : ''}`, ...moments].join(', ');
  });
}

const cell = (text: string, extra: Omit<Cell, 'text'> = {}): Cell => ({ text, ...extra });

/** Per node: time in each role, role changes, lost writes it acknowledged. */
export function rolesTable(c: ReportRoleChart): Table {
  const keys = Object.keys(ROLE_LABEL) as RoleKey[];
  return {
    id: `${roleChartId(c)}-nodes`,
    title: `Node roles: ${roleChartTitle(c)}`,
    columns: [{ label: 'node' }, ...keys.map((k) => ({ label: ROLE_LABEL[k], numeric: true })), { label: 'role changes', numeric: true }, { label: 'lost writes acked', numeric: true }],
    rows: c.nodes.map((node) => {
      const spans = c.spans.filter((s) => s.node === node);
      const time = (k: RoleKey): number => spans.filter((s) => roleKey(s) === k).reduce((a, s) => a + (s.to - s.from), 0);
      const lost = c.lostWrites.filter((l) => l.node === node).reduce((a, l) => a + l.count, 0);
      return [
        cell(node, { code: true }),
        ...keys.map((k) => {
          const ms = time(k);
          return ms > 0 ? cell(formatMs(ms)) : cell(NONE, { tone: 'muted' });
        }),
        cell(spans.length ? formatCount(spans.length - 1) : NONE),
        cell(formatCount(lost), lost > 0 ? { tone: 'bad' } : {}),
      ];
    }),
    empty: 'No role events.',
  };
}

/** Each split brain: when, how long, which nodes (the first `max`). */
export function overlapsTable(c: ReportRoleChart, max = 20): Table {
  const shown = c.overlaps.slice(0, max);
  return {
    id: `${roleChartId(c)}-split-brain`,
    title: 'Split brain',
    ...(c.overlaps.length > shown.length ? { caption: `the first ${shown.length} of ${c.overlaps.length}` } : {}),
    columns: [{ label: 'from', numeric: true }, { label: 'to', numeric: true }, { label: 'lasted', numeric: true }, { label: 'writable primaries' }],
    rows: shown.map((o) => [cell(formatAt(o.from)), cell(formatAt(o.to)), cell(formatMs(o.durationMs), { tone: 'bad' }), cell(o.nodes.join(', '), { code: true })]),
    empty: 'Never two writable primaries at once.',
  };
}

// Geometry of the SVG (user units; it scales to the card's width).
const W = 1000;
const LABEL_W = 112;
const RIGHT = 16;
const PLOT_W = W - LABEL_W - RIGHT;
const ROW_H = 14;
const ROWS = 3;
const TOP = ROWS * ROW_H + 6;
const LANE_H = 22;
const GAP = 6;
const AXIS_H = 22;
/** The timeline's time steps (seconds), as charts.js has them. */
const X_STEPS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** The end of the time axis (ms): the run's end or the last chart bucket's, as the timeline charts have it. */
export function axisEndMs(report: Report): number {
  const tl = report.timeline;
  const lastBucket = tl.t.length ? tl.t[tl.t.length - 1]! + tl.bucketMs : 0;
  return Math.max(report.run.durationMs, lastBucket, 1);
}

/** A tick label as charts.js writes it: seconds up to 15 min, then minutes up to 3 h, then hours. */
export function axisLabel(ms: number, endMs: number): string {
  const v = ms / 1000;
  const endS = endMs / 1000;
  if (endS <= 900) return `${+v.toFixed(2)} s`;
  if (endS <= 3 * 3600) return `${+(v / 60).toFixed(1)} min`;
  return `${+(v / 3600).toFixed(2)} h`;
}

/** A drawn segment of a lane: one span, or several shorter than a pixel merged. */
export interface LaneSegment {
  readonly from: number;
  readonly to: number;
  /** The role it shows: the span's, or for merged spans the one that held longest. */
  readonly key: RoleKey;
  /** Spans merged into it (1: a span as it is). */
  readonly spans: number;
  readonly detail?: string;
}

/**
 * A lane's spans as drawn at `msPerPx`: every span at least a pixel wide as it is; runs of
 * narrower ones merged into segments of about a pixel, shown in the role that held longest.
 */
export function laneSegments(spans: readonly ReportRoleSpan[], msPerPx: number): LaneSegment[] {
  const out: LaneSegment[] = [];
  let acc: { from: number; to: number; spans: number; time: Map<RoleKey, number>; first: ReportRoleSpan } | null = null;
  const flush = (): void => {
    if (!acc) return;
    if (acc.spans === 1) out.push(segmentOf(acc.first));
    else out.push({ from: acc.from, to: acc.to, key: [...acc.time].sort((a, b) => b[1] - a[1])[0]![0], spans: acc.spans });
    acc = null;
  };
  for (const s of [...spans].sort((a, b) => a.from - b.from)) {
    if (s.to - s.from >= msPerPx) {
      flush();
      out.push(segmentOf(s));
      continue;
    }
    acc ??= { from: s.from, to: s.from, spans: 0, time: new Map(), first: s };
    acc.to = s.to;
    acc.spans += 1;
    acc.time.set(roleKey(s), (acc.time.get(roleKey(s)) ?? 0) + (s.to - s.from));
    if (acc.to - acc.from >= msPerPx) flush();
  }
  flush();
  return out;
}

function segmentOf(s: ReportRoleSpan): LaneSegment {
  return { from: s.from, to: s.to, key: roleKey(s), spans: 1, ...(s.detail ? { detail: s.detail } : {}) };
}

interface Label {
  readonly x: number;
  readonly text: string;
  readonly cls: string;
}

/** The swimlane chart of one system as an inline SVG. */
export function swimlaneSvg(report: Report, c: ReportRoleChart): string {
  const endMs = axisEndMs(report);
  const msPerPx = endMs / PLOT_W;
  const x = (t: number): number => LABEL_W + (Math.min(Math.max(t, 0), endMs) / endMs) * PLOT_W;
  const laneY = (i: number): number => TOP + i * (LANE_H + GAP);
  const lanesH = c.nodes.length * LANE_H + Math.max(0, c.nodes.length - 1) * GAP;
  const height = TOP + lanesH + AXIS_H;
  const id = roleChartId(c);
  const top = TOP - 3;
  const bottom = TOP + lanesH + 3;
  const labels: Label[] = [];
  const parts: string[] = [];

  parts.push(`<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#57606a"/><line x1="1.5" y1="0" x2="1.5" y2="6" stroke="#24292f" stroke-width="3"/></pattern></defs>`);

  // Time grid and axis.
  const step = X_STEPS.find((s) => (s * 1000 / endMs) * PLOT_W >= 72) ?? X_STEPS[X_STEPS.length - 1]!;
  const ticks: string[] = [];
  for (let t = 0; t <= endMs + 1e-6; t += step * 1000) {
    const xp = f(x(t));
    ticks.push(`<line class="rl-grid" x1="${xp}" y1="${top}" x2="${xp}" y2="${bottom}"/><text class="rl-tick" x="${xp}" y="${bottom + 15}" text-anchor="middle">${esc(axisLabel(t, endMs))}</text>`);
  }
  parts.push(`<g class="rl-axis">${ticks.join('')}</g>`);

  // Faults: shaded from injection to heal, the heal marked.
  for (const fault of chartFaults(report, c)) {
    const x0 = x(fault.at);
    const x1 = x(fault.healedAt ?? endMs);
    const what = faultWhat(report, fault);
    parts.push(`<g class="rl-fault" data-fault="${esc(fault.id)}"><rect class="rl-band" x="${f(x0)}" y="${top}" width="${f(Math.max(1, x1 - x0))}" height="${bottom - top}"><title>${esc(`${what}: ${formatSpan(fault.at, fault.healedAt)}`)}</title></rect>`
      + `<line class="rl-fault-line" x1="${f(x0)}" y1="${top}" x2="${f(x0)}" y2="${bottom}"/>`
      + (fault.healedAt === null ? '' : `<line class="rl-heal" x1="${f(x1)}" y1="${top}" x2="${f(x1)}" y2="${bottom}"/>`)
      + '</g>');
    labels.push({ x: x0, text: `⚡ ${what}`, cls: 'rl-label-fault' });
    if (fault.healedAt !== null) labels.push({ x: x1, text: faultHealLabel(fault), cls: 'rl-label-heal' });
  }

  // Lanes: one per node, spans coloured by role.
  c.nodes.forEach((node, i) => {
    const y = laneY(i);
    const segments = laneSegments(c.spans.filter((s) => s.node === node), msPerPx).map((s) => {
      const x0 = x(s.from);
      const w = Math.max(x(s.to) - x0, 0.5);
      const what = s.spans > 1 ? `${formatCount(s.spans)} role changes shorter than a pixel, mostly ${ROLE_LABEL[s.key]}` : ROLE_LABEL[s.key] + (s.detail ? ` (${s.detail})` : '');
      const fill = s.key === 'down' ? ` fill="url(#${id}-hatch)"` : '';
      return `<rect class="rl-span rl-${s.key}${s.spans > 1 ? ' rl-merged' : ''}" data-role="${s.key}" x="${f(x0)}" y="${y}" width="${f(w)}" height="${LANE_H}"${fill}><title>${esc(`${node}: ${what}, ${formatSpan(s.from, s.to)}`)}</title></rect>`;
    });
    parts.push(`<g class="rl-lane" data-node="${esc(node)}"><text class="rl-node" x="${LABEL_W - 8}" y="${y + LANE_H / 2 + 4}" text-anchor="end">${esc(truncate(node, 16))}<title>${esc(node)}</title></text>`
      + `<rect class="rl-lane-bg" x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${LANE_H}"/>${segments.join('')}</g>`);
  });

  // Split brain across the lanes, at least 2 px wide so a 50 ms one in a day-long run shows.
  for (const o of c.overlaps) {
    const x0 = x(o.from);
    const w = Math.max(2, x(o.to) - x0);
    parts.push(`<g class="rl-split" data-ms="${o.durationMs}" data-nodes="${esc(o.nodes.join(','))}"><rect x="${f(x0)}" y="${top}" width="${f(w)}" height="${bottom - top}"/><title>${esc(`split brain ${formatMs(o.durationMs)}: ${o.nodes.join(', ')} writable at once, ${formatSpan(o.from, o.to)}`)}</title></g>`);
    labels.push({ x: x0, text: `split brain ${formatMs(o.durationMs)}`, cls: 'rl-label-split' });
  }

  // Lost writes on the lane of the node that acknowledged them, over the split-brain bands: a
  // bar per span at the bottom of the lane, its count beside it while there is room.
  c.nodes.forEach((node, i) => {
    const y = laneY(i);
    let lastTextEnd = -Infinity;
    const lost = c.lostWrites.filter((l) => l.node === node).map((l) => {
      const x0 = x(l.from);
      const w = Math.max(2, x(l.to) - x0);
      const text = formatCount(l.count);
      const showText = x0 >= lastTextEnd;
      if (showText) lastTextEnd = x0 + w + 3 + text.length * 6.5 + 4;
      return `<g class="rl-lost" data-node="${esc(node)}" data-count="${l.count}"><rect x="${f(x0)}" y="${y + LANE_H - 8}" width="${f(w)}" height="8"/>`
        + (showText ? `<text x="${f(x0 + w + 3)}" y="${y + LANE_H - 1}">${esc(text)}</text>` : '')
        + `<title>${esc(`${text} lost write${l.count === 1 ? '' : 's'} acknowledged by ${node} (${l.probe}), ${formatSpan(l.from, l.to)}`)}</title></g>`;
    });
    if (lost.length) parts.push(`<g class="rl-lane-lost" data-node="${esc(node)}">${lost.join('')}</g>`);
  });

  // Elections and demotions: a line across the lanes, a diamond on top.
  for (const m of c.moments) {
    const xp = x(m.at);
    parts.push(`<g class="rl-moment rl-${m.kind}" data-fault="${esc(m.faultId)}" data-at="${m.at}"><line x1="${f(xp)}" y1="${top}" x2="${f(xp)}" y2="${bottom}"/><path d="M${f(xp)} ${top - 5}l4 4-4 4-4-4z"/><title>${esc(`${m.kind} ${formatAt(m.at)}, ${formatDuration(m.afterMs)} after the fault`)}</title></g>`);
    labels.push({ x: xp, text: `${m.kind} +${formatDuration(m.afterMs)}`, cls: `rl-label-${m.kind}` });
  }

  parts.push(labelRows(labels));
  const legend = `${c.nodes.length} lane${c.nodes.length === 1 ? '' : 's'}, ${splitBrainText(c)}`;
  return `<svg class="swimlanes" id="${id}-svg" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${esc(`Node roles of ${roleChartTitle(c)}: ${legend}`)}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

/** Labels over the lanes, on up to three rows, each placed on the first row with room (as the timeline charts do). */
function labelRows(labels: readonly Label[]): string {
  const ends = Array.from({ length: ROWS }, () => -Infinity);
  return [...labels].sort((a, b) => a.x - b.x).map((l) => {
    const w = l.text.length * 6.2 + 6;
    let left = l.x + 3;
    let anchor = 'start';
    if (left + w > W) { left = l.x - 3; anchor = 'end'; }
    const start = anchor === 'end' ? left - w : left;
    let row = ends.findIndex((e) => e < start);
    if (row < 0) row = ends.indexOf(Math.min(...ends));
    ends[row] = anchor === 'end' ? left : left + w;
    return `<text class="rl-label ${l.cls}" x="${f(left)}" y="${(row + 1) * ROW_H - 2}" text-anchor="${anchor}">${esc(l.text)}</text>`;
  }).join('');
}

/** The colours of the lanes, for the key under each chart. */
export function swimlaneKey(): string {
  const items = [
    ['rl-k-writable', ROLE_LABEL.writable], ['rl-k-readonly', ROLE_LABEL.readonly], ['rl-k-replica', ROLE_LABEL.replica], ['rl-k-down', ROLE_LABEL.down],
    ['rl-k-split', 'split brain (≥ 2 writable primaries)'], ['rl-k-lost', 'lost writes (count), on the acknowledging node'],
    ['band', 'fault active'], ['rl-k-election', 'election'], ['heal', 'healed'],
  ];
  return `<div class="key rl-key">${items.map(([cls, text]) => `<span class="${cls}">${esc(text!)}</span>`).join('')}</div>`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A coordinate with at most two decimals. */
function f(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
