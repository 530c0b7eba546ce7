// `nx run resilience:cascade` end to end on a real stack: bad input exits 2 with nothing
// started; retry-storm's amplification has a known answer (a database link that resets every
// connection fails every call, so the naive app makes exactly one attempt per request and its
// clients try each request 3 times: 3 attempts per client request; the hardened app's breaker
// opens and stops them); redis-slow's 2 s of latency each way outlasts the client's 2 s timeout,
// so the naive app's cached reads fail while the hardened one falls back to PostgreSQL; every
// answer conforms to the app's contract, and nothing is left behind.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const main = resolve(import.meta.dirname, '..', '..', 'src', 'cascade-main.ts');

interface ReportJson {
  run: { id: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; scope: string | null; value: number | null }[];
  findings: { kind: string; severity: string; title: string; scope?: string }[];
  writeChecks: { probe: string; lost: number; acked: number }[];
}

async function cascade(t: { log(...s: string[]): void }, args: string[]) {
  const reports = mkdtempSync(join(tmpdir(), 'rz-cascade-'));
  const r = await execa(process.execPath, [main, '--no-png', '--no-browser', '--steady=4s', '--hold=8s', '--after=2s', ...args], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  t.log(r.stdout.split('\n').filter((l) => /PASS|FAIL|amplification|Availability|P99|metastab|contract/.test(l)).join('\n'));
  const dir = /report: (\S+)/.exec(r.stdout)?.[1];
  if (!dir) throw new Error(`no report folder in the output:\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  const value = (name: string, scope: string) => report.measurements.find((m) => m.name === name && m.scope === scope)?.value ?? null;
  return { r, report, value };
}

async function leftovers(runId: string): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=io.resilience.run-id=${runId}`]);
  return stdout.split('\n').filter(Boolean);
}

test.serial('bad input exits 2, names the value and what is accepted, and starts nothing', async (t) => {
  for (const [args, message] of [
    [['--scenario', 'redis-fast'], /--scenario.*redis-fast/],
    [['--hold', 'forever'], /--hold.*forever/],
    [['--image', 'sid'], /--image.*sid/],
  ] as const) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, message);
    t.regex(r.stdout, /Nothing was started/);
  }
});

test.serial('retry-storm: 3 database attempts per client request for the naive app (known answer), the hardened app\'s breaker stops them', async (t) => {
  const { r, report, value } = await cascade(t, ['--scenario', 'retry-storm']);
  t.is(r.exitCode, 0, r.stdout);
  // Every call fails at once (the link resets each connection), the naive app tries once per
  // request and the clients try every request 3 times: 3 per client request, give or take the
  // requests that straddle the fault's edges.
  const naive = value('amplification', 'naive');
  t.true(naive !== null && naive > 2.8 && naive < 3.1, `naive amplification ${naive}`);
  const hardened = value('amplification', 'hardened');
  t.true(hardened !== null && hardened <= 1.1, `hardened amplification ${hardened}`);
  // The failure stays with POST /orders: the page and the cached reads of both apps answer.
  t.true((value('unaffectedAvailability', 'hardened') ?? 0) >= 0.99);
  t.true((value('affectedAvailability', 'naive') ?? 1) < 0.5, 'the naive app\'s order writes failed');
  // Every answer, the 503s and 500s of the failing writes included, is one the app's contract allows.
  t.true(report.verdict.hypotheses.some((h) => h.name === 'contractViolations == 0' && h.ok && h.observed === 0));
  t.true(report.measurements.filter((m) => m.name === 'contractViolations').length === 6, 'one per endpoint probe of each app');
  t.is(value('metastability', 'hardened'), 0);
  t.true(report.findings.some((f) => f.kind === 'cascade' && f.scope === 'naive' && /3\.0\d attempts on database per client request|2\.9\d attempts on database per client request/.test(f.title)));
  t.true(report.verdict.passed);
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('redis-slow: the naive app\'s cached reads outlast the client\'s timeout, the hardened app falls back to PostgreSQL', async (t) => {
  const { r, report, value } = await cascade(t, ['--scenario', 'redis-slow']);
  t.is(r.exitCode, 0, r.stdout);
  // 2 s each way through the link: a naive read cannot answer within the 2 s client timeout.
  t.true((value('affectedP99', 'naive') ?? 0) >= 2_000, 'a naive read waited out the client timeout');
  t.true((value('affectedAvailability', 'naive') ?? 1) < 0.99);
  // The hardened app gives Redis 200 ms, then reads PostgreSQL.
  t.true((value('affectedAvailability', 'hardened') ?? 0) >= 0.99);
  t.true((value('affectedP99', 'hardened') ?? Infinity) < 1_500);
  t.true((value('dbLoadFactor', 'hardened') ?? 0) > 1, 'the hardened app\'s reads fell through to PostgreSQL');
  // Requests pile up in the naive app while each waits on Redis.
  t.true((value('inflightMax', 'naive') ?? 0) > (value('inflightMax', 'hardened') ?? Infinity));
  t.true(report.writeChecks.every((w) => w.lost === 0 && w.acked > 0));
  t.deepEqual(await leftovers(report.run.id), []);
});
