// Builds the report of one run from its journal in a single streaming pass (analyser and chart
// buckets together), so a crashed run's journal, or a 24 h soak's, gives a report too.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import type { HypothesisResult, JournalEvent, NoteEvent } from '@resilience/fixtures/events';
import { readJournal } from '@resilience/fixtures/journal';
import { DEFAULT_SUSTAIN_MS, RunAnalyser, UNPHASED } from '@resilience/fixtures/analysis';
import type { LatencySummary, ProbeSummary, RunSummary } from '@resilience/fixtures/analysis';
import pkg from '../package.json' with { type: 'json' };
import { buildOptionsSchema, measurementInputSchema, parseWith } from './options.ts';
import type { BuildReportOptions, HypothesisInput, MeasurementInput } from './options.ts';
import { redact } from './redact.ts';
import { SCHEMA_VERSION, reportSchema } from './schema.ts';
import type { Hypothesis, Marker, Measurement, Report, ReportFault, ReportLatency, ReportPhase, ReportProbe, ReportVerdict, Scalar } from './schema.ts';
import { TimelineBuilder } from './timeline.ts';

export const DEFAULT_REPORT_MAX_INTERVALS = 100;

/** The `note` message that carries a measurement in a journal (`data` is a MeasurementInput). */
export const MEASUREMENT_NOTE = 'measurement';

/**
 * Reads the journal once (readJournal → RunAnalyser and TimelineBuilder) and returns the
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
  const journalMeasurements: MeasurementInput[] = [];
  let torn = false;
  let events = 0;
  for await (const event of readJournal(o.journalPath, { onTornLine: () => { torn = true; } })) {
    events += 1;
    analyser.push(event);
    buckets.push(event);
    const m = measurementOf(event);
    if (m) journalMeasurements.push(m);
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
    targets: [...f.target],
    params: f.params,
    at: r(f.at),
    healedAt: f.healedAt === null ? null : r(f.healedAt),
    durationMs: f.healedAt === null ? null : r(f.healedAt - f.at),
    healError: f.healError,
  }));
  const hypotheses = o.hypotheses
    ? o.hypotheses.map(hypothesisOf)
    : (summary.hypotheses ?? []).map((h) => hypothesisOf(h as HypothesisResult & Partial<HypothesisInput>));
  const source: ReportVerdict['source'] = o.hypotheses ? 'options' : summary.hypotheses ? 'journal' : 'none';
  const meta = summary.meta ?? {};
  const timelineData = buckets.finish();

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
    verdict: { ...verdictOf(status, exitCode, hypotheses), source, hypotheses },
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
    probes: Object.values(summary.probes).map((p) => probeOf(p, phases)),
    anyProbeOutage: { outageMs: r(summary.anyProbeOutage.outageMs), exact: summary.anyProbeOutage.exact },
    measurements: mergeMeasurements(journalMeasurements, o.measurements ?? []),
    timeline: { ...timelineData, markers: markersOf(phases, faults) },
  };
  return reportSchema.parse(redact(report));
}

function measurementOf(event: JournalEvent): MeasurementInput | null {
  if (event.type !== 'note' || (event as NoteEvent).message !== MEASUREMENT_NOTE) return null;
  const parsed = measurementInputSchema.safeParse((event as NoteEvent).data);
  return parsed.success ? parsed.data : null;
}

function mergeMeasurements(fromJournal: readonly MeasurementInput[], passed: readonly MeasurementInput[]): Measurement[] {
  const byName = new Map<string, Measurement>();
  for (const m of [...fromJournal, ...passed]) {
    byName.delete(m.name); // a later one replaces an earlier one and takes its place at the end
    byName.set(m.name, { name: m.name, value: scalar(m.value), unit: m.unit ?? null, description: m.description });
  }
  return [...byName.values()];
}

function hypothesisOf(h: HypothesisInput): Hypothesis {
  return {
    name: h.name,
    description: typeof h.description === 'string' ? h.description : '',
    ok: h.ok === true,
    observed: scalar(h.observed),
    threshold: scalar(h.threshold),
    unit: typeof h.unit === 'string' ? h.unit : null,
  };
}

function verdictOf(status: Report['run']['status'], exitCode: number | null, hypotheses: readonly Hypothesis[]): Omit<ReportVerdict, 'source' | 'hypotheses'> {
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
    attempts: p.attempts,
    failures: p.failures,
    availability: p.availability,
    latency: latencyOf(p.latency),
    phases: names.map((name) => {
      const ph = p.phases[name]!;
      return { phase: name, attempts: ph.attempts, failures: ph.failures, availability: ph.availability, latency: latencyOf(ph.latency) };
    }),
    outageMs: r(p.outageMs),
    failingIntervals: p.failingIntervals.map((i) => ({ start: r(i.start), end: r(i.end), durationMs: r(i.durationMs), failures: i.failures, open: i.open })),
    failingIntervalCount: p.failingIntervalCount,
    intervalsTruncated: p.intervalsTruncated,
    timeToDetectMs: rn(p.timeToDetectMs),
    rtoMs: rn(p.rtoMs),
    recoveries: p.faults.map((f) => ({
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
  };
}

function markersOf(phases: readonly ReportPhase[], faults: readonly ReportFault[]): Marker[] {
  const markers: Marker[] = phases.map((p) => ({ kind: 'phase', at: p.from, label: p.name }));
  for (const f of faults) {
    const what = `${f.kind}${f.targets.length ? ` ${f.targets.join(', ')}` : ''}`;
    markers.push({ kind: 'fault', at: f.at, label: what });
    if (f.healedAt !== null) markers.push({ kind: 'heal', at: f.healedAt, label: f.healError ? `heal failed: ${f.kind}` : `healed ${f.kind}` });
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
