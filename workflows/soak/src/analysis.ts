// The soak's last step: one pass over the whole journal (both sides of a --resume) for the
// resource series, latency and availability per slice of the run, and the RTO of each fault in
// order; then a leak verdict per series (Sen's slope, Mann-Kendall with the Hamed-Rao correction)
// and trend tests of steady p99 and of RTO. What it finds becomes measurements (`leaks`,
// `degradations`), findings with the numbers, and evidence tables in the report.
import {
  createLatencyHistogram, leakAnalysis, medianOf, orderedTrend, readJournal, recordLatency, RESOURCE_METRICS, RunAnalyser,
  type Evidence, type EvidenceTable, type FindingEvent, type JournalEvent, type LatencyHistogram, type LeakResult,
  type SeriesPoint,
} from '@resilience/fixtures';
import { shortName, type Measurement, type MetricSpec, type StepContext } from '@resilience/runner';
import type { SoakOptionsT } from './options.ts';
import { clock } from './plan.ts';
import { FailoverWatch } from './failovers.ts';
import { describeSockets, peerNames, readSockets } from './sockets.ts';
import type { SoakEnv } from './soak.ts';

export const SOAK_METRICS: readonly MetricSpec[] = [
  { name: 'leaks', unit: 'count', aggregate: 'sum', description: 'resource series judged a leak after the settling period (significant upward trend of at least --leak-threshold %/h); not measured when no judged series had enough points' },
  { name: 'degradations', unit: 'count', aggregate: 'sum', description: 'significant upward trends over the run of steady-state p99 latency (per slice) or of the RTO of the faults in order; not measured when neither had 3 values' },
];

/** The shortest observation (after settling) a leak verdict is drawn from. */
export const LEAK_MIN_SPAN_MS = 30 * 60_000;

/** Series that grow with the data the probes write (every write is a row or a key that stays): shown, not judged. */
const DATA_METRICS = new Set(['dbSizeBytes', 'usedMemoryBytes', 'datasetBytes', 'keys']);
/** Not leak-shaped (a rate or a delay), shown as trends only. */
const CONTEXT_METRICS = new Set(['cpuPercent', 'eventLoopDelayP99Ms']);
/**
 * Node's external memory and array buffers (process.memoryUsage()) count buffers no longer in use
 * until a full collection frees them, and V8 runs few: a soak's runner showed them rising 2 MiB/h
 * (a "leak" by the verdict) while heap snapshots at minutes 11 and 21 found the live array
 * buffers identical, buffer for buffer. Shown, not judged: the process's RSS holds them and is.
 */
const GARBAGE_METRICS = new Set(['externalBytes', 'arrayBuffersBytes']);

/** Memory series a Node process's V8 heap can explain (see heapSplit). */
const HEAP_EXPLAINS = new Set(['memoryBytes', 'rssBytes', 'heapTotalBytes']);

const BYTES = /Bytes$/;

function fmt(metric: string, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (BYTES.test(metric)) return `${(v / 1024 / 1024).toFixed(Math.abs(v) < 10 * 1024 * 1024 ? 2 : 1)} MiB`;
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/** The length of a slice of the run for degradation over time: an hour, or a sixth of a shorter run. */
export function sliceMs(durationMs: number): number {
  return durationMs >= 6 * 3_600_000 ? 3_600_000 : Math.max(10_000, Math.round(durationMs / 6 / 1000) * 1000);
}

interface Slice {
  attempts: number;
  failures: number;
  readonly steady: LatencyHistogram;
}

export interface SeriesVerdict {
  readonly container: string;
  readonly metric: string;
  readonly judged: boolean;
  readonly why: string | undefined;
  readonly result: LeakResult;
}

/** What the analysis needs besides the journal. */
export interface SoakAnalysisInput {
  readonly durationMs: number;
  readonly settleMs: number;
  /** Run-clock time of the soak's first step (slices and fault times count from it). */
  readonly origin: number;
  /** Growth (%/h) below which a rising series is not a leak (--leak-threshold). */
  readonly leakThreshold: number;
  /** Short names of the data stores' containers (their memory grows with the data: shown, not judged). */
  readonly stores: ReadonlySet<string>;
}

export type SoakFinding = Omit<FindingEvent, 'type' | 'variant' | 'id' | 'evidence'> & { readonly evidence: readonly Evidence[] };

export interface SoakResult {
  readonly verdicts: readonly SeriesVerdict[];
  readonly slices: readonly { from: number; to: number; attempts: number; availability: number | null; p50: number | null; p99: number | null }[];
  readonly faults: readonly { id: string; kind: string; scope: string | null; targets: readonly string[]; at: number; healedAt: number | null; rtoMs: number | null }[];
  readonly findings: readonly SoakFinding[];
  readonly measurements: readonly Omit<Measurement, 'variant'>[];
  readonly evidence: { readonly data: unknown; readonly tables: readonly EvidenceTable[] };
}

/**
 * One pass over a soak's journal (both sides of a --resume): resource series, steady latency and
 * availability per slice, the RTO of each fault in order; then leak verdicts and trend tests.
 * Pure: what it finds is returned for the step to report.
 */
export async function analyseSoak(events: AsyncIterable<JournalEvent> | Iterable<JournalEvent>, input: SoakAnalysisInput): Promise<SoakResult> {
  const { durationMs, settleMs: settle, origin, leakThreshold, stores } = input;
  const analyser = new RunAnalyser();
  const series = new Map<string, Map<string, SeriesPoint[]>>();
  const width = sliceMs(durationMs);
  const slices: Slice[] = Array.from({ length: Math.ceil(durationMs / width) }, () => ({ attempts: 0, failures: 0, steady: createLatencyHistogram() }));
  let phase = '';
  const failovers = new FailoverWatch((at) => clock(at - origin));
  const add = (container: string, metric: string, t: number, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    let m = series.get(container);
    if (!m) series.set(container, (m = new Map()));
    let points = m.get(metric);
    if (!points) m.set(metric, (points = []));
    points.push({ t, value });
  };
  for await (const e of events) {
    analyser.push(e);
    failovers.push(e);
    if (e.type === 'phase') phase = e.name;
    else if (e.type === 'resource') {
      for (const k of RESOURCE_METRICS) add(e.container, k, e.at, e[k]);
      for (const [k, v] of Object.entries(e.values ?? {})) if (k !== 'rssBytes' || e.container !== 'runner') add(e.container, k, e.at, v);
    } else if (e.type === 'sample') {
      const i = Math.floor((e.intended - origin) / width);
      const s = slices[i];
      if (!s) continue;
      s.attempts += 1;
      if (!e.ok) s.failures += 1;
      else if (phase === 'steady') recordLatency(s.steady, e.completed - e.intended);
    }
  }
  const summary = analyser.finish();
  const end = summary.lastEventAt;
  const findings: SoakFinding[] = [...failovers.findings()];
  const measurements: Omit<Measurement, 'variant'>[] = [];

  // Leak verdicts per series.
  const verdicts: SeriesVerdict[] = [];
  for (const [container, metrics] of [...series].sort((a, b) => a[0].localeCompare(b[0]))) {
    for (const [metric, points] of metrics) {
      const why = DATA_METRICS.has(metric) ? 'grows with the data written (not judged)'
        : CONTEXT_METRICS.has(metric) ? 'a rate, not a leak (not judged)'
        : GARBAGE_METRICS.has(metric) ? 'counts buffers not yet collected (not judged; the RSS that holds them is)'
        : metric === 'memoryBytes' && stores.has(container) ? 'a data store: memory grows with the data and cache (not judged)'
        : undefined;
      const raw = leakAnalysis(points, { settleMs: Math.max(0, origin + settle - (points[0]?.t ?? 0)), minGrowthPctPerHour: leakThreshold });
      // Growth per hour extrapolated from minutes cannot tell a leak from warm-up (a JIT, a heap,
      // a cache filling up): shorter observations are inconclusive.
      const span = raw.from === null || raw.to === null ? 0 : raw.to - raw.from;
      const result: LeakResult = span < LEAK_MIN_SPAN_MS && raw.verdict !== 'inconclusive'
        ? { ...raw, verdict: 'inconclusive', reason: `observed for ${clock(span)} after settling, less than the ${clock(LEAK_MIN_SPAN_MS)} a leak verdict needs (${raw.reason})` }
        : raw;
      verdicts.push({ container, metric, judged: why === undefined, why, result });
    }
  }
  const judged = verdicts.filter((v) => v.judged);
  const conclusive = judged.filter((v) => v.result.verdict !== 'inconclusive');
  const leaks = judged.filter((v) => v.result.verdict === 'leak');
  for (const v of leaks) {
    const r = v.result;
    findings.push({
      kind: 'leak', severity: 'warning', at: r.to ?? end, nodes: [v.container],
      title: `${leakTitle(v.metric, v.container)} ${r.growthPctPerHour === null ? '' : `${r.growthPctPerHour.toFixed(2)} %/h`} (${fmt(v.metric, r.slopePerHour)}/h from ${fmt(v.metric, r.baseline)})`,
      detail: `${r.reason}. Over ${r.n} samples from ${clock(r.from! - origin)} to ${clock(r.to! - origin)} after the first step, the settling period (${clock(settle)}) left out. A steady rise that outlasts the faults is what a leak looks like; the series is in the Resources table.${heapSplit(series.get(v.container), v.metric, r.from!, r.to!)}`,
      evidence: [v.metric, ...heapEvidence(series.get(v.container), v.metric)]
        .map((m) => ({ label: `${v.container} ${m}`, text: points(series.get(v.container)?.get(m) ?? [], m) })),
    });
  }
  measurements.push({
    name: 'leaks', unit: 'count', value: conclusive.length ? leaks.length : null,
    description: `resource series judged a leak (${leaks.length} of ${judged.length} judged, ${judged.length - conclusive.length} inconclusive; ${verdicts.length - judged.length} shown but not judged)${conclusive.length ? '' : `: not measured, no judged series was observed long enough (${clock(LEAK_MIN_SPAN_MS)} after settling, at least 8 samples)`}`,
  });

  // Degradation over time: steady p99 per slice, and RTO of each fault in order.
  const sliceRows = slices.map((s, i) => ({
    from: i * width, to: Math.min(durationMs, (i + 1) * width), attempts: s.attempts,
    availability: s.attempts ? (s.attempts - s.failures) / s.attempts : null,
    p50: s.steady.totalCount ? s.steady.getValueAtPercentile(50) / 1000 : null,
    p99: s.steady.totalCount ? s.steady.getValueAtPercentile(99) / 1000 : null,
  }));
  const p99s = sliceRows.map((r) => r.p99).filter((x): x is number => x !== null);
  const faults = summary.faults.filter((f) => f.scope !== null);
  const rtoOf = (id: string) => {
    const rs = Object.values(summary.probes).flatMap((p) => p.recoveries.filter((r) => r.faultId === id));
    return rs.length === 0 || rs.some((r) => r.rtoMs === null) ? null : Math.max(...rs.map((r) => r.rtoMs!));
  };
  const rtos = faults.map((f) => rtoOf(f.id));
  let degradations = 0;
  let measured = false;
  const p99Trend = p99s.length >= 3 ? orderedTrend(p99s) : null;
  if (p99Trend) {
    measured = true;
    if (p99Trend.increasing && p99s.at(-1)! > 1.2 * p99s[0]!) {
      degradations += 1;
      findings.push({
        kind: 'degradation', severity: 'warning', at: end,
        title: `steady-state p99 latency rises over the run: ${p99s[0]!.toFixed(1)} ms in the first slice, ${p99s.at(-1)!.toFixed(1)} ms in the last`,
        detail: `${p99Trend.reason}. Slices of ${clock(width)}; only operations between faults (phase steady) count.`,
        evidence: [{ label: 'p99 per slice (ms)', text: p99s.map((x) => x.toFixed(2)).join(', ') }],
      });
    }
  }
  const knownRtos = rtos.filter((x): x is number => x !== null);
  const rtoTrend = knownRtos.length >= 3 ? orderedTrend(knownRtos) : null;
  if (rtoTrend) {
    measured = true;
    if (rtoTrend.increasing) {
      degradations += 1;
      findings.push({
        kind: 'degradation', severity: 'warning', at: end,
        title: `recovery gets slower over the run: RTO ${(knownRtos[0]! / 1000).toFixed(1)} s for the first fault, ${(knownRtos.at(-1)! / 1000).toFixed(1)} s for the last`,
        detail: `${rtoTrend.reason}. RTO of each fault in order (the worst of the probes judged on it).`,
        evidence: [{ label: 'RTO per fault (s)', text: knownRtos.map((x) => (x / 1000).toFixed(2)).join(', ') }],
      });
    }
  }
  measurements.push({
    name: 'degradations', unit: 'count', value: measured ? degradations : null,
    description: `upward trends over the run (steady p99 over ${p99s.length} slice(s) of ${clock(width)}${p99Trend ? `: ${p99Trend.reason}` : ''}; RTO over ${knownRtos.length} fault(s)${rtoTrend ? `: ${rtoTrend.reason}` : ''})${measured ? '' : ': not measured, fewer than 3 values of each'}`,
  });

  const faultRows = faults.map((f, i) => ({ id: f.id, kind: f.kind, scope: f.scope, targets: f.targets, at: f.at - origin, healedAt: f.healedAt === null ? null : f.healedAt - origin, rtoMs: rtos[i] ?? null }));
  const tables: EvidenceTable[] = [
    {
      title: `Resources after the settling period (${clock(settle)}): leak verdicts`,
      header: ['container', 'metric', 'points', 'baseline', 'slope / h', 'growth %/h', 'last half %/h', 'Mann-Kendall p', 'verdict'],
      rows: verdicts.map((v) => [
        v.container, v.metric, String(v.result.n), fmt(v.metric, v.result.baseline), fmt(v.metric, v.result.slopePerHour),
        v.result.growthPctPerHour === null ? '-' : v.result.growthPctPerHour.toFixed(2),
        // Set only where the growth was significant and above the threshold: a leak must still grow over the last half.
        v.result.lateGrowthPctPerHour === undefined || v.result.lateGrowthPctPerHour === null ? '-' : v.result.lateGrowthPctPerHour.toFixed(2),
        v.result.mannKendall ? v.result.mannKendall.p.toPrecision(2) : '-',
        v.judged ? v.result.verdict : `${v.result.verdict === 'leak' ? 'grows' : v.result.verdict}: ${v.why}`,
      ]),
    },
    {
      title: `Over time, in slices of ${clock(width)} (latency of operations between faults)`,
      header: ['slice', 'operations', 'availability', 'p50 (ms)', 'p99 (ms)'],
      rows: sliceRows.map((r) => [`${clock(r.from)}–${clock(r.to)}`, r.attempts.toLocaleString('en-US'), r.availability === null ? '-' : `${(r.availability * 100).toFixed(3)} %`, r.p50 === null ? '-' : r.p50.toFixed(2), r.p99 === null ? '-' : r.p99.toFixed(2)]),
    },
    {
      title: 'Faults in order',
      header: ['#', 'at', 'kind', 'targets', 'healed after', 'RTO (worst probe)'],
      rows: faultRows.map((f, i) => [String(i + 1), clock(f.at), f.kind, f.targets.join(', '), f.healedAt === null ? 'not healed' : `${((f.healedAt - f.at) / 1000).toFixed(1)} s`, f.rtoMs === null ? 'not recovered' : `${(f.rtoMs / 1000).toFixed(2)} s`]),
    },
  ];
  return {
    verdicts, slices: sliceRows, faults: faultRows, findings, measurements,
    evidence: {
      data: { settleMs: settle, sliceMs: width, series: verdicts.map((v) => ({ container: v.container, metric: v.metric, judged: v.judged, note: v.why ?? null, ...v.result })), slices: sliceRows, faults: faultRows },
      tables,
    },
  };
}

/** The soak's last step: the analysis of its journal, reported as measurements, findings and evidence. */
export async function soakAnalysis(sc: StepContext<SoakEnv, SoakOptionsT>, o: SoakOptionsT, settle: number, origin: number): Promise<void> {
  sc.phase('after');
  const journal = sc.run.journal;
  if (!journal) throw new Error('the soak needs its journal for the analysis');
  await journal.flush();
  const started = performance.now();
  const stores = new Set([
    ...sc.env.stack.pg.nodes.map((n) => n.container.name), ...sc.env.stack.pg.etcd.map((c) => c.name),
    ...sc.env.stack.redis.nodes.map((n) => n.container.name),
  ].map((n) => shortName(n, sc.run.runId)));
  const r = await analyseSoak(readJournal(journal.path), { durationMs: o.duration, settleMs: settle, origin, leakThreshold: o.leakThreshold, stores });
  const sockets = await socketsOfLeaks(sc, r.verdicts);
  for (const f of r.findings) {
    const node = f.nodes?.[0];
    const s = f.kind === 'leak' && node !== undefined && f.title.startsWith(leakTitle('fds', node)) ? sockets.get(node) : undefined;
    sc.finding(s ? { ...f, detail: `${f.detail} ${s.sentence}`, evidence: [...f.evidence, s.evidence] } : f);
  }
  for (const m of r.measurements) sc.measure(m);
  sc.evidence('soak', r.evidence.data, r.evidence.tables);
  const judged = r.verdicts.filter((v) => v.judged);
  sc.note(`soak analysis: ${r.verdicts.length} series (${judged.length} judged, ${judged.filter((v) => v.result.verdict === 'leak').length} leak), ${r.slices.length} slices, ${r.faults.length} faults, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** How a leak finding's title begins: which series of which container. */
function leakTitle(metric: string, container: string): string {
  return `${metric} of ${container} grows`;
}

/**
 * The TCP sockets of each container whose open files the analysis judged a leak, read while the
 * stack is still up (this is the schedule's last step): what the files are. A container that
 * is gone or cannot be read is left out with a note; the finding stands without the sockets.
 */
async function socketsOfLeaks(sc: StepContext<SoakEnv, SoakOptionsT>, verdicts: readonly SeriesVerdict[]): Promise<Map<string, ReturnType<typeof describeSockets>>> {
  const out = new Map<string, ReturnType<typeof describeSockets>>();
  const leaking = new Set(verdicts.filter((v) => v.judged && v.metric === 'fds' && v.result.verdict === 'leak').map((v) => v.container));
  if (leaking.size === 0) return out;
  const engine = sc.env.stack.engine;
  const runId = sc.run.runId;
  // The run's containers and their addresses, listed once for every leaking container.
  const listed = (async () => {
    const containers = await Promise.all((await engine.listContainers({ runId })).filter((c) => c.State === 'running').map((c) => engine.container(c.Id)));
    return { containers, peers: await peerNames(containers, runId) };
  })();
  for (const name of leaking) {
    try {
      const { containers, peers } = await listed;
      const c = containers.find((x) => shortName(x.name, runId) === name);
      if (!c) throw new Error('not running at the end of the run');
      out.set(name, describeSockets(name, await readSockets(c), peers));
    } catch (e) {
      sc.note(`the sockets of ${name}, whose open files grew, could not be read: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Where a Node process's memory growth sits, for a leak finding on its memory, RSS or heap total:
 * V8's heap total (what V8 reserved) against heap used (objects alive and garbage not yet
 * collected), first and last tenth of the judged window (medians, at least 3 points each). V8
 * grows its young generation to 2 × 64 MiB on a large host and keeps old-generation pages after
 * collections: in an hour of soak the reference app's RSS stepped from 133 to 216 MiB, its heap
 * total from 57 to 154 MiB, its heap used from 25 to 45 MiB (report soak-20261207-160145).
 * The verdict stands (the memory grew); this says where. '' when the process reports no heap.
 */
export function heapSplit(metrics: ReadonlyMap<string, readonly SeriesPoint[]> | undefined, metric: string, from: number, to: number): string {
  if (!metrics || !HEAP_EXPLAINS.has(metric)) return '';
  const ends = (name: string): [number, number] | null => {
    const ps = (metrics.get(name) ?? []).filter((p) => p.t >= from && p.t <= to);
    const k = Math.max(3, Math.floor(ps.length / 10));
    if (ps.length < 2 * k) return null;
    return [medianOf(ps.slice(0, k).map((p) => p.value)), medianOf(ps.slice(-k).map((p) => p.value))];
  };
  const grown = ends(metric);
  const total = ends('heapTotalBytes');
  const used = ends('heapUsedBytes');
  if (!grown || !total || !used) return '';
  const span = ([a, b]: [number, number]) => `${fmt(metric, a)} → ${fmt(metric, b)}`;
  const growth = grown[1] - grown[0];
  const dTotal = total[1] - total[0];
  const dUsed = used[1] - used[0];
  const said = `Over the same window (medians of its first and last tenth) ${metric} went ${span(grown)}, V8's heap total ${span(total)} and heap used ${span(used)}`;
  if (growth <= 0) return ` ${said}.`;
  const where = dUsed >= growth / 2
    ? 'heap used grew with it: objects kept alive (or garbage V8 has not collected yet), the shape of a leak in the process\'s own data; a heap snapshot (node --heapsnapshot-signal) tells which objects'
    : dTotal >= growth / 2
      ? 'most of it is heap V8 reserved, not objects alive: V8 grows its young generation up to 2 × 64 MiB on a large host and keeps old-generation pages after collections; a longer soak tells that warm-up from a leak'
      : 'V8\'s heap accounts for little of it: the growth is outside the heap (buffers, native memory, the C allocator)';
  return ` ${said}: ${where}.`;
}

/** The heap series a leak finding on `metric` shows beside it (those the process reports; a series exists once it has a point). */
function heapEvidence(metrics: ReadonlyMap<string, readonly SeriesPoint[]> | undefined, metric: string): string[] {
  if (!HEAP_EXPLAINS.has(metric)) return [];
  return ['heapTotalBytes', 'heapUsedBytes'].filter((m) => m !== metric && metrics?.has(m));
}

/** A series as text for evidence: at most 24 evenly spread points. */
function points(ps: readonly SeriesPoint[], metric: string): string {
  const step = Math.max(1, Math.ceil(ps.length / 24));
  return ps.filter((_, i) => i % step === 0).map((p) => fmt(metric, p.value)).join(', ');
}
