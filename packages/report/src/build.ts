// Builds the report of one run from its journal in a single streaming pass (analyser and chart
// buckets together), so a crashed run's journal, or a 24 h soak's, gives a report too.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import { WRITE_WINDOWS } from '@resilience/fixtures/events';
import type { EvidenceEvent, FindingEvent, HypothesisResult, JournalEvent, MeasurementEvent, NoteEvent, WriteCheckEvent, WriteWindow } from '@resilience/fixtures/events';
import { readJournal } from '@resilience/fixtures/journal';
import { DEFAULT_SUSTAIN_MS, RunAnalyser, UNPHASED } from '@resilience/fixtures/analysis';
import type { LatencySummary, ProbeSummary, RunSummary } from '@resilience/fixtures/analysis';
import { faultHealLabel, faultKindLabel, measurementName } from './format.ts';
import pkg from '../package.json' with { type: 'json' };
import { buildOptionsSchema, measurementInputSchema, parseWith } from './options.ts';
import type { BuildReportOptions, HypothesisInput, MeasurementInput } from './options.ts';
import { redact } from './redact.ts';
import { SCHEMA_VERSION, reportSchema } from './schema.ts';
import type { Hypothesis, Marker, Measurement, Report, ReportFault, ReportFinding, ReportLatency, ReportPhase, ReportProbe, ReportRunEvidence, ReportVerdict, ReportWriteCheck, Scalar } from './schema.ts';
import { roleChartsOf } from './roles.ts';
import { ScreenshotCollector } from './screenshots.ts';
import { ResourceBuilder } from './resources.ts';
import { TimelineBuilder } from './timeline.ts';

export const DEFAULT_REPORT_MAX_INTERVALS = 100;

/** The `note` message that carried a measurement in older journals (`data` is a MeasurementInput). */
export const MEASUREMENT_NOTE = 'measurement';

/**
 * Reads the journal once (readJournal → RunAnalyser, TimelineBuilder and ResourceBuilder) and returns the
 * report, redacted and checked against reportSchema. A journal without run-end is reported as
 * `interrupted`; a torn last line is skipped. Throws InvalidArgumentError for bad options, a
 * missing file, a journal without run-start, or a corrupt line before the last.
 */
export async function buildReport(options: BuildReportOptions): Promise<Report> {
  const o = parseWith(buildOptionsSchema, options, 'buildReport options');
  const info = await stat(o.journalPath).catch(() => null);
  if (!info?.isFile()) throw new InvalidArgumentError('journalPath', o.journalPath, 'the path of an existing journal file');

  const sustainMs = o.sustainMs ?? DEFAULT_SUSTAIN_MS;
  const maxIntervals = o.maxIntervals ?? DEFAULT_REPORT_MAX_INTERVALS;
  const budget = o.latencyBudgetMs === undefined ? {} : { latencyBudgetMs: o.latencyBudgetMs };
  const analyser = new RunAnalyser({ sustainMs, maxIntervals, ...budget });
  const buckets = new TimelineBuilder({
    ...budget,
    ...(o.bucketMs === undefined ? {} : { bucketMs: o.bucketMs }),
    ...(o.maxBuckets === undefined ? {} : { maxBuckets: o.maxBuckets }),
  });
  const resourceBuckets = new ResourceBuilder();
  const shots = new ScreenshotCollector();
  const noteMeasurements: TimedMeasurement[] = [];
  let torn = false;
  let events = 0;
  for await (const event of readJournal(o.journalPath, { onTornLine: () => { torn = true; } })) {
    events += 1;
    analyser.push(event);
    buckets.push(event);
    if (event.type === 'resource') resourceBuckets.push(event);
    shots.push(event);
    const m = noteMeasurementOf(event);
    if (m) noteMeasurements.push(m);
  }
  const summary = analyser.finish();
  if (summary.runId === null || summary.workflow === null || summary.startedAt === null) {
    throw new InvalidArgumentError('journalPath', o.journalPath, 'a journal that begins with a run-start event');
  }

  const status = summary.status ?? 'interrupted';
  const durationMs = summary.endedAt ?? summary.lastEventAt;
  const exitCode = o.exitCode ?? null;
  const phases = phasesOf(summary, durationMs);
  const faults: ReportFault[] = summary.faults.map((f) => ({
    id: f.id,
    kind: f.kind,
    targets: [...f.targets],
    params: f.params,
    at: r(f.at),
    healedAt: f.healedAt === null ? null : r(f.healedAt),
    durationMs: f.healedAt === null ? null : r(f.healedAt - f.at),
    healError: f.healError,
    callMs: rn(f.callMs),
    scope: f.scope,
    iteration: f.iteration,
    variant: f.variant,
  }));
  const hypotheses = o.hypotheses
    ? o.hypotheses.map(hypothesisOf)
    : (summary.hypotheses ?? []).map((h) => hypothesisOf(h as HypothesisResult & Partial<HypothesisInput>));
  const findings = summary.findings.map(findingOf);
  const writeChecks = summary.writeChecks.map(writeCheckOf);
  const evidence = summary.evidence.map(evidenceOf);
  const measurements = mergeMeasurements([...summary.measurements.map(eventMeasurementOf), ...noteMeasurements], o.measurements ?? []);
  const probes = Object.values(summary.probes).map((p) => probeOf(p, phases));
  const source: ReportVerdict['source'] = o.hypotheses ? 'options' : summary.hypotheses ? 'journal' : 'none';
  const meta = summary.meta ?? {};
  const timelineData = buckets.finish();
  const resources = resourceBuckets.finish();
  const screenshots = shots.finish();
  const roles = roleChartsOf(summary.roles ?? [], { endAt: durationMs, faults, measurements, writeChecks });

  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    generatedAt: new Date().toISOString(),
    generator: { name: pkg.name, version: pkg.version },
    run: {
      id: summary.runId,
      workflow: summary.workflow,
      startedAt: summary.startedAt,
      endedAt: addMs(summary.startedAt, durationMs),
      durationMs: r(durationMs),
      status,
      exitCode,
      partial: status !== 'completed' || torn,
    },
    verdict: { ...verdictOf(status, exitCode, hypotheses, findings), source, hypotheses },
    settings: o.settings ?? (isRecord(meta.settings) ? meta.settings : withoutKey(meta, 'environment')),
    environment: o.environment ?? (isRecord(meta.environment) ? meta.environment : {}),
    analysis: { sustainMs, latencyBudgetMs: o.latencyBudgetMs ?? null, maxIntervals },
    journal: {
      file: basename(o.journalPath),
      events,
      eventCounts: Object.fromEntries(Object.entries(summary.eventCounts).filter((e): e is [string, number] => typeof e[1] === 'number')),
      tornLastLine: torn,
      lastEventAt: r(summary.lastEventAt),
    },
    phases,
    faults,
    faultCount: summary.faultCount,
    probes,
    anyProbeOutage: { outageMs: r(summary.anyProbeOutage.outageMs), exact: summary.anyProbeOutage.exact },
    variants: variantsOf(summary.variants, [probes, faults, measurements, findings, writeChecks, hypotheses, roles, evidence]),
    findings,
    writeChecks,
    ...(roles.length ? { roles } : {}),
    ...(evidence.length ? { evidence } : {}),
    ...(screenshots ? { screenshots } : {}),
    measurements,
    timeline: { ...timelineData, markers: markersOf(phases, faults) },
    ...(resources ? { resources } : {}),
  };
  return reportSchema.parse(redact(report));
}

interface TimedMeasurement extends MeasurementInput {
  readonly at: number | null;
}

function noteMeasurementOf(event: JournalEvent): TimedMeasurement | null {
  if (event.type !== 'note' || (event as NoteEvent).message !== MEASUREMENT_NOTE) return null;
  const parsed = measurementInputSchema.safeParse((event as NoteEvent).data);
  return parsed.success ? { ...parsed.data, at: finite(event.at) ? event.at : null } : null;
}

function eventMeasurementOf(m: MeasurementEvent): TimedMeasurement {
  return {
    name: typeof m.name === 'string' && m.name !== '' ? m.name : '(unnamed)',
    // Durations rounded like every other time in the report, so a probe's RTO and the faultRto it makes up read the same.
    value: m.unit === 'ms' && typeof m.value === 'number' ? r(m.value) : m.value,
    unit: typeof m.unit === 'string' ? m.unit : null,
    description: typeof m.description === 'string' ? m.description : '',
    scope: optionalText(m.scope) ?? null,
    iteration: optionalInt(m.iteration) ?? null,
    variant: optionalText(m.variant) ?? null,
    at: finite(m.at) ? m.at : null,
  };
}

/**
 * The journal's measurements (events and notes, in time order), then those passed in; one with
 * the same name, scope, iteration and variant as an earlier one replaces it and moves to the end.
 */
function mergeMeasurements(fromJournal: readonly TimedMeasurement[], passed: readonly MeasurementInput[]): Measurement[] {
  const ordered = fromJournal.map((m, i) => ({ m, i })).sort((a, b) => (a.m.at ?? 0) - (b.m.at ?? 0) || a.i - b.i).map((x) => x.m);
  const byName = new Map<string, Measurement>();
  for (const m of [...ordered, ...passed]) {
    const measurement: Measurement = {
      name: m.name,
      value: scalar(m.value),
      unit: m.unit ?? null,
      description: m.description,
      scope: m.scope ?? null,
      iteration: m.iteration ?? null,
      variant: m.variant ?? null,
      at: 'at' in m && typeof m.at === 'number' ? r(m.at) : null,
    };
    const key = measurementName(measurement);
    byName.delete(key);
    byName.set(key, measurement);
  }
  return [...byName.values()];
}

/** A finding event as report.json carries it: its fields without `type`, checked (a journal is not validated when written). */
function findingOf(e: FindingEvent): ReportFinding {
  const severity = e.severity === 'critical' || e.severity === 'warning' || e.severity === 'info' ? e.severity : 'warning';
  const kind = optionalText(e.kind) ?? 'finding';
  const at = finite(e.at) ? r(e.at) : 0;
  const until = finite(e.until) ? r(e.until) : undefined;
  const scope = optionalText(e.scope);
  const variant = optionalText(e.variant);
  const iteration = optionalInt(e.iteration);
  const faultId = optionalText(e.faultId);
  return {
    id: optionalText(e.id) ?? `${kind}@${at}`,
    kind,
    severity,
    title: optionalText(e.title) ?? kind,
    detail: typeof e.detail === 'string' ? e.detail : '',
    at,
    ...(until === undefined ? {} : { until }),
    ...(scope === undefined ? {} : { scope }),
    ...(variant === undefined ? {} : { variant }),
    ...(iteration === undefined ? {} : { iteration }),
    ...(faultId === undefined ? {} : { faultId }),
    ...(Array.isArray(e.nodes) ? { nodes: e.nodes.map(String) } : {}),
    evidence: (Array.isArray(e.evidence) ? e.evidence : []).filter(isRecord).map((ev) => ({
      label: typeof ev.label === 'string' ? ev.label : '',
      text: typeof ev.text === 'string' ? ev.text : String(scalar(ev.text) ?? ''),
    })),
    ...(isRecord(e.data) ? { data: e.data } : {}),
  };
}

/** A write-check event as report.json carries it: its fields without `type`, checked. */
function writeCheckOf(e: WriteCheckEvent): ReportWriteCheck {
  const scope = optionalText(e.scope);
  const variant = optionalText(e.variant);
  const windows: Record<string, unknown> = isRecord(e.lostByWindow) ? e.lostByWindow : {};
  return {
    at: finite(e.at) ? r(e.at) : 0,
    probe: optionalText(e.probe) ?? '(unnamed)',
    ...(scope === undefined ? {} : { scope }),
    ...(variant === undefined ? {} : { variant }),
    store: typeof e.store === 'string' ? e.store : '',
    acked: countOf(e.acked),
    present: countOf(e.present),
    lost: countOf(e.lost),
    ghost: countOf(e.ghost),
    lostByNode: Object.fromEntries(Object.entries(isRecord(e.lostByNode) ? e.lostByNode : {}).map(([node, n]) => [node, countOf(n)])),
    lostByWindow: Object.fromEntries(WRITE_WINDOWS.map((w) => [w, countOf(windows[w])])) as Record<WriteWindow, number>,
    perFault: (Array.isArray(e.perFault) ? e.perFault : []).filter(isRecord).map((f) => {
      const faultScope = optionalText(f.scope);
      const iteration = optionalInt(f.iteration);
      return {
        faultId: String(f.faultId ?? ''),
        ...(faultScope === undefined ? {} : { scope: faultScope }),
        ...(iteration === undefined ? {} : { iteration }),
        lost: countOf(f.lost),
        rpoSeconds: finite(f.rpoSeconds) && f.rpoSeconds >= 0 ? f.rpoSeconds : 0,
        firstLostAckAt: finite(f.firstLostAckAt) ? r(f.firstLostAckAt) : null,
        lastLostAckAt: finite(f.lastLostAckAt) ? r(f.lastLostAckAt) : null,
      };
    }),
    ...(Array.isArray(e.lostSpans) ? {
      lostSpans: e.lostSpans.filter(isRecord).filter((x) => finite(x.from) && finite(x.to)).map((x) => ({
        node: typeof x.node === 'string' && x.node !== '' ? x.node : 'unknown', from: r(x.from as number), to: r(x.to as number), count: countOf(x.count),
      })),
    } : {}),
    examples: (Array.isArray(e.examples) ? e.examples : []).filter(isRecord).map((x) => ({
      id: String(x.id ?? ''),
      at: finite(x.at) ? r(x.at) : 0,
      node: typeof x.node === 'string' ? x.node : 'unknown',
      window: WRITE_WINDOWS.includes(x.window as WriteWindow) ? x.window as WriteWindow : null,
    })),
  };
}

/** An evidence event as report.json carries it: its name, variant and tables (its data goes to evidence.json), checked. */
function evidenceOf(e: EvidenceEvent): ReportRunEvidence {
  const variant = optionalText(e.variant);
  const text = (value: unknown): string => (typeof value === 'string' ? value : String(scalar(value) ?? ''));
  return {
    name: e.name,
    ...(variant === undefined ? {} : { variant }),
    tables: (Array.isArray(e.tables) ? e.tables : []).filter(isRecord).map((t) => ({
      title: text(t.title),
      header: (Array.isArray(t.header) ? t.header : []).map(text),
      rows: (Array.isArray(t.rows) ? t.rows : []).filter(Array.isArray).map((row: unknown[]) => row.map(text)),
    })),
  };
}

/** The run's variants in the order they ran, then any other named by a probe, fault, measurement... */
function variantsOf(declared: readonly string[], lists: readonly (readonly { readonly variant?: string | null | undefined }[])[]): string[] {
  const out = declared.filter((v) => typeof v === 'string' && v !== '');
  for (const list of lists) {
    for (const item of list) {
      if (typeof item.variant === 'string' && item.variant !== '' && !out.includes(item.variant)) out.push(item.variant);
    }
  }
  return [...new Set(out)];
}

function hypothesisOf(h: HypothesisInput): Hypothesis {
  return {
    name: h.name,
    description: typeof h.description === 'string' ? h.description : '',
    ok: h.ok === true,
    observed: scalar(h.observed),
    threshold: scalar(h.threshold),
    unit: typeof h.unit === 'string' ? h.unit : null,
    variant: typeof h.variant === 'string' && h.variant !== '' ? h.variant : null,
  };
}

/** The verdict of a report from its status, exit code, hypotheses and findings (a critical finding is named in the reason). */
export function verdictOf(status: Report['run']['status'], exitCode: number | null, hypotheses: readonly Hypothesis[], findings: readonly ReportFinding[]): Omit<ReportVerdict, 'source' | 'hypotheses'> {
  const verdict = outcomeOf(status, exitCode, hypotheses);
  // Findings do not decide the verdict (hypotheses on what they measure do), but a critical
  // one is never left out of the one line people read.
  const critical = findings.filter((f) => f.severity === 'critical');
  if (critical.length === 0) return verdict;
  const more = critical.length > 1 ? ` (and ${critical.length - 1} more)` : '';
  return { ...verdict, reason: `${verdict.reason}; ${critical.length} critical finding${critical.length > 1 ? 's' : ''}: ${critical[0]!.title}${more}` };
}

function outcomeOf(status: Report['run']['status'], exitCode: number | null, hypotheses: readonly Hypothesis[]): Omit<ReportVerdict, 'source' | 'hypotheses'> {
  const failed = hypotheses.filter((h) => !h.ok);
  const failedText = failed.length > 0
    ? `${failed.length} of ${hypotheses.length} hypotheses failed (${failed.map((h) => h.name).join(', ')})`
    : null;
  if (status === 'interrupted' || status === 'aborted') {
    const what = status === 'interrupted' ? 'the run was interrupted (its journal has no run-end event)' : 'the run was aborted';
    return { passed: false, outcome: status, reason: failedText ? `${what}; ${failedText}` : `${what}: the numbers cover only what was recorded` };
  }
  if (failedText) return { passed: false, outcome: 'failed', reason: failedText };
  if (status === 'failed') return { passed: false, outcome: 'failed', reason: 'the run failed (status `failed`)' };
  if (exitCode !== null && exitCode !== 0) return { passed: false, outcome: 'failed', reason: `the workflow exited with code ${exitCode}` };
  if (hypotheses.length === 0) return { passed: false, outcome: 'no-hypotheses', reason: 'the run completed but no hypothesis was checked' };
  return { passed: true, outcome: 'passed', reason: `all ${hypotheses.length} hypotheses held` };
}

function phasesOf(summary: RunSummary, durationMs: number): ReportPhase[] {
  return summary.phases.map((p) => {
    const end = p.to ?? (durationMs >= p.from ? durationMs : null);
    return { name: p.name, from: r(p.from), to: p.to === null ? null : r(p.to), durationMs: end === null ? null : r(end - p.from) };
  });
}

function probeOf(p: ProbeSummary, phases: readonly ReportPhase[]): ReportProbe {
  // Phases in the order they began; samples before the first phase event come first.
  const order = [UNPHASED, ...new Set(phases.map((ph) => ph.name))];
  const names = Object.keys(p.phases).sort((a, b) => rank(order, a) - rank(order, b));
  return {
    name: p.probe,
    scopes: p.scopes === null ? null : [...p.scopes],
    variant: p.variant,
    writes: p.writes,
    attempts: p.attempts,
    failures: p.failures,
    shed: p.shed,
    availability: p.availability,
    latency: latencyOf(p.latency),
    phases: names.map((name) => {
      const ph = p.phases[name]!;
      return { phase: name, attempts: ph.attempts, failures: ph.failures, shed: ph.shed, availability: ph.availability, latency: latencyOf(ph.latency) };
    }),
    outageMs: r(p.outageMs),
    failingIntervals: p.failingIntervals.map((i) => ({ start: r(i.start), end: r(i.end), durationMs: r(i.durationMs), failures: i.failures, open: i.open })),
    failingIntervalCount: p.failingIntervalCount,
    intervalsTruncated: p.intervalsTruncated,
    timeToDetectMs: rn(p.timeToDetectMs),
    rtoMs: rn(p.rtoMs),
    worst: {
      status: p.worst.status,
      faults: p.worst.faults,
      rtoMs: rn(p.worst.rtoMs),
      timeToDetectMs: rn(p.worst.timeToDetectMs),
      faultId: p.worst.faultId,
      unrecovered: [...p.worst.unrecovered],
    },
    recoveries: p.recoveries.map((f) => ({
      faultId: f.faultId,
      faultAt: r(f.faultAt),
      status: f.status,
      noVisibleOutage: f.noVisibleOutage,
      detectedAt: rn(f.detectedAt),
      timeToDetectMs: rn(f.timeToDetectMs),
      recoveredAt: rn(f.recoveredAt),
      rtoMs: rn(f.rtoMs),
    })),
    firstIntended: rn(p.firstIntended),
    lastCompleted: rn(p.lastCompleted),
    lateSamples: p.lateSamples,
    errors: p.errors.map((e) => ({ cause: e.cause, count: e.count, firstAt: r(e.firstAt), lastAt: r(e.lastAt), example: e.example })),
  };
}

function markersOf(phases: readonly ReportPhase[], faults: readonly ReportFault[]): Marker[] {
  const markers: Marker[] = phases.map((p) => ({ kind: 'phase', at: p.from, label: p.name }));
  for (const f of faults) {
    const what = `${faultKindLabel(f.kind)}${f.targets.length ? ` ${f.targets.join(', ')}` : ''}`;
    markers.push({ kind: 'fault', at: f.at, label: what });
    if (f.healedAt !== null) markers.push({ kind: 'heal', at: f.healedAt, label: faultHealLabel(f) });
  }
  return markers.sort((a, b) => a.at - b.at);
}

function latencyOf(l: LatencySummary | null): ReportLatency | null {
  if (!l) return null;
  return { count: l.count, meanMs: r(l.meanMs), p50Ms: r(l.p50Ms), p95Ms: r(l.p95Ms), p99Ms: r(l.p99Ms), p999Ms: r(l.p999Ms), maxMs: r(l.maxMs) };
}

/** A JSON scalar: finite numbers, strings and booleans as they are; anything else as text. */
function scalar(value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function addMs(iso: string, ms: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t + Math.round(ms)).toISOString();
}

function rank(order: readonly string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalInt(value: unknown): number | undefined {
  return Number.isInteger(value) ? value as number : undefined;
}

function countOf(value: unknown): number {
  return Number.isInteger(value) && (value as number) >= 0 ? value as number : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

/** Milliseconds rounded to the microsecond, so the JSON stays readable. */
function r(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function rn(ms: number | null): number | null {
  return ms === null ? null : r(ms);
}
