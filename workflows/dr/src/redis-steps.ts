// The Redis drill's steps: a backup of the persistence files under traffic (BGSAVE completed,
// then the RDB and the AOF directory copied from the live volume by a helper container, like a
// crash-consistent volume snapshot), the disaster (the server SIGKILLed and removed with its
// volume), the restore (a new volume filled from the backup, a new server on it), and the
// verification: which file Redis loaded, a key digest, the measured loss window. Each records
// what it ran (command, exit code, time) and what it measured as evidence.
import { createHash } from 'node:crypto';
import type { EvidenceTable } from '@resilience/fixtures';
import { SetupError, recordedExec, waitFor } from '@resilience/fixtures';
import type { CustomFault, Step, StepContext, TargetSelector } from '@resilience/runner';
import { addCheck, disasterFault, drillStep, hostName, iso, secs } from './format.ts';
import type { Check } from './environment.ts';
import { judgeWrites, type LedgerEntry, type WriteJudgement } from './ledger.ts';
import {
  AOF_DIR, CLI, DATA_PREFIX, PERSISTENCE, RDB_FILE, WRITE_PREFIX, parseInfo, preloadValue,
  type PersistedFile, type RedisDrillEnv,
} from './redis-environment.ts';
import type { RedisDrillOptionsT } from './redis-options.ts';
import { readWriteIds } from './redis-traffic.ts';

type Sc = StepContext<RedisDrillEnv, RedisDrillOptionsT>;
type DrillStep = Step<RedisDrillEnv, RedisDrillOptionsT>;
const step = (label: string, run: (sc: Sc) => Promise<void>): DrillStep => drillStep<RedisDrillEnv, RedisDrillOptionsT>(label, run);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

// --- pure parts (unit-tested) ---------------------------------------------------------------

/** `file <bytes> <sha256 or -> <path>` lines of a listing. */
export function parseListing(stdout: string): PersistedFile[] {
  const files: PersistedFile[] = [];
  for (const m of stdout.matchAll(/^file (\d+) ([0-9a-f]{64}|-) (.+)$/gm)) files.push({ bytes: Number(m[1]), sha256: m[2] === '-' ? '' : m[2]!, path: m[3]! });
  return files;
}

/** What the copy scripts print: `copy <start ms> <end ms>`, then the listing of what was copied. */
export function parseCopyListing(stdout: string): { startedAt: number; endedAt: number; files: PersistedFile[] } {
  const copy = /^copy (\d+) (\d+)$/m.exec(stdout);
  if (!copy) throw new SetupError(`The copy printed no \`copy <start> <end>\` line: ${stdout.slice(0, 200)}`);
  return { startedAt: Number(copy[1]), endedAt: Number(copy[2]), files: parseListing(stdout) };
}

/** A shell script listing every file under `dir` (sorted, relative) with its size and, with `hash`, its SHA-256. */
export function listScript(dir: string, hash: boolean): string {
  const sum = hash ? '"$(sha256sum "$f" | cut -d\' \' -f1)"' : '-';
  return `cd ${dir} && find . -type f -printf '%P\\n' | sort | while IFS= read -r f; do printf 'file %s %s %s\\n' "$(stat -c %s "$f")" ${sum} "$f"; done`;
}

/**
 * A shell script copying `from`'s `what` into `to` (with `chown`, then owned by redis, as a data
 * directory), timed, then listing `to` (hashed with `hash`; the backup's copy is not, so the
 * disaster follows it at once: its files are hashed before the restore reads them).
 */
export function copyScript(from: string, to: string, what: readonly string[], o: { chown?: boolean; hash?: boolean } = {}): string {
  return [
    'set -e',
    's=$(date +%s%3N)',
    ...what.map((w) => `cp -a ${from}/${w} ${to}/`),
    ...(o.chown ? [`chown redis:redis ${to}`, `chmod 750 ${to}`] : []),
    'e=$(date +%s%3N)',
    'echo "copy $s $e"',
    listScript(to, o.hash ?? false),
  ].join('\n');
}

export type LoadedFrom = 'aof' | 'rdb' | 'none';

/**
 * Which persistence file a Redis server loaded at start, from its log: `DB loaded from append
 * only file` (the AOF, also when its base is an RDB preamble) or `DB loaded from disk` (the RDB
 * alone). Also whether it loaded a truncated AOF, and the lines that say so.
 */
export function loadedFrom(log: string): { from: LoadedFrom; seconds: number | null; truncated: boolean; lines: string[] } {
  const lines = log.split(/\r?\n/).filter((l) => /Reading RDB|Loading RDB|RDB age|RDB is base|Done loading|DB loaded|AOF|append only|truncat|short read|Ready to accept|Bad file format|Fatal|error/i.test(l));
  const aof = /DB loaded from append only file: ([\d.]+) seconds/.exec(log);
  const rdb = /DB loaded from disk: ([\d.]+) seconds/.exec(log);
  const from: LoadedFrom = aof ? 'aof' : rdb ? 'rdb' : 'none';
  const seconds = aof ? Number(aof[1]) : rdb ? Number(rdb[1]) : null;
  return { from, seconds, truncated: /short read|AOF loaded anyway|truncated/i.test(log), lines: lines.map((l) => l.trim()).slice(0, 40) };
}

/** sha256 over `key=value\n` of every pair, sorted by key (a missing key is `key\0\n`). */
export function keyDigest(pairs: Iterable<readonly [string, string | null]>): string {
  const sorted = [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const h = createHash('sha256');
  for (const [k, v] of sorted) h.update(v === null ? `${k}\0\n` : `${k}=${v}\n`);
  return h.digest('hex');
}

/**
 * The keys the restored server must hold with their values: every preloaded key, and every key
 * of the ledger acknowledged at or before `cutoff` (the copy's start) and sent before `until` (the disaster).
 */
export function expectedKeys(o: { keys: number; salt: string; entries: readonly LedgerEntry[]; cutoff: number; until: number }): Map<string, string> {
  const out = new Map<string, string>();
  for (let n = 0; n < o.keys; n++) out.set(`${DATA_PREFIX}${n}`, preloadValue(o.salt, n));
  for (const e of o.entries) if (e.ackAt <= o.cutoff && e.sentAt <= o.until) out.set(`${WRITE_PREFIX}${e.id}`, '1');
  return out;
}

/**
 * The acknowledged writes judged against the copy's start (`cutoff`; writes sent after `until`,
 * the disaster, went to the restored server), and the loss window as this drill defines it: the
 * cutoff back to the acknowledgement of the oldest lost write (judgeWrites' rpoMs is the lost
 * data's own span instead); at least 1 ms when a write was lost, so a loss never reads as none.
 */
export function judgeLoss(entries: readonly LedgerEntry[], present: ReadonlySet<string>, cutoff: number, until: number): { judged: WriteJudgement; lossWindowMs: number } {
  const judged = judgeWrites(entries, present, cutoff, until);
  return { judged, lossWindowMs: judged.oldestLostAckAt === undefined ? 0 : Math.max(1, Math.round(cutoff - judged.oldestLostAckAt)) };
}

// --- evidence -------------------------------------------------------------------------------

/** A verification check of this drill (scope redis). */
const verified = (sc: Sc, c: Check): void => addCheck(sc, 'redis', c);

/** The evidence so far, as data (evidence.json) and tables (report): re-published after every step. */
export function publish(sc: Sc): void {
  const env = sc.env;
  const o = env.options;
  const b = env.backup;
  const commands = [...env.commands].sort((x, y) => x.startedAt - y.startedAt);
  const data = {
    drill: {
      preloadedAt: iso(env.preloadedAt), copyStartedAt: iso(b?.copyStartedAt), copyEndedAt: iso(b?.copyEndedAt),
      disasterAt: iso(env.disasterAt), oldServerGoneAt: iso(env.goneAt),
    },
    versions: env.versions,
    settings: {
      image: o.image, imageTag: env.imageTag, keys: o.keys, probeIntervalMs: o.interval, persistence: PERSISTENCE,
      auth: 'requirepass: a random 24-byte password made for the run, written into the container by exec, never recorded',
      network: 'one server on its own Docker network; port published on 127.0.0.1 only',
    },
    targets: {
      rto: {
        hypothesis: `rto <= ${o.rto}ms`, targetMs: o.rto, firstWriteBackMs: env.restore?.['firstWriteBackMs'] ?? null,
        measured: 'the runner\'s rto (the disaster to the first of 1 s of successful writes) is the observed value of this hypothesis in `hypotheses`',
      },
      lossWindow: { hypothesis: `lossWindow <= ${o.lossWindow}ms`, targetMs: o.lossWindow, measuredMs: (env.restore?.['writes'] as { lossWindowMs?: number } | undefined)?.lossWindowMs ?? null },
      verification: { hypothesis: 'verificationFailures == 0', failed: env.checks.filter((c) => !c.ok).length, of: env.checks.length },
    },
    backup: b ? {
      volume: b.volume,
      method: 'BGSAVE completed, then the RDB and the AOF directory copied with cp -a from the live volume (mounted read-only) by a helper container while writes went on: crash-consistent like a volume snapshot, file by file',
      caveat: 'a file copy reads through the page cache, so it holds every write Redis had written (Redis writes its AOF buffer before it replies; everysec defers only the fsync, or the write itself for up to 2 s while an fsync is slow: aof_delayed_fsync counts those). A block-level snapshot or a power loss holds only what was fsynced: up to about 1 s (2 s) less.',
      bgsaveMs: b.bgsaveDoneAt - b.bgsaveAt, lastSave: b.lastSave, copyMs: b.copyEndedAt - b.copyStartedAt, bytes: b.bytes, files: b.files, infoBefore: b.infoBefore,
    } : {},
    restore: env.restore ?? {},
    verification: env.checks,
    commands,
  };
  const tables: EvidenceTable[] = [];
  if (b) {
    tables.push({ title: 'Backup of the persistence files (under load)', header: ['file', 'size', 'sha256'], rows: b.files.map((f) => [f.path, kb(f.bytes), f.sha256 || '(hashed before the restore)']) });
    tables.push({
      title: 'Timeline', header: ['event', 'at (UTC)', 'after the copy began'],
      rows: ([
        ['BGSAVE', b.bgsaveAt], ['BGSAVE done', b.bgsaveDoneAt], ['copy began', b.copyStartedAt], ['copy ended', b.copyEndedAt],
        ['disaster (SIGKILL)', env.disasterAt], ['server and volume removed', env.goneAt],
        ['restored server started', env.restore?.['serverStartedAt'] as number | undefined], ['restored server answering', env.restore?.['serverReadyAt'] as number | undefined],
      ] as [string, number | undefined][]).filter(([, t]) => t !== undefined).map(([e, t]) => [e, iso(t).slice(11, 23), secs(t! - b.copyStartedAt)]),
    });
  }
  tables.push({ title: 'Verification', header: ['check', 'result', 'detail'], rows: env.checks.map((c) => [c.check, c.ok ? 'ok' : 'FAILED', c.detail]) });
  tables.push({ title: 'Commands', header: ['started', 'host', 'command', 'exit', 'duration'], rows: commands.map((c) => [iso(c.startedAt).slice(11, 23), hostName(c.host), c.command, String(c.exitCode), secs(c.durationMs)]) });
  sc.evidence('redis-drill', data, tables);
}

// --- steps ----------------------------------------------------------------------------------

async function persistenceInfo(env: RedisDrillEnv): Promise<Record<string, string>> {
  return parseInfo(await env.admin.info('persistence'));
}

/** A backup Redis would not make: a critical finding with the server's log, then the drill stops (exit 1, not a setup error). */
async function backupFailed(sc: Sc, why: string): Promise<never> {
  const log = await sc.env.server.container.logs().catch(() => '');
  sc.finding({ kind: 'backup-failed', severity: 'critical', scope: 'redis', at: sc.now(), title: 'Redis did not make the RDB snapshot of the backup', detail: why, evidence: [{ label: 'Redis log', text: log.trimEnd().split('\n').slice(-20).join('\n') }] });
  publish(sc);
  throw new Error(`the backup failed: ${why}`);
}

/** BGSAVE (retried while another fork runs), waited for until the save counter moved and it succeeded. */
async function bgsave(sc: Sc): Promise<{ at: number; doneAt: number; lastSave: number }> {
  const env = sc.env;
  const before = Number((await persistenceInfo(env))['rdb_saves'] ?? 0);
  const at = Date.now();
  // Another fork (a save or an AOF rewrite) may be running: wait for it and ask again; any other reply fails the backup.
  for (const deadline = Date.now() + sc.timeoutMs; ;) {
    const r = await recordedExec(env.server.container, [CLI, 'BGSAVE'], { user: 'redis', check: false, signal: sc.signal });
    const reply = r.stdout.trim();
    const busy = /in progress/i.test(reply);
    if (!busy || Date.now() > deadline) env.commands.push(r);
    if (r.exitCode === 0 && /Background saving (started|scheduled)/.test(reply)) break;
    if (!busy || Date.now() > deadline) await backupFailed(sc, `BGSAVE was refused: exit ${r.exitCode}: ${reply}`);
    await sc.sleep(100);
  }
  const info = await waitFor(async () => {
    const i = await persistenceInfo(env);
    return i['rdb_bgsave_in_progress'] === '0' && Number(i['rdb_saves'] ?? 0) > before ? i : undefined;
  }, { what: 'BGSAVE to complete', timeoutMs: sc.timeoutMs, intervalMs: 20, signal: sc.signal });
  if (info['rdb_last_bgsave_status'] !== 'ok') await backupFailed(sc, `BGSAVE did not succeed: rdb_last_bgsave_status ${info['rdb_last_bgsave_status']}`);
  // An AOF rewrite running during the copy would swap files under it: wait until none runs.
  await waitFor(async () => {
    const i = await persistenceInfo(env);
    return i['aof_rewrite_in_progress'] === '0' && i['aof_rewrite_scheduled'] === '0';
  }, { what: 'no AOF rewrite in progress', timeoutMs: sc.timeoutMs, intervalMs: 50, signal: sc.signal });
  return { at, doneAt: Date.now(), lastSave: Number(info['rdb_last_save_time'] ?? 0) };
}

/** The backup: BGSAVE completed, then the RDB and the AOF directory copied from the live volume into a backup volume. */
export const backupFiles: DrillStep = step('backup: BGSAVE, then copy the RDB and the AOF directory to a backup volume', async (sc) => {
  const env = sc.env;
  sc.phase('backup');
  const save = await bgsave(sc);
  sc.measure({ name: 'bgsave', unit: 'ms', value: save.doneAt - save.at, description: 'BGSAVE under load to the save seen done (INFO persistence: rdb_saves moved, rdb_last_bgsave_status ok)' });
  const volume = await env.engine.createVolume('redis-drill-backup');
  env.volumes.push(volume);
  const infoBefore = await persistenceInfo(env);
  // The live volume mounted read-only (`<volume>:/live:ro`): the copy cannot touch the server's files.
  const helper = await env.engine.startContainer({
    image: env.imageTag, name: 'redis-drill-backup', role: 'helper', cmd: ['sleep', 'infinity'], networkMode: 'none',
    volumes: [{ source: env.server.volume, target: '/live:ro' }, { source: volume, target: '/backup' }],
  }, sc.signal);
  env.containers.push(helper);
  env.backupHelper = helper;
  const r = await recordedExec(helper, ['bash', '-c', copyScript('/live', '/backup', [RDB_FILE, AOF_DIR])], { check: false, records: env.commands, signal: sc.signal });
  if (r.exitCode !== 0) {
    sc.finding({ kind: 'backup-failed', severity: 'critical', scope: 'redis', at: sc.now(), title: 'The copy of the persistence files failed', detail: `exit ${r.exitCode}: ${r.output.split('\n').slice(-3).join(' | ')}` });
    publish(sc);
    throw new Error(`the backup copy failed (exit ${r.exitCode})`);
  }
  const copy = parseCopyListing(r.stdout);
  const bytes = copy.files.reduce((s, f) => s + f.bytes, 0);
  env.backup = {
    volume, bgsaveAt: save.at, bgsaveDoneAt: save.doneAt, lastSave: save.lastSave, copyStartedAt: copy.startedAt, copyEndedAt: copy.endedAt, files: copy.files, bytes,
    infoBefore: Object.fromEntries(Object.entries(infoBefore).filter(([k]) => /^(aof_|rdb_)/.test(k))),
  };
  sc.measure({ name: 'copy', unit: 'ms', value: copy.endedAt - copy.startedAt, description: `cp -a of ${RDB_FILE} and ${AOF_DIR}/ from the live volume to the backup volume, in a helper container` });
  sc.measure({ name: 'backupBytes', unit: 'bytes', value: bytes, description: `the backup: ${copy.files.map((f) => `${f.path} ${kb(f.bytes)}`).join(', ')}` });
  const has = (re: RegExp) => copy.files.some((f) => re.test(f.path));
  const complete = has(/^dump\.rdb$/) && has(/^appendonlydir\/.*\.manifest$/) && has(/^appendonlydir\/.*\.base\.(rdb|aof)$/) && has(/^appendonlydir\/.*\.incr\.aof$/);
  verified(sc, { check: 'the backup holds the RDB and the whole AOF (manifest, base, incr)', ok: complete, detail: copy.files.map((f) => `${f.path} (${f.bytes} B)`).join(', ') });
  sc.note(`backup: ${copy.files.length} files, ${kb(bytes)}, copied in ${copy.endedAt - copy.startedAt} ms`);
  publish(sc);
});

/** The server now, as the disaster's target. */
export const theServer: TargetSelector<RedisDrillEnv> = {
  label: 'the Redis server',
  resolve: async (sc) => ({ name: sc.env.server.name, container: sc.env.server.container }),
};

/** The disaster: the server SIGKILLed, its container removed, its data volume removed. */
export const disaster: CustomFault<RedisDrillEnv> = disasterFault<RedisDrillEnv>(async (sc, target, epoch) => {
  const env = sc.env;
  env.disasterAt = epoch;
  await env.engine.inspectOwned(target.container.id, 'kill');
  await target.container.api.kill({ signal: 'SIGKILL' });
  const killMs = Date.now() - epoch;
  await target.container.remove();
  // The helper that copied the files still mounts the volume (read-only): it goes first.
  await env.backupHelper?.remove();
  await env.engine.removeVolume(env.server.volume);
  env.goneAt = Date.now();
  return { disaster: 'redis-lost', signal: 'SIGKILL', removed: [target.container.name, env.server.volume], killMs };
});

/** The restore: a new volume filled from the backup (files checked against it), a new server on it with the same configuration and port. */
export const restore: DrillStep = step('restore: a new volume from the backup, a new Redis on it', async (sc) => {
  const env = sc.env;
  const b = env.backup!;
  const f = sc.currentFault('redis');
  sc.phase('restore');
  const t0 = Date.now();
  const volume = await env.engine.createVolume('redis-drill-restored');
  env.volumes.push(volume);
  const helper = await env.engine.startContainer({
    image: env.imageTag, name: 'redis-drill-restore', role: 'helper', cmd: ['sleep', 'infinity'], networkMode: 'none',
    volumes: [{ source: b.volume, target: '/backup:ro' }, { source: volume, target: '/restore' }],
  }, sc.signal);
  env.containers.push(helper);
  // The backup's files hashed before the restore reads them; the same sizes as the copy made.
  const listed = await recordedExec(helper, ['bash', '-c', `set -e; ${listScript('/backup', true)}`], { check: false, records: env.commands, signal: sc.signal });
  const hashed = listed.exitCode === 0 ? parseListing(listed.stdout) : [];
  const unchanged = hashed.length === b.files.length && b.files.every((x) => hashed.some((y) => y.path === x.path && y.bytes === x.bytes));
  verified(sc, { check: 'the backup volume holds what the copy wrote (files and sizes)', ok: unchanged, detail: listed.exitCode === 0 ? `${hashed.length} files: ${hashed.map((x) => `${x.path} ${x.bytes} B sha256 ${x.sha256.slice(0, 16)}…`).join(', ')}` : `listing failed: exit ${listed.exitCode}` });
  if (hashed.length) env.backup = { ...b, files: hashed };
  const r = await recordedExec(helper, ['bash', '-c', copyScript('/backup', '/restore', ['.'], { chown: true, hash: true })], { check: false, records: env.commands, signal: sc.signal });
  await helper.remove();
  const copy = r.exitCode === 0 ? parseCopyListing(r.stdout) : undefined;
  const same = copy !== undefined && hashed.length > 0 && copy.files.length === hashed.length && hashed.every((x) => copy.files.some((y) => y.path === x.path && y.sha256 === x.sha256 && y.bytes === x.bytes));
  verified(sc, { check: 'the restored volume holds the backup, file for file (sha256)', ok: same, detail: copy ? `${copy.files.length} files, ${same ? 'every sha256 matches the backup' : `differs from the backup: ${copy.files.map((x) => `${x.path} ${x.sha256.slice(0, 12)}`).join(', ')}`}` : `the copy failed: exit ${r.exitCode}` });
  if (!copy) {
    publish(sc);
    throw new Error(`the restore copy failed (exit ${r.exitCode})`);
  }
  let server;
  try {
    server = await env.startServer('redis-drill-restored', volume, sc.signal);
  } catch (e) {
    if (sc.signal.aborted) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const logs = await env.containers.at(-1)?.logs().catch(() => '') ?? '';
    sc.finding({ kind: 'restore-failed', severity: 'critical', scope: 'redis', at: sc.now(), title: 'The restored Redis did not come up', detail: message.split('\n')[0]!, evidence: [{ label: 'Redis log', text: logs.split('\n').slice(-30).join('\n') }] });
    publish(sc);
    throw new Error(`the restore failed: ${message.split('\n')[0]}`);
  }
  env.server = server;
  await f.injected.heal();
  env.restore = {
    volume, fillMs: copy.endedAt - copy.startedAt, files: copy.files.length,
    serverStartedAt: server.startedAt, serverReadyAt: server.readyAt, startToReadyMs: server.readyAt - server.startedAt,
    disasterToReadyMs: server.readyAt - env.disasterAt!,
  };
  sc.measure({ name: 'restoreFill', unit: 'ms', value: copy.endedAt - copy.startedAt, description: 'cp -a of the backup into the new volume, in a helper container' });
  sc.measure({ name: 'restoreTotal', unit: 'ms', value: server.readyAt - t0, description: 'restore begun to the restored Redis answering PING: new volume, copy, new container, loading' });
  sc.measure({ name: 'serverReady', unit: 'ms', value: server.readyAt - server.startedAt, description: 'restored container started to Redis answering PING (configuration written, persistence files loaded)' });
  publish(sc);
});

/** Key/value pairs of `keys` on the current server (MGET in batches). */
async function readPairs(env: RedisDrillEnv, keys: readonly string[]): Promise<[string, string | null][]> {
  const out: [string, string | null][] = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const values = await env.admin.mget(...batch);
    batch.forEach((k, j) => out.push([k, values[j] ?? null]));
  }
  return out;
}

/**
 * The restored server verified: it loaded the AOF (its log), it runs the same persistence
 * settings, the key digest of everything acknowledged before the copy began matches, and the
 * acknowledged writes judged against the copy: lost ones, the loss window, holes.
 */
export const verifyRestored: DrillStep = step('verify the restored Redis', async (sc) => {
  const env = sc.env;
  sc.phase('verify');
  const b = env.backup!;
  const log = await env.server.container.logs();
  const loaded = loadedFrom(log);
  verified(sc, {
    check: 'Redis loaded the AOF (appendonly yes: the AOF wins over the RDB)',
    ok: loaded.from === 'aof',
    detail: loaded.from === 'aof' ? `DB loaded from append only file in ${loaded.seconds} s` : loaded.from === 'rdb' ? `it loaded the RDB (DB loaded from disk in ${loaded.seconds} s): writes after the BGSAVE are gone` : 'no "DB loaded" line in its log',
  });
  if (loaded.from !== 'aof') {
    sc.finding({ kind: 'wrong-file-loaded', severity: 'critical', scope: 'redis', at: sc.now(), title: `The restored Redis loaded ${loaded.from === 'rdb' ? 'the RDB, not the AOF' : 'no persistence file'}`, detail: 'With appendonly yes Redis must load the AOF; the restored data set is not the one the AOF held.', evidence: [{ label: 'Redis log (loading)', text: loaded.lines.join('\n') }] });
  }
  const overcommit = log.split('\n').find((l) => /Memory overcommit must be enabled/.test(l));
  if (overcommit) {
    // Redis's own warning about the host: a fork for BGSAVE or an AOF rewrite may fail when memory is short.
    sc.finding({ kind: 'host-overcommit', severity: 'info', scope: 'redis', at: sc.now(), title: 'Redis warns that the host has memory overcommit off (vm.overcommit_memory = 0): a BGSAVE or AOF rewrite may fail under low memory', detail: 'Not a failure of this drill (every save succeeded); a host running Redis with persistence should set vm.overcommit_memory = 1, as the warning says.', evidence: [{ label: 'Redis log', text: overcommit.trim() }] });
  }
  if (loaded.truncated) {
    // Expected of a copy taken while writes go on; Redis says so and drops the partial command.
    sc.finding({ kind: 'aof-truncated', severity: 'info', scope: 'redis', at: sc.now(), title: 'The copied AOF ended in the middle of a command; Redis loaded it anyway (aof-load-truncated yes)', detail: 'A crash-consistent copy can cut the last command of the incr file; Redis drops the partial command and logs it.', evidence: [{ label: 'Redis log (loading)', text: loaded.lines.join('\n') }] });
  }

  const config = await env.admin.config('GET', '*') as string[];
  const got: Record<string, string> = {};
  for (let i = 0; i + 1 < config.length; i += 2) got[config[i]!] = config[i + 1]!;
  const differ = Object.entries(PERSISTENCE).filter(([k, v]) => got[k] !== v);
  verified(sc, { check: 'the restored Redis runs the same persistence settings', ok: differ.length === 0, detail: differ.length ? differ.map(([k, v]) => `${k}: ${got[k] ?? '(none)'}, want ${v}`).join('; ') : Object.entries(PERSISTENCE).map(([k, v]) => `${k} ${v}`).join(', ') });

  // The acknowledged writes against the copy's start; writes sent after the disaster went to the restored server.
  const cutoff = b.copyStartedAt;
  const until = env.disasterAt!;
  const entries = env.ledger?.entries ?? [];
  const present = await readWriteIds(env);
  const { judged, lossWindowMs } = judgeLoss(entries, present, cutoff, until);
  const expected = expectedKeys({ keys: env.options.keys, salt: env.salt, entries, cutoff, until });
  const keys = [...expected.keys()];
  const restored = await readPairs(env, keys);
  const want = keyDigest([...expected]);
  const have = keyDigest(restored);
  const missing = restored.filter(([, v]) => v === null).map(([k]) => k);
  const wrong = restored.filter(([k, v]) => v !== null && v !== expected.get(k)).map(([k]) => k);
  verified(sc, {
    check: 'key digest: every key acknowledged before the copy began, with its value',
    ok: want === have,
    detail: want === have
      ? `${keys.length} keys (${env.options.keys} preloaded, ${keys.length - env.options.keys} written by the probe), sha256 ${want}`
      : `${keys.length} keys: expected sha256 ${want}, restored ${have}; ${missing.length} missing${missing.length ? ` (first: ${missing.slice(0, 3).join(', ')})` : ''}, ${wrong.length} with another value${wrong.length ? ` (first: ${wrong.slice(0, 3).join(', ')})` : ''}`,
  });
  if (judged.holes > 0) verified(sc, { check: 'no hole among the acknowledged writes', ok: false, detail: `${judged.holes} lost writes were acknowledged before one that was kept (first lost: ${judged.lostIds[0]}): an append-only file keeps its order` });
  const firstBack = entries.filter((e) => e.sentAt > (env.goneAt ?? until)).reduce<number | undefined>((a, e) => (a === undefined || e.ackAt < a ? e.ackAt : a), undefined);
  sc.measure({ name: 'lossWindow', unit: 'ms', value: lossWindowMs, description: `the copy's start back to the acknowledgement of the oldest acknowledged write missing after the restore (0: none missing; aof_delayed_fsync at the copy: ${b.infoBefore['aof_delayed_fsync'] ?? '?'})` });
  sc.measure({ name: 'lostBeforeCopy', unit: 'count', value: judged.lost, description: 'writes acknowledged before the copy began and missing after the restore' });
  sc.measure({ name: 'lostAfterCopy', unit: 'count', value: judged.discarded, description: 'writes acknowledged after the copy\'s start (and sent before the disaster) and missing: newer than the backup, lost as expected' });
  sc.measure({ name: 'capturedDuringCopy', unit: 'count', value: judged.afterCutoffPresent, description: 'writes sent after the copy began that the copy still caught' });
  sc.measure({ name: 'verificationFailures', unit: 'count', value: env.checks.filter((c) => !c.ok).length, description: `failed checks of ${env.checks.length}: backup complete, restored files, AOF loaded, settings, key digest, holes` });
  env.restore = {
    ...env.restore,
    loaded: { from: loaded.from, seconds: loaded.seconds, truncated: loaded.truncated, log: loaded.lines },
    digest: { keys: keys.length, preloaded: env.options.keys, expected: want, restored: have, missing: missing.length, wrongValue: wrong.length },
    writes: { cutoff: iso(cutoff), until: iso(until), lossWindowMs, ...judged },
    firstWriteBackMs: firstBack === undefined ? null : Math.round(firstBack - until),
    dbsize: await env.admin.dbsize(),
  };
  sc.note(`restored Redis loaded ${loaded.from.toUpperCase()}; digest ${want === have ? 'matches' : 'DIFFERS'} over ${keys.length} keys; loss window ${lossWindowMs} ms (${judged.lost} lost before the copy, ${judged.discarded} newer than it)`);
  publish(sc);
});
