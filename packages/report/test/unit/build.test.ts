import test from 'ava';
import type { ExecutionContext } from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isInvalidArgumentError } from '@resilience/fixtures/errors';
import { buildReport, reportSchema } from '../../src/index.ts';
import type { BuildReportOptions, Report } from '../../src/index.ts';
import { FAULT_AT, HEAL_AT, RUN_END_AT, SECRET_URL, SQL_TIMEOUT_MS, tempDir, writeFailoverJournal } from '../support/journals.ts';

const near = (t: ExecutionContext, actual: number | null | undefined, expected: number, tolerance: number, what: string): void => {
  t.true(typeof actual === 'number' && Math.abs(actual - expected) <= tolerance, `${what}: expected ${expected} ± ${tolerance}, got ${actual}`);
};

const probe = (report: Report, name: string) => {
  const p = report.probes.find((x) => x.name === name);
  if (!p) throw new Error(`no probe ${name}`);
  return p;
};

test('report.json of a failover run matches the schema and the measured numbers', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const report = await buildReport({ journalPath, exitCode: 1 });

  t.true(reportSchema.safeParse(report).success);
  t.is(report.schemaVersion, 2);
  t.like(report.run, { id: 'run-7f3a', workflow: 'failover', status: 'completed', exitCode: 1, partial: false, durationMs: RUN_END_AT });
  t.is(Date.parse(report.run.endedAt) - Date.parse(report.run.startedAt), RUN_END_AT);
  t.deepEqual(report.phases.map((p) => [p.name, p.from, p.to, p.durationMs]), [
    ['steady', 0, FAULT_AT, FAULT_AT], ['fault', FAULT_AT, HEAL_AT, 2000], ['recovery', HEAL_AT, 8000, 3000], ['after', 8000, null, 2000],
  ]);
  t.deepEqual(report.faults, [{ id: 'f1', kind: 'pause', targets: ['pg-1'], params: { note: 'reached via postgres://app:***@127.0.0.1:5432/app' }, at: 3000.4, healedAt: HEAL_AT, durationMs: 1999.6, healError: null, callMs: null, scope: null, iteration: null, variant: null }]);

  const sql = probe(report, 'sql-read');
  t.like(sql, { attempts: 1000, failures: 200, availability: 0.8, failingIntervalCount: 1, intervalsTruncated: false });
  // 2 s of failures: from the intended start of the first failed operation to the completion of the next good one.
  near(t, sql.outageMs, 2000, 5, 'sql outage');
  t.is(sql.failingIntervals[0]?.start, FAULT_AT);
  // Detected when the first operation after the fault timed out.
  near(t, sql.timeToDetectMs, SQL_TIMEOUT_MS - 0.4, 0.001, 'sql time to detect');
  near(t, sql.rtoMs, 2000, 5, 'sql RTO');
  t.like(sql.recoveries[0], { faultId: 'f1', status: 'recovered', faultAt: 3000.4 });
  t.deepEqual(sql.phases.map((p) => [p.phase, p.attempts, p.failures, p.availability]), [
    ['steady', 300, 0, 1], ['fault', 200, 200, 0], ['recovery', 300, 0, 1], ['after', 200, 0, 1],
  ]);
  const steady = sql.phases[0]!.latency!;
  t.true(steady.p50Ms >= 1.5 && steady.p50Ms <= 3 && steady.maxMs <= 3.01, JSON.stringify(steady));
  near(t, sql.phases[1]!.latency!.p50Ms, SQL_TIMEOUT_MS, 0.5, 'fault-phase p50');
  t.true(sql.latency!.p99Ms >= 499 && sql.latency!.p99Ms <= 500.5);

  const http = probe(report, 'http-get');
  t.like(http, { attempts: 1000, failures: 200, availability: 0.8 });
  near(t, http.outageMs, 2000, 5, 'http outage');
  near(t, http.timeToDetectMs, 0.6, 0.001, 'http time to detect (refused at once)');
  near(t, http.rtoMs, 2000, 5, 'http RTO');
  // The 60-90 ms tail of 2 % of its operations shows in p99 and not in p50.
  t.true(http.latency!.p50Ms < 5 && http.latency!.p99Ms > 50, JSON.stringify(http.latency));

  near(t, report.anyProbeOutage.outageMs, 2000, 5, 'union outage');
  t.true(report.anyProbeOutage.exact);
  t.like(report.journal, { file: 'journal.ndjson', events: 2010, tornLastLine: false, lastEventAt: RUN_END_AT });
});

test('the verdict comes from the journal unless hypotheses are passed in', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const fromJournal = await buildReport({ journalPath });
  t.like(fromJournal.verdict, { passed: false, outcome: 'failed', source: 'journal', reason: '1 of 3 hypotheses failed (rto)' });
  t.deepEqual(fromJournal.verdict.hypotheses[1], { name: 'rto', description: 'clients recover within 1 s of the fault', ok: false, observed: 2002, threshold: '<= 1000', unit: 'ms', variant: null });

  const passed = await buildReport({ journalPath, exitCode: 0, hypotheses: [{ name: 'rto', ok: true, observed: 2002, threshold: 30_000, unit: 'ms' }] });
  t.like(passed.verdict, { passed: true, outcome: 'passed', source: 'options', reason: 'all 1 hypotheses held' });
  t.deepEqual(passed.verdict.hypotheses, [{ name: 'rto', description: '', ok: true, observed: 2002, threshold: 30_000, unit: 'ms', variant: null }]);

  const exited = await buildReport({ journalPath, exitCode: 2, hypotheses: [{ name: 'rto', ok: true, observed: 1, threshold: 2 }] });
  t.like(exited.verdict, { passed: false, outcome: 'failed', reason: 'the workflow exited with code 2' });
});

test('a completed run without a verdict has no verdict, not a pass', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t), { verdict: false });
  const report = await buildReport({ journalPath });
  t.like(report.verdict, { passed: false, outcome: 'no-hypotheses', source: 'none', hypotheses: [] });
});

test('a crashed journal (no run-end, torn last line) gives an interrupted, partial report', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t), { crashAt: 4000, tornLine: true });
  const report = await buildReport({ journalPath });
  t.true(reportSchema.safeParse(report).success);
  t.like(report.run, { status: 'interrupted', partial: true, exitCode: null });
  t.like(report.verdict, { passed: false, outcome: 'interrupted', source: 'none' });
  t.true(report.journal.tornLastLine);
  t.true(report.run.durationMs < 4000 && report.run.durationMs > 3900, `${report.run.durationMs}`);
  // Healed after the crash point: the fault is reported open, and the probe as not recovered.
  t.like(report.faults[0], { id: 'f1', healedAt: null, durationMs: null });
  const sql = probe(report, 'sql-read');
  t.like(sql.recoveries[0], { status: 'not-recovered', rtoMs: null });
  t.true(sql.failingIntervals[0]!.open);
});

test('measurements come from the options and from measurement notes in the journal; options win by name', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const fromJournal = await buildReport({ journalPath });
  t.deepEqual(fromJournal.measurements, [{ name: 'leader-election', value: 8421, unit: 'ms', description: 'from the pause to the first write accepted by the new leader', scope: null, iteration: null, variant: null, at: 9996 }]);
  const merged = await buildReport({
    journalPath,
    measurements: [
      { name: 'lost-writes', value: 0, unit: 'rows', description: 'acknowledged ids missing after recovery' },
      { name: 'leader-election', value: 8000, unit: 'ms', description: 'patronictl history' },
      { name: 'ghost-writes', value: { count: 1 }, description: 'objects are kept as JSON text' },
    ],
  });
  t.deepEqual(merged.measurements.map((m) => [m.name, m.value, m.unit]), [
    ['lost-writes', 0, 'rows'], ['leader-election', 8000, 'ms'], ['ghost-writes', '{"count":1}', null],
  ]);
});

test('secrets passed in or found in the journal never reach the report', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const fromMeta = await buildReport({ journalPath });
  t.deepEqual(fromMeta.settings, { probeIntervalMs: 10, databaseUrl: 'postgres://app:***@127.0.0.1:5432/app', pgPassword: '***', nested: { apiToken: '***' } });
  t.deepEqual(fromMeta.environment, { node: '24.21.0', postgres: '15.8', patroni: '3.0.2' });
  const report = await buildReport({
    journalPath,
    settings: { primary: { url: SECRET_URL, PGPASSWORD: 'x' } },
    environment: { redis: 'redis://:r3d1s@127.0.0.1:6379' },
    measurements: [{ name: 'rejoin', value: `replica rejoined via ${SECRET_URL}`, description: 'conninfo password=hunter2 host=pg-2' }],
    hypotheses: [{ name: 'x', ok: true, observed: SECRET_URL, threshold: 'token=abc' }],
  });
  const text = JSON.stringify(report);
  for (const secret of ['s3cret-pw', 'hunter2', 'r3d1s', 'abc"', 'tok-123']) t.false(text.includes(secret), secret);
  t.deepEqual(report.settings, { primary: { url: 'postgres://app:***@127.0.0.1:5432/app', PGPASSWORD: '***' } });
});

test('latencyBudgetMs and sustainMs are applied and recorded', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const report = await buildReport({ journalPath, latencyBudgetMs: 50, sustainMs: 500 });
  t.deepEqual(report.analysis, { sustainMs: 500, latencyBudgetMs: 50, maxIntervals: 100 });
  // http-get's 60-90 ms tail operations (every 50th) now count as failed: 16 fall outside the fault.
  t.is(probe(report, 'http-get').failures, 200 + 16);
  t.is(probe(report, 'sql-read').failures, 200);
});

const badOptions = test.macro(async (t, options: unknown, argument: string) => {
  const error = await t.throwsAsync(buildReport(options as BuildReportOptions));
  t.true(isInvalidArgumentError(error), String(error));
  t.is((error as { argument?: string }).argument, argument);
});

test('rejects a missing journalPath', badOptions, {}, 'journalPath');
test('rejects an unknown option', badOptions, { journalPath: 'x', bucket: 5 }, 'bucket');
test('rejects a hypothesis without ok', badOptions, { journalPath: 'x', hypotheses: [{ name: 'a', observed: 1, threshold: 2 }] }, 'hypotheses[0].ok');
test('rejects a measurement without description', badOptions, { journalPath: 'x', measurements: [{ name: 'a', value: 1 }] }, 'measurements[0].description');
test('rejects a negative sustainMs', badOptions, { journalPath: 'x', sustainMs: -1 }, 'sustainMs');
test('rejects a zero bucketMs', badOptions, { journalPath: 'x', bucketMs: 0 }, 'bucketMs');
test('rejects a fractional exitCode', badOptions, { journalPath: 'x', exitCode: 1.5 }, 'exitCode');
test('rejects settings that are not an object', badOptions, { journalPath: 'x', settings: 'a=b' }, 'settings');
test('rejects a journal file that does not exist', badOptions, { journalPath: '/nonexistent/journal.ndjson' }, 'journalPath');

test('the error names the bad value and what is accepted', async (t) => {
  const error = await t.throwsAsync(buildReport({ journalPath: 'x', sustainMs: -5 }));
  t.is(error?.message, 'Expected `sustainMs` to be a duration >= 0 ms, got `-5`');
});

test('a journal without run-start is refused', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'journal.ndjson');
  await writeFile(path, `${JSON.stringify({ type: 'note', at: 1, message: 'hi' })}\n`);
  const error = await t.throwsAsync(buildReport({ journalPath: path }));
  t.true(isInvalidArgumentError(error));
  t.regex(error!.message, /run-start/);
});

test('a corrupt line before the last is refused with its line number', async (t) => {
  const journalPath = await writeFailoverJournal(await tempDir(t));
  const text = await readFile(journalPath, 'utf8');
  const lines = text.split('\n');
  lines[5] = '{"type":"sam';
  await writeFile(journalPath, lines.join('\n'));
  const error = await t.throwsAsync(buildReport({ journalPath }));
  t.true(isInvalidArgumentError(error));
  t.regex(error!.message, /line 6 of/);
});
