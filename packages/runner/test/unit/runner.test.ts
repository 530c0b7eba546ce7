// The runner on a fake run: an engine object that answers like an empty Docker engine, a
// fake replicated system and probes whose failures the faults control. It checks what the
// runner owns (iterations, per-scope judging, the write check, findings, variants, verdict,
// exit codes, the journal) without containers; the integration suite runs the real thing.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { Engine, Probe, WaitTimeoutError, type ContainerHandle, type JournalEvent } from '@resilience/fixtures';
import type Docker from 'dockerode';
import {
  clientsRecovered, defineWorkflow, fullRedundancy, heal, inject, observe, primaryOf, promoted, rejoined, repeat, runWorkflow, steady, until,
  type CustomFault, type System,
} from '../../src/index.ts';

const emptyDocker = {
  ping: async () => 'OK',
  listContainers: async () => [],
  listNetworks: async () => [],
  listVolumes: async () => ({ Volumes: [] }),
} as unknown as Docker;

/** A two-node system whose primary moves on a fault; `down` makes its clients fail. */
class FakeCluster {
  primary = 'n1';
  down = false;
  /** Rows acknowledged by each node; what `lose` names is dropped when the old primary comes back. */
  readonly rows = new Map<string, string>();
  takeBack = false;
  neverHealthy = false;
  promotedAt = 0;
  healedAt = 0;
  readonly now: () => number;
  constructor(now: () => number) {
    this.now = now;
  }
}

const node = (name: string) => ({ name, container: { name } as unknown as ContainerHandle });

function fakeSystem(c: FakeCluster, scope: string): System {
  return {
    scope, title: `fake ${scope}`, network: 'none',
    primary: async () => node(c.primary),
    waitForPromotion: async (previous) => {
      await new Promise((r) => setTimeout(r, 200));
      c.primary = previous === 'n1' ? 'n2' : 'n1';
      c.promotedAt = c.now();
      c.down = false;
      return { primary: node(c.primary), at: c.promotedAt };
    },
    waitRejoined: async (n) => {
      await new Promise((r) => setTimeout(r, 100));
      if (c.takeBack) {
        // The old primary takes the lead back and everything the new one acknowledged is gone.
        for (const [id, by] of c.rows) if (by !== n) c.rows.delete(id);
        c.primary = n;
      }
      return { at: c.now(), role: c.takeBack ? 'primary' : 'replica' };
    },
    waitHealthy: async (o) => {
      if (c.neverHealthy) throw new WaitTimeoutError('a healthy fake cluster', o.timeoutMs, new Error('last seen: n2 is start failed'));
    },
    explain: async () => ({ evidence: [{ label: 'log', text: 'Lock owner: n2; I am n1' }] }),
  };
}

/** A fault on the fake cluster: clients fail from now until promotion. */
function outage(c: FakeCluster): CustomFault {
  return {
    name: 'outage',
    apply: async (run, target) => {
      c.down = true;
      return run.chaos.announce({ id: `outage-${Math.random().toString(16).slice(2, 8)}`, kind: 'proxy', targets: [{ id: target.name, name: target.name }], params: {}, expiresInMs: undefined, undo: async () => [] });
    },
  };
}

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false);
const Options = z.object({ takeBack: flag, neverHealthy: flag, iterations: z.coerce.number().default(2), variants: z.coerce.number().default(1) }).strict();

function fakeWorkflow(clusters: FakeCluster[]) {
  return defineWorkflow<z.infer<typeof Options>, FakeCluster>({
    name: 'fake',
    description: 'a fake run',
    options: Options,
    usage: '',
    variants: (o) => (o.variants > 1 ? ['a', 'b'] : []),
    timeoutMs: () => 5000,
    environment: async (o, setup) => {
      const c = new FakeCluster(setup.now);
      c.takeBack = o.takeBack && setup.variant !== 'b';
      c.neverHealthy = o.neverHealthy;
      clusters.push(c);
      return { handle: c, systems: { db: fakeSystem(c, 'db') }, teardown: async () => undefined, versions: { fake: '1.0' } };
    },
    traffic: (c, _o, t) => {
      let seq = 0;
      const write = new Probe({
        name: t.name('db-write'), op: 'write', intervalMs: 10, timeoutMs: 100, now: t.now,
        run: async (ctx) => {
          const id = `w-${seq++}`;
          ctx.writeId = id;
          if (c.down) throw new Error('connection refused');
          c.rows.set(id, c.primary);
          ctx.node = c.primary;
        },
      });
      const other = new Probe({ name: t.name('cache-read'), op: 'read', intervalMs: 10, timeoutMs: 100, now: t.now, run: async () => undefined });
      return [
        { probe: write, scopes: ['db'], verify: { store: 'fake rows', readBack: async () => c.rows.keys() } },
        { probe: other, scopes: ['cache'] },
      ];
    },
    schedule: (o) => [
      repeat(o.iterations, [
        steady(300),
        { label: 'fault', run: (sc) => inject(outage(sc.env as FakeCluster), primaryOf('db'), { scope: 'db' }).run(sc) },
        until(promoted('db'), clientsRecovered('db')),
        heal('db'),
        until(rejoined('db'), fullRedundancy('db')),
        observe(300),
      ]),
    ],
    // Loose on purpose: on a loaded 2-core machine an operation due just before the fault can run after it.
    hypotheses: () => ['rto <= 30s', 'availability(steady) >= 90%'],
  });
}

async function runFake(argv: string[]) {
  const clusters: FakeCluster[] = [];
  let text = '';
  const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
  const engine = await Engine.connect({ docker: emptyDocker });
  const reportsRoot = mkdtempSync(join(tmpdir(), 'rz-fake-'));
  const result = await runWorkflow(fakeWorkflow(clusters), { argv, out, engine, handleSignals: false, reportsRoot, run: { watchdog: false, sweep: false, stateRoot: mkdtempSync(join(tmpdir(), 'rz-state-')) } });
  const journal = readFileSync(join(result.reportDir!, 'journal.ndjson'), 'utf8');
  return { result, text, clusters, journal };
}

test.serial('a clean run passes: two faults, one scope judged, no loss, exit 0', async (t) => {
  const { result, text } = await runFake([]);
  t.is(result.exitCode, 0, text);
  t.regex(text, /fake: PASSED \(exit 0\)/);
  const s = result.summary!;
  t.is(s.faults.length, 2);
  t.deepEqual(s.faults.map((f) => f.iteration), [1, 2]);
  t.is(s.probes['db-write']!.recoveries.length, 2);
  t.is(s.probes['cache-read']!.recoveries.length, 0, 'a probe of another scope is not judged on the faults');
  t.true(s.probes['db-write']!.worst.rtoMs! >= 190, String(s.probes['db-write']!.worst.rtoMs));
  t.true(result.outcomes.some((o) => o.text === 'lostWrites(db-write) == 0' && o.ok && o.observed === 0));
  t.is(result.findings.length, 0);
});

test.serial('a failover that does not hold and loses writes fails the verdict with findings', async (t) => {
  const { result, text, journal } = await runFake(['--take-back']);
  t.is(result.exitCode, 1, text);
  const lost = result.outcomes.find((o) => o.text === 'lostWrites(db-write) == 0')!;
  t.false(lost.ok);
  t.true(lost.observed! > 0);
  t.deepEqual([...new Set(result.findings.map((f) => f.kind))].sort(), ['failover-not-held', 'lost-writes']);
  const check = journal.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEvent).find((e) => e.type === 'write-check');
  t.truthy(check);
  if (check?.type !== 'write-check') return;
  t.is(check.lost, lost.observed!);
  t.deepEqual(Object.keys(check.lostByNode), ['n2'], 'every lost write was acknowledged by the node that was promoted');
  t.true(check.lostByWindow['after-election'] > 0);
  t.is(check.perFault.length, 2);
  t.true(check.perFault.every((f) => f.lost > 0 && f.rpoSeconds > 0));
  t.regex(text, /FINDINGS \(\d+\)[\s\S]*lost-writes|FINDINGS \(\d+\)[\s\S]*acknowledged writes of db-write were lost/);
  // Findings lead the console output, before the hypothesis table.
  t.true(text.indexOf('FINDINGS') < text.indexOf('hypothesis  '));
});

test.serial('a user hypothesis that allows the loss passes, and says so', async (t) => {
  const { result, text } = await runFake(['--take-back', '--slo', 'lostWrites(db-write) <= 100000']);
  t.is(result.exitCode, 0, text);
  t.true(result.findings.some((f) => f.kind === 'lost-writes'), 'the findings stay in the report');
});

test.serial('a system that never gets back to full redundancy: a not-recovered finding, the schedule stops, the writes are still checked', async (t) => {
  const { result, text } = await runFake(['--take-back', '--never-healthy']);
  t.is(result.exitCode, 1, text);
  t.is(result.status, 'failed');
  t.deepEqual(result.findings.map((f) => f.kind), ['failover-not-held', 'not-recovered', 'lost-writes']);
  t.regex(result.findings[1]!.title, /did not get to full redundancy within 5 s after the outage of n1/);
  t.is(result.summary!.faults.length, 1, 'the second iteration did not start');
  const lost = result.outcomes.find((o) => o.text === 'lostWrites(db-write) == 0')!;
  t.true(lost.observed! > 0, 'measured although the schedule failed');
});

test.serial('variants: the same schedule per variant, hypotheses per variant', async (t) => {
  const { result, text } = await runFake(['--variants', '2', '--take-back']);
  t.is(result.exitCode, 1, text);
  t.deepEqual(result.summary!.variants, ['a', 'b']);
  t.truthy(result.summary!.probes['db-write@a']);
  t.truthy(result.summary!.probes['db-write@b']);
  const lost = result.outcomes.filter((o) => o.metric === 'lostWrites');
  t.deepEqual(lost.map((o) => [o.variant, o.ok]), [['a', false], ['b', true]]);
});

test.serial('bad input: exit 2 and nothing starts', async (t) => {
  const clusters: FakeCluster[] = [];
  let text = '';
  const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
  const r = await runWorkflow(fakeWorkflow(clusters), { argv: ['--slo', 'uptime >= 1'], out, handleSignals: false });
  t.is(r.exitCode, 2);
  t.regex(text, /uptime >= 1/);
  t.regex(text, /Nothing was started/);
  t.is(clusters.length, 0);
});

test.serial('--dry-run prints the plan and starts nothing', async (t) => {
  const clusters: FakeCluster[] = [];
  let text = '';
  const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
  const r = await runWorkflow(fakeWorkflow(clusters), { argv: ['--dry-run', '--iterations', '3'], out, handleSignals: false });
  t.is(r.exitCode, 0);
  t.regex(text, /repeat 3×/);
  t.regex(text, /until promoted\(db\), clientsRecovered\(db\)/);
  t.is(clusters.length, 0);
});
