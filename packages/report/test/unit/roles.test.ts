// Node roles as swimlanes: one lane per node, split brain with its length, lost writes on the
// lane of the node that acknowledged them; nothing without role events.
import test from 'ava';
import { roleSpans, totalLength, writableOverlaps } from '@resilience/fixtures/analysis';
import type { JournalEvent, RoleEvent, WriteCheckEvent } from '@resilience/fixtures/events';
import { renderHtml, renderMarkdown, reportSchema } from '../../src/index.ts';
import { laneSegments } from '../../src/swimlanes.ts';
import { reportOf, samples } from '../support/scenarios.ts';

const FAULT_AT = 10_000;
const HEAL_AT = 25_000;
/** pg2 takes writes 2.1 s after the partition; pg1 refuses them only 3.3 s after: 1.2 s of split brain. */
const ELECTED_AT = FAULT_AT + 2100;
const DEMOTED_AT = FAULT_AT + 3300;
const END_AT = 40_000;

const role = (at: number, node: string, r: RoleEvent['role'], writable: boolean, extra: Partial<RoleEvent> = {}): RoleEvent =>
  ({ type: 'role', at, scope: 'postgres', node, role: r, writable, ...extra });

function roleEvents(extra: Partial<RoleEvent> = {}, shift = 0): RoleEvent[] {
  return [
    role(shift + 0, 'pg1', 'primary', true, { detail: 'not in recovery', ...extra }),
    role(shift + 0, 'pg2', 'replica', false, extra),
    role(shift + 0, 'pg3', 'replica', false, extra),
    role(shift + ELECTED_AT, 'pg2', 'primary', true, { detail: 'timeline 2', ...extra }),
    role(shift + DEMOTED_AT, 'pg1', 'primary', false, { detail: 'read-only', ...extra }),
    role(shift + HEAL_AT + 500, 'pg1', 'replica', false, extra),
    role(shift + FAULT_AT, 'pg3', 'down', false, { detail: 'connection refused', ...extra }),
    role(shift + FAULT_AT + 800, 'pg3', 'replica', false, extra),
  ];
}

const LOST_SPANS = [
  { node: 'pg1', from: ELECTED_AT + 100, to: DEMOTED_AT - 50, count: 42 },
  { node: 'pg2', from: HEAL_AT + 100, to: HEAL_AT + 100, count: 3 },
];

function writeCheck(extra: Partial<WriteCheckEvent> = {}): WriteCheckEvent {
  return {
    type: 'write-check', at: END_AT - 50, probe: 'sql-write', scope: 'postgres', store: 'table resilience_writes on the leader',
    acked: 3900, present: 3855, lost: 45, ghost: 0, lostByNode: { pg1: 42, pg2: 3 },
    lostByWindow: { 'before-fault': 0, fault: 42, 'after-election': 0, 'after-heal': 3 },
    perFault: [{ faultId: 'p1', scope: 'postgres', iteration: 1, lost: 45, rpoSeconds: 1.1, firstLostAckAt: ELECTED_AT + 100, lastLostAckAt: HEAL_AT + 100 }],
    lostSpans: LOST_SPANS, examples: [], ...extra,
  };
}

function partitionEvents(options: { roles?: boolean } = {}): JournalEvent[] {
  return [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'probe', name: 'sql-write', op: 'INSERT', scopes: ['postgres'], intervalMs: 10, writes: true, at: 0 },
    { type: 'fault-injected', id: 'p1', kind: 'partition', targets: ['pg1'], params: {}, at: FAULT_AT, scope: 'postgres', iteration: 1 },
    { type: 'fault-healed', id: 'p1', at: HEAL_AT },
    ...samples({ probe: 'sql-write', op: 'INSERT', to: END_AT, intervalMs: 50 }),
    ...(options.roles === false ? [] : roleEvents()),
    { type: 'measurement', at: HEAL_AT + 1000, name: 'election', value: 2100, unit: 'ms', description: 'fault start to a new writable primary', scope: 'postgres', iteration: 1 },
    { type: 'measurement', at: HEAL_AT + 1001, name: 'demotion', value: 3300, unit: 'ms', description: 'fault start to the old primary refusing writes', scope: 'postgres', iteration: 1 },
    writeCheck(),
    { type: 'run-end', status: 'completed', at: END_AT },
  ];
}

/** The markup of one lane (up to the next lane, split-brain band or the end of the chart). */
function lane(html: string, chartId: string, node: string): string {
  const chart = html.slice(html.indexOf(`id="${chartId}-svg"`));
  const start = chart.indexOf(`<g class="rl-lane" data-node="${node}">`);
  if (start < 0) return '';
  const rest = chart.slice(start + 1);
  const end = Math.min(...['<g class="rl-lane"', '<g class="rl-split"', '</svg>'].map((m) => rest.indexOf(m)).filter((i) => i >= 0));
  return chart.slice(start, start + 1 + end);
}

/** The lost-write bars drawn over a node's lane, each checked to lie inside that lane. */
function lostOnLane(t: { true: (v: boolean, m?: string) => void }, html: string, chartId: string, node: string): string {
  const chart = html.slice(html.indexOf(`id="${chartId}-svg"`), html.indexOf('</svg>', html.indexOf(`id="${chartId}-svg"`)));
  const start = chart.indexOf(`<g class="rl-lane-lost" data-node="${node}">`);
  if (start < 0) return '';
  const group = chart.slice(start, chart.indexOf('</g></g>', start) + 8);
  const bg = /<rect class="rl-lane-bg" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"\/>/.exec(lane(html, chartId, node))!;
  const [top, height] = [Number(bg[1]), Number(bg[2])];
  const bars = [...group.matchAll(/<g class="rl-lost"[^>]*><rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)];
  t.true(bars.length > 0, `bars on the lane of ${node}`);
  for (const m of bars) {
    t.true(Number(m[1]) >= top && Number(m[1]) + Number(m[2]) <= top + height, `the bar at y=${m[1]} is on the lane of ${node} (${top}..${top + height})`);
  }
  return group;
}

test('report.json: roles per system, with the spans, overlaps, moments and lost writes of the fixtures\' helpers', async (t) => {
  const report = await reportOf(t, partitionEvents());
  t.true(reportSchema.safeParse(report).success);
  t.is(report.roles?.length, 1);
  const chart = report.roles![0]!;
  t.like(chart, { scope: 'postgres', variant: null, nodes: ['pg1', 'pg2', 'pg3'], faults: ['p1'], splitBrainMs: 1200 });
  // The very numbers the runner gets from the same helpers.
  const spans = roleSpans(roleEvents(), END_AT);
  const overlaps = writableOverlaps(spans, { scope: 'postgres', variant: null });
  t.deepEqual(chart.overlaps, overlaps.map((o) => ({ from: o.from, to: o.to, durationMs: o.to - o.from, nodes: [...o.nodes] })));
  t.is(chart.splitBrainMs, totalLength(overlaps));
  t.deepEqual(chart.overlaps, [{ from: ELECTED_AT, to: DEMOTED_AT, durationMs: 1200, nodes: ['pg1', 'pg2'] }]);
  t.is(chart.spans.length, spans.length);
  t.deepEqual(chart.moments, [
    { kind: 'election', faultId: 'p1', at: ELECTED_AT, afterMs: 2100 },
    { kind: 'demotion', faultId: 'p1', at: DEMOTED_AT, afterMs: 3300 },
  ]);
  t.deepEqual(chart.lostWrites, LOST_SPANS.map((s) => ({ probe: 'sql-write', ...s })));
  t.deepEqual(report.writeChecks[0]!.lostSpans, LOST_SPANS);
});

test('report.html: a Node roles section with one lane per node, coloured by role', async (t) => {
  const html = await renderHtml(await reportOf(t, partitionEvents()));
  t.true(html.indexOf('<h2>Timeline</h2>') < html.indexOf('<h2>Node roles</h2>'));
  t.regex(html, /<div class="card roles split" id="roles-postgres"><div class="chart-head"><h3><code>postgres<\/code><\/h3><div class="stats bad">split brain: 2 writable primaries at once for 1\.20 s in 1 interval<\/div>/);
  for (const node of ['pg1', 'pg2', 'pg3']) t.not(lane(html, 'roles-postgres', node), '', `a lane for ${node}`);
  t.regex(lane(html, 'roles-postgres', 'pg1'), /<rect class="rl-span rl-writable" data-role="writable"[^>]*><title>pg1: writable primary \(not in recovery\), t\+0 ms → t\+13\.30 s \(13\.30 s\)<\/title>/);
  t.regex(lane(html, 'roles-postgres', 'pg1'), /class="rl-span rl-readonly"[^>]*><title>pg1: primary, not writable \(read-only\), t\+13\.30 s → t\+25\.50 s/);
  t.regex(lane(html, 'roles-postgres', 'pg3'), /class="rl-span rl-down" data-role="down"[^>]*fill="url\(#roles-postgres-hatch\)"><title>pg3: down \(connection refused\), t\+10\.00 s → t\+10\.80 s/);
  t.regex(lane(html, 'roles-postgres', 'pg2'), /class="rl-span rl-writable"[^>]*><title>pg2: writable primary \(timeline 2\), t\+12\.10 s → t\+40\.00 s/);
});

test('report.html: the split brain is drawn across the lanes with its length', async (t) => {
  const html = await renderHtml(await reportOf(t, partitionEvents()));
  t.regex(html, /<g class="rl-split" data-ms="1200" data-nodes="pg1,pg2"><rect [^>]*\/><title>split brain 1\.20 s: pg1, pg2 writable at once, t\+12\.10 s → t\+13\.30 s \(1\.20 s\)<\/title><\/g>/);
  t.regex(html, /<text class="rl-label rl-label-split"[^>]*>split brain 1\.20 s<\/text>/);
  t.regex(html, /<div class="small" id="roles-postgres-split-brain">.*?<tr><td class="num">t\+12\.10 s<\/td><td class="num">t\+13\.30 s<\/td><td class="num bad">1\.20 s<\/td><td><code>pg1, pg2<\/code><\/td><\/tr>/s);
});

test('report.html: the fault is shaded and labelled, the election and the heal marked', async (t) => {
  const html = await renderHtml(await reportOf(t, partitionEvents()));
  t.regex(html, /<g class="rl-fault" data-fault="p1"><rect class="rl-band"[^>]*><title>partition pg1: t\+10\.00 s → t\+25\.00 s \(15\.00 s\)<\/title><\/rect><line class="rl-fault-line"[^>]*\/><line class="rl-heal"/);
  t.regex(html, />⚡ partition pg1<\/text>/);
  t.regex(html, />healed partition<\/text>/);
  t.regex(html, /<g class="rl-moment rl-election" data-fault="p1" data-at="12100">/);
  t.regex(html, />election \+2\.10 s<\/text>/);
  t.regex(html, /<li>partition pg1 t\+10\.00 s → t\+25\.00 s \(15\.00 s\), election \+2\.10 s, demotion \+3\.30 s<\/li>/);
});

test('report.html: lost writes are ticks on the lane of the node that acknowledged them, with their count', async (t) => {
  const html = await renderHtml(await reportOf(t, partitionEvents()));
  const pg1 = lostOnLane(t, html, 'roles-postgres', 'pg1');
  t.regex(pg1, /<g class="rl-lost" data-node="pg1" data-count="42"><rect [^>]*\/><text [^>]*>42<\/text><title>42 lost writes acknowledged by pg1 \(sql-write\), t\+12\.20 s → t\+13\.25 s \(1\.05 s\)<\/title><\/g>/);
  const pg2 = lostOnLane(t, html, 'roles-postgres', 'pg2');
  t.regex(pg2, /<g class="rl-lost" data-node="pg2" data-count="3">.*?>3<\/text>/);
  t.notRegex(pg2, /data-count="42"/);
  t.is(lostOnLane(t, html, 'roles-postgres', 'pg3'), '');
});

test('summary.md: a Node roles section with split brain, the fault and time per role per node', async (t) => {
  const md = renderMarkdown(await reportOf(t, partitionEvents()));
  t.true(md.includes('### Node roles\n\n#### postgres: ❌ split brain: 2 writable primaries at once for 1.20 s in 1 interval\n\n'
    + '- partition pg1 t+10.00 s → t+25.00 s (15.00 s), election +2.10 s, demotion +3.30 s\n\n'
    + '| node | writable primary | primary, not writable | replica | down | role changes | lost writes acked |\n'
    + '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
    + '| `pg1` | 13.30 s | 12.20 s | 14.50 s | — | 2 | **42** |\n'
    + '| `pg2` | 27.90 s | — | 12.10 s | — | 1 | **3** |\n'
    + '| `pg3` | — | — | 39.20 s | 800 ms | 2 | 0 |'), md);
  t.true(md.includes('**Split brain**\n\n| from | to | lasted | writable primaries |\n| ---: | ---: | ---: | --- |\n| t+12.10 s | t+13.30 s | **1.20 s** | `pg1, pg2` |'));
});

test('without role events: no roles in report.json, no Node roles section', async (t) => {
  const report = await reportOf(t, partitionEvents({ roles: false }));
  t.is(report.roles, undefined);
  const html = await renderHtml(report);
  t.false(html.includes('<h2>Node roles</h2>'));
  t.false(html.includes('class="swimlanes"'));
  t.false(renderMarkdown(report).includes('Node roles'));
});

test('one chart per variant and system, each with its own nodes and faults', async (t) => {
  const events: JournalEvent[] = [
    { type: 'variant', name: 'bookworm', at: 0 },
    { type: 'fault-injected', id: 'b1', kind: 'partition', targets: ['pg1'], params: {}, at: FAULT_AT, scope: 'postgres', iteration: 1, variant: 'bookworm' },
    { type: 'fault-healed', id: 'b1', at: HEAL_AT },
    ...roleEvents({ variant: 'bookworm' }),
    { type: 'variant', name: 'trixie', at: END_AT },
    { type: 'fault-injected', id: 't1', kind: 'partition', targets: ['pg1'], params: {}, at: END_AT + FAULT_AT, scope: 'postgres', iteration: 1, variant: 'trixie' },
    { type: 'fault-healed', id: 't1', at: END_AT + HEAL_AT },
    role(END_AT, 'pg1', 'primary', true, { variant: 'trixie' }),
    role(END_AT, 'pg2', 'replica', false, { variant: 'trixie' }),
    role(END_AT + DEMOTED_AT, 'pg1', 'primary', false, { variant: 'trixie' }),
    role(END_AT + DEMOTED_AT + 400, 'pg2', 'primary', true, { variant: 'trixie' }),
    role(5000, 'redis1', 'primary', true, { scope: 'redis', variant: 'bookworm' }),
    writeCheck({ variant: 'trixie', lostSpans: [{ node: 'unknown', from: END_AT + 11_000, to: END_AT + 11_500, count: 5 }] }),
    { type: 'run-end', status: 'completed', at: 2 * END_AT },
  ];
  const report = await reportOf(t, events);
  t.deepEqual(report.roles!.map((c) => [c.variant, c.scope, c.nodes, c.faults, c.splitBrainMs]), [
    ['bookworm', 'postgres', ['pg1', 'pg2', 'pg3'], ['b1'], 1200],
    ['bookworm', 'redis', ['redis1'], [], 0],
    ['trixie', 'postgres', ['pg1', 'pg2', 'unknown'], ['t1'], 0],
  ]);
  const html = await renderHtml(report);
  t.regex(html, /id="roles-bookworm-postgres"><div class="chart-head"><h3><code>postgres \[bookworm\]<\/code>/);
  t.regex(html, /id="roles-trixie-postgres"><div class="chart-head"><h3><code>postgres \[trixie\]<\/code><\/h3><div class="stats">no split brain: never two writable primaries at once<\/div>/);
  // A node that only acknowledged lost writes gets a lane of its own.
  t.not(lane(html, 'roles-trixie-postgres', 'unknown'), '');
  t.regex(lostOnLane(t, html, 'roles-trixie-postgres', 'unknown'), /data-count="5"/);
});

test('a long run stays drawable: spans shorter than a pixel merge, split brain still shows', async (t) => {
  const day = 24 * 3600_000;
  const flaps: RoleEvent[] = [role(0, 'pg1', 'primary', true), role(0, 'pg2', 'replica', false)];
  // pg2 flaps every 50 ms for 10 minutes: 12 000 role changes.
  for (let i = 0; i < 12_000; i++) flaps.push(role(3600_000 + i * 50, 'pg2', i % 2 ? 'replica' : 'down', false));
  flaps.push(role(7200_000, 'pg2', 'primary', true), role(7200_000 + 300, 'pg1', 'replica', false));
  const report = await reportOf(t, [...flaps, { type: 'run-end', status: 'completed', at: day }]);
  const chart = report.roles![0]!;
  t.is(chart.spans.filter((s) => s.node === 'pg2').length, 12_002);
  t.is(chart.splitBrainMs, 300);
  const html = await renderHtml(report);
  const pg2 = lane(html, 'roles-postgres', 'pg2');
  const rects = pg2.match(/<rect class="rl-span/g)?.length ?? 0;
  t.true(rects < 1000, `${rects} rectangles for 12 002 spans`);
  t.regex(pg2, /class="rl-span rl-(down|replica) rl-merged"[^>]*><title>pg2: [\d,]+ role changes shorter than a pixel, mostly/);
  t.regex(html, /<g class="rl-split" data-ms="300" data-nodes="pg1,pg2"><rect x="[\d.]+" y="\d+" width="2"/);
  // The same time axis as the timeline charts: hours for a day-long run.
  t.regex(html, /<text class="rl-tick"[^>]*>6 h<\/text>/);
});

test('laneSegments: spans at least a pixel wide stay, shorter runs merge into about a pixel in the role that held longest', (t) => {
  const s = (from: number, to: number, r: RoleEvent['role'], writable = false) => ({ node: 'n', role: r, writable, from, to });
  const segments = laneSegments([s(0, 100, 'primary', true), s(100, 103, 'down'), s(103, 104, 'replica'), s(104, 110, 'down'), s(110, 200, 'replica')], 10);
  t.deepEqual(segments.map((x) => [x.from, x.to, x.key, x.spans]), [[0, 100, 'writable', 1], [100, 110, 'down', 3], [110, 200, 'replica', 1]]);
});
