// The versioned shape of report.json, as a zod schema, so every writer and reader agrees on
// it and its JSON Schema (report.schema.json) is generated from the same source.
import { z } from 'zod';

export const SCHEMA_VERSION = 2;

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
  shed: count('Of the failures, operations the system refused on purpose to protect itself (HTTP 429, rate limited): still failures, so availability counts them as not served (absent in reports from before it was counted).').optional(),
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

export const errorCauseSchema = z.object({
  cause: z.string().describe('The error clients got, with its variable parts replaced (`<addr>`, `<id>`, `<n>`): `53300: sorry, too many clients already`, `timeout`, `ECONNREFUSED: connect ECONNREFUSED <addr>`. Also `slower than the latency budget`, `not recorded (...)` for failures counted in windows, and `other causes (...)` past the first 20 causes.'),
  count: count('Failed operations with this cause.'),
  firstAt: ms('Intended time of the first of them (ms).'),
  lastAt: ms('Intended time of the last of them (ms).'),
  example: z.string().describe('The first error text of this cause, as the sample carried it (one line, credentials masked).'),
});

export const worstRecoverySchema = z.object({
  status: z.enum(['no-faults', 'recovered', 'not-recovered']).describe('no-faults: the probe was judged on no fault; recovered: it recovered after every fault; not-recovered: after at least one fault it did not recover within the data (or saw no data).'),
  faults: count('Faults this probe is judged on (its scopes).'),
  rtoMs: ms('The worst RTO over those faults (ms); null when any of them was not recovered (unmeasured fails any hypothesis on it) or without faults.').nullable(),
  timeToDetectMs: ms('The worst time to detect among the faults that were detected (ms), or null.').nullable(),
  faultId: z.string().nullable().describe('The fault with the worst RTO, or the first one not recovered; null without faults.'),
  unrecovered: z.array(z.string()).describe('Ids of the faults after which the probe did not recover (or saw no data).'),
}).describe('The probe\'s recovery over all the faults it is judged on: the one number every table, tile and hypothesis uses.');

export const probeSchema = z.object({
  name: z.string().describe('Probe name as written in its samples (`<probe>@<variant>` when the run has several variants).'),
  scopes: z.array(z.string()).nullable().describe('Scopes (systems) the probe declared it depends on; it is judged only on faults of these scopes. null: it declared none and is judged on every fault.'),
  variant: z.string().nullable().describe('The variant the probe ran against, or null.'),
  writes: z.boolean().describe('True for a write probe: its acknowledged writes are checked after the run (see writeChecks).'),
  ...availabilityFields,
  latency: latencySchema.nullable().describe('Latency over the whole run; null when only windows without histograms were recorded.'),
  phases: z.array(probePhaseSchema).describe('Per phase, in the order the phases began.'),
  outageMs: ms('Sum of the failing intervals (ms), exact even when the list is capped.'),
  failingIntervals: z.array(failingIntervalSchema).describe('The first failing intervals, in time order (capped: see failingIntervalCount).'),
  failingIntervalCount: count('Number of failing intervals (exact).'),
  intervalsTruncated: z.boolean().describe('True when failingIntervals lists fewer than failingIntervalCount.'),
  timeToDetectMs: ms('The worst time to detect over the faults the probe is judged on (ms), = worst.timeToDetectMs; null without faults or without a failure after any of them.').nullable(),
  rtoMs: ms('The worst RTO over the faults the probe is judged on (ms), = worst.rtoMs; null when one of them was not recovered, or without faults. See recoveries for each fault.').nullable(),
  worst: worstRecoverySchema,
  recoveries: z.array(recoverySchema).describe('Time to detect and RTO of this probe, one entry per fault it is judged on (its scopes and variant).'),
  firstIntended: ms('Intended start of the probe\'s first operation (ms), or null.').nullable(),
  lastCompleted: ms('Completion of the probe\'s last operation (ms), or null.').nullable(),
  lateSamples: count('Samples that arrived later than the analyser\'s reorder window: counted in availability and latency, not in intervals and RTO.'),
  errors: z.array(errorCauseSchema).optional().describe('Every failure of the probe by cause, most frequent first; the counts add up to failures (absent in reports from before causes were counted).'),
});

export const hypothesisSchema = z.object({
  name: z.string().min(1).describe('Short name, e.g. `rto`.'),
  description: z.string().describe('What is claimed, e.g. "clients recover within 30 s"; empty when none was given.'),
  ok: z.boolean().describe('True when the observed value met the threshold.'),
  observed: scalarSchema.describe('The measured value.'),
  threshold: scalarSchema.describe('The limit it was checked against (a number, or a string such as `<= 30000`).'),
  unit: z.string().nullable().describe('Unit of observed and threshold: ms, s, count, bytes or ratio (a fraction in [0, 1], shown as %); another text from older writers; or null.'),
  variant: z.string().nullable().describe('The variant it was checked on, or null (the whole run).'),
});

export const measurementSchema = z.object({
  name: z.string().min(1).describe('Metric name hypotheses use, e.g. `election`, `lostWrites`; shown as `name(scope)#iteration [variant]`.'),
  value: scalarSchema.describe('The measured value; null when it could not be measured (shown as `not measured`).'),
  unit: z.string().nullable().describe('Unit of value: ms, s, count, bytes or ratio (a fraction in [0, 1], shown as %); another text from older writers; or null.'),
  description: z.string().describe('How it was measured (from what event to what event, which query...).'),
  scope: z.string().nullable().describe('Probe or system it belongs to (hypotheses select by it), or null.'),
  iteration: z.number().int().nullable().describe('Iteration of the schedule it was measured in, or null.'),
  variant: z.string().nullable().describe('The variant it was measured on, or null.'),
  at: ms('When it was recorded (ms from run start); null for one passed to buildReport.').nullable(),
});

const severitySchema = z.enum(['critical', 'warning', 'info']);

export const evidenceSchema = z.object({
  label: z.string().describe('What it is: `patroni log pg1`, `SELECT count(*)`, `upstream issue`...'),
  text: z.string().describe('The excerpt, as recorded (redacted).'),
});

export const findingSchema = z.object({
  id: z.string().min(1).describe('Unique in the run, e.g. `lost-writes:sql-write`.'),
  kind: z.string().describe('What kind of finding: `lost-writes`, `failover-not-held`, `split-brain`...'),
  severity: severitySchema.describe('critical (shown in red, a failed JUnit testcase), warning (amber) or info.'),
  title: z.string().describe('One line.'),
  detail: z.string().describe('What happened and why it matters.'),
  at: ms('When it happened (ms from run start).'),
  until: ms('When it ended (ms), when it lasted.').optional(),
  scope: z.string().describe('The system it concerns.').optional(),
  variant: z.string().describe('The variant it was seen on.').optional(),
  iteration: z.number().int().describe('The iteration it was seen in.').optional(),
  faultId: z.string().describe('The fault it follows (see faults[].id).').optional(),
  nodes: z.array(z.string()).describe('Nodes (containers, servers) involved.').optional(),
  evidence: z.array(evidenceSchema).describe('Log excerpts, versions, query results, upstream issues that show it.'),
  data: freeForm('Machine-readable details (redacted).').optional(),
});

const lostCount = (description: string) => z.number().int().nonnegative().describe(description);

export const writeCheckFaultSchema = z.object({
  faultId: z.string().describe('The fault (see faults[].id); its share is what was lost after it, until the next fault.'),
  scope: z.string().describe('The fault\'s scope.').optional(),
  iteration: z.number().int().describe('The fault\'s iteration.').optional(),
  lost: lostCount('Acknowledged writes lost after this fault.'),
  rpoSeconds: z.number().nonnegative().describe('RPO in seconds: span of the lost acknowledged data, last − first lost ack + the probe interval; 0 when none was lost.'),
  firstLostAckAt: ms('Acknowledgement time of the first lost write (ms), or null.').nullable(),
  lastLostAckAt: ms('Acknowledgement time of the last lost write (ms), or null.').nullable(),
});

export const writeWindowSchema = z.enum(['before-fault', 'fault', 'after-election', 'after-heal']);

export const writeCheckSchema = z.object({
  at: ms('When the check ran (ms from run start).'),
  probe: z.string().describe('The write probe whose acknowledged writes were read back.'),
  scope: z.string().describe('The system it writes to.').optional(),
  variant: z.string().describe('The variant it ran against.').optional(),
  store: z.string().describe('What was read back, e.g. `table resilience_writes on the leader`.'),
  acked: lostCount('Writes the datastore acknowledged.'),
  present: lostCount('Acknowledged writes found when read back.'),
  lost: lostCount('Acknowledged writes missing when read back.'),
  ghost: lostCount('Writes found that were never acknowledged (failed or timed out for the client, yet stored).'),
  lostByNode: z.record(z.string(), z.number().int().nonnegative()).describe('Lost writes by the node that acknowledged them (`unknown` when the probe could not tell).'),
  lostByWindow: z.object({
    'before-fault': lostCount('Acknowledged before the fault.'),
    fault: lostCount('Acknowledged between the fault and the election of a new leader.'),
    'after-election': lostCount('Acknowledged between the election and the heal.'),
    'after-heal': lostCount('Acknowledged after the fault was healed.'),
  }).describe('Lost writes by when they were acknowledged, relative to the fault they follow.'),
  perFault: z.array(writeCheckFaultSchema).describe('Each fault\'s share of the loss, with its RPO.'),
  lostSpans: z.array(z.object({
    node: z.string().describe('The node that acknowledged the lost writes (`unknown` when the probe could not tell).'),
    from: ms('Acknowledgement time of the first lost write of the run (ms).'),
    to: ms('Acknowledgement time of the last one (ms).'),
    count: lostCount('Lost writes in the run.'),
  })).describe('Every lost write, as runs per acknowledging node (lost acknowledgements of one node less than 1 s apart), as the runner wrote them; absent from older journals.').optional(),
  examples: z.array(z.object({
    id: z.string().describe('Id of the lost row or key.'),
    at: ms('When it was acknowledged (ms).'),
    node: z.string().describe('The node that acknowledged it.'),
    window: writeWindowSchema.nullable().describe('Its window, or null before any fault.'),
  })).describe('The first lost writes (at most 20).'),
});

export const evidenceTableSchema = z.object({
  title: z.string().describe('What the table shows, e.g. `backups in the repository`.'),
  header: z.array(z.string()).describe('Column labels.'),
  rows: z.array(z.array(z.string())).describe('Rows of cells, as text (one per column).'),
});

export const runEvidenceSchema = z.object({
  name: z.string().min(1).describe('The evidence\'s name, unique per variant (`backups`, `restore`); evidence.json keys its data by it (`name@variant` for a variant\'s).'),
  variant: z.string().describe('The variant it was gathered on.').optional(),
  tables: z.array(evidenceTableSchema).describe('Its tables for people, in the order the workflow gave them; the data itself is in evidence.json.'),
});

export const nodeRoleSchema = z.enum(['primary', 'replica', 'down']);

export const roleSpanSchema = z.object({
  node: z.string().describe('The node (lane).'),
  role: nodeRoleSchema.describe('What the node was, polled directly: primary, replica, or down (the poll failed).'),
  writable: z.boolean().describe('Whether it accepted writes: a primary that refuses them (Redis `min-replicas-to-write` unmet) is primary and not writable.'),
  from: ms('Its role event (ms from run start).'),
  to: ms('The node\'s next role event, or the end of the run (ms).'),
  detail: z.string().describe('Why, from the role event: `not in recovery`, `NOREPLICAS`, the error of a failed poll.').optional(),
});

export const roleOverlapSchema = z.object({
  from: ms('Start of the split brain (ms).'),
  to: ms('End of it (ms).'),
  durationMs: ms('to − from (ms).'),
  nodes: z.array(z.string()).describe('The nodes that were writable primaries in it.'),
});

export const roleMomentSchema = z.object({
  kind: z.enum(['election', 'demotion']).describe('election: a new primary took writes; demotion: the old primary stopped taking them.'),
  faultId: z.string().describe('The fault it follows (see faults[].id).'),
  at: ms('fault.at + the measurement\'s value (ms from run start).'),
  afterMs: ms('The `election` or `demotion` measurement of the fault\'s scope, iteration and variant: ms from the fault.'),
});

export const roleLostSchema = z.object({
  probe: z.string().describe('The write probe whose check found them.'),
  node: z.string().describe('The node that acknowledged them (its lane).'),
  from: ms('Acknowledgement time of the first (ms).'),
  to: ms('Acknowledgement time of the last (ms).'),
  count: z.number().int().nonnegative().describe('Lost writes in the span.'),
});

export const roleChartSchema = z.object({
  scope: z.string().describe('The system (`postgres`, `redis`).'),
  variant: z.string().nullable().describe('The variant, or null.'),
  nodes: z.array(z.string()).describe('One lane per node, by name: the nodes with role events, then any other that acknowledged lost writes.'),
  spans: z.array(roleSpanSchema).describe('Each node\'s roles over time: the fixtures\' roleSpans over the journal\'s `role` events, to the end of the run.'),
  overlaps: z.array(roleOverlapSchema).describe('Split brain: when two or more nodes were writable primaries at once, over the whole run (the fixtures\' writableOverlaps on spans).'),
  splitBrainMs: ms('Total length of overlaps (ms; the fixtures\' totalLength); 0 without split brain.'),
  faults: z.array(z.string()).describe('Ids of the faults of this scope (or of no scope) and variant, shaded on the chart (see faults[]).'),
  moments: z.array(roleMomentSchema).describe('Elections and demotions after those faults, from the runner\'s measurements.'),
  lostWrites: z.array(roleLostSchema).describe('The lost writes of this scope and variant, from the write checks\' lostSpans, on the lane of the node that acknowledged them.'),
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
  callMs: ms('How long the Docker call that applied it took (ms); `at` is taken just before it. null when not recorded.').nullable(),
  scope: z.string().nullable().describe('The system the fault hits (`postgres`, `redis`); probes depending on it are judged on it. null: every probe is.'),
  iteration: z.number().int().nullable().describe('Iteration of the schedule, or null.'),
  variant: z.string().nullable().describe('The variant it was injected in, or null.'),
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
  passed: z.boolean().describe('True only when the run completed, at least one hypothesis was checked, all held and the exit code (if known) is 0. Findings do not change it (hypotheses on what they measure do); a critical finding is named in reason.'),
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

export const resourceUnitSchema = z.enum(['bytes', 'percent', 'count', 'ms']);

export const resourceSeriesSchema = z.object({
  container: z.string().describe('Container as the journal names it (`pgha-pg1`, `app`, `runner`).'),
  metric: z.string().describe('Reading: memoryBytes, cpuPercent, pids, fds, connections, or a key of the event\'s values (`heapUsedBytes`, `eventLoopDelayP99Ms`, `keys`...).'),
  unit: resourceUnitSchema.describe('From the metric\'s name: `…Bytes` bytes, `…Percent` (cpuPercent) percent (100 = one core), `…Ms` ms, anything else count.'),
  t: z.array(z.number()).describe('Start of each non-empty bucket (ms from run start), in time order; bucket i is [t[i], t[i] + bucketMs). Buckets without a reading are left out.'),
  count: z.array(z.number().int().positive()).describe('Readings per bucket, parallel to t.'),
  mean: z.array(z.number()).describe('Mean of the readings per bucket, parallel to t (a whole number from 1 000 up, else to three decimals).'),
  min: z.array(z.number()).describe('Smallest reading per bucket, parallel to t.'),
  max: z.array(z.number()).describe('Largest reading per bucket, parallel to t.'),
  first: z.number().describe('The earliest reading of the run.'),
  last: z.number().describe('The latest reading of the run.'),
  peak: z.number().describe('The largest reading of the run.'),
});

export const resourcesSchema = z.object({
  bucketMs: z.number().positive().describe('Bucket width (ms), the same for every series: 1 s, doubled until every series fits in 240 buckets.'),
  series: z.array(resourceSeriesSchema).describe('One per container and metric, containers in the order of their first reading, then metrics in the order they first appeared.'),
});

export const comparisonRowSchema = z.object({
  metric: z.enum(['rto', 'ttd', 'availability', 'p99', 'lostWrites']).describe('rto: worst RTO over the faults; ttd: worst time to detect; availability: good / attempted (overall, or in `phase`); p99: 99th percentile latency over the run; lostWrites: acknowledged writes lost.'),
  kind: z.enum(['probe', 'scope']).describe('probe: one probe; scope: the probes that depend on one system (RTO and time to detect per fault the worst of them, availability the lowest, p99 the highest, lost writes the sum).'),
  subject: z.string().describe('The probe (`sql-write`, `sql-write@naive`) or the scope (`postgres`).'),
  phase: z.string().nullable().describe('The phase of an availability row (`steady`, `fault`...); null: the whole run.'),
  variant: z.string().nullable().describe('The variant, or null.'),
  unit: z.enum(['ms', 'ratio', 'count']).describe('Unit of baseline, current, diff, noise, allowed and limit.'),
  baseline: z.number().nullable().describe('The value in the baseline run; null when it was not measured there (not recovered, no samples, not checked).'),
  current: z.number().nullable().describe('The value in this run; null when not measured.'),
  diff: z.number().nullable().describe('current − baseline; null when either is null.'),
  relative: z.number().nullable().describe('diff / |baseline| (0.1 = 10 %); null when either is null or the baseline is 0.'),
  samples: z.object({
    baseline: count('Per-fault (or per phase occurrence) samples of the metric in the baseline run.'),
    current: count('The same in this run.'),
  }).describe('How many samples each run gave for the noise.'),
  noiseBasis: z.enum(['measured', 'unknown', 'none']).describe('measured: both runs had at least 2 samples; unknown: one had fewer, so the fallback tolerance is used; none: no noise applies (lost writes: any increase regresses).'),
  noise: z.number().nullable().describe('Run-to-run noise: the larger of the two runs\' range (max − min) of the samples; null when not measured.'),
  floor: z.number().describe('Smallest change that can count: two probe intervals for times (each run\'s time is quantised by its probe\'s schedule), one operation for availability, 0 for lost writes.'),
  allowed: z.number().nullable().describe('How much worse the value may get without regressing: max(noise, or with unknown noise the tolerance × baseline (× its unavailability for availability), floor); null when the baseline is not measured.'),
  limit: z.number().nullable().describe('The worst value that still passes: baseline + allowed (− allowed for availability); null when the baseline is not measured.'),
  verdict: z.enum(['regressed', 'improved', 'within-noise', 'same', 'not-measured']).describe('regressed: worse by more than allowed, or no longer measured; improved: better by more than allowed, or measured now; within-noise: a change no larger than allowed; same: no change; not-measured: in neither run.'),
});

export const baselineSchema = z.object({
  run: z.object({
    id: z.string().describe('Run id of the baseline.'),
    workflow: z.string().describe('Its workflow.'),
    startedAt: z.string().describe('When it started (wall-clock ISO time).'),
    outcome: verdictSchema.shape.outcome.describe('Its verdict\'s outcome.'),
  }).describe('The run compared with.'),
  source: z.string().nullable().describe('The report.json it was read from, as given; null when compared in memory.'),
  tolerance: z.number().nonnegative().describe('Relative tolerance used when the noise is unknown (0.2 = 20 %).'),
  rows: z.array(comparisonRowSchema).describe('Per probe, then per scope: RTO, time to detect, availability (overall, then per phase), p99 and lost writes, baseline beside this run.'),
  regressions: count('Rows that regressed; each is a failed hypothesis `baseline: <metric>(<subject>)` in verdict.hypotheses.'),
  newFindings: z.array(z.object({
    kind: z.string().describe('The finding kind (`split-brain`, `lost-writes`...).'),
    severity: z.enum(['critical', 'warning', 'info']).describe('The most severe of them.'),
    count: count('Findings of that kind in this run.'),
    title: z.string().describe('The title of the first.'),
  })).describe('Finding kinds this run has and the baseline has not (listed; lost writes and the like are judged by their rows).'),
  unmatched: z.object({
    baselineOnly: z.array(z.string()).describe('Probes only the baseline has.'),
    currentOnly: z.array(z.string()).describe('Probes only this run has.'),
  }).describe('Probes of one run without a namesake in the other: not compared.'),
});

/** The most screenshots report.json lists (and report.html inlines): each is tens of kB. */
export const MAX_REPORT_SCREENSHOTS = 10;

export const screenshotSchema = z.object({
  probe: z.string().describe('The probe whose operation failed (a browser journey).'),
  op: z.string().describe('Its operation label, e.g. `journey open,place-order,find-order`.'),
  at: ms('Intended start of the failed operation (ms from run start).'),
  durationMs: ms('completed − intended (ms): how long the user waited until it failed.'),
  error: z.string().describe('The sample\'s error: `<step>: <what went wrong>` for a browser journey.'),
  file: z.string().describe('The PNG, relative to the run\'s report folder (where the journal is), e.g. `screenshots/web-000012.png`.'),
}).describe('A failed operation with a screenshot of what the user saw.');

export const screenshotsSchema = z.object({
  total: count('Failed samples in the journal that name a screenshot.'),
  shown: z.array(screenshotSchema).describe(`The first of them in journal order (at most ${MAX_REPORT_SCREENSHOTS}); report.html shows these with their images inline.`),
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
  variants: z.array(z.string()).describe('Variants of the run in the order they ran (the app naive and hardened, two images...); empty for a run without variants.'),
  findings: z.array(findingSchema).describe('What the system under test did that users must see (acknowledged writes lost, a failover that did not hold...): the journal\'s `finding` events without `type`, in time order. Every report leads with them.'),
  writeChecks: z.array(writeCheckSchema).describe('Per write probe, its acknowledged writes read back after recovery: the journal\'s `write-check` events without `type`.'),
  roles: z.array(roleChartSchema).describe('Node roles over time, one entry per variant and system with `role` events (none: empty or absent): the swimlanes of the HTML page.').optional(),
  evidence: z.array(runEvidenceSchema).describe('What the workflow gathered to prove what happened (a drill\'s backups, restore steps, rows found after the restore): the journal\'s `evidence` events, one per name and variant (the last of them), in the order of those events (none: absent).').optional(),
  screenshots: screenshotsSchema.describe('Failed operations that left a screenshot (browser journeys: the page when the journey failed), from the journal\'s failed samples with a `screenshot` (none: absent).').optional(),
  measurements: z.array(measurementSchema).describe('Values measured by the workflow and the runner (leader election, lost writes, RTO p95...): the journal\'s `measurement` events and `measurement` notes, then any passed to buildReport.'),
  timeline: timelineSchema.describe('Chart data: per-bucket success rate and latency of each probe, and markers.'),
  baseline: baselineSchema.describe('This run compared with a baseline run (`--baseline`): regressions beyond the run-to-run noise are failed hypotheses (none: absent).').optional(),
  resources: resourcesSchema.describe('Resource readings of the containers (and the runner) over time, from the journal\'s `resource` events, bucketed for the charts: count, mean, min and max per bucket (none: absent).').optional(),
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
export type ReportWorstRecovery = z.infer<typeof worstRecoverySchema>;
export type ReportFinding = z.infer<typeof findingSchema>;
export type ReportEvidence = z.infer<typeof evidenceSchema>;
export type ReportRunEvidence = z.infer<typeof runEvidenceSchema>;
export type ReportEvidenceTable = z.infer<typeof evidenceTableSchema>;
export type ReportScreenshot = z.infer<typeof screenshotSchema>;
export type ReportScreenshots = z.infer<typeof screenshotsSchema>;
export type ReportWriteCheck = z.infer<typeof writeCheckSchema>;
export type ReportWriteCheckFault = z.infer<typeof writeCheckFaultSchema>;
export type ReportRoleChart = z.infer<typeof roleChartSchema>;
export type ReportRoleSpan = z.infer<typeof roleSpanSchema>;
export type Measurement = z.infer<typeof measurementSchema>;
export type Marker = z.infer<typeof markerSchema>;
export type Timeline = z.infer<typeof timelineSchema>;
export type TimelineProbe = z.infer<typeof timelineProbeSchema>;
export type Scalar = z.infer<typeof scalarSchema>;
export type ReportResources = z.infer<typeof resourcesSchema>;
export type ResourceSeries = z.infer<typeof resourceSeriesSchema>;
export type ResourceUnit = z.infer<typeof resourceUnitSchema>;
export type ReportBaseline = z.infer<typeof baselineSchema>;
export type ComparisonRow = z.infer<typeof comparisonRowSchema>;

/** The JSON Schema (draft 2020-12) of report.json, generated from reportSchema. */
export function reportJsonSchema(): Record<string, unknown> {
  return {
    $id: `https://resilience.local/schemas/report-v${SCHEMA_VERSION}.json`,
    title: 'Resilience run report',
    ...z.toJSONSchema(reportSchema, { target: 'draft-2020-12' }),
  } as Record<string, unknown>;
}
