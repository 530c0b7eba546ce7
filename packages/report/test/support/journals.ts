// Realistic journals for the report tests, written with the fixtures' own Journal class: a
// failover-like run with two 10 ms probes that fail for exactly 2 s while a fault is active.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '@resilience/fixtures/journal';
import type { HypothesisResult, JournalEvent, SampleEvent } from '@resilience/fixtures/events';

export const FAULT_AT = 3000;
export const HEAL_AT = 5000;
export const RUN_END_AT = 10_000;
export const INTERVAL_MS = 10;
/** The SQL probe's failed operations time out after this long. */
export const SQL_TIMEOUT_MS = 500;

export const SECRET_URL = 'postgres://app:s3cret-pw@127.0.0.1:5432/app';

export async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }, prefix = 'report-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic small jitter in [0, 1). */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

/**
 * Samples of both probes from t = 0 to `until`: `sql-read` (1.5–3 ms; during the fault every
 * operation times out after 500 ms) and `http-get` (2–4 ms, a 60–90 ms tail on 2 % of operations; refused in 1 ms
 * during the fault). Failing: intended start in [FAULT_AT, HEAL_AT).
 */
export function samples(until = RUN_END_AT): SampleEvent[] {
  const out: SampleEvent[] = [];
  for (let intended = 0; intended < until; intended += INTERVAL_MS) {
    const i = intended / INTERVAL_MS;
    const failing = intended >= FAULT_AT && intended < HEAL_AT;
    out.push(failing
      ? { type: 'sample', probe: 'sql-read', op: 'select', intended, completed: intended + SQL_TIMEOUT_MS, ok: false, error: 'timeout after 500 ms' }
      : { type: 'sample', probe: 'sql-read', op: 'select', intended, completed: intended + 1.5 + 1.5 * jitter(i), ok: true });
    const tail = i % 50 === 7 ? 60 + 30 * jitter(i + 1) : 0;
    out.push(failing
      ? { type: 'sample', probe: 'http-get', op: 'GET /health', intended, completed: intended + 1, ok: false, error: 'ECONNREFUSED' }
      : { type: 'sample', probe: 'http-get', op: 'GET /health', intended, completed: intended + 2 + 2 * jitter(i + 7) + tail, ok: true });
  }
  // A journal receives samples as they complete.
  return out.sort((a, b) => a.completed - b.completed);
}

export const HYPOTHESES = [
  { name: 'steady-availability', ok: true, observed: 1, threshold: '>= 0.999', description: 'availability in the steady phase' },
  { name: 'rto', ok: false, observed: 2002, threshold: '<= 1000', unit: 'ms', description: 'clients recover within 1 s of the fault' },
  { name: 'lost-writes', ok: true, observed: 0, threshold: '= 0', unit: 'rows' },
] as const;

export interface JournalOptions {
  /** Stop before this time (ms) and leave out run-end, like a crash. */
  readonly crashAt?: number;
  /** Append a half-written line at the end. */
  readonly tornLine?: boolean;
  readonly verdict?: boolean;
}

/** Writes a failover-like run's journal into a new folder; returns its path. */
export async function writeFailoverJournal(dir: string, options: JournalOptions = {}): Promise<string> {
  const journal = await Journal.open(join(dir, 'run'), {
    runId: 'run-7f3a',
    workflow: 'failover',
    meta: {
      settings: { probeIntervalMs: INTERVAL_MS, databaseUrl: SECRET_URL, pgPassword: 'hunter2', nested: { apiToken: 'tok-123' } },
      environment: { node: '24.21.0', postgres: '15.8', patroni: '3.0.2' },
    },
  });
  const end = options.crashAt ?? RUN_END_AT;
  const events = ([
    { type: 'phase', name: 'steady', at: 0 },
    { type: 'phase', name: 'fault', at: FAULT_AT },
    { type: 'fault-injected', id: 'f1', kind: 'pause', targets: ['pg-1'], params: { note: `reached via ${SECRET_URL}` }, at: FAULT_AT + 0.4 },
    { type: 'fault-healed', id: 'f1', at: HEAL_AT },
    { type: 'phase', name: 'recovery', at: HEAL_AT },
    { type: 'phase', name: 'after', at: 8000 },
    ...samples(end),
  ] satisfies JournalEvent[] as JournalEvent[]).filter((e) => ('at' in e ? e.at : (e as SampleEvent).completed) < end);
  events.sort((a, b) => timeOf(a) - timeOf(b));
  for (const e of events) journal.write(e);
  if (options.crashAt === undefined) {
    if (options.verdict !== false) journal.write({ type: 'verdict', hypotheses: HYPOTHESES as unknown as HypothesisResult[], at: RUN_END_AT - 5 });
    journal.write({ type: 'note', at: RUN_END_AT - 4, message: 'measurement', data: { name: 'leader-election', value: 8421, unit: 'ms', description: 'from the pause to the first write accepted by the new leader' } });
    journal.write({ type: 'run-end', status: 'completed', at: RUN_END_AT });
  }
  await journal.close();
  if (options.tornLine) await appendFile(journal.path, '{"type":"sample","probe":"sql-read","op":"sel');
  return journal.path;
}

function timeOf(e: JournalEvent): number {
  return e.type === 'sample' ? e.completed : 'at' in e ? e.at : 0;
}
