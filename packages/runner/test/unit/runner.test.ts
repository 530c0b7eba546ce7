// The runner on a fake run: an engine object that answers like an empty Docker engine, a
// fake replicated system and probes whose failures the faults control. It checks what the
// runner owns (iterations, per-scope judging, the write check, findings, variants, verdict,
// exit codes, the journal) without containers; the integration suite runs the real thing.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { Probe, WaitTimeoutError, type ContainerHandle, type JournalEvent } from '@resilience/fixtures';
import {
  clientsRecovered, defineWorkflow, fullRedundancy, heal, inject, observe, primaryOf, promoted, rejoined, repeat, runWorkflow, steady, until,
  type CustomFault, type StepContext, type System,
} from '../../src/index.ts';
import { runOffline } from './support/offline.ts';

/** A two-node system whose primary moves on a fault; `down` makes its clients fail. */
class FakeCluster {
  primary = 'n1';
  down = false;
  /** Rows acknowledged by each node; what `lose` names is dropped when the old primary comes back. */
  readonly rows = new Map<string, string>();
  takeBack = false;
  neverHealthy = false;
  /** No node is the primary (what Patroni says when its leader's PostgreSQL does not answer). */
  noPrimary = false;
  /** Its client library ended a client by itself at these run-clock times. */
  readonly clientEnds: number[] = [];
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
    primary: async () => {
      if (c.noPrimary) throw new Error('The cluster has no running leader (n1: leader/running, n2: replica/running): n1 does not answer');
      return node(c.primary);
    },
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
    clientIncidents: () => c.clientEnds.map((at) => ({ at, title: 'a fake client ended by itself', detail: 'connected again', evidence: [{ label: 'client', text: 'status end' }] })),
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
const Options = z.object({
  takeBack: flag, neverHealthy: flag, leaderless: flag, clientEnd: flag, iterations: z.coerce.number().default(2), variants: z.coerce.number().default(1),
  /** A last step records evidence (twice under one name: the second wins). */
  evidence: flag,
  /** The write probe's lossHypothesis (on the read probe with --loss-on-read). */
  lossHypothesis: z.string().optional(),
  lossOnRead: flag,
  /** Only this variant's traffic names the lossHypothesis. */
  lossVariant: z.string().optional(),
  /** The environment's teardown never ends. */
  hangTeardown: flag,
  /** A step blocks the event loop this long (ms) while traffic runs: the runner starved. */
  block: z.coerce.number().default(0),
  /** Two last steps: one that runs only when everything before it did, and an analysis that always runs. */
  analysis: flag,
}).strict();

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
      c.noPrimary = o.leaderless;
      if (o.clientEnd) c.clientEnds.push(1234);
      clusters.push(c);
      return { handle: c, systems: { db: fakeSystem(c, 'db') }, teardown: o.hangTeardown ? () => new Promise<void>(() => undefined) : async () => undefined, versions: { fake: '1.0' } };
    },
    traffic: (c, o, t) => {
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
      const loss = o.lossHypothesis === undefined || (o.lossVariant !== undefined && o.lossVariant !== t.variant) ? {} : { lossHypothesis: o.lossHypothesis };
      return [
        { probe: write, scopes: ['db'], verify: { store: 'fake rows', readBack: async () => c.rows.keys() }, ...(o.lossOnRead ? {} : loss) },
        { probe: other, scopes: ['cache'], ...(o.lossOnRead ? loss : {}) },
      ];
    },
    schedule: (o) => [
      ...(o.block > 0 ? [{
        label: 'block the event loop',
        run: async (sc: StepContext<FakeCluster>) => {
          await sc.sleep(200);
          const until = performance.now() + o.block;
          while (performance.now() < until) { /* starved */ }
        },
      }] : []),
      repeat(o.iterations, [
        steady(300),
        { label: 'fault', run: (sc) => inject(outage(sc.env as FakeCluster), primaryOf('db'), { scope: 'db' }).run(sc) },
        until(promoted('db'), clientsRecovered('db')),
        heal('db'),
        until(rejoined('db'), fullRedundancy('db')),
        observe(300),
      ]),
      ...(o.evidence ? [{
        label: 'evidence',
        run: async (sc: StepContext<FakeCluster>) => {
          sc.evidence('restore', { partial: true });
          sc.evidence('restore', { rows: sc.env.rows.size, password: 'hunter2', url: 'postgres://app:s3cret-pw@db/app' }, [
            { title: 'Rows by node', header: ['node', 'rows'], rows: [['n1', '1'], ['n2', 'reached via postgres://app:s3cret-pw@db/app']] },
          ]);
        },
      }] : []),
      ...(o.analysis ? [
        { label: 'after the faults', run: async (sc: StepContext<FakeCluster>) => sc.note('after the faults') },
        { label: 'analysis', always: true, run: async (sc: StepContext<FakeCluster>) => sc.note('analysed', { faults: sc.faults.length }) },
      ] : []),
    ],
    // Loose on purpose: on a loaded 2-core machine an operation due just before the fault can run after it.
    hypotheses: () => ['rto <= 30s', 'availability(steady) >= 90%'],
  });
}

async function runFake(argv: string[], extra: { teardownTimeoutMs?: number } = {}) {
  const clusters: FakeCluster[] = [];
  const { result, text } = await runOffline(fakeWorkflow(clusters), argv, extra);
  if (!result.reportDir) throw new Error(`no report: ${text}`);
  const journal = readFileSync(join(result.reportDir, 'journal.ndjson'), 'utf8');
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
  t.is(result.files['evidence'], undefined, 'no evidence.json without evidence');
  t.deepEqual(verifyChecksums(result.reportDir!), []);
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

test.serial('a step that always runs (the analysis) runs after a failed step; the steps between them do not', async (t) => {
  const notes = (journal: string) => journal.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEvent)
    .flatMap((e) => (e.type === 'note' && ['after the faults', 'analysed'].includes(e.message) ? [{ message: e.message, data: e.data }] : []));
  const failed = await runFake(['--never-healthy', '--analysis']);
  t.is(failed.result.exitCode, 1, failed.text);
  t.deepEqual(failed.result.findings.map((f) => f.kind), ['not-recovered']);
  t.deepEqual(notes(failed.journal), [{ message: 'analysed', data: { faults: 1 } }], 'the analysis saw the one fault before the stop');
  const clean = await runFake(['--analysis']);
  t.is(clean.result.exitCode, 0, clean.text);
  t.deepEqual(notes(clean.journal), [{ message: 'after the faults', data: undefined }, { message: 'analysed', data: { faults: 2 } }]);
});

test.serial('variants: one whose system does not recover stops, the next still runs, and the run ends FAILED on the first', async (t) => {
  const { result, text, clusters } = await runFake(['--variants', '2', '--never-healthy', '--iterations', '1']);
  t.is(result.exitCode, 1, text);
  t.is(result.status, 'failed');
  t.is(clusters.length, 2, 'both variants were provisioned');
  t.deepEqual(result.findings.filter((f) => f.kind === 'not-recovered').map((f) => f.variant), ['a', 'b']);
  t.regex(text, /variant a stopped: .*the next variant still runs/);
  t.true(result.outcomes.filter((o) => o.text === 'lostWrites(db-write) == 0').every((o) => o.observed !== null), 'each variant\'s writes were checked');
});

test.serial('no primary before the fault: nothing is injected, a not-steady finding with the system\'s evidence, exit 1, the writes still checked', async (t) => {
  const { result, text } = await runFake(['--leaderless']);
  t.is(result.exitCode, 1, text);
  t.is(result.status, 'failed');
  t.deepEqual(result.findings.map((f) => f.kind), ['not-steady']);
  const f = result.findings[0]!;
  t.is(f.severity, 'critical');
  t.regex(f.title, /fake db was not in its steady state before the outage: primaryOf\(db\) found no target/);
  t.regex(f.detail, /no running leader .*n1 does not answer\. No fault was injected/);
  t.deepEqual(f.evidence.map((e) => e.text), ['Lock owner: n2; I am n1']);
  t.is(result.summary!.faults.length, 0, 'no fault was injected');
  t.regex(text, /FINDINGS \(1\)[\s\S]*not in its steady state/);
  t.truthy(result.outcomes.find((o) => o.text === 'lostWrites(db-write) == 0')?.observed === 0, 'the write check ran');
});

test.serial('what the client library did becomes a warning client-incident finding, and a clean run still passes', async (t) => {
  const { result, text } = await runFake(['--client-end']);
  t.is(result.exitCode, 0, text);
  t.deepEqual(result.findings.map((f) => [f.kind, f.severity, f.scope, f.at, f.title]), [['client-incident', 'warning', 'db', 1234, 'a fake client ended by itself']]);
  t.deepEqual(result.findings[0]!.evidence.map((e) => e.text), ['status end']);
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

/**
 * What `sha256sum -c SHA256SUMS` checks, in Node: the file lists every file of the folder but
 * itself, sorted, each with the SHA-256 of its content now. Returns the problems (none: []).
 */
function verifyChecksums(dir: string): string[] {
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').split('\n');
  if (lines.pop() !== '') return ['SHA256SUMS does not end in a line break'];
  const problems: string[] = [];
  const listed = lines.map((line) => {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) problems.push(`not a sha256sum line: ${line}`);
    return { hex: m?.[1] ?? '', path: m?.[2] ?? '' };
  });
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name))).filter((p) => p !== 'SHA256SUMS').sort();
  const paths = listed.map((l) => l.path);
  if (JSON.stringify(paths) !== JSON.stringify(files)) problems.push(`listed ${paths.join(', ')}; the folder has ${files.join(', ')}`);
  for (const { hex, path } of listed) {
    if (!existsSync(join(dir, path))) continue;
    if (createHash('sha256').update(readFileSync(join(dir, path))).digest('hex') !== hex) problems.push(`${path}: FAILED`);
  }
  return problems;
}

function hasSha256sum(): boolean {
  try {
    execFileSync('sha256sum', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test.serial('evidence: events per variant, evidence.json (verdict, hypotheses, measurements, redacted data) and SHA256SUMS over the report folder', async (t) => {
  const { result, text, journal } = await runFake(['--evidence', '--variants', '2', '--iterations', '1']);
  t.is(result.exitCode, 0, text);
  const dir = result.reportDir!;
  t.is(result.files['evidence'], join(dir, 'evidence.json'));
  t.is(result.files['sha256'], join(dir, 'SHA256SUMS'));
  t.regex(text, /report: \S+ \(json, junit, markdown, html, png, evidence, sha256\)/);
  t.regex(text, /evidence restore \[a\] recorded\n[\s\S]*evidence restore \[a\] recorded \(Rows by node\)/);

  const events = journal.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEvent);
  const recorded = events.filter((e) => e.type === 'evidence');
  t.deepEqual(recorded.map((e) => [e.name, e.variant]), [['restore', 'a'], ['restore', 'a'], ['restore', 'b'], ['restore', 'b']]);
  const end = events.find((e) => e.type === 'run-end')!;
  t.true(recorded.every((e) => e.at > 0 && e.at <= end.at), 'on the run clock');

  const file = JSON.parse(readFileSync(result.files['evidence']!, 'utf8')) as Record<string, unknown>;
  const summary = result.summary!;
  t.like(file, { workflow: 'fake', runId: summary.runId, startedAt: summary.startedAt, exitCode: 0, verdict: 'PASSED' });
  const report = JSON.parse(readFileSync(result.files['json']!, 'utf8')) as { run: { endedAt: string }; evidence: unknown[] };
  t.is(file['endedAt'], report.run.endedAt);
  t.deepEqual(file['hypotheses'], result.outcomes.map((o) => ({ name: o.text, ok: o.ok, observed: o.observed, threshold: o.threshold, unit: o.unit, variant: o.variant })));
  const measurements = file['measurements'] as { name: string }[];
  t.true(measurements.some((m) => m.name === 'lostWrites') && measurements.some((m) => m.name === 'election'), JSON.stringify(measurements.map((m) => m.name)));
  const url = 'postgres://app:***@db/app';
  t.deepEqual(file['evidence'], {
    'restore@a': { rows: result.summary!.writeChecks[0]!.present, password: '***', url },
    'restore@b': { rows: result.summary!.writeChecks[1]!.present, password: '***', url },
  });
  t.false(readFileSync(result.files['evidence']!, 'utf8').includes('s3cret-pw'));
  t.is(report.evidence.length, 2, 'the report shows them too');

  t.deepEqual(verifyChecksums(dir), []);
  if (hasSha256sum()) t.regex(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' }), /^journal\.ndjson: OK$/m);
  else t.log('no sha256sum here: checked in Node only');
  appendFileSync(join(dir, 'journal.ndjson'), '\n');
  t.deepEqual(verifyChecksums(dir), ['journal.ndjson: FAILED'], 'a changed file is caught');
});

test.serial('a lossHypothesis replaces lostWrites(<probe>) == 0: the loss is still measured and a finding, and the run passes on it', async (t) => {
  const { result, text } = await runFake(['--take-back', '--iterations', '1', '--loss-hypothesis', 'rpoSeconds(db-write) <= 1h']);
  t.is(result.exitCode, 0, text);
  t.deepEqual(result.outcomes.filter((o) => o.args.includes('db-write')).map((o) => [o.text, o.ok]), [['rpoSeconds(db-write) <= 1h', true]]);
  t.truthy(result.outcomes.find((o) => o.text === 'rpoSeconds(db-write) <= 1h')!.description);
  t.regex(text, /db-write: its loss is judged by rpoSeconds\(db-write\) <= 1h \(its lossHypothesis\), not lostWrites\(db-write\) == 0/);
  const lost = result.findings.find((f) => f.kind === 'lost-writes')!;
  t.is(lost.severity, 'warning', 'an accepted loss is a warning; its hypothesis judges it');
  t.regex(lost.detail, /judged by `rpoSeconds\(db-write\) <= 1h`/);
  t.regex(text, /lostWrites\(db-write\)\s+[1-9]/, 'the lost writes are measured and shown');
});

test.serial('--slo still replaces a lossHypothesis', async (t) => {
  const { result, text } = await runFake(['--take-back', '--iterations', '1', '--loss-hypothesis', 'rpoSeconds(db-write) <= 1h', '--slo', 'rpoSeconds(db-write) <= 1ms']);
  t.is(result.exitCode, 1, text);
  t.deepEqual(result.outcomes.filter((o) => o.args.includes('db-write')).map((o) => [o.text, o.ok]), [['rpoSeconds(db-write) <= 1ms', false]]);
});

test.serial('a bad lossHypothesis, or one on a probe that does not write, is bad input: exit 2 naming it', async (t) => {
  const bad = await runFake(['--iterations', '1', '--loss-hypothesis', 'uptime >= 1']);
  t.is(bad.result.exitCode, 2, bad.text);
  t.is(bad.result.status, 'aborted');
  t.regex(bad.text, /uptime >= 1/);
  const read = await runFake(['--iterations', '1', '--loss-on-read', '--loss-hypothesis', 'lostWrites(cache-read) <= 1']);
  t.is(read.result.exitCode, 2, read.text);
  t.regex(read.text, /lossHypothesis of cache-read.*set only on a write probe/);
  // Hypotheses are evaluated per variant from one list: variants must agree on a probe's.
  const split = await runFake(['--iterations', '1', '--variants', '2', '--loss-variant', 'a', '--loss-hypothesis', 'lostWrites(db-write) <= 1']);
  t.is(split.result.exitCode, 2, split.text);
  t.regex(split.text, /lossHypothesis of db-write@b.*the same in every variant \(lostWrites\(db-write\) <= 1 in the first\), got `\(none\)`/);
});

test.serial('a teardown that never ends is left after its bound: the run goes on, says so, and ends with its report', async (t) => {
  const { result, text, journal } = await runFake(['--iterations', '1', '--hang-teardown'], { teardownTimeoutMs: 600 });
  t.is(result.exitCode, 0, text);
  t.regex(text, /the environment's teardown did not finish within 0\.6 s; going on/);
  t.regex(journal, /"teardownTimeout":"the environment's teardown"/);
  t.regex(journal, /"type":"run-end","status":"completed"/);
});

test.serial('a runner starved for 800 ms while traffic runs: a runner-lagged finding says its numbers there are partly its own', async (t) => {
  const { result, text, journal } = await runFake(['--iterations', '1', '--block', '800']);
  const lagged = journal.split('\n').filter((l) => l.includes('"kind":"runner-lagged"')).map((l) => JSON.parse(l) as { severity: string; title: string; data: { maxMs: number } });
  t.is(lagged.length, 1, text);
  t.is(lagged[0]!.severity, 'warning');
  t.true(lagged[0]!.data.maxMs >= 650, lagged[0]!.title);
  t.regex(text, /the runner itself lagged/);
  t.not(result.exitCode, 2);
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
  const r = await runWorkflow(fakeWorkflow(clusters), { argv: ['--dry-run', '--iterations', '3', '--analysis'], out, handleSignals: false });
  t.is(r.exitCode, 0);
  t.regex(text, /\n\s*analysis \(also after a failed step\)\n/);
  t.notRegex(text, /after the faults \(also/);
  t.regex(text, /repeat 3×/);
  t.regex(text, /until promoted\(db\), clientsRecovered\(db\)/);
  t.regex(text, /report: report\.json, .*evidence\.json \(when the workflow gathers evidence\), SHA256SUMS/);
  t.regex(text, /hypotheses \(plus lostWrites\(<probe>\) == 0 for every write probe whose traffic names no lossHypothesis/);
  t.is(clusters.length, 0);
});

/** runWorkflow on the fake with argv, without a report folder check (for bad input). */
async function runFakeRaw(argv: string[]) {
  const clusters: FakeCluster[] = [];
  let text = '';
  const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
  const reportsRoot = mkdtempSync(join(tmpdir(), 'rz-fake-'));
  const result = await runWorkflow(fakeWorkflow(clusters), { argv, out, handleSignals: false, reportsRoot });
  return { result, text, clusters, reportsRoot };
}

test.serial('--baseline: a missing file, a foreign report, a bad tolerance are bad input before anything starts', async (t) => {
  const missing = await runFakeRaw(['--baseline', '/nonexistent/report.json']);
  t.is(missing.result.exitCode, 2, missing.text);
  t.regex(missing.text, /Expected `--baseline` to be a report\.json file or a report folder that contains one \(nothing is there\), got `\/nonexistent\/report\.json`/);
  t.regex(missing.text, /Nothing was started/);
  t.is(missing.clusters.length, 0);
  t.deepEqual(readdirSync(missing.reportsRoot), [], 'no report folder');

  const dir = mkdtempSync(join(tmpdir(), 'rz-baseline-'));
  const notReport = join(dir, 'report.json');
  writeFileSync(notReport, '{"hello": "world"}');
  const bad = await runFakeRaw(['--baseline', dir]);
  t.is(bad.result.exitCode, 2, bad.text);
  t.regex(bad.text, /`--baseline` to be .*this JSON is not a report/);

  const { result: first } = await runFake(['--iterations', '1']);
  const report = JSON.parse(readFileSync(join(first.reportDir!, 'report.json'), 'utf8')) as { run: { workflow: string } };
  report.run.workflow = 'partition';
  writeFileSync(notReport, JSON.stringify(report));
  const foreign = await runFakeRaw(['--baseline', notReport]);
  t.is(foreign.result.exitCode, 2, foreign.text);
  t.regex(foreign.text, /`--baseline` to be a report of workflow fake \(it is a report of partition\)/);
  t.is(foreign.clusters.length, 0);

  const tolerance = await runFakeRaw(['--baseline', first.reportDir!, '--baseline-tolerance', 'lots']);
  t.is(tolerance.result.exitCode, 2, tolerance.text);
  t.regex(tolerance.text, /`--baseline-tolerance` to be a percentage such as 20% or a fraction from 0 to 1 such as 0\.2, got `lots`/);
  const alone = await runFakeRaw(['--baseline-tolerance', '10%']);
  t.is(alone.result.exitCode, 2, alone.text);
  t.regex(alone.text, /`--baseline-tolerance` to be given with --baseline/);

  const dry = await runFakeRaw(['--dry-run', '--baseline', first.reportDir!, '--baseline-tolerance', '35%']);
  t.is(dry.result.exitCode, 0, dry.text);
  t.regex(dry.text, new RegExp(`baseline \\(--baseline\\): ${join(first.reportDir!, 'report.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, run \\S+ of fake started \\S+ \\(passed, 2 probes, 1 fault\\); .* \\(where the noise is unknown, 35 % of the baseline is allowed; --baseline-tolerance\\)`));
  t.is(dry.clusters.length, 0);
});

test.serial('--baseline: a run that holds its own hypotheses but lost writes the baseline did not ends FAILED on the regression; the report shows the baseline beside the run', async (t) => {
  const { result: first, text: firstText } = await runFake(['--iterations', '1']);
  t.is(first.exitCode, 0, firstText);
  const { result, text } = await runFake(['--iterations', '1', '--take-back', '--slo', 'lostWrites(db-write) <= 100000', '--baseline', first.reportDir!]);
  t.is(result.exitCode, 1, text);
  t.true(result.outcomes.every((o) => o.ok), 'its own hypotheses held');
  const comparison = result.baseline!;
  t.truthy(comparison);
  t.true(comparison.hypotheses.some((h) => h.name === 'baseline: lostWrites(db-write)' && !h.ok), JSON.stringify(comparison.hypotheses.map((h) => h.name)));
  t.deepEqual(comparison.newFindings.map((f) => f.kind).sort(), ['failover-not-held', 'lost-writes']);
  // Console: the regression in the hypothesis table, the comparison, and the verdict line.
  t.regex(text, /baseline: lostWrites\(db-write\)\s+[1-9][\d,]*\s+<= 0\s+FAIL/);
  t.regex(text, /COMPARED WITH BASELINE .*\n\d+ regressions? against baseline run /);
  t.regex(text, /fake: FAILED \(exit 1\) — \d+ of \d+ hypotheses failed \(\d+ regressions? against the baseline\)/);
  // report.json: the comparison and its failed hypotheses; summary.md and report.html show it.
  const report = JSON.parse(readFileSync(result.files['json']!, 'utf8')) as { run: { exitCode: number }; verdict: { passed: boolean; hypotheses: { name: string; ok: boolean }[] }; baseline: { regressions: number; source: string; rows: { metric: string; subject: string; verdict: string }[] } };
  t.is(report.run.exitCode, 1);
  t.false(report.verdict.passed);
  t.is(report.baseline.source, join(first.reportDir!, 'report.json'));
  t.is(report.baseline.regressions, comparison.regressions);
  t.true(report.verdict.hypotheses.some((h) => h.name === 'baseline: lostWrites(db-write)' && !h.ok));
  t.like(report.baseline.rows.find((r) => r.metric === 'lostWrites' && r.subject === 'db-write'), { verdict: 'regressed' });
  t.regex(readFileSync(result.files['markdown']!, 'utf8'), /### Compared with baseline\n\n❌ \d+ regressions? against baseline run /);
  t.regex(readFileSync(result.files['html']!, 'utf8'), /<section id="baseline"><h2>Compared with baseline<\/h2>/);
  t.regex(readFileSync(result.files['junit']!, 'utf8'), /testcase name="baseline: lostWrites\(db-write\)"/);
  t.deepEqual(verifyChecksums(result.reportDir!), []);
  // The journal's verdict carries the regressions: a report rebuilt from the journal alone fails as the run did.
  const { buildReport } = await import('@resilience/report');
  const rebuilt = await buildReport({ journalPath: join(result.reportDir!, 'journal.ndjson') });
  t.false(rebuilt.verdict.passed);
  t.true(rebuilt.verdict.hypotheses.some((h) => h.name === 'baseline: lostWrites(db-write)' && !h.ok), JSON.stringify(rebuilt.verdict.hypotheses.map((h) => h.name)));
});
