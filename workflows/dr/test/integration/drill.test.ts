// `nx run dr:drill` end to end on real clusters: bad input exits 2 with nothing started; the
// options reach the drill through `npx nx run`; a cluster-lost drill restores the latest
// archived state into fresh containers and measures RTO and RPO from the acknowledged writes;
// a bad-change drill restores to the moment before the DELETE, exact to the write; the two
// negative drills (a corrupted backup file, a target before the oldest backup) fail loudly and
// say why. Every drill leaves evidence.json and a SHA256SUMS that verifies, and nothing behind.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const root = resolve(import.meta.dirname, '..', '..', '..', '..');
const main = resolve(import.meta.dirname, '..', '..', 'src', 'drill-main.ts');
/** Small data and short steady phases: a drill in about a minute and a half on two cores. */
const FAST = ['--data=20MB', '--steady=3s', '--no-png'];

interface ReportJson {
  run: { id: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; scope: string | null; value: number | null }[];
  findings: { kind: string; severity: string; title: string; detail: string }[];
  writeChecks: { probe: string; lost: number }[];
  evidence?: { name: string; tables: { title: string; rows: string[][] }[] }[];
}

interface Evidence {
  verdict: string;
  exitCode: number;
  evidence: { drill: { verification: { check: string; ok: boolean; detail: string }[]; backups: { type: string; label: string }[]; commands: { command: string; exitCode: number }[]; restore: Record<string, unknown> } };
}

async function drill(t: { log(...s: string[]): void }, args: string[]) {
  const reports = mkdtempSync(join(tmpdir(), 'rz-drill-'));
  const r = await execa(process.execPath, [main, ...FAST, ...args], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  t.log(r.stdout.split('\n').filter((l) => /PASS|FAIL|FINDING|\brpo\b|restore|recovery|backup\(|verification|pastTarget|discarded/.test(l)).join('\n'));
  const dir = /report: (\S+)/.exec(r.stdout)?.[1];
  if (!dir) throw new Error(`no report folder in the output:\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  const evidence = JSON.parse(readFileSync(join(dir, 'evidence.json'), 'utf8')) as Evidence;
  const value = (name: string, scope?: string) => report.measurements.find((m) => m.name === name && (scope === undefined || m.scope === scope))?.value ?? null;
  return { r, dir, report, evidence, value };
}

/** SHA256SUMS lists every file of the report folder, and each hash is right. */
function checkSums(t: { true(v: boolean, m?: string): void; is(a: unknown, b: unknown, m?: string): void }, dir: string): void {
  const lines = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
  const files = lines.map((l) => /^([0-9a-f]{64}) {2}(.+)$/.exec(l)!);
  for (const f of ['evidence.json', 'report.json', 'report.html', 'journal.ndjson', 'summary.md']) t.true(files.some((m) => m[2] === f), `${f} is in SHA256SUMS`);
  for (const [, hash, file] of files) t.is(createHash('sha256').update(readFileSync(join(dir, file!))).digest('hex'), hash, file);
}

async function leftovers(runId: string): Promise<string[]> {
  const label = `label=io.resilience.run-id=${runId}`;
  const [c, v, n] = await Promise.all([
    execa('docker', ['ps', '-aq', '--filter', label]),
    execa('docker', ['volume', 'ls', '-q', '--filter', label]),
    execa('docker', ['network', 'ls', '-q', '--filter', label]),
  ]);
  return [c.stdout, v.stdout, n.stdout].join('\n').split('\n').filter(Boolean);
}

const check = (e: Evidence, pattern: RegExp) => e.evidence.drill.verification.find((c) => pattern.test(c.check));

test.serial('bad input exits 2, names the value and what is accepted, and starts nothing', async (t) => {
  const before = (await execa('docker', ['ps', '-aq', '--filter', 'label=io.resilience.project=resilience'])).stdout;
  const cases: [string[], RegExp][] = [
    [['--data=abc'], /--data.*a size from 1MB to 100GB.*abc/s],
    [['--disaster=meteor'], /--disaster.*cluster-lost.*bad-change.*meteor/s],
    [['--process-max=0'], /--process-max.*0/],
    [['--sabotage=fire'], /--sabotage.*fire/],
    [['--archive-timeout=1500ms'], /--archive-timeout.*whole seconds.*1500ms/s],
  ];
  for (const [args, message] of cases) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, message);
    t.regex(r.stdout, /Nothing was started/);
  }
  t.is((await execa('docker', ['ps', '-aq', '--filter', 'label=io.resilience.project=resilience'])).stdout, before, 'no container was started');
});

test.serial('every option reaches the drill through npx nx run (dry run, nothing started)', async (t) => {
  const args = ['--disaster=bad-change', '--data=1GB', '--image=trixie', '--process-max=3', '--archive-timeout=10s', '--rto=2m', '--rpo=15s', '--sabotage=corrupt-backup', '--steady=4s', '--interval=50ms', '--timeout=5m', '--dry-run'];
  const r = await execa('npx', ['nx', 'run', 'dr:drill', ...args, '--outputStyle=stream'], { cwd: root, reject: false, env: { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' } });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  const options = JSON.parse(/options: (\{.*\})/.exec(r.stdout)![1]!) as Record<string, unknown>;
  t.deepEqual(options, { disaster: 'bad-change', data: 1_000_000_000, image: 'trixie', processMax: 3, archiveTimeout: 10_000, rto: 120_000, rpo: 15_000, sabotage: 'corrupt-backup', steady: 4000, interval: 50, timeout: 300_000 });
  t.regex(r.stdout, /sabotage: flip a byte/);
  t.regex(r.stdout, /rpo <= 15000ms/);
});

test.serial('cluster-lost: every node destroyed, the latest archived state restored into fresh containers, verified, RTO and RPO measured from the writes', async (t) => {
  const { r, dir, report, evidence, value } = await drill(t, []);
  t.is(r.exitCode, 0, r.stdout);
  t.is(evidence.verdict, 'PASSED');
  // Full, differential, incremental, under load.
  t.deepEqual(evidence.evidence.drill.backups.map((b) => b.type), ['full', 'diff', 'incr']);
  for (const type of ['full', 'diff', 'incr']) t.true((value('backup', type) ?? 0) > 0, type);
  // Every check of the restored cluster ran and passed.
  for (const p of [/pgbackrest verify/, /pg_amcheck/, /pg_checksums/, /dr_data: rows/, /dr_accounts: rows/, /markers/, /no recovery setting left/, /pgbackrest check from the restored/]) t.true(check(evidence, p)?.ok, String(p));
  t.is(value('verificationFailures'), 0);
  // What was lost is what was not yet archived: measured, within archive_timeout plus a segment's archiving.
  const rpo = value('rpo')!;
  t.true(rpo >= 0 && rpo <= 10_000, `rpo ${rpo} ms`);
  const lost = report.writeChecks.reduce((s, w) => s + w.lost, 0);
  t.is(rpo === 0, lost === 0, 'an RPO of 0 exactly when no acknowledged write was lost');
  t.is(value('pastTarget'), 0);
  // RTO: the disaster to the app and every probe writing again on the restored cluster.
  const rto = report.verdict.hypotheses.find((h) => h.name.startsWith('rto'))!;
  t.true(rto.ok && rto.observed! > 0);
  t.true((value('restoreMBps') ?? 0) > 0 && (value('rawCopyMBps') ?? 0) > 0);
  t.true(report.evidence?.some((e) => e.tables.some((x) => x.title === 'Verification')), 'the evidence section is in the report');
  t.true(evidence.evidence.drill.commands.some((c) => /pgbackrest --stanza=main backup --type=full/.test(c.command) && c.exitCode === 0));
  checkSums(t, dir);
  t.deepEqual(await leftovers(report.run.id), [], 'no container, volume or network of the run is left');
});

test.serial('bad-change: restored to the moment before the DELETE, exact to the write: nothing acknowledged before it lost, nothing after it present', async (t) => {
  const { r, report, evidence, value } = await drill(t, ['--disaster=bad-change']);
  t.is(r.exitCode, 0, r.stdout);
  t.is(evidence.evidence.drill.restore['type'], 'time');
  t.true(check(evidence, /dr_accounts: rows/)?.ok, 'the deleted accounts are back: rows and content hash match the manifest');
  t.true(check(evidence, /markers: every one before the target present, none after it/)?.ok);
  t.is(value('rpo'), 0);
  t.is(value('pastTarget'), 0);
  const discarded = value('discardedWrites')!;
  t.true(discarded > 0, 'the old cluster acknowledged writes after the target; the restore left them out');
  // The same number in the write checks: every write missing is one acknowledged after the target.
  t.is(report.writeChecks.reduce((s, w) => s + w.lost, 0), discarded);
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('negative drill: a byte flipped in a backup file fails the drill, and the file is named', async (t) => {
  const { r, report, evidence } = await drill(t, ['--sabotage=corrupt-backup']);
  t.is(r.exitCode, 1, r.stdout);
  const verify = check(evidence, /pgbackrest verify/)!;
  t.false(verify.ok);
  t.regex(verify.detail, /pg_data\/base\/\d+\/\d+/, 'the damaged file is named');
  t.true(report.findings.some((f) => f.kind === 'verification-failed' && f.severity === 'critical' && /pg_data\/base/.test(f.detail)));
  t.false(report.verdict.passed);
  t.deepEqual(await leftovers(report.run.id), []);
});

test.serial('negative drill: a point-in-time target before the oldest backup fails the drill with the reason', async (t) => {
  const { r, report } = await drill(t, ['--sabotage=target-before-backup']);
  t.is(r.exitCode, 1, r.stdout);
  // pgBackRest refuses (it has no backup before the target); a version that restored the latest
  // backup instead would fail the drill on pastTarget and the manifest.
  const refused = report.findings.find((f) => f.kind === 'restore-failed');
  const past = report.measurements.find((m) => m.name === 'pastTarget')?.value ?? 0;
  t.true(Boolean(refused) || past > 0, 'the drill saw that the target could not be restored');
  if (refused) t.regex(refused.detail, /unable to find backup set with stop time less than/);
  t.false(report.verdict.passed);
  t.deepEqual(await leftovers(report.run.id), []);
});
