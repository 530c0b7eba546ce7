// `nx run dr:redis-drill` end to end on real containers: the drill with its defaults passes, the
// restored Redis loaded the AOF, the key digest matches, the loss window is measured (not
// assumed), evidence.json and SHA256SUMS are there and check out, the run's password is in no
// report file and in no container's Env or Cmd, and nothing is left behind; bad input is exit 2
// with nothing started; and a backup whose AOF lost its last writes fails, with the loss window
// measured to within the probe interval of what was cut off.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { defineWorkflow, runWorkflow, type Step } from '@resilience/runner';
import { redisDrill } from '../../src/redis-drill.ts';
import type { RedisDrillEnv } from '../../src/redis-environment.ts';
import type { RedisDrillOptionsT } from '../../src/redis-options.ts';

const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const main = resolve(import.meta.dirname, '..', '..', 'src', 'redis-drill-main.ts');

interface Hypothesis { name: string; ok: boolean; observed: number | null; threshold: number }
interface Measurement { name: string; scope?: string; value: number | null }
interface EvidenceJson {
  workflow: string;
  runId: string;
  exitCode: number;
  verdict: string;
  hypotheses: Hypothesis[];
  measurements: Measurement[];
  evidence: Record<string, {
    versions: Record<string, string>;
    settings: { persistence: Record<string, string> };
    backup: { files: { path: string; bytes: number; sha256: string }[]; copyMs: number };
    restore: {
      loaded: { from: string; log: string[] };
      digest: { keys: number; expected: string; restored: string; missing: number };
      writes: { lost: number; lossWindowMs: number; kept: number };
    };
    verification: { check: string; ok: boolean }[];
    targets: { rto: { targetMs: number; firstWriteBackMs: number | null }; lossWindow: { targetMs: number; measuredMs: number | null } };
    commands: { command: string; exitCode: number }[];
  }>;
}

async function leftovers(runId: string): Promise<string[]> {
  const label = `label=io.resilience.run-id=${runId}`;
  const out = await Promise.all([
    execa('docker', ['ps', '-aq', '--filter', label]),
    execa('docker', ['volume', 'ls', '-q', '--filter', label]),
    execa('docker', ['network', 'ls', '-q', '--filter', label]),
  ]);
  return out.flatMap((r) => r.stdout.split('\n').filter(Boolean));
}

test.serial('redis drill: every option reaches the workflow through npx nx run (dry run, nothing started)', async (t) => {
  const args = ['--image=trixie', '--keys=1000', '--rto=30s', '--loss-window=1500ms', '--steady=3s', '--interval=50ms', '--timeout=1m', '--dry-run'];
  const r = await execa('npx', ['nx', 'run', 'dr:redis-drill', ...args, '--outputStyle=stream'], { cwd: root, reject: false, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' } });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const options = JSON.parse(/options: (\{.*\})/.exec(r.stdout)![1]!) as Record<string, unknown>;
  t.deepEqual(options, { image: 'trixie', keys: 1000, rto: 30_000, lossWindow: 1500, steady: 3000, interval: 50, timeout: 60_000 });
  t.regex(r.stdout, /rto <= 30000ms/);
  t.regex(r.stdout, /lossWindow <= 1500ms/);
});

test.serial('redis drill: bad input is exit 2 naming the value, and nothing is started', async (t) => {
  for (const [args, value] of [[['--keys=abc'], /`--keys`.*`abc`/], [['--image=sid'], /`--image`.*`sid`/], [['--loss-window=soon'], /`--loss-window`.*`soon`/], [['--keys', '-5'], /--keys/]] as const) {
    const reports = mkdtempSync(join(tmpdir(), 'rz-redis-drill-bad-'));
    const child = execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
    const pid = child.pid!;
    const r = await child;
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, value);
    t.regex(r.stdout, /Nothing was started/);
    t.deepEqual(readdirSync(reports), [], 'no report folder: no run began');
    const { stdout } = await execa('docker', ['ps', '-aq', '--filter', `label=io.resilience.owner-pid=${pid}`]);
    t.is(stdout.trim(), '', 'no container of that process');
  }
});

test.serial('redis drill with its defaults: the AOF is loaded, the digest matches, the loss window is measured, the evidence checks out, nothing is left', async (t) => {
  const reports = mkdtempSync(join(tmpdir(), 'rz-redis-drill-'));
  const started = Date.now();
  const child = execa(process.execPath, [main], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  const pid = child.pid!;
  // While it runs: the password from inside the server, and what Docker shows of its containers.
  let password: string | undefined;
  const inspected: string[] = [];
  const spy = (async () => {
    while (child.exitCode === null && password === undefined) {
      const ps = await execa('docker', ['ps', '-q', '--filter', `label=io.resilience.owner-pid=${pid}`, '--filter', 'label=io.resilience.role=redis'], { reject: false });
      const id = ps.stdout.split('\n').find(Boolean);
      if (id) {
        const r = await execa('docker', ['exec', id, 'cat', '/etc/redis/drill.password'], { reject: false });
        if (r.exitCode === 0 && r.stdout.length >= 16) {
          password = r.stdout;
          const all = await execa('docker', ['ps', '-q', '--filter', `label=io.resilience.owner-pid=${pid}`]);
          const info = await execa('docker', ['inspect', ...all.stdout.split('\n').filter(Boolean)]);
          inspected.push(info.stdout);
        }
      }
      await new Promise((res) => setTimeout(res, 200));
    }
  })();
  const r = await child;
  await spy;
  const elapsed = Date.now() - started;
  t.log(r.stdout.split('\n').filter((l) => /measured (bgsave|copy|lossWindow|lost|verification|faultRto|restoreTotal)|PASS|FAIL|FINDING|restored Redis/.test(l)).join('\n'));
  t.log(`drill took ${(elapsed / 1000).toFixed(1)} s`);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.true(elapsed < 90_000, `the drill took ${elapsed} ms`);

  const dir = /report: (\S+)/.exec(r.stdout)?.[1];
  t.truthy(dir, r.stdout);
  const files = readdirSync(dir!);
  for (const f of ['evidence.json', 'SHA256SUMS', 'report.json', 'report.html', 'journal.ndjson']) t.true(files.includes(f), f);
  // SHA256SUMS covers every other file and checks out.
  const sums = readFileSync(join(dir!, 'SHA256SUMS'), 'utf8').trim().split('\n');
  t.deepEqual(sums.map((l) => l.split('  ')[1]).sort(), files.filter((f) => f !== 'SHA256SUMS').sort());
  t.notThrows(() => execFileSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: dir! }));

  const ev = JSON.parse(readFileSync(join(dir!, 'evidence.json'), 'utf8')) as EvidenceJson;
  t.is(ev.workflow, 'dr-redis-drill');
  t.is(ev.exitCode, 0);
  t.is(ev.verdict, 'PASSED');
  const h = (name: string) => ev.hypotheses.find((x) => x.name === name);
  t.true(h('rto <= 120000ms')?.ok, JSON.stringify(ev.hypotheses));
  t.true(typeof h('rto <= 120000ms')?.observed === 'number' && h('rto <= 120000ms')!.observed! > 0);
  t.true(h('verificationFailures == 0')?.ok);
  const loss = h('lossWindow <= 2000ms');
  t.true(loss?.ok);
  t.is(typeof loss?.observed, 'number', 'the loss window was measured');
  t.true(loss!.observed! >= 0 && loss!.observed! <= 2000);

  const d = ev.evidence['redis-drill']!;
  t.regex(d.versions['redis'] ?? '', /^7\.0\./);
  t.is(d.settings.persistence['appendfsync'], 'everysec');
  t.is(d.restore.loaded.from, 'aof');
  t.true(d.restore.loaded.log.some((l) => /DB loaded from append only file/.test(l)));
  t.false(d.restore.loaded.log.some((l) => /DB loaded from disk/.test(l)));
  t.is(d.restore.digest.expected, d.restore.digest.restored);
  t.regex(d.restore.digest.expected, /^[0-9a-f]{64}$/);
  t.true(d.restore.digest.keys >= 50_000, 'the preloaded keys and the probe\'s');
  t.is(d.restore.writes.lossWindowMs, loss!.observed!);
  t.deepEqual(d.targets.lossWindow, { hypothesis: 'lossWindow <= 2000ms', targetMs: 2000, measuredMs: loss!.observed! } as unknown as typeof d.targets.lossWindow);
  t.is(d.targets.rto.targetMs, 120_000);
  t.true(d.targets.rto.firstWriteBackMs! > 0 && d.targets.rto.firstWriteBackMs! <= h('rto <= 120000ms')!.observed! + 50, 'the first write back comes before a full second of them');
  t.is(d.restore.writes.lost === 0, loss!.observed === 0, 'a loss window of 0 exactly when no acknowledged write before the copy is missing');
  t.true(d.restore.writes.kept > 0);
  const paths = d.backup.files.map((f) => f.path);
  t.true(paths.includes('dump.rdb'));
  t.true(paths.some((p) => /^appendonlydir\/.*\.manifest$/.test(p)));
  t.true(paths.some((p) => /^appendonlydir\/.*\.incr\.aof$/.test(p)));
  for (const f of d.backup.files) t.regex(f.sha256, /^[0-9a-f]{64}$/);
  t.true(d.backup.files.find((f) => f.path === 'dump.rdb')!.bytes > 1_000_000, '50000 keys of 64-byte values');
  t.true(d.verification.length >= 5 && d.verification.every((c) => c.ok), JSON.stringify(d.verification));
  t.true(d.commands.some((c) => /BGSAVE/.test(c.command) && c.exitCode === 0));
  t.true(d.commands.some((c) => /cp -a/.test(c.command) && c.exitCode === 0));
  // The report shows the evidence for people too.
  const html = readFileSync(join(dir!, 'report.html'), 'utf8');
  for (const title of ['Backup of the persistence files', 'Verification', 'Commands']) t.true(html.includes(title), title);
  const m = (name: string) => ev.measurements.find((x) => x.name === name)?.value;
  t.is(m('verificationFailures'), 0);
  t.is(typeof m('lostBeforeCopy'), 'number');

  // The run's password: seen inside the server, in no report file, in no container's Env or Cmd.
  t.truthy(password, 'read the password from the running server');
  for (const f of files) t.false(readFileSync(join(dir!, f), 'utf8').includes(password!), `${f} holds the password`);
  t.true(inspected.length > 0);
  for (const info of inspected) t.false(info.includes(password!), 'docker inspect shows the password');

  t.deepEqual(await leftovers(ev.runId), []);
});

test.serial('redis drill, negative: a backup whose AOF is cut back to its size of a moment before the copy fails on the digest, and the loss window measures the cut', async (t) => {
  type DrillStep = Step<RedisDrillEnv, RedisDrillOptionsT>;
  let mark: { startedAt: number; endedAt: number; file: string; bytes: number } | undefined;
  // The live incr AOF's size at a moment (every write acknowledged before it is in it: Redis
  // writes the AOF before it replies), then half a second more of writes before the backup.
  const measure: DrillStep = {
    label: 'sabotage: note the size of the live incr AOF',
    run: async (sc) => {
      const startedAt = Date.now();
      const r = await sc.env.server.container.exec(['bash', '-c', 'cd /var/lib/redis/appendonlydir && f=$(ls *.incr.aof | tail -1) && echo "$f $(stat -c %s "$f")"'], { user: 'redis' });
      const endedAt = Date.now();
      const [file, bytes] = r.stdout.trim().split(' ');
      mark = { startedAt, endedAt, file: file!, bytes: Number(bytes) };
      await sc.sleep(500);
    },
  };
  // The backup's copy of that file cut back to that size: what a snapshot taken then would hold.
  const cut: DrillStep = {
    label: 'sabotage: cut the backup\'s incr AOF back to that size',
    run: async (sc) => {
      const helper = await sc.env.engine.startContainer({ image: sc.env.imageTag, name: 'redis-drill-sabotage', role: 'helper', cmd: ['sleep', 'infinity'], networkMode: 'none', volumes: [{ source: sc.env.backup!.volume, target: '/backup' }] });
      sc.env.containers.push(helper);
      const r = await helper.exec(['truncate', '-s', String(mark!.bytes), `/backup/appendonlydir/${mark!.file}`]);
      await helper.remove();
      if (r.exitCode !== 0) throw new Error(`truncate failed: ${r.stderr}`);
    },
  };
  const sabotaged = defineWorkflow<RedisDrillOptionsT, RedisDrillEnv>({
    ...redisDrill,
    name: 'dr-redis-drill-cut',
    schedule: (o) => {
      const steps = [...redisDrill.schedule(o)];
      const backup = steps.findIndex((x) => x.label.startsWith('backup'));
      steps.splice(backup + 1, 0, cut);
      steps.splice(backup, 0, measure);
      return steps;
    },
  });
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString('utf8')));
  const reports = mkdtempSync(join(tmpdir(), 'rz-redis-drill-cut-'));
  const result = await runWorkflow(sabotaged, { argv: ['--no-png', '--keys=5000', '--steady=3s'], reportsRoot: reports, out, handleSignals: false, run: { watchdog: false, sweep: false } });
  t.log(text.split('\n').filter((l) => /measured (lossWindow|lost|verification)|FAIL|PASS|Verification failed|restored Redis/.test(l)).join('\n'));
  t.is(result.exitCode, 1, text);
  const ev = JSON.parse(readFileSync(join(result.reportDir!, 'evidence.json'), 'utf8')) as EvidenceJson & { evidence: Record<string, { drill: { copyStartedAt: string } }> };
  const d = ev.evidence['redis-drill']!;
  t.is(d.restore.loaded.from, 'aof', 'it still loaded the (shorter) AOF');
  t.not(d.restore.digest.expected, d.restore.digest.restored);
  t.true(d.restore.digest.missing > 0);
  t.false(d.verification.find((c) => /key digest/.test(c.check))!.ok);
  t.false(ev.hypotheses.find((h) => h.name === 'verificationFailures == 0')!.ok);
  t.true(result.findings.some((f) => f.kind === 'verification-failed' && f.severity === 'critical' && /key digest/.test(f.title)));
  // Every write acknowledged before the size was read is kept; those after it, up to the copy, are lost.
  const copyStartedAt = Date.parse(d.drill.copyStartedAt);
  const window = d.restore.writes.lossWindowMs;
  t.true(d.restore.writes.lost > 0);
  t.true(window <= copyStartedAt - mark!.startedAt + 1 && window >= copyStartedAt - mark!.endedAt - 2 * 20, `loss window ${window} ms; the size was read ${copyStartedAt - mark!.endedAt}-${copyStartedAt - mark!.startedAt} ms before the copy`);
  t.is(ev.measurements.find((m) => m.name === 'lossWindow')?.value, window);
  t.deepEqual(await leftovers(ev.runId), []);
});
