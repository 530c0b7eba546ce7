// `nx run resilience:failover` end to end on a real app-stack: every documented option works
// through `npx nx run`; the numbers agree with what Patroni's ttl / loop_wait and Sentinel's
// down-after-milliseconds allow; a clean kill passes; a pause that Patroni 3.0.2 turns into a
// failover that does not hold FAILS with the lost writes explained (the project's own
// regression test that it catches data loss); Ctrl-C heals, tears down and leaves a partial report.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { leftovers, reportDirOf } from '../support/workflow-cli.ts';

const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const main = resolve(import.meta.dirname, '..', '..', 'src', 'failover-main.ts');

interface ReportJson {
  run: { id: string; status: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; scope: string | null; iteration: number | null; value: number | null }[];
  settings: { environment: { 'pg-ha': { ttl: number; loopWait: number }; 'redis-sentinel': { downAfterMs: number } } };
  probes: { name: string; rtoMs: number | null; attempts: number }[];
  findings: { kind: string; severity: string; title: string; nodes?: string[]; evidence: { label: string; text: string }[] }[];
  writeChecks: { probe: string; lost: number; lostByNode: Record<string, number>; lostByWindow: Record<string, number>; perFault: { lost: number; rpoSeconds: number }[] }[];
}

async function failover(args: string[]) {
  const reports = mkdtempSync(join(tmpdir(), 'rz-failover-'));
  const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  t0log(r.stdout);
  const dir = reportDirOf(r.stdout);
  return { r, dir, report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson };
}
let t0log: (s: string) => void = () => undefined;

test.serial('every documented option reaches the workflow through npx nx run (dry run, nothing started)', async (t) => {
  const args = ['--system=postgres', '--fault=pause', '--iterations=2', '--sync', '--app-mode=both', '--image=both', '--steady=3s', '--after=2s', '--timeout=30s', '--interval=20ms', '--slo=rto<=20s', '--no-png', '--dry-run'];
  const r = await execa('npx', ['nx', 'run', 'resilience:failover', ...args, '--outputStyle=stream'], { cwd: root, reject: false, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' } });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const options = JSON.parse(/options: (\{.*\})/.exec(r.stdout)![1]!) as Record<string, unknown>;
  t.deepEqual(options, { system: 'postgres', fault: 'pause', iterations: 2, sync: true, appMode: 'both', image: 'both', steady: 3000, after: 2000, timeout: 30000, interval: 20 });
  t.regex(r.stdout, /variants: bookworm-hardened, bookworm-naive, trixie-hardened, trixie-naive/);
  t.regex(r.stdout, /\(no PNG\)/);
  t.regex(r.stdout, /^\S*\s*rto<=20s$/m);
  t.notRegex(r.stdout, /rto <= 30s/, 'the --slo replaced the default');
});

test.serial('bad options exit 2 before anything starts', async (t) => {
  for (const args of [['--fault', 'explode'], ['--iterations', '0'], ['--steady', '-1s'], ['--target', 'redis'], ['--system', 'mysql']]) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, new RegExp(args[0]!.replace(/^--/, '')));
    t.regex(r.stdout, /Nothing was started/);
  }
});

test.serial('a failover of both the Patroni primary and the Redis primary: numbers within what the HA settings allow; an impossible SLO gives exit 1', async (t) => {
  t0log = (s) => t.log(s.split('\n').filter((l) => /ABORTED|aborted:|PASS|FAIL|election|rejoin|lostWrites|faultRto|FINDING/.test(l)).join('\n'));
  const { r, dir, report } = await failover(['--steady', '3s', '--after', '2s', '--slo', 'rto<=1ms']);
  t.is(r.exitCode, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /rto<=1ms\s+[\d.]+ s\s+<= 1 ms\s+FAIL/);
  for (const f of ['report.json', 'junit.xml', 'summary.md', 'report.html', 'report.png']) t.true(existsSync(join(dir, f)), f);
  t.true(statSync(join(dir, 'report.png')).size > 10_000);
  t.false(report.verdict.passed);
  t.true(report.verdict.hypotheses.filter((h) => !h.ok).map((h) => h.name).includes('rto<=1ms'));
  t.regex(readFileSync(join(dir, 'junit.xml'), 'utf8'), /<testcase[^>]*name="rto&lt;=1ms"[\s\S]*?<failure/);
  // `election(postgres)#1`: name, scope and iteration.
  const m = (display: string) => {
    const [, name, scope, iteration] = /^(\w+)(?:\(([\w-]+)\))?(?:#(\d+))?$/.exec(display)!;
    return report.measurements.find((x) => x.name === name && (x.scope ?? undefined) === scope && (x.iteration ?? undefined) === (iteration ? Number(iteration) : undefined))?.value ?? null;
  };
  const { ttl, loopWait } = report.settings.environment['pg-ha'];
  const { downAfterMs } = report.settings.environment['redis-sentinel'];
  // A killed leader's key lapses between ttl - loop_wait and ttl after its last renewal.
  const pgElection = m('election(postgres)#1');
  t.true(pgElection !== null && pgElection >= (ttl - loopWait) * 1000 - 500 && pgElection <= (ttl + loopWait) * 1000 + 1000, `Patroni election ${pgElection} ms, ttl ${ttl} s, loop_wait ${loopWait} s`);
  // Clients see the new primary once HAProxy's checks (1 s, fall 2) route to it.
  const pgRto = m('faultRto(postgres)#1');
  t.true(pgRto !== null && pgRto >= pgElection! - 1000 && pgRto <= (ttl + loopWait) * 1000 + 4000, `postgres RTO ${pgRto} ms`);
  // Sentinels cannot agree before down-after-milliseconds; the vote takes a few hundred ms more.
  const redisElection = m('election(redis)#1');
  t.true(redisElection !== null && redisElection >= downAfterMs - 100 && redisElection <= downAfterMs + 6000, `Sentinel failover ${redisElection} ms, down-after ${downAfterMs} ms`);
  // Every probe's RTO in the report is its worst over the faults it depends on: the Redis probes
  // show the Redis failover's outage, not "no visible outage" of the PostgreSQL one.
  const redisRto = report.probes.find((p) => p.name === 'redis-write')!.rtoMs;
  t.true(redisRto !== null && redisRto > 0 && redisRto <= m('faultRto(redis)#1')!, `redis-write RTO ${redisRto}`);
  t.not(m('rejoin(postgres)#1'), null);
  t.not(m('lostWrites(sql-write)'), null);
  // The stale-cache pair ran and was measured (how many reads were stale is a finding, not judged).
  t.true(report.probes.some((p) => p.name === 'cache-update' && p.attempts > 0));
  t.not(m('staleReads(cache-read)'), null);
  t.not(m('inconsistencyWindow(cache-read)'), null);
  t.deepEqual(await leftovers(report.run.id), []);
});

// With asynchronous replication a kill may lose what the primary acknowledged in its last
// milliseconds (the SIGKILL call takes 300-400 ms; a commit acknowledged during it and not yet
// streamed is gone, and the run rightly fails). Synchronous mode is the guarantee: a commit is
// acknowledged only once the synchronous standby has it, and only that standby is promoted.
test.serial('a kill of the Patroni primary with synchronous replication passes: no acknowledged write lost', async (t) => {
  t0log = (s) => t.log(s.split('\n').filter((l) => /ABORTED|aborted:|PASS|FAIL|FINDING|PASSED|FAILED/.test(l)).join('\n'));
  const { r, report } = await failover(['--system', 'postgres', '--sync', '--steady', '3s', '--after', '2s', '--no-png']);
  t.is(r.exitCode, 0, r.stdout);
  t.true(report.verdict.passed);
  t.deepEqual(report.writeChecks.map((c) => [c.probe, c.lost]), [['http-write', 0], ['sql-write', 0], ['redis-write', 0]]);
  // The runner's own lag on this 2-core machine is reported, not a finding about the system; a
  // stale-cache warning is the app's cache-aside race (a read that missed fills the cache with the
  // value an update has just replaced), measured whether or not a fault is on: not about Patroni.
  t.deepEqual(report.findings.filter((f) => f.kind !== 'runner-lagged' && !(f.kind === 'stale-cache' && f.severity === 'warning')), []);
});

test.serial('regression: a pause that Patroni 3.0.2 turns into a failover that does not hold fails the run, with the lost writes explained', async (t) => {
  t0log = (s) => t.log(s.split('\n').filter((l) => /ABORTED|aborted:|PASS|FAIL|FINDING|rejoin|PASSED|FAILED/.test(l)).join('\n'));
  // On the bookworm image the thawed old leader may overwrite the new leader's key (patroni PR
  // #2689, fixed in 3.0.3): whether it does is a race inside the thawed Patroni (its HA loop
  // renewing the lock from its stale view before its etcd watch delivers the new leader). The fault
  // is lined up with Patroni's heartbeat and repeated; most runs show it in one of 3 thaws, some
  // in none (CI saw 0 of 3). So up to 3 runs; every run, whatever its thaws did, must not pass
  // with acknowledged writes lost.
  let run: Awaited<ReturnType<typeof failover>> | undefined;
  const tries: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const got = await failover(['--system', 'postgres', '--fault', 'pause', '--iterations', '3', '--steady', '3s', '--after', '2s', '--no-png']);
    const lostAny = got.report.writeChecks.some((c) => c.lost > 0);
    if (lostAny) t.is(got.r.exitCode, 1, `run ${attempt} lost acknowledged writes and did not fail:\n${got.r.stdout}`);
    if (lostAny) t.false(got.report.verdict.passed);
    const held = got.report.findings.filter((f) => f.kind === 'failover-not-held').length;
    tries.push(`run ${attempt}: ${held} of 3 failovers not held, lost ${got.report.writeChecks.map((c) => `${c.probe} ${c.lost}`).join(', ')}`);
    if (held > 0) { run = got; break; }
  }
  t.log(tries.join('\n'));
  if (!run) return t.fail(`the thawed old leader never took the lead back in 9 thaws:\n${tries.join('\n')}`);
  const { r, dir, report } = run;
  const patroni = String((report as unknown as { environment: Record<string, string> }).environment['patroni'] ?? '');
  t.regex(patroni, /3\.0\.2/, 'this regression test is about the bookworm image');
  t.is(r.exitCode, 1, r.stdout);
  t.false(report.verdict.passed);
  const notHeld = report.findings.filter((f) => f.kind === 'failover-not-held');
  t.true(notHeld[0]!.evidence.some((e) => /#2689/.test(e.text)));
  t.true(notHeld[0]!.evidence.some((e) => /Patroni log/.test(e.label)));
  const lost = report.findings.filter((f) => f.kind === 'lost-writes');
  t.true(lost.length >= 1);
  t.true(report.findings.some((f) => f.severity === 'critical'));
  const sql = report.writeChecks.find((c) => c.probe === 'sql-write')!;
  t.true(sql.lost > 0);
  // The writes lost were acknowledged by the node promoted while the old leader was frozen, between election and heal.
  t.true(sql.lostByWindow['after-election']! > 0, JSON.stringify(sql));
  t.true(sql.perFault.some((f) => f.lost > 0 && f.rpoSeconds > 0));
  t.false(report.verdict.hypotheses.find((h) => h.name === 'lostWrites(sql-write) == 0')!.ok);
  // Findings lead every format.
  const md = readFileSync(join(dir, 'summary.md'), 'utf8');
  t.true(md.indexOf('Findings') >= 0 && md.indexOf('Findings') < md.indexOf('Hypotheses'));
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  t.true(html.indexOf('failover') > 0 && html.indexOf('did not hold') < html.indexOf('Hypotheses'));
  t.true(r.stdout.indexOf('FINDINGS') < r.stdout.indexOf('hypothesis  '));
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('the same pause on trixie (Patroni 4.0, which has the fix): the failover holds', async (t) => {
  t0log = (s) => t.log(s.split('\n').filter((l) => /ABORTED|aborted:|PASS|FAIL|FINDING|rejoin|election|PASSED|FAILED/.test(l)).join('\n'));
  const { report } = await failover(['--image', 'trixie', '--system', 'postgres', '--fault', 'pause', '--iterations', '2', '--steady', '3s', '--after', '2s', '--no-png']);
  const patroni = String((report as unknown as { environment: Record<string, string> }).environment['patroni'] ?? '');
  t.regex(patroni, /\b4\.\d+\.\d+/);
  t.deepEqual(report.findings.filter((f) => f.kind === 'failover-not-held'), [], 'the thawed old leader never takes the lead back');
  const rejoins = report.measurements.filter((m) => m.name === 'rejoin');
  t.is(rejoins.length, 2);
  // Lost writes are reported, not asserted away: a thawed node is writable until its first loop demotes it.
  t.log(`lost writes on trixie: ${report.writeChecks.map((c) => `${c.probe} ${c.lost}`).join(', ')}`);
  t.deepEqual(await leftovers(report.run.id), []);
});

/**
 * Starts a postgres failover and resolves once its fault is injected. When the run ends before
 * its fault because the cluster was not in its steady state (its `not-steady` finding: no primary
 * to kill), that is the run refusing to break an unhealthy system, not the Ctrl-C this test is
 * about: the finding is logged and a fresh run is started, once.
 */
async function startedFault(t: ExecutionContext, reports: string, attempt = 1): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [main, '--system', 'postgres', '--steady', '2s', '--no-png'], { env: { ...process.env, CI: 'true', RESILIENCE_REPORTS_DIR: reports }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const injected = await new Promise<boolean>((ok) => {
    const timer = setInterval(() => {
      if (/fault kill injected/.test(out)) {
        clearInterval(timer);
        ok(true);
      }
    }, 50);
    child.on('exit', () => {
      clearInterval(timer);
      ok(false);
    });
  });
  if (injected) return { child, output: () => out };
  const why = out.trim().split('\n').filter((l) => /failed:|FINDING|error|Error/.test(l)).slice(-4).join(' | ') || 'no error line';
  if (attempt === 1 && /not in its steady state before the kill/.test(out)) {
    t.log(`run ${attempt} ended before its fault, the cluster not in its steady state (${why}); whole output:\n${out}`);
    return startedFault(t, reports, attempt + 1);
  }
  throw new Error(`exited (${child.exitCode}) before the fault: ${why}\nwhole output:\n${out}`);
}

test.serial('Ctrl-C mid-fault heals, tears down and writes a partial report marked interrupted', async (t) => {
  const reports = mkdtempSync(join(tmpdir(), 'rz-failover-'));
  const { child, output } = await startedFault(t, reports);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((ok) => child.on('exit', (c) => ok(c)));
  const out = output();
  t.is(code, 130, out);
  t.regex(out, /INTERRUPTED \(exit 130\)/);
  const dir = reportDirOf(out);
  t.true(existsSync(join(dir, 'report.json')), 'the partial report exists');
  t.true(existsSync(join(dir, 'summary.md')));
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  t.is(report.run.status, 'interrupted');
  t.false(report.verdict.passed);
  t.deepEqual(await leftovers(report.run.id), [], 'every container of the run was removed');
});
