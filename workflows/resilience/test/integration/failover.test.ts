// `nx run resilience:failover` end to end on a real app-stack: the numbers agree with what
// Patroni's ttl / loop_wait and Sentinel's down-after-milliseconds allow, an impossible SLO
// fails with exit 1, bad options exit 2 before anything starts, and Ctrl-C mid-fault heals,
// tears down and writes a partial report marked interrupted.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const main = resolve(import.meta.dirname, '..', '..', 'src', 'failover-main.ts');

interface ReportJson {
  run: { id: string; status: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; value: number | null }[];
  settings: { 'pg-ha': { ttl: number; loopWait: number }; 'redis-sentinel': { downAfterMs: number } };
  probes: { name: string; rtoMs: number | null; attempts: number }[];
}

async function leftovers(runId: string): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=io.resilience.run-id=${runId}`]);
  return stdout.split('\n').filter(Boolean);
}

function reportDirOf(out: string): string {
  const dir = /report: (\S+)/.exec(out)?.[1];
  if (!dir) throw new Error(`no report folder in the output:\n${out}`);
  return dir;
}

test.serial('bad options exit 2 before anything starts', async (t) => {
  for (const args of [['--fault', 'explode'], ['--iterations', '0'], ['--steady', '-1s'], ['--targett', 'redis']]) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, new RegExp(args[0]!.replace(/^--/, '')));
    t.regex(r.stdout, /Nothing was started/);
  }
});

test.serial('a failover of both the Patroni leader and the Redis master: numbers within what the HA settings allow; an impossible SLO gives exit 1', async (t) => {
  const reports = mkdtempSync(join(tmpdir(), 'rz-failover-'));
  const r = await execa(process.execPath, [main, '--steady', '3s', '--after', '2s', '--slo', 'rto<=1ms'], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  t.log(r.stdout.split('\n').filter((l) => /PASS|FAIL|election|rejoin|lostWrites|failoverRto/.test(l)).join('\n'));
  t.is(r.exitCode, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /rto<=1ms\s+[\d.]+ s\s+FAIL/);
  const dir = reportDirOf(r.stdout);
  for (const f of ['report.json', 'junit.xml', 'summary.md', 'report.html', 'report.png']) t.true(existsSync(join(dir, f)), f);
  t.true(statSync(join(dir, 'report.png')).size > 10_000);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  t.false(report.verdict.passed);
  t.deepEqual(report.verdict.hypotheses.filter((h) => !h.ok).map((h) => h.name), ['rto<=1ms']);
  t.regex(readFileSync(join(dir, 'junit.xml'), 'utf8'), /<testcase[^>]*name="rto&lt;=1ms"[\s\S]*?<failure/);
  const m = (name: string) => report.measurements.find((x) => x.name === name)?.value ?? null;
  const { ttl, loopWait } = report.settings['pg-ha'];
  const { downAfterMs } = report.settings['redis-sentinel'];
  // A killed leader's key lapses between ttl - loop_wait and ttl after its last renewal.
  const pgElection = m('election(postgres)#1');
  t.true(pgElection !== null && pgElection >= (ttl - loopWait) * 1000 - 500 && pgElection <= (ttl + loopWait) * 1000 + 1000, `Patroni election ${pgElection} ms, ttl ${ttl} s, loop_wait ${loopWait} s`);
  // Clients see the new leader once HAProxy's checks (1 s, fall 2) route to it.
  const pgRto = m('failoverRto(postgres)#1');
  t.true(pgRto !== null && pgRto >= pgElection! - 1000 && pgRto <= (ttl + loopWait) * 1000 + 4000, `postgres RTO ${pgRto} ms`);
  // Sentinels cannot agree before down-after-milliseconds; the vote takes a few hundred ms more.
  const redisElection = m('election(redis)#1');
  t.true(redisElection !== null && redisElection >= downAfterMs - 100 && redisElection <= downAfterMs + 6000, `Sentinel failover ${redisElection} ms, down-after ${downAfterMs} ms`);
  t.not(m('rejoin(postgres)#1'), null);
  t.not(m('lostWrites(sql-write)'), null);
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('Ctrl-C mid-fault heals, tears down and writes a partial report marked interrupted', async (t) => {
  const reports = mkdtempSync(join(tmpdir(), 'rz-failover-'));
  const child = spawn(process.execPath, [main, '--target', 'postgres', '--steady', '2s', '--no-png'], { env: { ...process.env, CI: 'true', RESILIENCE_REPORTS_DIR: reports }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((ok, fail) => {
    const timer = setInterval(() => {
      if (/fault kill injected/.test(out)) {
        clearInterval(timer);
        ok();
      }
    }, 50);
    child.on('exit', () => fail(new Error(`exited before the fault: ${out}`)));
  });
  child.kill('SIGINT');
  const code = await new Promise<number | null>((ok) => child.on('exit', (c) => ok(c)));
  t.is(code, 130, out);
  t.regex(out, /INTERRUPTED \(exit 130\)/);
  const dir = reportDirOf(out);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  t.is(report.run.status, 'interrupted');
  t.false(report.verdict.passed);
  t.deepEqual(await leftovers(report.run.id), [], 'every container of the run was removed');
});
