// The versioned shape of report.json, as a zod schema, so every writer and reader agrees on
// it and its JSON Schema (report.schema.json) is generated from the same source.
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

/** A hypothesis' or measurement's value: JSON scalars only (objects are stringified before). */
export const scalarSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);

const ms = (description: string) => z.number().describe(description);
const count = (description: string) => z.number().int().nonnegative().describe(description);
const freeForm = (description: string) => z.record(z.string(), z.unknown()).describe(description);

export const latencySchema = z.object({
  count: count('Operations in the histogram (failed ones included: a user waited for them too).'),
  meanMs: ms('Mean latency (ms).'),
  p50Ms: ms('Median latency (ms).'),
  p95Ms: ms('95th percentile (ms).'),
  p99Ms: ms('99th percentile (ms).'),
  p999Ms: ms('99.9th percentile (ms).'),
  maxMs: ms('Largest latency (ms).'),
}).describe('Latency = completed − intended start, from an HDR histogram (3 significant digits).');

const availabilityFields = {
  attempts: count('Operations attempted.'),
  failures: count('Operations that were not good (failed, or over the latency budget when one is set).'),
  availability: z.number().min(0).max(1).nullable().describe('good / attempted in [0, 1]; null when nothing was attempted.'),
};

export const probePhaseSchema = z.object({
  phase: z.string().describe('Phase name; `(none)` for samples before the first phase event.'),
  ...availabilityFields,
  latency: latencySchema.nullable().describe('Latency of the samples whose intended start is in this phase; null without samples.'),
}).describe('A probe in one phase: a sample belongs to the phase containing its intended start.');

export const failingIntervalSchema = z.object({
  start: ms('Intended start of the first failed operation (ms from run start).'),
  end: ms('Completion of the next good operation (ms); for an open interval the latest completion seen.'),
  durationMs: ms('end − start (ms).'),
  failures: count('Failed operations inside the interval.'),
  open: z.boolean().describe('True when the data ended while still failing.'),
});

export const recoverySchema = z.object({
  faultId: z.string().describe('Id of the fault (see faults[].id).'),
  faultAt: ms('When the fault took effect (ms from run start).'),
  status: z.enum(['recovered', 'no-visible-outage', 'not-recovered', 'no-data']).describe('recovered: sustained success followed the first failure; no-visible-outage: no failure after the fault (RTO 0); not-recovered: failing until the data ended; no-data: nothing completed after the fault.'),
  noVisibleOutage: z.boolean().describe('True when no failure followed the fault.'),
  detectedAt: ms('Completion of the first failed operation after the fault (ms), or null.').nullable(),
  timeToDetectMs: ms('detectedAt − faultAt (ms), or null.').nullable(),
  recoveredAt: ms('Completion of the first operation of the sustained good run (ms), or null.').nullable(),
  rtoMs: ms('Client-visible recovery time: recoveredAt − faultAt (ms); 0 without visible outage; null when not recovered.').nullable(),
});

export const probeSchema = z.object({
  name: z.string().describe('Probe name as written in its samples.'),
  ...availabilityFields,
  latency: latencySchema.nullable().describe('Latency over the whole run; null when only windows without histograms were recorded.'),
  phases: z.array(probePhaseSchema).describe('Per phase, in the order the phases began.'),
  outageMs: ms('Sum of the failing intervals (ms), exact even when the list is capped.'),
  failingIntervals: z.array(failingIntervalSchema).describe('The first failing intervals, in time order (capped: see failingIntervalCount).'),
  failingIntervalCount: count('Number of failing intervals (exact).'),
  intervalsTruncated: z.boolean().describe('True when failingIntervals lists fewer than failingIntervalCount.'),
  timeToDetectMs: ms('Time to detect the first fault (ms); null without faults or without a failure after it.').nullable(),
  rtoMs: ms('RTO of the first fault (ms); see recoveries for every fault.').nullable(),
  recoveries: z.array(recoverySchema).describe('Time to detect and RTO of this probe, one entry per fault.'),
  firstIntended: ms('Intended start of the probe\'s first operation (ms), or null.').nullable(),
  lastCompleted: ms('Completion of the probe\'s last operation (ms), or null.').nullable(),
  lateSamples: count('Samples that arrived later than the analyser\'s reorder window: counted in availability and latency, not in intervals and RTO.'),
});

export const hypothesisSchema = z.object({
  name: z.string().min(1).describe('Short name, e.g. `rto`.'),
  description: z.string().describe('What is claimed, e.g. "clients recover within 30 s"; empty when none was given.'),
  ok: z.boolean().describe('True when the observed value met the threshold.'),
  observed: scalarSchema.describe('The measured value.'),
  threshold: scalarSchema.describe('The limit it was checked against (a number, or a string such as `<= 30000`).'),
  unit: z.string().nullable().describe('Unit of observed and threshold (ms, %, rows...), or null.'),
});

export const measurementSchema = z.object({
  name: z.string().min(1).describe('Name, e.g. `leader-election`.'),
  value: scalarSchema.describe('The measured value.'),
  unit: z.string().nullable().describe('Unit of value, or null.'),
  description: z.string().describe('How it was measured (from what event to what event, which query...).'),
});

export const faultSchema = z.object({
  id: z.string().describe('Fault id (from the fault-injected event).'),
  kind: z.string().describe('Fault kind: pause, kill, partition, loss...'),
  targets: z.array(z.string()).describe('Containers the fault hit.'),
  params: freeForm('Fault parameters (redacted).'),
  at: ms('When it took effect (ms from run start).'),
  healedAt: ms('When it was undone (ms), or null when no fault-healed event was recorded.').nullable(),
  durationMs: ms('healedAt − at (ms), or null.').nullable(),
  healError: z.string().nullable().describe('Why healing failed, or null.'),
});

export const phaseSchema = z.object({
  name: z.string().describe('Phase name (steady, fault, recovery, after...).'),
  from: ms('Start (ms from run start).'),
  to: ms('Start of the next phase (ms); null for the last phase.').nullable(),
  durationMs: ms('to − from (ms); for the last phase, until the end of the run; null when unknown.').nullable(),
});

export const runStatusSchema = z.enum(['completed', 'failed', 'aborted', 'interrupted']);

export const runSchema = z.object({
  id: z.string().describe('Run id.'),
  workflow: z.string().describe('Workflow name.'),
  startedAt: z.string().describe('Wall-clock ISO 8601 time of t = 0.'),
  endedAt: z.string().describe('Wall-clock ISO time of the run-end event; for a run without one, of the last event in the journal.'),
  durationMs: ms('Time from t = 0 to the run-end event (or to the last event of an interrupted run).'),
  status: runStatusSchema.describe('From the run-end event; `interrupted` when the journal has none (the process died).'),
  exitCode: z.number().int().nullable().describe('Exit code of the workflow when it was passed in; null when the report was rebuilt from a journal alone.'),
  partial: z.boolean().describe('True when the run did not complete or its journal ends in a torn line: the numbers cover only what was recorded.'),
});

export const verdictSchema = z.object({
  passed: z.boolean().describe('True only when the run completed, at least one hypothesis was checked, all held and the exit code (if known) is 0.'),
  outcome: z.enum(['passed', 'failed', 'interrupted', 'aborted', 'no-hypotheses']).describe('What the header shows.'),
  reason: z.string().describe('One line explaining the outcome.'),
  source: z.enum(['options', 'journal', 'none']).describe('Where the hypotheses came from: passed to buildReport, the journal\'s verdict event, or nowhere.'),
  hypotheses: z.array(hypothesisSchema).describe('Each checked hypothesis, in the order given.'),
});

export const markerSchema = z.object({
  kind: z.enum(['phase', 'fault', 'heal']).describe('A phase start, a fault taking effect, or a fault healed.'),
  at: ms('Time (ms from run start).'),
  label: z.string().describe('Text drawn next to the line.'),
});

export const timelineProbeSchema = z.object({
  probe: z.string().describe('Probe name.'),
  attempts: z.array(z.number().nonnegative()).describe('Operations per bucket.'),
  failures: z.array(z.number().nonnegative()).describe('Not-good operations per bucket.'),
  successRate: z.array(z.number().min(0).max(1).nullable()).describe('good / attempted per bucket; null for an empty bucket.'),
  p50Ms: z.array(z.number().nullable()).describe('Median latency per bucket (ms, within 0.5 %); null for an empty bucket.'),
  p99Ms: z.array(z.number().nullable()).describe('99th percentile per bucket (ms, within 0.5 %); null for an empty bucket.'),
});

export const timelineSchema = z.object({
  bucketMs: z.number().positive().describe('Bucket width (ms): the requested width, doubled until the run fits in maxBuckets and no window event is wider.'),
  t: z.array(z.number()).describe('Start of each bucket (ms from run start); bucket i is [t[i], t[i] + bucketMs) of intended start times.'),
  probes: z.array(timelineProbeSchema).describe('Per probe, arrays parallel to t.'),
  markers: z.array(markerSchema).describe('Phase starts, faults and heals, for the charts.'),
});

export const reportSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION).describe('Version of this schema; a change that removes or retypes a field increments it.'),
  generatedAt: z.string().describe('Wall-clock ISO time the report was built.'),
  generator: z.object({ name: z.string().describe('Package name.'), version: z.string().describe('Package version.') }).describe('The package that wrote the report.'),
  run: runSchema.describe('The run: identity, times, how it ended.'),
  verdict: verdictSchema.describe('Pass or fail, and the hypotheses it rests on.'),
  settings: freeForm('Workflow settings as passed in (redacted); by default the journal\'s run-start meta.settings, or meta.'),
  environment: freeForm('Versions and facts of the environment (images, Node, Postgres...) as passed in (redacted); by default meta.environment.'),
  analysis: z.object({
    sustainMs: ms('Consecutive success (span of intended times) that counts as recovered, for RTO.'),
    latencyBudgetMs: ms('Slower successful operations count as failed; null when unset.').nullable(),
    maxIntervals: count('Cap on failingIntervals per probe.'),
  }).describe('Options the measurements were computed with.'),
  journal: z.object({
    file: z.string().describe('File name of the journal.'),
    events: count('Events read.'),
    eventCounts: z.record(z.string(), z.number().int().nonnegative()).describe('Events read, per type.'),
    tornLastLine: z.boolean().describe('True when the last line was incomplete (a crash mid-write) and was skipped.'),
    lastEventAt: ms('Latest time found in any event (ms).'),
  }).describe('The journal the report was built from.'),
  phases: z.array(phaseSchema).describe('Phases of the run in time order (a phase lasts until the next begins).'),
  faults: z.array(faultSchema).describe('Faults in the order they were injected.'),
  faultCount: count('Faults injected (faults lists at most the analyser\'s maxFaults).'),
  probes: z.array(probeSchema).describe('Per probe, in the order they first appear in the journal.'),
  anyProbeOutage: z.object({
    outageMs: ms('Time during which at least one probe was failing (union of their failing intervals).'),
    exact: z.boolean().describe('False when an interval list was capped, so the union may be short.'),
  }).describe('Outage across all probes.'),
  measurements: z.array(measurementSchema).describe('Extra values measured by the workflow (leader election, lost writes, rejoin time...).'),
  timeline: timelineSchema.describe('Chart data: per-bucket success rate and latency of each probe, and markers.'),
});

export type Report = z.infer<typeof reportSchema>;
export type ReportRun = z.infer<typeof runSchema>;
export type ReportVerdict = z.infer<typeof verdictSchema>;
export type ReportProbe = z.infer<typeof probeSchema>;
export type ReportProbePhase = z.infer<typeof probePhaseSchema>;
export type ReportFault = z.infer<typeof faultSchema>;
export type ReportPhase = z.infer<typeof phaseSchema>;
export type ReportLatency = z.infer<typeof latencySchema>;
export type Hypothesis = z.infer<typeof hypothesisSchema>;
export type Measurement = z.infer<typeof measurementSchema>;
export type Marker = z.infer<typeof markerSchema>;
export type Timeline = z.infer<typeof timelineSchema>;
export type TimelineProbe = z.infer<typeof timelineProbeSchema>;
export type Scalar = z.infer<typeof scalarSchema>;

/** The JSON Schema (draft 2020-12) of report.json, generated from reportSchema. */
export function reportJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://resilience.local/schemas/report-v1.json',
    title: 'Resilience run report',
    ...z.toJSONSchema(reportSchema, { target: 'draft-2020-12' }),
  } as Record<string, unknown>;
}
