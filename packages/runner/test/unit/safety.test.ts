// Safeguards and the blast-radius cap: `--abort-if` judged over a sliding window against events
// whose truth is known, a tripped safeguard that heals at once and ends the run FAILED with a
// finding (the writes still checked), and `--max-targets` refusing a plan before anything starts.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { Engine, InvalidArgumentError, Probe, type ContainerHandle, type JournalEvent } from '@resilience/fixtures';
import {
  MetricRegistry, SafeguardMonitor, blastRadius, defineWorkflow, heal, hold, inject, node, observe, parseSafeguard, repeat, runWorkflow, steady,
  type CustomFault, type Step,
} from '../../src/index.ts';
import { emptyDocker } from './support/offline.ts';

const registry = new MetricRegistry([{ name: 'election', unit: 'ms', description: 'fault start to a new primary' }]);

/** A probe's samples every 10 ms over [from, to): ok or not, with a latency. */
function samples(probe: string, from: number, to: number, ok: (t: number) => boolean, latencyMs = 2): JournalEvent[] {
  const out: JournalEvent[] = [];
  for (let t = from; t < to; t += 10) out.push({ type: 'sample', probe, op: 'read', intended: t, completed: t + latencyMs, ok: ok(t) });
  return out;
}

function monitor(texts: string[], windowMs: number, events: JournalEvent[]): SafeguardMonitor {
  const m = new SafeguardMonitor(texts.map((x) => parseSafeguard(x, registry)), { windowMs, registry });
  for (const e of events) m.observe(e);
  return m;
}

// Steady 0..5 s, then a fault at 5 s: every operation fails from 5.0 to 8.0 s, then succeeds.
const outage: JournalEvent[] = [
  { type: 'phase', name: 'steady', at: 0 },
  { type: 'probe', name: 'db-read', op: 'read', scopes: ['db'], intervalMs: 10, writes: false, at: 0 },
  { type: 'probe', name: 'cache-read', op: 'read', scopes: ['cache'], intervalMs: 10, writes: false, at: 0 },
  ...samples('db-read', 0, 5000, () => true),
  ...samples('cache-read', 0, 10_000, () => true),
  { type: 'phase', name: 'fault', at: 5000 },
  ...samples('db-read', 5000, 10_000, (t) => t >= 8000),
];

test('availability over the window: judged only once the window is observed, then exactly the share that succeeded', (t) => {
  const all = outage.filter((e) => e.type !== 'sample' || (e.type === 'sample' && e.intended < 6000));
  const m = monitor(['availability(fault, db) < 50%'], 1000, all);
  // 0.9 s into the fault phase: every operation of it failed, but a 1 s window is not observed yet.
  t.is(m.check(5900), undefined);
  const trip = m.check(6000);
  t.truthy(trip);
  t.is(trip!.observed, 0);
  t.regex(trip!.basis, /operations of db-read in the last 1\.00 s of phase fault/);
});

test('a window that saw half the fault and half the recovery reads 50 %; the scope selects its probes only', (t) => {
  // Over [7 s, 9 s): 1 s failing, 1 s succeeding for db-read; cache-read (another scope) always succeeds.
  const m = monitor(['availability(fault, db) < 50%', 'availability(fault) < 80%'], 2000, outage);
  const trip = m.check(9000);
  t.is(trip?.safeguard.text, 'availability(fault) < 80%', 'the scope-selected one is exactly 50 %: not < 50 %');
  // db-read alone: 100 of 200 operations; with cache-read: 300 of 400.
  const dbOnly = monitor(['availability(fault, db) <= 50%'], 2000, outage).check(9000);
  t.is(dbOnly?.observed, 0.5);
  t.is(trip?.observed, 0.75);
  // After the recovery a full window of successes: nothing holds.
  t.is(monitor(['availability(fault) < 99%'], 1000, outage).check(10_000), undefined);
});

test('a phase not yet started selects nothing: no trip in steady state', (t) => {
  const before = outage.filter((e) => !(e.type === 'phase' && e.name === 'fault') && (e.type !== 'sample' || e.intended < 5000));
  t.is(monitor(['availability(fault) < 100%'], 1000, before).check(5000), undefined);
  t.is(monitor(['availability(steady) < 100%'], 1000, before).check(5000), undefined);
  t.is(monitor(['availability(steady) < 1'], 1000, before).check(5000), undefined, 'availability 1 is not < 1');
  t.is(monitor(['availability(steady) <= 1'], 1000, before).check(5000)?.observed, 1);
});

test('latency percentiles over the window', (t) => {
  const events: JournalEvent[] = [
    { type: 'phase', name: 'fault', at: 0 },
    ...samples('p', 0, 990, () => true, 5),
    // The last 1 % of operations take 800 ms.
    ...samples('p', 990, 1000, () => true, 800),
  ];
  t.is(monitor(['p99 > 100ms'], 1000, events).check(1000), undefined, 'p99 of 100 operations is the 99th: 5 ms');
  t.is(monitor(['max > 700ms'], 1000, events).check(1000)?.observed, 800);
  t.is(monitor(['p50 >= 5ms'], 1000, events).check(1000)?.observed, 5);
});

test('shed over the window: the operations refused on purpose (HTTP 429) in the last window', (t) => {
  const events: JournalEvent[] = [
    { type: 'phase', name: 'steady', at: 0 },
    // 0..2 s: every 4th operation refused with a 429 (shed); 2..3 s: every 4th a 500 (failed, not shed).
    ...samples('api', 0, 3000, (t) => t % 40 !== 30).map((e) => (e.type === 'sample' && !e.ok && e.intended < 2000 ? { ...e, error: 'HTTP 429', shed: true as const } : e)),
  ];
  const over = (text: string, now: number) => monitor([text], 1000, events).check(now);
  t.is(over('shed > 24', 2000)?.observed, 25, '25 of the 100 operations of [1 s, 2 s) were shed');
  t.is(over('shed > 25', 2000), undefined);
  t.is(over('shed > 0', 3000), undefined, 'the 500s of [2 s, 3 s) are failures, not shed');
  t.is(over('availability < 80%', 3000)?.observed, 0.75);
});

test('findings and measured metrics: their values so far', (t) => {
  const m = monitor(['findings(critical) >= 1', 'election(db) > 2s'], 1000, [
    { type: 'finding', id: 'w', kind: 'x', severity: 'warning', at: 10, title: 't', detail: 'd', evidence: [] },
  ]);
  t.is(m.check(100), undefined, 'a warning is not critical');
  m.observe({ type: 'measurement', name: 'election', scope: 'db', unit: 'ms', value: 1500, description: '', at: 200 });
  t.is(m.check(300), undefined);
  m.observe({ type: 'measurement', name: 'election', scope: 'db', unit: 'ms', value: 2500, description: '', at: 400 });
  t.is(m.check(500)?.safeguard.text, 'election(db) > 2s');
  t.is(m.check(500)?.observed, 2500);
  m.observe({ type: 'finding', id: 'c', kind: 'x', severity: 'critical', at: 600, title: 't', detail: 'd', evidence: [] });
  t.is(m.check(700)?.safeguard.text, 'findings(critical) >= 1');
});

test('bad safeguards are bad input naming the expression and what is accepted', (t) => {
  const e = t.throws(() => parseSafeguard('rto > 30s', registry), { instanceOf: InvalidArgumentError });
  t.is(e.exitCode, 2);
  t.regex(e.message, /`--abort-if` to be a condition that can be watched while the run goes on.*rto is only known at the end of the run.*got `rto > 30s`/);
  t.regex(t.throws(() => parseSafeguard('uptime < 1', registry))!.message, /--abort-if.*a known metric.*got `uptime < 1`/);
  t.regex(t.throws(() => parseSafeguard('availability < 50 percent', registry))!.message, /--abort-if.*an expression like/);
});

const fakeStep = (): CustomFault => ({ name: 'spread', apply: () => Promise.reject(new Error('never applied')) });

test('blastRadius finds the fault steps over the cap, nested ones too; built-in kinds hit one container', (t) => {
  const one = inject('pause', node('n', () => ({ name: 'n', container: {} as ContainerHandle })), { scope: 'db' });
  const wide = inject(fakeStep(), node('n', () => ({ name: 'n', container: {} as ContainerHandle })), { scope: 'db', targets: 4 });
  const unknown = inject(fakeStep(), node('n', () => ({ name: 'n', container: {} as ContainerHandle })), { scope: 'db' });
  t.is(one.targets, 1);
  const plan = [steady(10), repeat(2, [one, wide, unknown, heal()])] as Step[];
  t.deepEqual(blastRadius(plan, 3).over.map((s) => s.targets), [4]);
  t.deepEqual(blastRadius(plan, 4).over, []);
  t.is(blastRadius(plan, 4).undeclared.length, 1);
  t.throws(() => inject(fakeStep(), node('n', () => ({ name: 'n', container: {} as ContainerHandle })), { scope: 'db', targets: 0 }), { message: /targets must be a whole number of containers, at least 1 \(got 0\)/ });
});

// The runner on a fake engine: a blackout fault makes every operation of the db probe fail until healed.
interface Env { down: boolean; rows: Set<string>; provisioned: boolean; healedAt?: number; now: () => number }

const Options = z.object({ hold: z.coerce.number().default(20_000), spread: z.coerce.number().default(1) }).strict();

function blackoutWorkflow(envs: Env[]) {
  const blackout: CustomFault<Env> = {
    name: 'blackout',
    apply: async (run, target, _p, _s, sc) => {
      sc.env.down = true;
      return run.chaos.announce({
        id: `blackout-${Math.random().toString(16).slice(2, 8)}`, kind: 'proxy', targets: [{ id: target.name, name: target.name }], params: {}, expiresInMs: undefined,
        undo: async () => {
          sc.env.down = false;
          sc.env.healedAt = sc.env.now();
          return [];
        },
      });
    },
  };
  return defineWorkflow<z.infer<typeof Options>, Env>({
    name: 'blackout',
    description: 'a fake outage held for --hold ms',
    options: Options,
    usage: '',
    timeoutMs: () => 5000,
    environment: async (_o, setup) => {
      const env: Env = { down: false, rows: new Set(), provisioned: true, now: setup.now };
      envs.push(env);
      return { handle: env, teardown: async () => undefined };
    },
    traffic: (env, _o, t) => {
      let seq = 0;
      const write = new Probe({
        name: t.name('db-write'), op: 'write', intervalMs: 10, timeoutMs: 100, now: t.now,
        run: async (ctx) => {
          const id = `w-${seq++}`;
          ctx.writeId = id;
          if (env.down) throw new Error('connection refused');
          env.rows.add(id);
        },
      });
      return [{ probe: write, scopes: ['db'], verify: { store: 'fake rows', readBack: async () => env.rows } }];
    },
    schedule: (o) => [
      steady(300),
      inject(blackout, node<Env>('db', () => ({ name: 'db', container: { name: 'db' } as unknown as ContainerHandle })), { scope: 'db', targets: o.spread }),
      hold(o.hold),
      heal(),
      observe(300),
    ],
    hypotheses: () => ['availability(steady) >= 90%'],
  });
}

async function runBlackout(argv: string[]) {
  const envs: Env[] = [];
  let text = '';
  const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
  const engine = await Engine.connect({ docker: emptyDocker });
  const reportsRoot = mkdtempSync(join(tmpdir(), 'rz-safety-'));
  const started = performance.now();
  const result = await runWorkflow(blackoutWorkflow(envs), { argv, out, engine, handleSignals: false, reportsRoot, run: { watchdog: false, sweep: false, stateRoot: mkdtempSync(join(tmpdir(), 'rz-state-')) } });
  return { result, text, envs, ms: performance.now() - started };
}

test.serial('a safeguard that holds heals the fault at once and ends the run FAILED with a finding; the writes are still checked', async (t) => {
  const { result, text, envs, ms } = await runBlackout(['--hold', '20000', '--abort-if', 'availability(fault) < 50%', '--abort-window', '1s']);
  t.is(result.exitCode, 1, text);
  t.is(result.status, 'failed');
  t.regex(text, /SAFEGUARD: safeguard tripped: availability\(fault\) < 50% \(observed 0(\.00)? %/);
  t.regex(text, /blackout: FAILED \(exit 1\).*safeguard tripped/);
  const f = result.findings.find((x) => x.kind === 'safeguard-tripped');
  t.truthy(f, text);
  t.is(f!.severity, 'critical');
  t.regex(f!.detail, /Every fault in effect was healed at once \(1 in \d+ ms\)/);
  // Ground truth: the fault began at its injection; the window is 1 s, checked every 250 ms.
  const fault = result.summary!.faults[0]!;
  const heldMs = envs[0]!.healedAt! - fault.at;
  t.true(heldMs >= 1000 && heldMs <= 1000 + 250 + 250, `the blackout was healed ${heldMs.toFixed(0)} ms after it began (window 1 s, checked every 250 ms)`);
  t.true(ms < 10_000, `the run ended in ${ms.toFixed(0)} ms, not after the 20 s hold`);
  // The writes were read back after the trip: none was lost (the blackout refused them all).
  t.true(result.outcomes.some((o) => o.text === 'lostWrites(db-write) == 0' && o.ok && o.observed === 0), JSON.stringify(result.outcomes));
  const report = JSON.parse(readFileSync(join(result.reportDir!, 'report.json'), 'utf8')) as { settings: { safety?: unknown } };
  t.like(report.settings.safety, { abortIf: ['availability(fault) < 50%'] }, 'the report names the safeguards it ran with');
});

test.serial('a safeguard that never holds changes nothing: the run passes', async (t) => {
  const { result, text } = await runBlackout(['--hold', '500', '--abort-if', 'availability(fault) < 50%', '--abort-window', '1s']);
  t.is(result.exitCode, 0, text);
  t.false(result.findings.some((x) => x.kind === 'safeguard-tripped'));
});

test.serial('--max-targets refuses a plan whose fault hits more containers, before anything starts', async (t) => {
  const { result, text, envs } = await runBlackout(['--spread', '5', '--max-targets', '4']);
  t.is(result.exitCode, 2, text);
  t.regex(text, /`--max-targets` to be at least 5 for this plan: `inject blackout on db \(scope db\)` hits 5 containers, got `4`/);
  t.regex(text, /Nothing was started/);
  t.is(envs.length, 0, 'no environment was provisioned');
  t.is(result.reportDir, undefined);
  const ok = await runBlackout(['--spread', '4', '--max-targets', '4', '--hold', '100']);
  t.is(ok.result.exitCode, 0, ok.text);
});

test.serial('bad safety options: exit 2 naming the value, nothing started', async (t) => {
  for (const [argv, pattern] of [
    [['--max-targets', '0'], /`--max-targets` to be a whole number of containers, at least 1, got `0`/],
    [['--max-targets', 'all'], /`--max-targets` to be a whole number of containers, at least 1, got `all`/],
    [['--abort-window', '-1s'], /`--abort-window` to be a positive duration/],
    [['--abort-if', 'ttd > 1s'], /`--abort-if` to be a condition that can be watched/],
  ] as const) {
    const { result, text, envs } = await runBlackout([...argv]);
    t.is(result.exitCode, 2, text);
    t.regex(text, pattern);
    t.is(envs.length, 0);
  }
});

test.serial('--dry-run shows each fault\'s blast radius, the safeguards and the cap', async (t) => {
  const { result, text, envs } = await runBlackout(['--dry-run', '--spread', '3', '--max-targets', '3', '--abort-if', 'availability(fault) < 50%', '--abort-if', 'findings(critical) >= 1']);
  t.is(result.exitCode, 0, text);
  t.regex(text, /inject blackout on db \(scope db\) — hits 3 containers/);
  t.regex(text, /safeguards \(--abort-if; checked every 250 ms, availability and latency over the last 10\.00 s/);
  t.regex(text, /^ {2}findings\(critical\) >= 1 \(its value so far\)$/m);
  t.regex(text, /blast radius: at most 3 containers per fault \(--max-targets\)/);
  t.is(envs.length, 0);
});
