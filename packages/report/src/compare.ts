// Comparing runs: a report beside a baseline report, metric by metric, each change judged against
// the run-to-run noise the two runs measured themselves (the spread of their per-fault samples).
// Pure functions over parsed report.json objects; the CLI (compare-cli.ts) and the runner's
// `--baseline` read the files.
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import { verdictOf } from './build.ts';
import { NONE, formatCount, formatLatency, formatMs, formatRatio } from './format.ts';
import type { ComparisonRow, Hypothesis, Report, ReportBaseline, ReportProbe } from './schema.ts';
import { probeBase, probeVariant } from './tables.ts';
import type { Cell, Table, Tone } from './tables.ts';

/** The fallback tolerance when the noise cannot be measured: 20 % of the baseline's value. */
export const DEFAULT_TOLERANCE = 0.2;

export interface CompareOptions {
  /** Relative tolerance used when a metric's noise is unknown (fewer than 2 samples in a run). Default 0.2. */
  readonly tolerance?: number;
  /** Where the baseline was read from, kept in the result. */
  readonly source?: string | null;
}

/** `20%` → 0.2, `0.2` → 0.2: a tolerance as given on a command line; InvalidArgumentError naming `argument` otherwise. */
export function parseTolerance(text: string, argument = '--tolerance'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(String(text));
  const value = m ? (m[2] ? Number(m[1]) / 100 : Number(m[1])) : Number.NaN;
  if (!m || !Number.isFinite(value) || (!m[2] && value > 1)) throw new InvalidArgumentError(argument, text, 'a percentage such as 20% or a fraction from 0 to 1 such as 0.2');
  return Number(value.toPrecision(12));
}

/** The comparison as report.json stores it, plus the failed hypotheses of its regressions. */
export interface Comparison extends ReportBaseline {
  /** One failed hypothesis per regressed row: `baseline: rto(sql-write)`. */
  readonly hypotheses: Hypothesis[];
}

type Metric = ComparisonRow['metric'];
type Unit = ComparisonRow['unit'];

/** A metric of one subject in one run: its value and the samples its noise is measured from. */
interface Reading {
  readonly value: number | null;
  readonly samples: readonly number[];
  /** The smallest change that can count (two probe intervals, one operation). */
  readonly floor: number;
  /** Why the value is null when it is better so (a probe with no visible outage has no time to detect). */
  readonly nullIsBetter?: boolean;
}

/** One subject (a probe or a scope) of one run: a reading per metric key. */
type Readings = Map<string, Reading>;

interface SubjectKey {
  readonly kind: ComparisonRow['kind'];
  readonly subject: string;
  readonly variant: string | null;
}

interface MetricKey {
  readonly metric: Metric;
  readonly phase: string | null;
  readonly unit: Unit;
}

const METRIC_ORDER: readonly Metric[] = ['rto', 'ttd', 'availability', 'p99', 'lostWrites'];

/**
 * Compares `current` with `baseline`, probe by probe (by name) and scope by scope (per variant):
 * RTO, time to detect, availability (overall and per phase), p99 and lost writes. A metric
 * regresses when it got worse by more than `allowed`: the run-to-run noise (the larger of the two
 * runs' min–max range of its per-fault samples) or, when either run has fewer than 2 samples, the
 * tolerance × the baseline's value; never less than two probe intervals (times) or one operation
 * (availability). Lost writes regress on any increase. A value measured in the baseline and not
 * in this run (a probe that did not recover) regresses. Two identical reports never regress.
 */
export function compareReports(baseline: Report, current: Report, options: CompareOptions = {}): Comparison {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) throw new RangeError(`tolerance must be a finite number >= 0, got ${tolerance}`);
  const before = subjectsOf(baseline);
  const after = subjectsOf(current);
  const rows: ComparisonRow[] = [];
  for (const [key, subject] of after.subjects) {
    const old = before.subjects.get(key);
    if (!old) continue;
    const metricKeys = [...new Set([...old.readings.keys(), ...subject.readings.keys()])].sort((a, b) => metricRank(a) - metricRank(b));
    for (const mk of metricKeys) {
      const m = parseMetricKey(mk);
      const b = old.readings.get(mk) ?? null;
      const c = subject.readings.get(mk) ?? null;
      rows.push(compareReading(subject.key, m, b, c, tolerance));
    }
  }
  const probeNames = (r: Report) => r.probes.map((p) => p.name);
  const unmatched = {
    baselineOnly: probeNames(baseline).filter((n) => !current.probes.some((p) => p.name === n)),
    currentOnly: probeNames(current).filter((n) => !baseline.probes.some((p) => p.name === n)),
  };
  const hypotheses = rows.filter((r) => r.verdict === 'regressed').map((r) => hypothesisOf(r, baseline));
  return {
    run: { id: baseline.run.id, workflow: baseline.run.workflow, startedAt: baseline.run.startedAt, outcome: baseline.verdict.outcome },
    source: options.source ?? null,
    tolerance,
    rows,
    regressions: hypotheses.length,
    newFindings: newFindings(baseline, current),
    unmatched,
    hypotheses,
  };
}

/**
 * The report with the comparison stored (`baseline`) and its regressions added to the
 * hypotheses (those of an earlier comparison replaced): the verdict is judged again, and an exit
 * code of 0 becomes 1 when something regressed.
 */
export function withBaseline(report: Report, comparison: Comparison): Report {
  const { hypotheses: regressions, ...section } = comparison;
  const hypotheses = [...report.verdict.hypotheses.filter((h) => !h.name.startsWith(HYPOTHESIS_PREFIX)), ...regressions];
  const exitCode = report.run.exitCode === 0 && regressions.length > 0 ? 1 : report.run.exitCode;
  return {
    ...report,
    run: { ...report.run, exitCode },
    verdict: { ...verdictOf(report.run.status, exitCode, hypotheses, report.findings), source: report.verdict.source, hypotheses },
    baseline: section,
  };
}

export const HYPOTHESIS_PREFIX = 'baseline: ';

// ---------------------------------------------------------------------------------------------
// Readings per subject

interface Subject {
  readonly key: SubjectKey;
  readonly readings: Readings;
}

function subjectsOf(report: Report): { subjects: Map<string, Subject> } {
  const subjects = new Map<string, Subject>();
  const variants = report.variants;
  const scopes = new Map<string, { key: SubjectKey; probes: ReportProbe[] }>();
  for (const p of report.probes) {
    const variant = probeVariant(p, variants);
    const key: SubjectKey = { kind: 'probe', subject: p.name, variant };
    subjects.set(subjectId(key), { key, readings: probeReadings(report, p) });
    for (const scope of p.scopes ?? []) {
      const sk: SubjectKey = { kind: 'scope', subject: scope, variant };
      const id = subjectId(sk);
      const g = scopes.get(id) ?? { key: sk, probes: [] };
      g.probes.push(p);
      scopes.set(id, g);
    }
  }
  for (const [id, g] of scopes) subjects.set(id, { key: g.key, readings: scopeReadings(report, g.probes) });
  return { subjects };
}

function subjectId(k: SubjectKey): string {
  return `${k.kind}\u0000${k.subject}\u0000${k.variant ?? ''}`;
}

function metricKey(m: MetricKey): string {
  return `${m.metric}\u0000${m.phase ?? ''}\u0000${m.unit}`;
}

function parseMetricKey(key: string): MetricKey {
  const [metric, phase, unit] = key.split('\u0000') as [Metric, string, Unit];
  return { metric, phase: phase === '' ? null : phase, unit };
}

function metricRank(key: string): number {
  const m = parseMetricKey(key);
  // Overall availability before its phases, phases in their order of first appearance is kept by the stable sort.
  return METRIC_ORDER.indexOf(m.metric) * 2 + (m.phase === null ? 0 : 1);
}

/**
 * The floor of a time metric: two probe intervals, the interval estimated from the probe's
 * attempts over its span (open-loop probes start on a fixed schedule). A time measured from a
 * fault to an operation's completion is quantised by the probe's schedule: each run's can be
 * off by up to one interval, so two runs by up to two.
 */
function timeFloorOf(p: ReportProbe): number {
  if (p.firstIntended === null || p.lastCompleted === null || p.attempts < 2) return 2;
  return Math.max(2, round((2 * (p.lastCompleted - p.firstIntended)) / p.attempts, 1));
}

/** Samples before the first phase event: not a phase of the plan, not compared. */
const NO_PHASE = '(none)';

function probeReadings(report: Report, p: ReportProbe): Readings {
  const out: Readings = new Map();
  const timeFloor = timeFloorOf(p);
  if (p.worst.status !== 'no-faults') {
    out.set(metricKey({ metric: 'rto', phase: null, unit: 'ms' }), {
      value: p.worst.rtoMs,
      samples: p.recoveries.flatMap((r) => (r.rtoMs === null ? [] : [r.rtoMs])),
      floor: timeFloor,
    });
    out.set(metricKey({ metric: 'ttd', phase: null, unit: 'ms' }), {
      value: p.worst.timeToDetectMs,
      samples: p.recoveries.flatMap((r) => (r.timeToDetectMs === null ? [] : [r.timeToDetectMs])),
      floor: timeFloor,
      nullIsBetter: p.recoveries.every((r) => r.status === 'no-visible-outage'),
    });
  }
  const oneOp = p.attempts > 0 ? 1 / p.attempts : 0;
  out.set(metricKey({ metric: 'availability', phase: null, unit: 'ratio' }), {
    value: p.availability,
    samples: faultWindows(report, [p]),
    floor: oneOp,
  });
  for (const ph of p.phases) {
    if (ph.phase === NO_PHASE) continue;
    out.set(metricKey({ metric: 'availability', phase: ph.phase, unit: 'ratio' }), {
      value: ph.availability,
      samples: phaseWindows(report, [p], ph.phase),
      floor: ph.attempts > 0 ? 1 / ph.attempts : 0,
    });
  }
  out.set(metricKey({ metric: 'p99', phase: null, unit: 'ms' }), { value: p.latency?.p99Ms ?? null, samples: [], floor: timeFloor });
  const check = report.writeChecks.find((c) => c.probe === p.name);
  if (p.writes || check) out.set(metricKey({ metric: 'lostWrites', phase: null, unit: 'count' }), { value: check ? check.lost : null, samples: [], floor: 0 });
  return out;
}

/** A scope's readings: per fault the worst of its probes, availability the lowest, p99 the highest, lost writes the sum. */
function scopeReadings(report: Report, probes: readonly ReportProbe[]): Readings {
  const out: Readings = new Map();
  const timeFloor = Math.max(...probes.map(timeFloorOf));
  const faultIds = [...new Set(probes.flatMap((p) => p.recoveries.map((r) => r.faultId)))];
  if (faultIds.length) {
    const perFault = (pick: (r: ReportProbe['recoveries'][number]) => number | null, unmeasuredFails: boolean) => faultIds.map((id) => {
      const values = probes.flatMap((p) => p.recoveries.filter((r) => r.faultId === id)).map(pick);
      if (unmeasuredFails && values.some((v) => v === null)) return null;
      const measured = values.filter((v): v is number => v !== null);
      return measured.length ? Math.max(...measured) : null;
    });
    const rtos = perFault((r) => r.rtoMs, true);
    out.set(metricKey({ metric: 'rto', phase: null, unit: 'ms' }), {
      value: rtos.some((v) => v === null) ? null : Math.max(...(rtos as number[])),
      samples: rtos.filter((v): v is number => v !== null),
      floor: timeFloor,
    });
    const ttds = perFault((r) => r.timeToDetectMs, false).filter((v): v is number => v !== null);
    out.set(metricKey({ metric: 'ttd', phase: null, unit: 'ms' }), {
      value: ttds.length ? Math.max(...ttds) : null,
      samples: ttds,
      floor: timeFloor,
      nullIsBetter: probes.every((p) => p.recoveries.every((r) => r.status === 'no-visible-outage')),
    });
  }
  const availabilities = probes.map((p) => p.availability);
  const attempts = Math.min(...probes.map((p) => p.attempts));
  out.set(metricKey({ metric: 'availability', phase: null, unit: 'ratio' }), {
    value: availabilities.some((a) => a === null) ? null : Math.min(...(availabilities as number[])),
    samples: faultWindows(report, probes),
    floor: attempts > 0 ? 1 / attempts : 0,
  });
  const p99s = probes.map((p) => p.latency?.p99Ms ?? null);
  out.set(metricKey({ metric: 'p99', phase: null, unit: 'ms' }), { value: p99s.some((v) => v === null) ? null : Math.max(...(p99s as number[])), samples: [], floor: timeFloor });
  const writers = probes.filter((p) => p.writes || report.writeChecks.some((c) => c.probe === p.name));
  if (writers.length) {
    const checks = writers.map((p) => report.writeChecks.find((c) => c.probe === p.name));
    out.set(metricKey({ metric: 'lostWrites', phase: null, unit: 'count' }), {
      value: checks.some((c) => c === undefined) ? null : checks.reduce((n, c) => n + c!.lost, 0),
      samples: [],
      floor: 0,
    });
  }
  return out;
}

/**
 * Availability per fault window, the lowest of the probes in each: from a fault to the next fault
 * the probes are judged on (the last to the end of the run), from the chart buckets (exact
 * counts; a bucket belongs to the window containing its start). Windows where a probe made no
 * attempt are left out.
 */
function faultWindows(report: Report, probes: readonly ReportProbe[]): number[] {
  const starts = [...new Set(probes.flatMap((p) => p.recoveries.map((r) => r.faultAt)))].sort((a, b) => a - b);
  return windowsOf(report, probes, starts.map((from, i) => [from, starts[i + 1] ?? Number.POSITIVE_INFINITY]));
}

/** Availability per occurrence of a phase (each iteration's `fault` phase...), from the chart buckets. */
function phaseWindows(report: Report, probes: readonly ReportProbe[], phase: string): number[] {
  const spans = report.phases.filter((p) => p.name === phase).map((p): [number, number] => [p.from, p.to ?? Number.POSITIVE_INFINITY]);
  return windowsOf(report, probes, spans);
}

function windowsOf(report: Report, probes: readonly ReportProbe[], spans: readonly (readonly [number, number])[]): number[] {
  const { t } = report.timeline;
  const series = probes.map((p) => report.timeline.probes.find((x) => x.probe === p.name)).filter((x) => x !== undefined);
  if (series.length === 0) return [];
  const out: number[] = [];
  for (const [from, to] of spans) {
    let worst: number | null = null;
    for (const s of series) {
      let attempts = 0;
      let failures = 0;
      for (let i = 0; i < t.length; i++) {
        const at = t[i]!;
        if (at < from || at >= to) continue;
        attempts += s.attempts[i] ?? 0;
        failures += s.failures[i] ?? 0;
      }
      if (attempts === 0) continue;
      const a = (attempts - failures) / attempts;
      worst = worst === null ? a : Math.min(worst, a);
    }
    if (worst !== null) out.push(worst);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Judging one metric

/** max − min of the samples; null with fewer than 2. */
export function spread(samples: readonly number[]): number | null {
  if (samples.length < 2) return null;
  return Math.max(...samples) - Math.min(...samples);
}

function compareReading(key: SubjectKey, m: MetricKey, b: Reading | null, c: Reading | null, tolerance: number): ComparisonRow {
  const baseline = b?.value ?? null;
  const current = c?.value ?? null;
  const samples = { baseline: b?.samples.length ?? 0, current: c?.samples.length ?? 0 };
  const floor = Math.max(b?.floor ?? 0, c?.floor ?? 0);
  const higherIsWorse = m.metric !== 'availability';
  let noiseBasis: ComparisonRow['noiseBasis'];
  let noise: number | null = null;
  let allowed: number | null = null;
  if (m.metric === 'lostWrites') {
    noiseBasis = 'none';
    allowed = baseline === null ? null : 0;
  } else {
    const nb = spread(b?.samples ?? []);
    const nc = spread(c?.samples ?? []);
    if (nb !== null && nc !== null) {
      noiseBasis = 'measured';
      noise = Math.max(nb, nc);
    } else noiseBasis = 'unknown';
    if (baseline !== null) {
      // Unknown noise: the tolerance of the baseline's value (of its unavailability, for availability).
      const fallback = tolerance * (m.metric === 'availability' ? 1 - baseline : Math.abs(baseline));
      allowed = Math.max(noise ?? fallback, floor);
    }
  }
  // Judged on the numbers as stored, so every table reads the verdict it shows.
  const allowedT = allowed === null ? null : tidy(allowed, m.unit);
  const limit = baseline === null || allowedT === null ? null : higherIsWorse ? tidy(baseline + allowedT, m.unit) : Math.max(0, tidy(baseline - allowedT, m.unit));
  const diff = baseline === null || current === null ? null : tidy(current - baseline, m.unit);
  const relative = diff === null || baseline === 0 || baseline === null ? null : diff / Math.abs(baseline);
  let verdict: ComparisonRow['verdict'];
  if (baseline === null && current === null) verdict = 'not-measured';
  else if (current === null) verdict = c?.nullIsBetter ? 'improved' : 'regressed';
  // Not measured in the baseline: better now (it recovered), unless it was unmeasured for the
  // better reason (no visible outage, so no time to detect) and now is.
  else if (baseline === null) verdict = b?.nullIsBetter ? (current > floor ? 'regressed' : 'within-noise') : 'improved';
  else {
    const worse = higherIsWorse ? diff! : -diff!;
    verdict = worse === 0 ? 'same' : worse > allowedT! ? 'regressed' : -worse > allowedT! ? 'improved' : 'within-noise';
  }
  return {
    metric: m.metric, kind: key.kind, subject: key.subject, phase: m.phase, variant: key.variant, unit: m.unit,
    baseline, current, diff, relative: relative === null ? null : round(relative, 6),
    samples, noiseBasis, noise: noise === null ? null : tidy(noise, m.unit), floor: tidy(floor, m.unit),
    allowed: allowedT, limit, verdict,
  };
}

function hypothesisOf(r: ComparisonRow, baseline: Report): Hypothesis {
  const op = r.metric === 'availability' ? '>=' : '<=';
  const threshold = r.limit === null ? null : `${op} ${r.limit}`;
  return {
    name: `${HYPOTHESIS_PREFIX}${rowName(r)}`,
    description: regressionText(r, baseline.run.id),
    ok: false,
    observed: r.current,
    threshold,
    unit: r.unit,
    variant: r.variant,
  };
}

/** `rto(sql-write)`, `availability(fault, sql-write)`, `rto(postgres)`: the subject without its `@variant`. */
export function rowName(r: Pick<ComparisonRow, 'metric' | 'subject' | 'phase' | 'variant'>): string {
  const subject = probeBase(r.subject, r.variant);
  return `${r.metric}(${r.phase === null ? '' : `${r.phase}, `}${subject})`;
}

const METRIC_WORDS: Record<Metric, string> = {
  rto: 'worst RTO',
  ttd: 'worst time to detect',
  availability: 'availability',
  p99: 'p99 latency',
  lostWrites: 'lost writes',
};

/** Why a row regressed, in one sentence. */
function regressionText(r: ComparisonRow, baselineRun: string): string {
  const what = `${METRIC_WORDS[r.metric]}${r.phase === null ? '' : ` in phase ${r.phase}`} of ${r.kind === 'scope' ? 'scope ' : ''}${probeBase(r.subject, r.variant)}`;
  if (r.current === null) return `${what}: ${formatNumber(r.baseline, r.unit)} in baseline run ${baselineRun}, not measured in this run`;
  if (r.metric === 'lostWrites') return `${what}: ${formatNumber(r.current, r.unit)}, more than the ${formatNumber(r.baseline, r.unit)} of baseline run ${baselineRun} (any increase regresses)`;
  return `${what}: ${formatNumber(r.current, r.unit)}, worse than baseline run ${baselineRun} (${formatNumber(r.baseline, r.unit)}) by ${formatDiff(r)}, beyond ${noiseText(r)}`;
}

function newFindings(baseline: Report, current: Report): ReportBaseline['newFindings'] {
  const known = new Set(baseline.findings.map((f) => f.kind));
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  const out = new Map<string, { kind: string; severity: 'critical' | 'warning' | 'info'; count: number; title: string }>();
  for (const f of current.findings) {
    if (known.has(f.kind)) continue;
    const seen = out.get(f.kind);
    if (!seen) out.set(f.kind, { kind: f.kind, severity: f.severity, count: 1, title: f.title });
    else {
      seen.count += 1;
      if (rank[f.severity] < rank[seen.severity]) seen.severity = f.severity;
    }
  }
  return [...out.values()].sort((a, b) => rank[a.severity] - rank[b.severity]);
}

// ---------------------------------------------------------------------------------------------
// Text: every renderer (console, summary.md, report.html, compare.md) reads these.

/** A value in the row's unit: `11.10 s`, `99.95 %`, `12`; `not measured`. */
export function formatNumber(value: number | null, unit: Unit): string {
  if (value === null) return 'not measured';
  if (unit === 'ratio') return formatRatio(value);
  if (unit === 'count') return formatCount(value);
  return formatLatency(value);
}

/** `+300 ms (+2.7 %)`, `−0.120 pp` for availability, `+3` for counts, `0`; `—` when either is not measured. */
export function formatDiff(r: Pick<ComparisonRow, 'diff' | 'relative' | 'unit'>): string {
  if (r.diff === null) return NONE;
  if (r.diff === 0) return '0';
  const sign = r.diff > 0 ? '+' : r.diff < 0 ? '−' : '±';
  const a = Math.abs(r.diff);
  if (r.unit === 'ratio') return `${sign}${(a * 100).toFixed(3)} pp`;
  if (r.unit === 'count') return `${sign}${formatCount(a)}`;
  const rel = r.relative === null || r.diff === 0 ? '' : ` (${sign}${(Math.abs(r.relative) * 100).toFixed(1)} %)`;
  return `${sign}${a < 10 ? `${a.toFixed(2)} ms` : formatMs(a)}${rel}`;
}

/** `±300 ms (range of 3+3 samples)`, `±400 ms (noise unknown, 1+1 samples: 20 % of the baseline)`, `none: any increase`. */
export function noiseText(r: Pick<ComparisonRow, 'noiseBasis' | 'noise' | 'allowed' | 'floor' | 'samples' | 'unit' | 'metric'>, tolerance?: number): string {
  if (r.noiseBasis === 'none') return 'none: any increase';
  const n = `${r.samples.baseline}+${r.samples.current} samples`;
  const band = r.allowed === null ? NONE : `±${band_(r.allowed, r.unit)}`;
  const floored = r.allowed !== null && r.allowed === r.floor && r.floor > 0;
  const floorWord = r.unit === 'ratio' ? 'one operation' : 'two probe intervals';
  if (r.noiseBasis === 'measured') return `${band} (${floored ? `floor: ${floorWord}; ` : ''}range of ${n})`;
  const tol = tolerance === undefined ? 'the tolerance' : `${round(tolerance * 100, 2)} %`;
  return `${band} (noise unknown, ${n}: ${floored ? floorWord : `${tol} of the baseline${r.unit === 'ratio' ? '\'s unavailability' : ''}`})`;
}

function band_(v: number, unit: Unit): string {
  if (unit === 'ratio') return `${(v * 100).toFixed(3)} pp`;
  if (unit === 'count') return formatCount(v);
  return v < 10 ? `${v.toFixed(2)} ms` : formatMs(v);
}

export const VERDICT_LABEL: Record<ComparisonRow['verdict'], string> = {
  regressed: 'regressed',
  improved: 'improved',
  'within-noise': 'within noise',
  same: 'same',
  'not-measured': 'not measured',
};

const VERDICT_TONE: Record<ComparisonRow['verdict'], Tone> = {
  regressed: 'bad',
  improved: 'ok',
  'within-noise': 'muted',
  same: 'muted',
  'not-measured': 'warn',
};

/** `rto`, `availability (fault)`: the metric column. */
export function metricLabel(r: Pick<ComparisonRow, 'metric' | 'phase'>): string {
  return r.phase === null ? r.metric : `${r.metric} (${r.phase})`;
}

/** `sql-write`, `postgres (scope)`, with ` [naive]` for a variant's scope. */
export function subjectLabel(r: Pick<ComparisonRow, 'kind' | 'subject' | 'variant'>): string {
  return r.kind === 'scope' ? `${r.subject} (scope)${r.variant ? ` [${r.variant}]` : ''}` : r.subject;
}

/** The comparison as a table: metric, probe/scope, baseline, current, diff, noise, verdict. */
export function comparisonTable(c: Pick<ReportBaseline, 'rows' | 'tolerance'>): Table {
  return {
    id: 'baseline',
    title: 'Compared with baseline',
    columns: [
      { label: 'metric' }, { label: 'probe / scope' }, { label: 'baseline', numeric: true }, { label: 'current', numeric: true },
      { label: 'diff', numeric: true }, { label: 'noise (allowed change)' }, { label: 'verdict' },
    ],
    rows: c.rows.map((r): Cell[] => [
      { text: metricLabel(r) },
      { text: subjectLabel(r), code: true },
      { text: formatNumber(r.baseline, r.unit) },
      { text: formatNumber(r.current, r.unit), ...(r.verdict === 'regressed' ? { tone: 'bad' as const } : {}) },
      { text: formatDiff(r), ...(r.verdict === 'regressed' ? { tone: 'bad' as const } : r.verdict === 'improved' ? { tone: 'ok' as const } : {}) },
      { text: noiseText(r, c.tolerance) },
      { text: VERDICT_LABEL[r.verdict], tone: VERDICT_TONE[r.verdict], badge: true },
    ]),
    empty: 'No probe of this run has a namesake in the baseline.',
  };
}

/** One line: `2 regressions against baseline run rz-… (PASSED, started …)` or `no regression against …`. */
export function comparisonHeadline(c: Pick<ReportBaseline, 'regressions' | 'run' | 'rows'>): string {
  const against = `baseline run ${c.run.id} (${c.run.workflow}, started ${c.run.startedAt}, ${c.run.outcome})`;
  const counts = (['improved', 'within-noise', 'same', 'not-measured'] as const).map((v) => [v, c.rows.filter((r) => r.verdict === v).length] as const).filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${VERDICT_LABEL[v]}`).join(', ');
  const head = c.regressions === 0 ? `no regression against ${against}` : `${c.regressions} regression${c.regressions === 1 ? '' : 's'} against ${against}`;
  return `${head}: ${c.rows.length} metric${c.rows.length === 1 ? '' : 's'} compared${counts ? ` (${counts})` : ''}`;
}

/** Notes under the table: new finding kinds, probes only one run has, what the noise is. */
export function comparisonNotes(c: Pick<ReportBaseline, 'newFindings' | 'unmatched' | 'tolerance'>): string[] {
  const out: string[] = [];
  for (const f of c.newFindings) out.push(`new finding kind \`${f.kind}\` (${f.severity}, ${f.count}×): ${f.title}`);
  if (c.unmatched.baselineOnly.length) out.push(`only in the baseline, not compared: ${c.unmatched.baselineOnly.join(', ')}`);
  if (c.unmatched.currentOnly.length) out.push(`only in this run, not compared: ${c.unmatched.currentOnly.join(', ')}`);
  out.push(`noise: the larger of the two runs' range (max − min) of per-fault samples (availability: per fault window and per phase occurrence); with fewer than 2 samples in a run it is unknown and ${round(c.tolerance * 100, 2)} % of the baseline is allowed; never less than two probe intervals (times) or one operation (availability); lost writes regress on any increase`);
  return out;
}

/** The comparison for a terminal: headline, an aligned table, notes. */
export function renderComparisonText(c: Comparison): string {
  const t = comparisonTable(c);
  const rows = [t.columns.map((col) => col.label), ...t.rows.map((r) => r.map((x) => x.text))];
  const widths = t.columns.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((x, i) => (t.columns[i]?.numeric ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd();
  return [
    comparisonHeadline(c),
    '',
    ...(t.rows.length ? rows.map(line) : [t.empty]),
    '',
    ...comparisonNotes(c),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Numbers as stored: ms to 0.001, ratios to 1e-9, counts whole (float noise such as 0.30000000000000004 out). */
function tidy(x: number, unit: Unit): number {
  return unit === 'ratio' ? round(x, 9) : unit === 'count' ? Math.round(x) : round(x, 3);
}

