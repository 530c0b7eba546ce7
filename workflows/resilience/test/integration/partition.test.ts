// `nx run resilience:partition` end to end on real clusters: the options reach the workflow
// through `npx nx run`; bad input exits 2 with nothing started; the tool catches Redis's known
// loss of acknowledged writes when the master is cut off (Jepsen 2013) and shows that
// min-replicas-to-write bounds how long the cut-off master acknowledges; a Patroni leader cut
// off from etcd demotes itself within loop_wait + retry_timeout, before the TTL lets another
// node take over, and its swimlanes are in the report.
import test from 'ava';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { leftovers, runWorkflowCli } from '../support/workflow-cli.ts';

const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const main = resolve(import.meta.dirname, '..', '..', 'src', 'partition-main.ts');

interface ReportJson {
  run: { id: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; scope: string | null; iteration: number | null; value: number | null }[];
  findings: { kind: string; severity: string; title: string; nodes?: string[] }[];
  writeChecks: { probe: string; lost: number; lostByNode: Record<string, number> }[];
  roles?: { scope: string; nodes: string[]; spans: { node: string; role: string; writable: boolean }[]; splitBrainMs: number }[];
}

function partition(t: { log(...s: string[]): void }, args: string[]) {
  return runWorkflowCli<ReportJson>(t, 'partition', main, ['--no-png', ...args], /PASS|FAIL|demotion|election|splitBrain|staleAcks|ackWindow|lostWrites|FINDING/);
}

test.serial('every documented option reaches the workflow through npx nx run (dry run, nothing started)', async (t) => {
  const args = ['--scenario=dcs-lost', '--image=both', '--iterations=2', '--sync', '--failsafe=both', '--steady=3s', '--hold=10s', '--after=2s', '--timeout=30s', '--interval=20ms', '--slo=rto<=20s', '--no-png', '--dry-run'];
  const r = await execa('npx', ['nx', 'run', 'resilience:partition', ...args, '--outputStyle=stream'], { cwd: root, reject: false, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' } });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const options = JSON.parse(/options: (\{.*\})/.exec(r.stdout)![1]!) as Record<string, unknown>;
  t.deepEqual(options, { scenario: 'dcs-lost', image: 'both', iterations: 2, sync: true, failsafe: 'both', steady: 3000, hold: 10000, after: 2000, timeout: 30000, interval: 20 });
  t.regex(r.stdout, /variants: bookworm-failsafe-off, bookworm-failsafe-on, trixie-failsafe-off, trixie-failsafe-on/);
  t.regex(r.stdout, /hold 10000 ms/);
  const redis = await execa('npx', ['nx', 'run', 'resilience:partition', '--scenario=redis-master-isolated', '--redis-min-replicas=2', '--dry-run', '--outputStyle=stream'], { cwd: root, reject: false, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' } });
  t.is(redis.exitCode, 0, redis.stdout + redis.stderr);
  t.regex(redis.stdout, /"redisMinReplicas":2/);
  t.regex(redis.stdout, /ackWindow\(redis-isolated\) <= 4s/);
});

test.serial('bad input exits 2, names the value and what is accepted, and starts nothing', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--scenario', 'brain-split'], /--scenario.*brain-split|brain-split.*leader-isolated/],
    [['--scenario', 'leader-isolated', '--redis-min-replicas', '2'], /--redis-min-replicas.*only with --scenario redis-master-isolated/],
    [['--scenario', 'pause-thaw', '--failsafe', 'on'], /--failsafe.*only with --scenario dcs-lost/],
    [['--scenario', 'redis-master-isolated', '--redis-min-replicas', '0'], /--redis-min-replicas/],
    [['--image', 'sid'], /--image.*sid/],
  ];
  for (const [args, message] of cases) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, message);
    t.regex(r.stdout, /Nothing was started/);
  }
});

test.serial('redis-master-isolated, default configuration: the known loss of acknowledged writes is caught and fails the run', async (t) => {
  const { r, report, value } = await partition(t, ['--scenario', 'redis-master-isolated', '--steady', '3s', '--hold', '3s']);
  t.is(r.exitCode, 1, r.stdout);
  const isolated = report.writeChecks.find((w) => w.probe === 'redis-isolated')!;
  t.true(isolated.lost > 0, 'writes acknowledged by the cut-off master are gone');
  t.is(Object.keys(isolated.lostByNode).length, 1, 'all of them acknowledged by one node: the cut-off master');
  t.true(report.findings.some((f) => f.kind === 'lost-writes' && f.severity === 'critical'));
  t.true(report.findings.some((f) => f.kind === 'split-brain'), 'two masters accepted writes');
  t.false(report.verdict.hypotheses.find((h) => h.name === 'lostWrites(redis-isolated) == 0')!.ok);
  t.true((value('staleAcks', 'redis-isolated', 1) ?? 0) > 0, 'the old master acknowledged writes after the election');
  t.true((value('splitBrain', 'redis', 1) ?? 0) > 1000);
  t.is(value('demotion', 'redis', 1), null, 'without min-replicas the cut-off master never refused a write');
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('redis-master-isolated with --redis-min-replicas 1: the cut-off master stops acknowledging within the bound', async (t) => {
  const { report, value } = await partition(t, ['--scenario', 'redis-master-isolated', '--redis-min-replicas', '1', '--steady', '3s', '--hold', '3s']);
  const window = value('ackWindow', 'redis-isolated', 1);
  t.not(window, null);
  t.true(window! > 0 && window! <= 3000, `the cut-off master acknowledged for ${window} ms (bound: 1 s lag + 1 s ACK period + 1 s cron)`);
  t.true(report.verdict.hypotheses.find((h) => h.name === 'ackWindow(redis-isolated) <= 3s')!.ok);
  const demotion = value('demotion', 'redis', 1);
  t.true(demotion !== null && demotion <= 3200, `refusing writes after ${demotion} ms`);
  t.is(value('splitBrain', 'redis', 1), 0);
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('leader-isolated: the cut-off Patroni leader demotes itself within loop_wait + retry_timeout, before the TTL elects another; roles in the report', async (t) => {
  const { report, value } = await partition(t, ['--scenario', 'leader-isolated', '--steady', '3s', '--hold', '2s']);
  const demotion = value('demotion', 'postgres', 1);
  const election = value('election', 'postgres', 1);
  t.not(demotion, null);
  t.true(demotion! <= (2 + 4) * 1000 + 1500, `demoted after ${demotion} ms (loop_wait 2 s + retry_timeout 4 s)`);
  t.true(election! >= 10_000, `elected after ${election} ms (ttl 10 s)`);
  t.is(value('splitBrain', 'postgres', 1), 0);
  t.is(value('staleAcks', 'sql-write', 1), 0);
  const lanes = report.roles?.find((x) => x.scope === 'postgres');
  t.deepEqual(lanes?.nodes, ['pg1', 'pg2', 'pg3']);
  t.true(lanes!.spans.some((s) => s.role === 'primary' && s.writable));
  t.deepEqual(await leftovers(report.run.id), []);
});
