// `nx run resilience:cascade` end to end on a real stack: bad input exits 2 with nothing
// started; every scenario, one after another on one stack (`--scenario all`), measured against
// a known answer (retry-storm's 3 attempts per client request for the naive app, redis-slow's
// reads that outlast the client timeout, cache-flush's 50 misses, ...); every answer conforms to
// the app's contract, and nothing is left behind.
import test from 'ava';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { ALL_SCENARIOS } from '../../src/cascade-options.ts';
import { leftovers, runWorkflowCli } from '../support/workflow-cli.ts';

const main = resolve(import.meta.dirname, '..', '..', 'src', 'cascade-main.ts');

interface ReportJson {
  run: { id: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; scope: string | null; iteration: number | null; value: number | null }[];
  findings: { kind: string; severity: string; title: string; scope?: string }[];
  writeChecks: { probe: string; lost: number; acked: number }[];
}

function cascade(t: { log(...s: string[]): void }, args: string[]) {
  return runWorkflowCli<ReportJson>(t, 'cascade', main, ['--no-png', '--no-browser', '--steady=4s', '--hold=8s', '--after=2s', ...args], /PASS|FAIL|amplification|Availability|P99|metastab|contract/);
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

test.serial('every scenario on one stack, each measured against its known answer', async (t) => {
  const { r, report, value } = await cascade(t, ['--scenario', 'all', '--timeout', '15s']);
  const at = (name: string, scope: string, scenario: string) => value(name, scope, ALL_SCENARIOS.indexOf(scenario as never) + 1);

  // retry-storm: the link resets every connection, so every call fails at once; the naive app
  // tries once per request and its clients try every request 3 times: 3 attempts per client
  // request (give or take the requests that straddle the fault's edges). The hardened breaker
  // opens and stops them.
  const naive = at('amplification', 'naive', 'retry-storm');
  t.true(naive !== null && naive > 2.8 && naive < 3.1, `naive amplification ${naive}`);
  t.true((at('amplification', 'hardened', 'retry-storm') ?? Infinity) <= 1.1);
  t.true((at('affectedAvailability', 'naive', 'retry-storm') ?? 1) < 0.5, 'the naive app\'s order writes failed');

  // redis-slow: 2 s each way through the link cannot answer within the 2 s client timeout, so a
  // naive read waits it out; the hardened app gives Redis 200 ms, then reads PostgreSQL.
  t.true((at('affectedP99', 'naive', 'redis-slow') ?? 0) >= 2_000);
  t.true((at('affectedAvailability', 'hardened', 'redis-slow') ?? 0) >= 0.99);
  t.true((at('affectedP99', 'hardened', 'redis-slow') ?? Infinity) < 1_500);
  t.true((at('dbLoadFactor', 'hardened', 'redis-slow') ?? 0) > 1, 'the hardened reads fell through to PostgreSQL');
  t.true((at('inflightMax', 'naive', 'redis-slow') ?? 0) > (at('inflightMax', 'hardened', 'redis-slow') ?? Infinity), 'requests piled up in the naive app');

  // db-slow: 500 ms each way is at least 1 s per statement, then the table is locked against
  // writes until the heal.
  t.true((at('affectedP99', 'naive', 'db-slow') ?? 0) >= 1_000);

  // pool-exhaustion: no write can finish while the table is locked against everything.
  t.true((at('affectedAvailability', 'naive', 'pool-exhaustion') ?? 1) < 0.5);
  t.true((at('affectedAvailability', 'hardened', 'pool-exhaustion') ?? 1) < 0.5);

  // cache-flush: the 50 cached orders are gone at once; the reads go round all 50 within the
  // hold (8 s at 10 reads/s), so each misses exactly once and is cached again.
  t.is(at('cacheMisses', 'naive', 'cache-flush'), 50);
  t.is(at('cacheMisses', 'hardened', 'cache-flush'), 50);
  t.true((at('dbLoadFactor', 'naive', 'cache-flush') ?? 0) > 1);

  // redis-blackhole: nothing answers on the held connection; the hardened app gives up at its
  // deadline, opens its breaker and makes a new connection.
  t.true((at('affectedAvailability', 'naive', 'redis-blackhole') ?? 1) < 0.5);
  t.true((at('affectedAvailability', 'hardened', 'redis-blackhole') ?? 0) >= 0.99);

  // In every scenario: the hardened app kept the endpoints that do not use the failing
  // dependency, came back in time, and every answer of both apps conformed to their contract.
  for (const scenario of ALL_SCENARIOS) {
    t.true((at('unaffectedAvailability', 'hardened', scenario) ?? 0) >= 0.99, scenario);
    t.is(at('metastability', 'hardened', scenario), 0, scenario);
  }
  t.true(report.verdict.hypotheses.some((h) => h.name === 'contractViolations == 0' && h.ok && h.observed === 0));
  t.true(report.writeChecks.every((w) => w.lost === 0 && w.acked > 0));
  t.true(report.findings.some((f) => f.kind === 'cascade' && /retry-storm/.test(f.title)));
  t.is(r.exitCode, report.verdict.passed ? 0 : 1);
  t.true(report.verdict.passed, r.stdout);
  t.deepEqual(await leftovers(report.run.id), []);
});
