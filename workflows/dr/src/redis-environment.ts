// The Redis drill's environment: one Redis server in a labelled container on its own network,
// its port on 127.0.0.1, RDB snapshots and an AOF (appendfsync everysec) on a named data volume,
// a password made for the run, and the data preloaded. The same function starts the restored
// server on a volume filled from the backup, with the same configuration and the same port. The
// handle keeps the current server, everything the run made (for teardown), the commands run and
// the evidence gathered so far.
import { createHash, randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import {
  INFRA_IMAGES, SetupError, freePort, waitFor,
  recordedExec, type CommandRecord, type ContainerHandle, type Engine, type NetworkHandle,
} from '@resilience/fixtures';
import { startCommand } from '@resilience/redis-sentinel';
import type { SetupContext } from '@resilience/runner';
import type { Check } from './environment.ts';
import type { AckLedger } from './ledger.ts';
import type { RedisDrillOptionsT } from './redis-options.ts';

export const REDIS_PORT = 6379;
/** The data directory: the named volume, owned by the `redis` user of the image. */
export const DATA_DIR = '/var/lib/redis';
export const RDB_FILE = 'dump.rdb';
export const AOF_DIR = 'appendonlydir';
/** Configuration, password and the redis-cli wrapper: on the container's own filesystem, never on the data volume (so never in a backup). */
export const CONFIG_FILE = '/etc/redis/drill.conf';
export const PASSWORD_FILE = '/etc/redis/drill.password';
/** redis-cli with the password from PASSWORD_FILE (REDISCLI_AUTH), so no command line carries it. */
export const CLI = '/etc/redis/drill-cli';
/** Preloaded keys, `dr:data:<n>`; the write probe's keys, `dr:writes:<id>`. */
export const DATA_PREFIX = 'dr:data:';
export const WRITE_PREFIX = 'dr:writes:';

/** The persistence settings, as the evidence lists them (the same for the original and the restored server). */
export const PERSISTENCE = {
  dir: DATA_DIR,
  dbfilename: RDB_FILE,
  save: '3600 1 300 100 60 10000',
  appendonly: 'yes',
  appendfsync: 'everysec',
  appenddirname: AOF_DIR,
  appendfilename: 'appendonly.aof',
  'aof-use-rdb-preamble': 'yes',
  'aof-load-truncated': 'yes',
} as const;

/** redis.conf of the drill's server: RDB and AOF on the data volume, a password for every client. */
export function renderRedisConfig(password: string): string {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(password)) throw new SetupError('The Redis password must be at least 16 characters of A-Z, a-z, 0-9, `_` or `-` (it is generated)');
  return [
    'bind 0.0.0.0',
    `port ${REDIS_PORT}`,
    'protected-mode no',
    'logfile ""',
    'loglevel notice',
    ...Object.entries(PERSISTENCE).map(([k, v]) => (k === 'save' ? `save ${v}` : `${k} ${v}`)),
    `requirepass ${password}`,
    '',
  ].join('\n');
}

/** Writes `$RZ_CONFIG`, `$RZ_PASSWORD` and `$RZ_CLI` (owner only); the config last, since the container waits for it. */
export function writeConfigScript(): string {
  return [
    'set -e',
    'umask 077',
    `printf '%s' "$RZ_PASSWORD" > ${PASSWORD_FILE}`,
    `printf '%s' "$RZ_CLI" > ${CLI}`,
    `chmod 700 ${CLI}`,
    `printf '%s' "$RZ_CONFIG" > ${CONFIG_FILE}.tmp`,
    `mv ${CONFIG_FILE}.tmp ${CONFIG_FILE}`,
  ].join('\n');
}

const CLI_SCRIPT = `#!/bin/sh\nREDISCLI_AUTH="$(cat ${PASSWORD_FILE})" exec redis-cli "$@"\n`;

/** The value of preloaded key n: 64 hex characters derived from the run's salt, so another run's data never matches. */
export function preloadValue(salt: string, n: number): string {
  return createHash('sha256').update(`${salt}:${n}`).digest('hex');
}

export interface RedisServer {
  /** Short name (container name suffix): `redis-drill`, `redis-drill-restored`. */
  readonly name: string;
  readonly container: ContainerHandle;
  /** The full name of its data volume. */
  readonly volume: string;
  /** Epoch ms: container started, and the server answering PING (loading done). */
  readonly startedAt: number;
  readonly readyAt: number;
}

/** The copy of the persistence files, as evidence. */
export interface PersistedFile {
  /** Relative to the data directory: `dump.rdb`, `appendonlydir/appendonly.aof.1.incr.aof`. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface RedisBackup {
  readonly volume: string;
  /** BGSAVE: epoch ms of the command, of the save seen done, and LASTSAVE (s). */
  readonly bgsaveAt: number;
  readonly bgsaveDoneAt: number;
  readonly lastSave: number;
  /** The copy inside the helper: epoch ms (the helper's clock is the host's). */
  readonly copyStartedAt: number;
  readonly copyEndedAt: number;
  readonly files: readonly PersistedFile[];
  readonly bytes: number;
  /** The live server's INFO persistence just before the copy (aof_delayed_fsync and friends). */
  readonly infoBefore: Record<string, string>;
}

export interface RedisDrillEnv {
  readonly engine: Engine;
  readonly options: RedisDrillOptionsT;
  readonly imageTag: string;
  readonly network: NetworkHandle;
  /** 127.0.0.1 port of the server: the same for the restored one, so clients reconnect by themselves. */
  readonly hostPort: number;
  /** Salt of the preloaded values. */
  readonly salt: string;
  /** Preloaded keys, `dr:data:0` .. `dr:data:<keys-1>`, acknowledged (epoch ms) when the last batch was. */
  readonly preloadedAt: number;
  /** The server now: the original, then the restored one. */
  server: RedisServer;
  /** A host-side client of the current server. */
  admin: Redis;
  ledger?: AckLedger;
  backup?: RedisBackup;
  /** Epoch ms: the disaster (SIGKILL), and the old server and its volume gone. */
  disasterAt?: number;
  goneAt?: number;
  restore?: Record<string, unknown>;
  /** The helper that made the backup, kept until after the disaster so the disaster follows the copy at once. */
  backupHelper?: ContainerHandle;
  readonly commands: CommandRecord[];
  readonly checks: Check[];
  /** Everything the run made, for teardown (removed in reverse order). */
  readonly containers: ContainerHandle[];
  readonly volumes: string[];
  readonly versions: Record<string, string>;
  /** ioredis options for a client of the server (the password is inside; never log them). */
  clientOptions(): RedisOptions;
  /** Starts the restored server (same configuration, same port) on `volume`. */
  startServer(name: string, volume: string, signal: AbortSignal): Promise<RedisServer>;
}

/** A host-side client that fails at once while disconnected and reconnects quickly. */
export function adminClient(options: RedisOptions): Redis {
  const c = new Redis({ ...options, lazyConnect: true, connectTimeout: 2_000, commandTimeout: 30_000, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  c.on('error', () => undefined);
  return c;
}

/** Waits until the server at `options` answers PING (AUTH passed, loading done). */
async function waitReady(options: RedisOptions, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const c = adminClient(options);
  try {
    await waitFor(async () => {
      if (c.status === 'wait') await c.connect().catch(() => undefined);
      return (await c.ping()) === 'PONG';
    }, { what: 'Redis to answer PING', timeoutMs, intervalMs: 25, signal });
  } finally {
    c.disconnect();
  }
}

/** INFO <section> as key/value pairs. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Preloads `keys` keys in MSET batches of 1000; resolves when the last batch is acknowledged. */
async function preload(client: Redis, keys: number, salt: string): Promise<void> {
  for (let from = 0; from < keys; from += 20_000) {
    const pipe = client.pipeline();
    for (let b = from; b < Math.min(keys, from + 20_000); b += 1000) {
      const args: string[] = [];
      for (let n = b; n < Math.min(keys, b + 1000, from + 20_000); n++) args.push(`${DATA_PREFIX}${n}`, preloadValue(salt, n));
      pipe.mset(...args);
    }
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw new SetupError(`Preloading keys failed: ${String(failed[0])}`);
  }
}

export async function redisDrillEnvironment(o: RedisDrillOptionsT, setup: SetupContext): Promise<{ env: RedisDrillEnv; teardown: () => Promise<void> }> {
  const engine = setup.engine;
  const imageTag = INFRA_IMAGES[o.image];
  const password = randomBytes(24).toString('base64url');
  const containers: ContainerHandle[] = [];
  const volumes: string[] = [];
  let network: NetworkHandle | undefined;
  let env: RedisDrillEnv | undefined;
  let admin: Redis | undefined;
  const teardown = async () => {
    admin?.disconnect();
    env?.admin.disconnect();
    const errors: unknown[] = [];
    const results = await Promise.allSettled([...containers].reverse().map((c) => c.remove()));
    for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    for (const v of [...volumes].reverse()) await engine.removeVolume(v).catch((e: unknown) => errors.push(e));
    await network?.remove().catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  };
  try {
    network = await engine.createNetwork('redis-drill', { signal: setup.signal });
    const hostPort = await freePort();
    const clientOptions = (): RedisOptions => ({ host: '127.0.0.1', port: hostPort, password });
    const startServer = async (name: string, volume: string, signal: AbortSignal): Promise<RedisServer> => {
      const startedAt = Date.now();
      const container = await engine.startContainer({
        image: imageTag, name, role: 'redis', user: 'redis', hostname: name, cmd: startCommand('redis-server', CONFIG_FILE),
        ports: [{ container: REDIS_PORT, host: hostPort }], networks: [{ network: network!.name, aliases: [name] }],
        volumes: [{ source: volume, target: DATA_DIR }], stopTimeoutSeconds: 2,
      }, signal);
      containers.push(container);
      // The password goes in by exec (its environment), never in the container's Env or Cmd.
      const r = await container.exec(['bash', '-c', writeConfigScript()], { user: 'redis', env: { RZ_CONFIG: renderRedisConfig(password), RZ_PASSWORD: password, RZ_CLI: CLI_SCRIPT }, signal });
      if (r.exitCode !== 0) throw new SetupError(`Writing ${CONFIG_FILE} in ${container.name} failed with exit code ${r.exitCode}: ${r.stderr.trim()}`);
      await waitReady(clientOptions(), o.timeout, signal);
      return { name, container, volume, startedAt, readyAt: Date.now() };
    };
    const volume = await engine.createVolume('redis-drill-data');
    volumes.push(volume);
    setup.note(`starting Redis on ${o.image} (${imageTag}) with RDB and AOF (appendfsync everysec) on volume ${volume}`);
    const server = await startServer('redis-drill', volume, setup.signal);
    admin = adminClient(clientOptions());
    await admin.connect();
    const salt = randomBytes(8).toString('hex');
    await preload(admin, o.keys, salt);
    const preloadedAt = Date.now();
    setup.note(`preloaded ${o.keys.toLocaleString('en-US')} keys`);
    const info = parseInfo(await admin.info('server'));
    const version = (await recordedExec(server.container, ['redis-server', '--version'])).stdout.trim();
    const versions = { redis: info['redis_version'] ?? '?', 'redis-server': version, image: imageTag };
    env = {
      engine, options: o, imageTag, network, hostPort, salt, preloadedAt, server, admin, commands: [], checks: [], containers, volumes, versions, clientOptions,
      startServer: async (name, vol, signal) => {
        const s = await startServer(name, vol, signal);
        env!.admin.disconnect();
        env!.admin = adminClient(clientOptions());
        await env!.admin.connect();
        return s;
      },
    };
    return { env, teardown };
  } catch (e) {
    await teardown().catch(() => undefined);
    throw e;
  }
}
