// The drill's steps: backups under load, the repository verified, a manifest taken, the
// disaster, the restore into fresh containers, and the restored cluster verified. Each records
// what it ran (command, exit code, time) as evidence and what it measured.
import { BACKUP_PATHS, PATHS, PG_IMAGES, RECOVERY_SETTINGS, queryOnce, restoreNodes, type RestoreBootstrap } from '@resilience/pg-ha';
import { recordedExec, type EvidenceTable } from '@resilience/fixtures';
import type { CustomFault, Step, StepContext, TargetSelector } from '@resilience/runner';
import { addCheck, disasterFault, drillStep, hostName, iso, secs } from './format.ts';
import { ACCOUNTS, manifest, type BackupRecord, type Check, type DrillEnv } from './environment.ts';
import { judgeWrites, type WriteJudgement } from './ledger.ts';
import type { DrillOptionsT } from './options.ts';
import { PROBE_TABLES, readIds } from './traffic.ts';

type Sc = StepContext<DrillEnv, DrillOptionsT>;
type DrillStep = Step<DrillEnv, DrillOptionsT>;
const step = (label: string, run: (sc: Sc) => Promise<void>): DrillStep => drillStep<DrillEnv, DrillOptionsT>(label, run);

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
/** A PostgreSQL timestamptz literal in UTC with microseconds, from epoch ms. */
export const pgTimestamp = (epoch: number) => `${new Date(epoch).toISOString().replace('T', ' ').replace('Z', '')}000+00`;

/** A verification check of this drill (scope postgres). */
const verified = (sc: Sc, c: Check): void => addCheck(sc, 'postgres', c);

/** What each of restoreNodes' steps means, for people. */
const RESTORE_STEPS: Readonly<Record<string, string>> = {
  dcs: 'old cluster state removed from etcd',
  containers: 'new PostgreSQL containers started',
  primary: 'restored primary accepts writes (pgBackRest restore, WAL replay, promotion)',
  replicas: 'replicas copied and streaming',
  haproxy: 'HAProxy routes writes to the restored primary',
};

/** The evidence so far, as data (evidence.json) and tables (report): re-published after every step, so a drill that stops early still has it. */
export function publish(sc: Sc): void {
  const env = sc.env;
  const commands = [...env.repo.commands, ...env.nodeCommands].sort((a, b) => a.startedAt - b.startedAt);
  const data = {
    drill: {
      disaster: env.options.disaster, sabotage: env.options.sabotage, disasterAt: iso(env.disasterAt),
      ...(env.target ? { target: env.target.text } : {}), oldClusterGoneAt: iso(env.oldClusterGoneAt),
    },
    versions: env.versions,
    settings: {
      image: env.options.image, data: env.options.data, dataRows: env.dataRows, processMax: env.archive.processMax,
      archiveTimeout: `${env.archive.archiveTimeoutS}s`, compressType: 'lz4', repoRetentionFull: 2, blockIncremental: env.archive.blockIncremental === true, repoHost: env.archive.repoHost, transport: 'pgBackRest TLS server, a CA made for this run',
    },
    targets: { rtoMs: env.options.rto, rpoMs: env.options.rpo },
    backups: env.backups,
    manifest: env.manifest ?? [],
    restore: env.restore ?? {},
    verification: env.checks,
    commands,
  };
  const tables: EvidenceTable[] = [
    { title: 'Backups (under load)', header: ['type', 'label', 'duration', 'database', 'added to repository', 'WAL'], rows: env.backups.map((b) => [b.type, b.label, secs(b.durationMs), mb(b.size), mb(b.repoDelta), `${b.walStart} – ${b.walStop}`]) },
    { title: 'Verification', header: ['check', 'result', 'detail'], rows: env.checks.map((c) => [c.check, c.ok ? 'ok' : 'FAILED', c.detail]) },
    { title: 'Commands', header: ['started', 'host', 'command', 'exit', 'duration'], rows: commands.map((c) => [iso(c.startedAt).slice(11, 23), hostName(c.host), c.command, String(c.exitCode), secs(c.durationMs)]) },
  ];
  const steps = (env.restore?.['steps'] ?? {}) as Record<string, number>;
  if (Object.keys(steps).length) tables.splice(1, 0, { title: 'Restore, step by step (time after the disaster)', header: ['step', 'at'], rows: Object.entries(steps).map(([k, v]) => [RESTORE_STEPS[k] ?? k, secs(v)]) });
  sc.evidence('drill', data, tables);
}

/** A full, differential or incremental backup on the repository host, under the drill's traffic. */
export function backup(type: 'full' | 'diff' | 'incr'): DrillStep {
  return step(`backup --type=${type}`, async (sc) => {
    const env = sc.env;
    sc.phase('backup');
    const startedAt = Date.now();
    env.firstBackupStartedAt ??= startedAt;
    const r = await env.repo.pgbackrest(['backup', `--type=${type}`], { signal: sc.signal });
    const b = (await env.repo.info()).backup.at(-1)!;
    const record: BackupRecord = {
      type, label: b.label, startedAt: b.timestamp.start * 1000, stoppedAt: b.timestamp.stop * 1000, durationMs: r.durationMs,
      size: b.info.size, delta: b.info.delta, repoSize: b.info.repository.size, repoDelta: b.info.repository.delta, walStart: b.archive.start, walStop: b.archive.stop,
    };
    env.backups.push(record);
    sc.measure({ name: 'backup', scope: type, unit: 'ms', value: r.durationMs, description: `pgbackrest backup --type=${type} under load: ${b.label}; database ${mb(b.info.size)}, ${mb(b.info.delta)} in files changed since the prior backup, ${mb(b.info.repository.delta)} added to the repository${env.archive.blockIncremental ? ' (block incremental: only changed blocks)' : ' (whole changed files)'}` });
    publish(sc);
  });
}

/** Changes between backups: some accounts and 1 % of the data, so diff and incr have work. */
export function change(n: number): DrillStep {
  return step(`change accounts and 1 % of dr_data (${n})`, async (sc) => {
    const url = sc.env.pg.primaryUrl;
    const slice = Math.max(1, Math.floor(sc.env.dataRows / 100));
    await queryOnce(url, `update dr_accounts set balance = balance + ${n}, updated_at = now() where id % 10 = ${n % 10}`, [], 60_000);
    // A contiguous 1 % (as changes to recent rows usually are): the pages of the rest stay as they were.
    await queryOnce(url, `update dr_data set payload = md5((id * ${n + 17})::text) || substr(payload, 33) where id > ${(n - 1) * slice} and id <= ${n * slice}`, [], 600_000);
  });
}

/** A byte of a file of the latest backup flipped in the repository (negative drill). */
export const corruptBackup: DrillStep = step('sabotage: flip a byte in a file of the latest backup', async (sc) => {
  const env = sc.env;
  const label = env.backups.at(-1)!.label;
  const dir = `${BACKUP_PATHS.repo}/backup/main/${label}/pg_data/base`;
  const script = `f=$(find ${dir} -type f -size +4k | sort | head -1); test -n "$f"; python3 -c 'import sys; p=sys.argv[1]; b=open(p,"r+b"); b.seek(2048); x=b.read(1); b.seek(2048); b.write(bytes([x[0]^0xff])); b.close()' "$f"; echo "$f"`;
  const r = await env.repo.exec(['bash', '-c', script]);
  const file = r.stdout.trim();
  sc.note(`sabotage: flipped byte 2048 of ${file}`);
  env.sabotaged = file;
  publish(sc);
});

/** `pgbackrest verify`: every file of every backup and the WAL archive against their checksums. */
export const verifyRepository: DrillStep = step('pgbackrest verify', async (sc) => {
  const env = sc.env;
  const r = await env.repo.pgbackrest(['verify', '--log-level-console=detail'], { check: false, signal: sc.signal });
  const bad = r.stdout.concat('\n', r.output).split('\n').filter((l) => /invalid|missing|error|corrupt/i.test(l) && !/^\s*$/.test(l));
  const files = [...new Set(bad.flatMap((l) => [...l.matchAll(/([\w./-]+\/[\w.-]+)/g)].map((m) => m[1]!)).filter((f) => f.includes('pg_data') || /^\d{24}/.test(f.split('/').at(-1) ?? '')))];
  const ok = r.exitCode === 0 && bad.length === 0;
  verified(sc, {
    check: 'pgbackrest verify (repository checksums)',
    ok,
    detail: ok ? `every backup and WAL file matches its checksum (${secs(r.durationMs)})` : `exit ${r.exitCode}; ${files.length ? `bad file(s): ${files.slice(0, 5).join(', ')}` : 'no file named'}; ${bad.slice(0, 3).join(' | ')}`,
  });
  publish(sc);
});

/** Row counts and content hashes of the data tables: what the restored cluster must hold. */
export const takeManifest: DrillStep = step('manifest of the data tables', async (sc) => {
  sc.env.manifest = await manifest(sc.env.pg.primaryUrl);
  sc.note(`manifest: ${sc.env.manifest.map((m) => `${m.table} ${m.rows} rows ${m.hash.slice(0, 8)}`).join(', ')}`);
  publish(sc);
});

/** The primary now, as the disaster's target (for the fault's record). */
export const thePrimary: TargetSelector<DrillEnv> = {
  label: 'the pg-ha cluster',
  resolve: async (sc) => {
    const p = await sc.env.pg.primary({ signal: sc.signal });
    return { name: p.name, container: p.container };
  },
};

/**
 * The disaster. cluster-lost: every PostgreSQL container removed with its data, at once.
 * bad-change: a mistaken DELETE of half the accounts, T read from the server just before it in
 * the same session (the target of the point-in-time restore).
 */
export const disaster: CustomFault<DrillEnv> = disasterFault<DrillEnv>(async (sc, _target, epoch) => {
  const env = sc.env;
  env.disasterAt = epoch;
  if (env.options.disaster === 'cluster-lost') {
    await Promise.all(env.pg.nodes.map((n) => n.container.remove()));
    env.oldClusterGoneAt = Date.now();
    return { disaster: env.options.disaster, removed: env.pg.nodes.map((n) => n.name) };
  }
  const [t] = await queryOnce<{ epoch: string; text: string }>(env.pg.primaryUrl, "select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as epoch, to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as text", [], 5_000);
  const deleted = await queryOnce<{ n: string }>(env.pg.primaryUrl, 'with d as (delete from dr_accounts where id % 2 = 0 returning 1) select count(*)::text as n from d', [], 60_000);
  env.target = { text: t!.text, epoch: Number(t!.epoch) };
  env.disasterAt = env.target.epoch;
  const n = Number(deleted[0]?.n ?? 0);
  sc.note(`bad change: deleted ${n} of ${ACCOUNTS} accounts after ${env.target.text}`);
  return { disaster: env.options.disaster, statement: 'delete from dr_accounts where id % 2 = 0', deleted: n, target: env.target.text };
});

function restoreTarget(env: DrillEnv): RestoreBootstrap {
  if (env.options.sabotage === 'target-before-backup') return { type: 'time', target: pgTimestamp(env.firstBackupStartedAt! - 60_000) };
  return env.target ? { type: 'time', target: env.target.text } : { type: 'latest' };
}

/** Restore into fresh containers: a new Patroni cluster bootstrapped by pgBackRest from the repository. */
export const restore: DrillStep = step('restore into fresh containers', async (sc) => {
  const env = sc.env;
  const f = sc.currentFault('postgres');
  sc.phase('restore');
  if (env.options.disaster === 'bad-change') {
    // The WAL past the target must be in the repository before the cluster goes: recovery to a
    // time whose WAL was never archived ends before the target, and PostgreSQL refuses to start
    // ("recovery ended before configured recovery target was reached"). `check` switches the
    // WAL segment and waits until it is archived.
    await env.repo.pgbackrest(['check'], { signal: sc.signal });
    await Promise.all(env.pg.nodes.map((n) => n.container.remove()));
    env.oldClusterGoneAt = Date.now();
  }
  const how = restoreTarget(env);
  const steps: Record<string, number> = {};
  env.restore = { type: how.type, ...(how.target ? { target: how.target } : {}), steps };
  try {
    env.pg = await restoreNodes(env.pg, { restore: how, timeoutMs: sc.timeoutMs, signal: sc.signal, onStep: (s, at) => (steps[s] = Math.round(at - f.at)) });
  } catch (e) {
    if (sc.signal.aborted) throw e;
    const message = e instanceof Error ? e.message : String(e);
    // The first error pgBackRest or PostgreSQL gave, from the logs the restore gathered.
    const why = message.split('\n').map((l) => l.trim()).find((l) => /\bERROR: |\bFATAL: /.test(l) && !/not accepting connections|the database system is (starting|shutting)/.test(l));
    sc.finding({ kind: 'restore-failed', severity: 'critical', scope: 'postgres', at: sc.now(), title: 'The restore did not bring a cluster back', detail: `${message.split('\n')[0]}${why ? `: ${why}` : ''}`, evidence: [{ label: 'restore and Patroni logs', text: message }] });
    publish(sc);
    // Not a setup error: the drill ran and its restore failed.
    throw new Error(`the restore failed: ${message.split('\n')[0]}`);
  }
  await f.injected.heal();
  // Which node bootstrapped (ran the restore), and how fast pgBackRest restored.
  for (const n of env.pg.nodes) {
    const r = await recordedExec(n.container, ['bash', '-c', `cat ${BACKUP_PATHS.restoreTiming} 2>/dev/null && grep -E 'restore backup set|restore size|recovery will start' ${BACKUP_PATHS.restoreLog}`], { check: false });
    if (r.exitCode !== 0) continue;
    env.nodeCommands.push(r);
    const [start, end] = r.stdout.split('\n')[0]!.split(' ').map(Number);
    const label = /restore backup set (\S+)/.exec(r.stdout)?.[1]?.replace(/,$/, '');
    const set = env.backups.find((b) => b.label === label);
    const restoreMs = end! - start!;
    const copy = `${PATHS.dataDir}.rawcopy`;
    const raw = await recordedExec(n.container, ['bash', '-c', `sync; s=$(date +%s%3N); cp -a ${PATHS.dataDir} ${copy} && sync; e=$(date +%s%3N); b=$(du -sb ${copy} | cut -f1); rm -rf ${copy}; echo "$s $e $b"`], { check: false, records: env.nodeCommands });
    const [rs, re, rb] = raw.stdout.trim().split(' ').map(Number);
    const restoreMBps = set ? set.size / 1e6 / (restoreMs / 1000) : null;
    const rawMBps = raw.exitCode === 0 ? rb! / 1e6 / ((re! - rs!) / 1000) : null;
    env.restore = { ...env.restore, node: n.name, backupSet: label ?? 'unknown', restoreMs, bytes: set?.size ?? null, restoreMBps, rawCopy: { bytes: rb ?? null, ms: re! - rs!, MBps: rawMBps } };
    sc.measure({ name: 'restore', unit: 'ms', value: restoreMs, description: `pgbackrest restore of backup set ${label ?? '?'} on ${n.name} (process-max ${env.archive.processMax}), before WAL replay` });
    sc.measure({ name: 'restoreMBps', unit: 'count', value: restoreMBps === null ? null : Math.round(restoreMBps * 10) / 10, description: `restore throughput, MB/s: the backup set's ${set ? mb(set.size) : '?'} over the restore time` });
    sc.measure({ name: 'rawCopyMBps', unit: 'count', value: rawMBps === null ? null : Math.round(rawMBps * 10) / 10, description: 'cp -a of the restored data directory on the same disk in the same container, with sync, MB/s (the page cache is warm: an upper bound)' });
    sc.measure({ name: 'restoreRatio', unit: 'ratio', value: restoreMBps !== null && rawMBps ? Math.round((restoreMBps / rawMBps) * 1000) / 1000 : null, description: 'restore throughput / raw copy throughput (goal: at least 0.7)' });
    break;
  }
  if (steps['primary'] !== undefined) sc.measure({ name: 'recovery', unit: 'ms', value: steps['primary'] - (steps['containers'] ?? 0), description: 'new containers started to the restored primary accepting writes: restore, WAL replay and promotion' });
  publish(sc);
});

/**
 * The restored cluster verified: pg_amcheck, pg_checksums (offline, on a replica copied from
 * the restored primary), the data tables against the manifest, every probe's acknowledged
 * writes and the markers against the disaster or the target, no recovery setting left behind,
 * and archiving from the new timeline.
 */
export const verifyRestored: DrillStep = step('verify the restored cluster', async (sc) => {
  const env = sc.env;
  sc.phase('verify');
  const pg = env.pg;
  const primary = await pg.primary({ signal: sc.signal });
  const binDir = PG_IMAGES[pg.settings.image].binDir;

  const am = await recordedExec(primary.container, [`${binDir}/pg_amcheck`, '--all', '--heapallindexed', '--install-missing', '-h', '/tmp', '-U', 'postgres'], { check: false, records: env.nodeCommands });
  verified(sc, { check: 'pg_amcheck --all --heapallindexed', ok: am.exitCode === 0, detail: am.exitCode === 0 ? `no corruption in any table or index (${secs(am.durationMs)})` : `exit ${am.exitCode}: ${am.output.split('\n').slice(0, 3).join(' | ')}` });

  // pg_checksums needs a cleanly stopped cluster: Patroni paused, a replica stopped and checked.
  const replica = pg.nodes.find((n) => n.name !== primary.name)!;
  await patroniPause(replica.apiUrl, true);
  try {
    const ck = await recordedExec(replica.container, ['bash', '-c', `${binDir}/pg_ctl -D ${PATHS.dataDir} stop -m fast -w >/dev/null && ${binDir}/pg_checksums --check -D ${PATHS.dataDir}`], { check: false, records: env.nodeCommands });
    verified(sc, { check: `pg_checksums --check (offline, ${replica.name}: a copy of the restored primary)`, ok: ck.exitCode === 0, detail: ck.output.split('\n').filter((l) => /checksum|Bad|files|blocks/i.test(l)).join('; ') || `exit ${ck.exitCode}` });
  } finally {
    await patroniPause(replica.apiUrl, false);
  }
  await pg.waitHealthy({ timeoutMs: sc.timeoutMs, signal: sc.signal });

  const now = await manifest(pg.primaryUrl);
  for (const want of env.manifest ?? []) {
    const got = now.find((m) => m.table === want.table);
    const ok = got?.rows === want.rows && got.hash === want.hash;
    verified(sc, { check: `${want.table}: rows and content hash`, ok, detail: ok ? `${want.rows} rows, md5 ${want.hash}` : `expected ${want.rows} rows md5 ${want.hash}, restored ${got?.rows ?? '?'} rows md5 ${got?.hash ?? '?'}` });
  }

  // Acknowledged writes and markers against the disaster (or the target).
  // cluster-lost: every write acknowledged before the nodes were gone counts (the removal takes a moment).
  const cutoff = env.options.sabotage === 'target-before-backup' ? env.firstBackupStartedAt! - 60_000 : env.target?.epoch ?? env.oldClusterGoneAt ?? env.disasterAt!;
  const until = env.oldClusterGoneAt ?? env.disasterAt!;
  const judged: Record<string, WriteJudgement> = {};
  for (const [probe, table] of Object.entries(PROBE_TABLES)) {
    const present = await readIds(pg.primaryUrl, table);
    judged[probe] = judgeWrites(env.ledger!.entries.filter((e) => e.probe === probe), present, cutoff, until);
  }
  const pitr = env.restore?.['type'] === 'time';
  const rpo = Math.max(...Object.values(judged).map((j) => j.rpoMs));
  const past = Object.values(judged).reduce((s, j) => s + j.afterCutoffPresent, 0);
  const discarded = Object.values(judged).reduce((s, j) => s + j.discarded, 0);
  sc.measure({ name: 'rpo', unit: 'ms', value: rpo, description: `acknowledged data lost, in time: the oldest lost write to the last write acknowledged before ${pitr ? 'the target' : 'the nodes were gone'} (0: none lost), the worst of ${Object.keys(PROBE_TABLES).join(', ')}` });
  sc.measure({ name: 'pastTarget', unit: 'count', value: past, description: `writes sent after ${pitr ? 'the target' : 'the disaster'} present in the restored cluster (a restore past its target)` });
  if (pitr) sc.measure({ name: 'discardedWrites', unit: 'count', value: discarded, description: 'writes acknowledged after the target by the old cluster, absent as the point-in-time restore requires' });
  const m = judged['marker']!;
  verified(sc, {
    check: pitr ? 'markers: every one before the target present, none after it' : 'markers: every one up to the last archived present',
    ok: (pitr ? m.lost === 0 : m.holes === 0) && m.afterCutoffPresent === 0,
    detail: `${m.kept} kept, ${m.lost} lost${m.holes ? ` (${m.holes} of them before a kept one: a hole)` : ''} before ${pitr ? 'the target' : 'the disaster'}${m.lostIds.length ? ` (first: ${m.lostIds[0]})` : ''}, ${m.afterCutoffPresent} present after it${m.afterCutoffPresentIds.length ? ` (first: ${m.afterCutoffPresentIds[0]})` : ''}, ${m.discarded} discarded, ${m.straddling} straddling`,
  });
  for (const [probe, j] of Object.entries(judged)) {
    if (probe === 'marker') continue;
    if (j.holes > 0) verified(sc, { check: `${probe}: no hole among the acknowledged writes`, ok: false, detail: `${j.holes} lost writes were acknowledged before one that was kept (first lost: ${j.lostIds[0]})` });
    if (j.afterCutoffPresent > 0) verified(sc, { check: `${probe}: nothing sent after the target present`, ok: false, detail: `${j.afterCutoffPresent} present (first: ${j.afterCutoffPresentIds[0]})` });
  }
  env.restore = { ...env.restore, cutoff: iso(cutoff), writes: judged };

  // Recovery settings a restore wrote must not be left where replicas would copy them.
  for (const n of pg.nodes) {
    // Patroni writes the recovery settings into postgresql.conf with their default values; one that differs from PostgreSQL's own default was left by the restore.
    const rows = await queryOnce<{ name: string; setting: string }>(n.superuserUrl, 'select name, setting from pg_settings where name = any($1) and setting is distinct from boot_val', [[...RECOVERY_SETTINGS]], 5_000);
    verified(sc, { check: `${n.name}: no recovery setting left`, ok: rows.length === 0, detail: rows.length ? rows.map((r) => `${r.name}=${r.setting}`).join(', ') : 'none set' });
  }
  const check = await env.repo.pgbackrest(['check'], { check: false, signal: sc.signal });
  verified(sc, { check: 'pgbackrest check from the restored cluster (archiving works on its timeline)', ok: check.exitCode === 0, detail: check.exitCode === 0 ? `archived a WAL segment in ${secs(check.durationMs)}` : check.output.split('\n').slice(-2).join(' | ') });

  sc.measure({ name: 'verificationFailures', unit: 'count', value: env.checks.filter((c) => !c.ok).length, description: `failed checks of ${env.checks.length}: repository verify, pg_amcheck, pg_checksums, manifest, markers, recovery settings, archiving` });
  publish(sc);
});

async function patroniPause(apiUrl: string, pause: boolean): Promise<void> {
  const res = await fetch(`${apiUrl}/config`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pause }), signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`Patroni PATCH /config pause=${pause}: HTTP ${res.status}`);
  // The member's next loop (loop_wait) applies it.
  await new Promise((r) => setTimeout(r, 2_500));
}
