// Synthetic journals with several faults, findings, write checks and variants, written as
// NDJSON lines (the way the runner's journal stores them), for the report's renderers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvidenceEvent, FindingEvent, HypothesisResult, JournalEvent, SampleEvent, WriteCheckEvent } from '@resilience/fixtures/events';
import { buildReport } from '../../src/index.ts';
import type { BuildReportOptions, Report } from '../../src/index.ts';
import { tempDir } from './journals.ts';

export const STARTED_AT = '2026-11-22T02:49:00.000Z';

/** Writes run-start and the events (sorted by time, as a journal receives them) into `<dir>/journal.ndjson`. */
export async function writeJournal(dir: string, events: readonly JournalEvent[], options: { workflow?: string; runId?: string } = {}): Promise<string> {
  const path = join(dir, 'journal.ndjson');
  const start: JournalEvent = { type: 'run-start', runId: options.runId ?? 'run-2f', workflow: options.workflow ?? 'redis-failover', startedAt: STARTED_AT, at: 0 };
  const sorted = events.map((e, i) => ({ e, i })).sort((a, b) => timeOf(a.e) - timeOf(b.e) || a.i - b.i).map((x) => x.e);
  await writeFile(path, [start, ...sorted].map((e) => JSON.stringify(e)).join('\n') + '\n');
  return path;
}

function timeOf(e: JournalEvent): number {
  return e.type === 'sample' ? e.completed : e.type === 'window' ? e.to : 'at' in e ? e.at : 0;
}

export interface SampleSpec {
  readonly probe: string;
  readonly op?: string;
  readonly from?: number;
  readonly to: number;
  readonly intervalMs?: number;
  /** True when the operation intended at `t` fails. */
  readonly fails?: (t: number) => boolean;
  readonly node?: string;
}

/** One sample every intervalMs (10 ms): good ones take 1 ms, failed ones 5 ms. */
export function samples(spec: SampleSpec): SampleEvent[] {
  const out: SampleEvent[] = [];
  const step = spec.intervalMs ?? 10;
  for (let t = spec.from ?? 0; t < spec.to; t += step) {
    const failed = spec.fails?.(t) ?? false;
    out.push({
      type: 'sample', probe: spec.probe, op: spec.op ?? 'SET', intended: t, completed: t + (failed ? 5 : 1), ok: !failed,
      ...(failed ? { error: 'READONLY' } : {}), ...(spec.node ? { node: spec.node } : {}),
    });
  }
  return out;
}

export const F1_AT = 10_000;
export const F2_AT = 20_000;
/** redis-write fails for intended times in [F2_AT, F2_RECOVERED): its first good operation completes at 23 481, RTO 3.48 s. */
export const F2_RECOVERED = 23_480;
export const END_AT = 40_000;

export const LOST_WRITES_FINDING: FindingEvent = {
  type: 'finding',
  id: 'lost-writes:redis-write',
  kind: 'lost-writes',
  severity: 'critical',
  title: '12 acknowledged writes lost (redis-write)',
  detail: 'redis1 acknowledged writes that never reached redis2 before it was promoted.\nThey are gone from the new primary.',
  at: F2_AT,
  until: F2_RECOVERED,
  scope: 'redis',
  iteration: 2,
  faultId: 'f2',
  nodes: ['redis1', 'redis2'],
  evidence: [
    { label: 'INFO replication (redis2)', text: 'role:master\nmaster_repl_offset:1234\n<script>alert("evidence")</script>' },
    { label: 'sentinel log', text: '+switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379 password=hunter2' },
  ],
  data: { lost: 12 },
};

export const SLOW_FAILOVER_FINDING: FindingEvent = {
  type: 'finding',
  id: 'slow-failover:redis',
  kind: 'slow-failover',
  severity: 'warning',
  title: 'Sentinel took 3.2 s to promote a replica',
  detail: 'down-after-milliseconds is 3000.',
  at: F2_AT + 100,
  scope: 'redis',
  evidence: [],
};

export const WRITE_CHECK: WriteCheckEvent = {
  type: 'write-check',
  at: END_AT - 50,
  probe: 'redis-write',
  scope: 'redis',
  store: 'keys resilience:* on the primary',
  acked: 3000,
  present: 2988,
  lost: 12,
  ghost: 1,
  lostByNode: { unknown: 2, redis1: 10 },
  lostByWindow: { 'before-fault': 1, fault: 8, 'after-election': 3, 'after-heal': 0 },
  perFault: [
    { faultId: 'f1', scope: 'redis', iteration: 1, lost: 0, rpoSeconds: 0, firstLostAckAt: null, lastLostAckAt: null },
    { faultId: 'f2', scope: 'redis', iteration: 2, lost: 12, rpoSeconds: 1.2, firstLostAckAt: 19_990, lastLostAckAt: 21_180 },
  ],
  examples: Array.from({ length: 12 }, (_, i) => ({ id: `w-${1999 + i}`, at: 19_990 + i * 100, node: i < 10 ? 'redis1' : 'unknown', window: i === 0 ? 'before-fault' as const : i < 9 ? 'fault' as const : 'after-election' as const })),
};

export const TWO_FAULT_HYPOTHESES: HypothesisResult[] = [
  { name: 'rto(redis-write) <= 30s', ok: true, observed: 3481, threshold: 30_000, unit: 'ms', description: 'writes recover within 30 s' },
  { name: 'lostWrites(redis-write) == 0', ok: false, observed: 12, threshold: 0, unit: 'count' },
  { name: 'availability(redis-write) >= 99.9%', ok: false, observed: 0.99873, threshold: 0.999, unit: 'ratio' },
  { name: 'election <= 10s', ok: false, observed: null, threshold: 10_000, unit: 'ms', description: 'a new primary within 10 s' },
];

export interface TwoFaultOptions {
  readonly findings?: boolean;
  readonly writeCheck?: boolean;
  readonly verdict?: boolean;
}

/**
 * A Redis run with two faults of scope `redis`: after f1 (t = 10 s) redis-write sees no failure,
 * after f2 (t = 20 s) it fails for 3.48 s; redis-read fails 1.2 s after f1 and never recovers
 * after f2; sql-read depends on `postgres` only and is judged on no fault.
 */
export function twoFaultEvents(options: TwoFaultOptions = {}): JournalEvent[] {
  const events: JournalEvent[] = [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'probe', name: 'redis-write', op: 'SET', scopes: ['redis'], intervalMs: 10, writes: true, at: 0 },
    { type: 'probe', name: 'redis-read', op: 'GET', scopes: ['redis'], intervalMs: 10, writes: false, at: 0 },
    { type: 'probe', name: 'sql-read', op: 'SELECT 1', scopes: ['postgres'], intervalMs: 10, writes: false, at: 0 },
    { type: 'phase', name: 'fault', at: F1_AT },
    { type: 'fault-injected', id: 'f1', kind: 'kill', targets: ['redis1'], params: {}, at: F1_AT, callMs: 120.5, scope: 'redis', iteration: 1 },
    { type: 'fault-healed', id: 'f1', at: F1_AT + 2000 },
    { type: 'fault-injected', id: 'f2', kind: 'kill', targets: ['redis2'], params: {}, at: F2_AT, callMs: 98.2, scope: 'redis', iteration: 2 },
    { type: 'fault-healed', id: 'f2', at: F2_AT + 5000 },
    { type: 'phase', name: 'after', at: 30_000 },
    ...samples({ probe: 'redis-write', to: END_AT, fails: (t) => t >= F2_AT && t < F2_RECOVERED, node: 'redis1' }),
    ...samples({ probe: 'redis-read', op: 'GET', to: END_AT, fails: (t) => (t >= F1_AT && t < F1_AT + 1200) || t >= F2_AT }),
    ...samples({ probe: 'sql-read', op: 'SELECT 1', to: END_AT, intervalMs: 50 }),
    { type: 'measurement', at: 30_000, name: 'election', value: null, unit: 'ms', description: 'sentinel +switch-master after the kill', iteration: 2 },
    { type: 'measurement', at: 30_001, name: 'rpo', value: 1.2, unit: 's', description: 'span of the lost acknowledged writes', scope: 'redis-write' },
    { type: 'measurement', at: 30_002, name: 'availability', value: 0.99873, unit: 'ratio', description: 'good / attempted', scope: 'redis-write' },
    { type: 'measurement', at: 30_003, name: 'rtoP95', value: 10_870.2, unit: 'ms', description: 'p95 of the RTOs', scope: 'redis-write' },
    { type: 'measurement', at: 30_004, name: 'usedMemory', value: 3_355_443, unit: 'bytes', description: 'INFO memory', scope: 'redis2' },
    // An older writer's measurement, as a note.
    { type: 'note', at: 30_005, message: 'measurement', data: { name: 'leader-election', value: 3200, unit: 'ms', description: 'from the kill to +switch-master' } },
  ];
  if (options.findings !== false) events.push(LOST_WRITES_FINDING, SLOW_FAILOVER_FINDING);
  if (options.writeCheck !== false) events.push(WRITE_CHECK);
  if (options.verdict !== false) events.push({ type: 'verdict', hypotheses: TWO_FAULT_HYPOTHESES, at: END_AT - 5 });
  events.push({ type: 'run-end', status: 'completed', at: END_AT });
  return events;
}

/**
 * The same schedule against two variants of the app, `hardened` (t = 0..20 s) and `naive`
 * (t = 20..40 s), one fault each: hardened recovers in 1.50 s and loses nothing; naive
 * recovers in 4.00 s and loses 7 of 900 acknowledged writes.
 */
export function variantEvents(): JournalEvent[] {
  const events: JournalEvent[] = [
    { type: 'variant', name: 'hardened', at: 0, description: 'retries and a connection pool' },
    { type: 'phase', name: 'steady', at: 0, variant: 'hardened' },
    { type: 'probe', name: 'app-write@hardened', op: 'POST /items', scopes: ['postgres'], intervalMs: 10, writes: true, variant: 'hardened', at: 0 },
    { type: 'probe', name: 'app-read@hardened', op: 'GET /items', scopes: ['postgres'], intervalMs: 10, writes: false, variant: 'hardened', at: 0 },
    { type: 'fault-injected', id: 'h1', kind: 'kill', targets: ['pg1'], params: {}, at: 5000, scope: 'postgres', iteration: 1, variant: 'hardened' },
    { type: 'fault-healed', id: 'h1', at: 8000 },
    ...samples({ probe: 'app-write@hardened', op: 'POST /items', to: 20_000, fails: (t) => t >= 5000 && t < 6500 }),
    ...samples({ probe: 'app-read@hardened', op: 'GET /items', to: 20_000, fails: (t) => t >= 5000 && t < 5400 }),
    { type: 'write-check', at: 19_000, probe: 'app-write@hardened', scope: 'postgres', variant: 'hardened', store: 'table items', acked: 1850, present: 1850, lost: 0, ghost: 0, lostByNode: {}, lostByWindow: { 'before-fault': 0, fault: 0, 'after-election': 0, 'after-heal': 0 }, perFault: [{ faultId: 'h1', scope: 'postgres', iteration: 1, lost: 0, rpoSeconds: 0, firstLostAckAt: null, lastLostAckAt: null }], examples: [] },
    { type: 'variant', name: 'naive', at: 20_000, description: 'one connection, no retries' },
    { type: 'phase', name: 'steady', at: 20_000, variant: 'naive' },
    { type: 'probe', name: 'app-write@naive', op: 'POST /items', scopes: ['postgres'], intervalMs: 10, writes: true, variant: 'naive', at: 20_000 },
    { type: 'probe', name: 'app-read@naive', op: 'GET /items', scopes: ['postgres'], intervalMs: 10, writes: false, variant: 'naive', at: 20_000 },
    { type: 'fault-injected', id: 'n1', kind: 'kill', targets: ['pg1'], params: {}, at: 25_000, scope: 'postgres', iteration: 1, variant: 'naive' },
    { type: 'fault-healed', id: 'n1', at: 28_000 },
    ...samples({ probe: 'app-write@naive', op: 'POST /items', from: 20_000, to: END_AT, fails: (t) => t >= 25_000 && t < 29_000 }),
    ...samples({ probe: 'app-read@naive', op: 'GET /items', from: 20_000, to: END_AT, fails: (t) => t >= 25_000 && t < 26_000 }),
    { type: 'write-check', at: 39_000, probe: 'app-write@naive', scope: 'postgres', variant: 'naive', store: 'table items', acked: 900, present: 893, lost: 7, ghost: 0, lostByNode: { pg1: 7 }, lostByWindow: { 'before-fault': 2, fault: 5, 'after-election': 0, 'after-heal': 0 }, perFault: [{ faultId: 'n1', scope: 'postgres', iteration: 1, lost: 7, rpoSeconds: 0.61, firstLostAckAt: 24_800, lastLostAckAt: 25_400 }], examples: [{ id: 'i-1', at: 24_800, node: 'pg1', window: 'before-fault' }] },
    { type: 'finding', id: 'lost-writes:app-write@naive', kind: 'lost-writes', severity: 'critical', title: '7 acknowledged writes lost (app-write@naive)', detail: 'The app acknowledged inserts the old primary never replicated.', at: 25_000, variant: 'naive', scope: 'postgres', nodes: ['pg1'], evidence: [] },
    { type: 'measurement', at: 39_500, name: 'lostWrites', value: 0, unit: 'count', description: 'acknowledged and missing', scope: 'app-write@hardened', variant: 'hardened' },
    { type: 'measurement', at: 39_501, name: 'lostWrites', value: 7, unit: 'count', description: 'acknowledged and missing', scope: 'app-write@naive', variant: 'naive' },
    {
      type: 'verdict', at: END_AT - 5, hypotheses: [
        { name: 'rto(app-write) <= 5s', ok: true, observed: 1501, threshold: 5000, unit: 'ms', variant: 'hardened' },
        { name: 'lostWrites(app-write) == 0', ok: true, observed: 0, threshold: 0, unit: 'count', variant: 'hardened' },
        { name: 'rto(app-write) <= 5s', ok: true, observed: 4001, threshold: 5000, unit: 'ms', variant: 'naive' },
        { name: 'lostWrites(app-write) == 0', ok: false, observed: 7, threshold: 0, unit: 'count', variant: 'naive' },
      ],
    },
    { type: 'run-end', status: 'completed', at: END_AT },
  ];
  return events;
}

export const DISASTER_AT = 10_000;
export const RESTORED_AT = 25_000;
export const EVIL = '</table><script>alert("evidence")</script> | `x` *y*';

/** The restore evidence as the drill records it at the end (an earlier, partial one is replaced). */
export const RESTORE_EVIDENCE: EvidenceEvent = {
  type: 'evidence', at: RESTORED_AT + 500, name: 'restore',
  data: { backup: '20261122-024500F', restoredRows: 1990, url: 'postgres://app:s3cret-pw@10.0.0.5/app' },
  tables: [
    { title: 'Restore steps', header: ['step', 'started', 'took'], rows: [['stanza-create', 't+10.20 s', '1.10 s'], ['restore', 't+11.30 s', '12.40 s'], ['promote', 't+23.70 s', '1.30 s']] },
    { title: 'Rows after the restore', header: ['table', 'rows', 'note'], rows: [['resilience_writes', '1,990', EVIL], ['secrets', '1', 'reached via postgres://app:s3cret-pw@10.0.0.5/app']] },
  ],
};

/**
 * A disaster-recovery drill: every database container destroyed at t = 10 s (a `disaster`,
 * ended at t = 25 s by the restore), sql-write failing in between; evidence of the backups
 * (no variant) and of the restore (recorded twice: the last one wins), and one with data only.
 */
export function drillEvents(): JournalEvent[] {
  return [
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'probe', name: 'sql-write', op: 'INSERT', scopes: ['postgres'], intervalMs: 10, writes: true, at: 0 },
    { type: 'evidence', at: 5000, name: 'backups', data: { backups: [{ label: '20261122-024500F', type: 'full' }] }, tables: [{ title: 'Backups in the repository', header: ['label', 'type', 'size'], rows: [['20261122-024500F', 'full', '41.2 MB']] }] },
    { type: 'phase', name: 'fault', at: DISASTER_AT },
    { type: 'fault-injected', id: 'disaster-1', kind: 'disaster', targets: ['rz-run-2f-pg1', 'rz-run-2f-pg2', 'rz-run-2f-pg3'], params: {}, at: DISASTER_AT, scope: 'postgres', iteration: 1 },
    { type: 'evidence', at: 15_000, name: 'restore', data: { partial: true }, tables: [{ title: 'Restore steps', header: ['step'], rows: [['stanza-create']] }] },
    { type: 'fault-healed', id: 'disaster-1', at: RESTORED_AT },
    { type: 'phase', name: 'after', at: RESTORED_AT },
    ...samples({ probe: 'sql-write', op: 'INSERT', to: END_AT, fails: (t) => t >= DISASTER_AT && t < RESTORED_AT }),
    RESTORE_EVIDENCE,
    { type: 'evidence', at: 30_000, name: 'timings', data: { restoreMs: 13_800 }, tables: [] },
    { type: 'verdict', at: END_AT - 5, hypotheses: [{ name: 'rpoSeconds(sql-write) <= 5m', ok: true, observed: 12.3, threshold: 300, unit: 's' }] },
    { type: 'run-end', status: 'completed', at: END_AT },
  ];
}

/** Writes the events as a journal in a temporary folder (removed after the test) and builds its report. */
export async function reportOf(t: { teardown: (fn: () => Promise<void>) => void }, events: readonly JournalEvent[], options: Omit<BuildReportOptions, 'journalPath'> = {}): Promise<Report> {
  const journalPath = await writeJournal(await tempDir(t), events);
  return buildReport({ journalPath, ...options });
}
