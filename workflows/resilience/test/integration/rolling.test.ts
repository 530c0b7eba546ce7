// `nx run resilience:rolling` end to end on a real stack: the options reach the workflow through
// `npx nx run`; bad input exits 2 with nothing started; the known answer both ways: replicas
// taken out of rotation and SIGTERMed while requests are in flight on them lose no request (each
// old app exits 0 after its own drain, without cutting connections), and the same deploy with
// SIGKILL fails requests and the run.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { leftovers, reportDirOf } from '../support/workflow-cli.ts';

const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const main = resolve(import.meta.dirname, '..', '..', 'src', 'rolling-main.ts');

interface Replacement { slot: string; inFlightAtStop: number; exitCode: number | null; appStopped: { forced: boolean; ms: number } | null }
interface Evidence {
  runId: string;
  exitCode: number;
  hypotheses: { name: string; ok: boolean; observed: number | null }[];
  measurements: { name: string; scope: string | null; value: number | null }[];
  evidence: { 'rolling-deploy': { failures: { attempted: number; failed: number; errors: [string, number][] }; replacements: Replacement[] } };
}
interface ReportJson { findings: { kind: string; severity: string; title: string }[] }

async function rolling(t: { log(...s: string[]): void }, args: string[]) {
  const reports = mkdtempSync(join(tmpdir(), 'rz-rolling-'));
  const r = await execa(process.execPath, [main, '--no-png', '--steady', '3s', '--after', '1s', ...args], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  t.log(r.stdout.split('\n').filter((l) => /PASS|FAIL|failedRequests|inFlightAtStop|p99|FINDING|UP,/.test(l)).join('\n'));
  const dir = reportDirOf(r.stdout, r.stderr);
  const evidence = JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')) as Evidence;
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  const value = (name: string, scope: string) => evidence.measurements.find((m) => m.name === name && m.scope === scope)?.value ?? null;
  return { r, evidence, report, value, deploy: evidence.evidence['rolling-deploy'] };
}

test.serial('every documented option reaches the workflow through npx nx run (dry run, nothing started)', async (t) => {
  const args = ['--replicas=2', '--mode=naive', '--stop=sigterm', '--image=trixie', '--steady=3s', '--after=2s', '--interval=10ms', '--client-timeout=3s', '--app-delay=off', '--grace=5s', '--timeout=30s', '--dry-run'];
  const r = await execa('npx', ['nx', 'run', 'resilience:rolling', ...args, '--outputStyle=stream'], { cwd: root, reject: false, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' } });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const options = JSON.parse(/options: (\{.*\})/.exec(r.stdout)![1]!) as Record<string, unknown>;
  t.deepEqual(options, { replicas: 2, mode: 'naive', stop: 'sigterm', image: 'trixie', steady: 3000, after: 2000, interval: 10, clientTimeout: 3000, appDelay: 0, grace: 5000, timeout: 30000 });
  t.regex(r.stdout, /failedRequests == 0/);
});

test.serial('bad input exits 2, names the value and what is accepted, and starts nothing', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--replicas', '4'], /--replicas.*4/],
    [['--stop', 'sigint'], /--stop.*sigint/],
    [['--grace', '2500ms'], /--grace.*whole seconds/],
    [['--app-delay', '5s'], /--app-delay.*shorter than --client-timeout/],
  ];
  for (const [args, message] of cases) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, message);
    t.regex(r.stdout, /Nothing was started/);
  }
});

test.serial('drain then SIGTERM with requests in flight on every replica: no request fails, each old app drains and exits 0', async (t) => {
  const { r, evidence, report, value, deploy } = await rolling(t, []);
  t.is(r.exitCode, 0, r.stdout);
  t.is(value('failedRequests', 'deploy'), 0);
  t.true(evidence.hypotheses.every((h) => h.ok));
  t.is(deploy.replacements.length, 3);
  for (const x of deploy.replacements) {
    // The precondition of the known answer: the stop caught requests in flight.
    t.true(x.inFlightAtStop > 0, `${x.slot}: requests in flight when it was signalled`);
    t.is(x.exitCode, 0, `${x.slot}: exited on its own after SIGTERM`);
    t.false(x.appStopped?.forced ?? true, `${x.slot}: drained without cutting connections`);
    t.true((value('timeToHealthy', x.slot) ?? 0) > 0);
  }
  t.true(deploy.failures.attempted > 100, 'traffic flowed through the frontend during the deploy');
  t.true((value('deployTime', 'deploy') ?? 0) > 0);
  t.is(value('lostWrites', 'http-write'), 0);
  t.false(report.findings.some((f) => f.kind === 'deploy-failed-requests' || f.kind === 'drain-not-shown'));
  t.deepEqual(await leftovers(evidence.runId), []);
});

test.serial('the same deploy with SIGKILL (the known-bad control) fails requests and the run', async (t) => {
  const { r, evidence, report, value, deploy } = await rolling(t, ['--stop', 'sigkill', '--replicas', '2']);
  t.is(r.exitCode, 1, r.stdout);
  t.true(deploy.replacements.every((x) => x.inFlightAtStop > 0 && x.exitCode === 137));
  t.true((value('failedRequests', 'deploy') ?? 0) > 0);
  t.false(evidence.hypotheses.find((h) => h.name === 'failedRequests == 0')!.ok);
  t.true(report.findings.some((f) => f.kind === 'deploy-failed-requests'));
  // Cut answers, not refusals: the frontend had sent them.
  t.true(deploy.failures.errors.length > 0);
  t.deepEqual(await leftovers(evidence.runId), []);
});
