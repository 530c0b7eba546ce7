import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { RedisDrillOptions } from '../../src/redis-options.ts';
import { PERSISTENCE, parseInfo, preloadValue, renderRedisConfig, writeConfigScript } from '../../src/redis-environment.ts';
import { copyScript, expectedKeys, judgeLoss, keyDigest, listScript, loadedFrom, parseCopyListing, parseListing } from '../../src/redis-steps.ts';
import type { LedgerEntry } from '../../src/ledger.ts';

test('redis options: defaults are bookworm, 50000 keys, rto 2m, a 2 s loss window, 20 ms interval', (t) => {
  t.deepEqual(RedisDrillOptions.parse({}), { image: 'bookworm', keys: 50_000, rto: 120_000, lossWindow: 2000, steady: 5000, interval: 20, timeout: 120_000 });
  t.like(RedisDrillOptions.parse({ image: 'trixie', keys: '0', lossWindow: '500ms', rto: '30s' }), { image: 'trixie', keys: 0, lossWindow: 500, rto: 30_000 });
});

const rejects = test.macro((t, input: Record<string, unknown>, path: string) => {
  const r = RedisDrillOptions.safeParse(input);
  t.false(r.success);
  t.is(r.error?.issues[0]?.path.join('.'), path);
});
test('redis options: --keys=abc is refused', rejects, { keys: 'abc' }, 'keys');
test('redis options: --keys=-1 is refused', rejects, { keys: '-1' }, 'keys');
test('redis options: --keys=1.5 is refused', rejects, { keys: '1.5' }, 'keys');
test('redis options: --keys above ten million is refused', rejects, { keys: '10000001' }, 'keys');
test('redis options: --image=sid is refused', rejects, { image: 'sid' }, 'image');
test('redis options: --loss-window=soon is refused', rejects, { lossWindow: 'soon' }, 'lossWindow');
test('redis options: --interval=0 is refused', rejects, { interval: '0' }, 'interval');
test('redis options: an unknown option is refused', rejects, { disaster: 'cluster-lost' }, '');

test('redis config: RDB saves and an AOF with everysec on the data directory, a password', (t) => {
  const pw = 'A'.repeat(32);
  const conf = renderRedisConfig(pw);
  for (const line of ['appendonly yes', 'appendfsync everysec', 'save 3600 1 300 100 60 10000', 'dir /var/lib/redis', 'appenddirname appendonlydir', 'aof-use-rdb-preamble yes', `requirepass ${pw}`, 'bind 0.0.0.0']) {
    t.true(conf.split('\n').includes(line), line);
  }
  t.is(PERSISTENCE.appendfsync, 'everysec');
  t.throws(() => renderRedisConfig('short'), { message: /password/ });
  t.throws(() => renderRedisConfig(`${'a'.repeat(20)} x`), { message: /password/ });
});

test('redis config: the script that writes it takes the password from its environment, never from its text', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-conf-'));
  const script = writeConfigScript().replaceAll('/etc/redis', dir);
  t.notRegex(writeConfigScript(), /requirepass/);
  const pw = 'p'.repeat(24);
  execFileSync('bash', ['-c', script], { env: { ...process.env, RZ_CONFIG: renderRedisConfig(pw), RZ_PASSWORD: pw, RZ_CLI: '#!/bin/sh\necho cli\n' } });
  t.is(readFileSync(join(dir, 'drill.password'), 'utf8'), pw);
  t.regex(readFileSync(join(dir, 'drill.conf'), 'utf8'), new RegExp(`requirepass ${pw}`));
  t.is(execFileSync(join(dir, 'drill-cli')).toString().trim(), 'cli');
});

test('preloaded values: 64 hex characters, fixed by salt and key number, different per salt', (t) => {
  t.regex(preloadValue('s1', 0), /^[0-9a-f]{64}$/);
  t.is(preloadValue('s1', 7), preloadValue('s1', 7));
  t.not(preloadValue('s1', 7), preloadValue('s2', 7));
  t.not(preloadValue('s1', 7), preloadValue('s1', 8));
});

test('the copy scripts copy, time and list every file with its size, and its SHA-256 when asked (real files, real bash)', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rz-copy-'));
  const live = join(root, 'live');
  const backup = join(root, 'backup');
  mkdirSync(join(live, 'appendonlydir'), { recursive: true });
  mkdirSync(backup);
  writeFileSync(join(live, 'dump.rdb'), 'REDIS0010 rdb');
  writeFileSync(join(live, 'appendonlydir', 'appendonly.aof.1.incr.aof'), '*1\r\n$4\r\nPING\r\n');
  writeFileSync(join(live, 'appendonlydir', 'appendonly.aof.manifest'), 'file appendonly.aof.1.incr.aof seq 1 type i\n');
  writeFileSync(join(live, 'not-copied.tmp'), 'x');
  const before = Date.now();
  const out = execFileSync('bash', ['-c', copyScript(live, backup, ['dump.rdb', 'appendonlydir'])]).toString();
  const listing = parseCopyListing(out);
  t.true(listing.files.every((f) => f.sha256 === ''), 'the backup copy lists sizes only, so the disaster follows it at once');
  t.deepEqual(parseListing(execFileSync('bash', ['-c', listScript(backup, true)]).toString()).map((f) => f.path), listing.files.map((f) => f.path));
  const restored = join(root, 'restored');
  mkdirSync(restored);
  const again = parseCopyListing(execFileSync('bash', ['-c', copyScript(backup, restored, ['.'], { hash: true })]).toString());
  t.deepEqual(again.files.map((f) => [f.path, f.bytes]), listing.files.map((f) => [f.path, f.bytes]));
  t.true(listing.startedAt >= before - 5 && listing.endedAt >= listing.startedAt && listing.endedAt <= Date.now() + 5);
  t.deepEqual(listing.files.map((f) => f.path), ['appendonlydir/appendonly.aof.1.incr.aof', 'appendonlydir/appendonly.aof.manifest', 'dump.rdb']);
  const rdb = again.files.find((f) => f.path === 'dump.rdb')!;
  t.is(rdb.bytes, 13);
  t.is(rdb.sha256, createHash('sha256').update('REDIS0010 rdb').digest('hex'));
  t.is(readFileSync(join(backup, 'appendonlydir', 'appendonly.aof.1.incr.aof'), 'utf8'), '*1\r\n$4\r\nPING\r\n');
});

test('parseCopyListing: no timing line is an error', (t) => {
  t.throws(() => parseCopyListing('file 1 abc x\n'), { message: /copy/ });
});

const AOF_LOG_7 = `1:M 02 Dec 2026 04:58:57.853 * Reading RDB base file on AOF loading...
1:M 02 Dec 2026 04:58:57.853 * Loading RDB produced by version 7.0.15
1:M 02 Dec 2026 04:58:57.853 * RDB is base AOF
1:M 02 Dec 2026 04:58:57.853 * DB loaded from base file appendonly.aof.1.base.rdb: 0.000 seconds
1:M 02 Dec 2026 04:58:57.854 * DB loaded from incr file appendonly.aof.1.incr.aof: 0.001 seconds
1:M 02 Dec 2026 04:58:57.854 * DB loaded from append only file: 0.031 seconds
1:M 02 Dec 2026 04:58:57.854 * Ready to accept connections`;

test('loadedFrom: the AOF (with an RDB preamble as its base) is the AOF', (t) => {
  const l = loadedFrom(AOF_LOG_7);
  t.is(l.from, 'aof');
  t.is(l.seconds, 0.031);
  t.false(l.truncated);
  t.true(l.lines.some((x) => /append only file/.test(x)));
});

test('loadedFrom: an RDB alone is the RDB; no loading line is none', (t) => {
  const rdb = loadedFrom('1:M 02 Dec 2026 05:00:00.000 * Loading RDB produced by version 8.0.2\n1:M 02 Dec 2026 05:00:00.010 * DB loaded from disk: 0.010 seconds\n1:M * Ready to accept connections tcp');
  t.is(rdb.from, 'rdb');
  t.is(rdb.seconds, 0.01);
  t.is(loadedFrom('1:M * Ready to accept connections').from, 'none');
});

test('loadedFrom: a truncated AOF loaded anyway is seen', (t) => {
  const l = loadedFrom(`${AOF_LOG_7}\n1:M * !!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!\n1:M * AOF loaded anyway because aof-load-truncated is enabled`);
  t.is(l.from, 'aof');
  t.true(l.truncated);
});

test('keyDigest: order does not matter, a missing key or another value does', (t) => {
  const a = keyDigest([['b', '2'], ['a', '1']]);
  t.is(a, keyDigest([['a', '1'], ['b', '2']]));
  t.is(a, createHash('sha256').update('a=1\nb=2\n').digest('hex'));
  t.not(a, keyDigest([['a', '1'], ['b', null]]));
  t.not(a, keyDigest([['a', '1'], ['b', '3']]));
  t.not(a, keyDigest([['a', '1']]));
});

test('expectedKeys: every preloaded key, and the probe keys acknowledged by the cutoff and sent before the disaster', (t) => {
  const e = (id: string, sentAt: number, ackAt: number): LedgerEntry => ({ id, probe: 'redis-write', sentAt, ackAt });
  const keys = expectedKeys({ keys: 3, salt: 's', cutoff: 1000, until: 1500, entries: [e('a', 0, 5), e('b', 990, 1000), e('c', 995, 1001), e('d', 1200, 1210), e('e', 2000, 2005)] });
  t.deepEqual([...keys.keys()], ['dr:data:0', 'dr:data:1', 'dr:data:2', 'dr:writes:a', 'dr:writes:b']);
  t.is(keys.get('dr:data:1'), preloadValue('s', 1));
  t.is(keys.get('dr:writes:a'), '1');
});

test('parseInfo: fields of an INFO section', (t) => {
  t.deepEqual(parseInfo('# Persistence\r\nloading:0\r\naof_delayed_fsync:3\r\n\r\n'), { loading: '0', aof_delayed_fsync: '3' });
});

test('judgeLoss: the loss window runs from the copy back to the oldest lost acknowledgement; never 0 with a loss; writes after the disaster are not judged', (t) => {
  const e = (id: string, sentAt: number, ackAt: number): LedgerEntry => ({ id, probe: 'redis-write', sentAt, ackAt });
  const entries = [e('a', 0, 5), e('b', 880, 900), e('c', 940, 950), e('d', 1100, 1105), e('after', 2000, 2002)];
  const lost = judgeLoss(entries, new Set(['a', 'after']), 1000, 1500);
  t.is(lost.lossWindowMs, 100);
  t.like(lost.judged, { lost: 2, kept: 1, discarded: 1, holes: 0 });
  t.is(judgeLoss(entries, new Set(['a', 'b', 'c']), 1000, 1500).lossWindowMs, 0);
  t.is(judgeLoss([e('x', 990, 1000)], new Set(), 1000, 1500).lossWindowMs, 1, 'acknowledged at the copy\'s start and lost');
});
