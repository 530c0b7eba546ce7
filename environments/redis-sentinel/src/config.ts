// The topology's names and the configuration files of its Redis and Sentinel processes,
// rendered as pure text so they can be checked without Docker.
import { InvalidArgumentError } from '@resilience/fixtures';
import type { RedisSentinelSettings } from './options.ts';

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;
/** Owned by the `redis` user in the infra image; on the container's own filesystem, so it survives restarts. */
export const DATA_DIR = '/var/lib/redis';
export const REDIS_CONFIG = `${DATA_DIR}/redis.conf`;
export const SENTINEL_CONFIG = `${DATA_DIR}/sentinel.conf`;
export const PASSWORD_FILE = `${DATA_DIR}/password`;

export interface Topology {
  /** Redis nodes; each name is also the container's network alias and hostname. */
  readonly nodes: readonly string[];
  readonly sentinels: readonly string[];
  /** The node that starts as master (the first). */
  readonly initialMaster: string;
}

export function topology(settings: Pick<RedisSentinelSettings, 'namePrefix' | 'replicas' | 'sentinels'>): Topology {
  const nodes = Array.from({ length: settings.replicas + 1 }, (_, i) => `${settings.namePrefix}-${i + 1}`);
  const sentinels = Array.from({ length: settings.sentinels }, (_, i) => `${settings.namePrefix}-sentinel-${i + 1}`);
  return { nodes, sentinels, initialMaster: nodes[0] ?? `${settings.namePrefix}-1` };
}

/** The `host:port` a Redis or Sentinel process is known by inside the network (and announced as). */
export function address(host: string, port: number): string {
  return `${host}:${port}`;
}

export interface RedisConfigInput {
  /** This node's name (network alias), announced to the master and so to the Sentinels. */
  readonly name: string;
  readonly password: string;
  /** The master to replicate from; absent for the initial master. */
  readonly replicaOf?: string;
  readonly settings: Pick<RedisSentinelSettings, 'minReplicasToWrite' | 'minReplicasMaxLagSeconds'>;
}

/**
 * redis.conf for one node. Every node has both `requirepass` and `masterauth`, since any of them
 * may be promoted. Replicas announce their alias, so the master's INFO and the Sentinels name
 * them by a hostname that resolves to the container whatever address it gets after a restart.
 * No persistence: a restarted node is emptied and resynchronised by the master.
 */
export function renderRedisConfig(input: RedisConfigInput): string {
  checkSecret(input.password);
  return [
    'bind 0.0.0.0',
    `port ${REDIS_PORT}`,
    'protected-mode no',
    `dir ${DATA_DIR}`,
    'logfile ""',
    'loglevel notice',
    'save ""',
    'appendonly no',
    `requirepass ${input.password}`,
    `masterauth ${input.password}`,
    `replica-announce-ip ${input.name}`,
    `replica-announce-port ${REDIS_PORT}`,
    // Redis 7.0 waits 5 s for more replicas before a diskless full sync; here nobody else is coming.
    'repl-diskless-sync yes',
    'repl-diskless-sync-delay 0',
    `min-replicas-to-write ${input.settings.minReplicasToWrite}`,
    `min-replicas-max-lag ${input.settings.minReplicasMaxLagSeconds}`,
    ...(input.replicaOf ? [`replicaof ${input.replicaOf} ${REDIS_PORT}`] : []),
    '',
  ].join('\n');
}

export interface SentinelConfigInput {
  readonly name: string;
  readonly password: string;
  /** 40 hex characters; fixed up front so the Sentinels can be told about each other. */
  readonly myid: string;
  readonly master: string;
  readonly replicas: readonly string[];
  /** The other Sentinels, with their ids. */
  readonly peers: readonly { readonly name: string; readonly myid: string }[];
  readonly settings: Pick<RedisSentinelSettings, 'masterName' | 'quorum' | 'downAfterMs' | 'failoverTimeoutMs'>;
}

/**
 * sentinel.conf for one Sentinel. Addresses are hostnames (network aliases): `resolve-hostnames`
 * lets Sentinel accept them and `announce-hostnames` makes it report them, so what the Sentinels
 * report (`get-master-addr-by-name`, `+switch-master`) is the same stable name before and after a
 * failover, and a host-side client maps exactly these names to published ports. The peers and
 * replicas are listed so a new Sentinel knows them at once instead of after hello messages (2 s)
 * and the master's INFO (10 s).
 */
export function renderSentinelConfig(input: SentinelConfigInput): string {
  checkSecret(input.password);
  if (!/^[0-9a-f]{40}$/.test(input.myid)) throw new InvalidArgumentError('myid', input.myid, '40 lower-case hex characters');
  const s = input.settings;
  const m = s.masterName;
  return [
    'bind 0.0.0.0',
    `port ${SENTINEL_PORT}`,
    'protected-mode no',
    `dir ${DATA_DIR}`,
    'logfile ""',
    'loglevel notice',
    // Clients (and the other Sentinels, which authenticate with the same password) must log in.
    `requirepass ${input.password}`,
    `sentinel myid ${input.myid}`,
    'sentinel resolve-hostnames yes',
    'sentinel announce-hostnames yes',
    `sentinel announce-ip ${input.name}`,
    `sentinel announce-port ${SENTINEL_PORT}`,
    `sentinel monitor ${m} ${input.master} ${REDIS_PORT} ${s.quorum}`,
    `sentinel auth-pass ${m} ${input.password}`,
    `sentinel down-after-milliseconds ${m} ${s.downAfterMs}`,
    `sentinel failover-timeout ${m} ${s.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${m} 1`,
    ...input.replicas.map((r) => `sentinel known-replica ${m} ${r} ${REDIS_PORT}`),
    ...input.peers.map((p) => `sentinel known-sentinel ${m} ${p.name} ${SENTINEL_PORT} ${p.myid}`),
    '',
  ].join('\n');
}

/**
 * The container command: wait for the configuration file (written by `exec` after the start, so
 * the password is never in the container's Env or Cmd), then become the server. After a restart
 * the file is there already, with whatever Sentinel rewrote into it.
 */
export function startCommand(binary: 'redis-server' | 'redis-sentinel', configPath: string): string[] {
  return ['bash', '-c', `until [ -s ${configPath} ]; do sleep 0.02; done\nexec ${binary} ${configPath}`];
}

/** A shell script writing `$RZ_CONFIG` to `path` and `$RZ_PASSWORD` to the password file, readable by the owner only. */
export function writeConfigScript(path: string): string {
  return [
    'set -e',
    'umask 077',
    `printf '%s' "$RZ_PASSWORD" > ${PASSWORD_FILE}`,
    `printf '%s' "$RZ_CONFIG" > ${path}.tmp`,
    `mv ${path}.tmp ${path}`,
  ].join('\n');
}

/** Passwords are generated base64url text; anything else could break the config file's syntax. */
function checkSecret(password: string): void {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(password)) throw new InvalidArgumentError('password', '<redacted>', 'at least 16 characters of A-Z, a-z, 0-9, `_` or `-`');
}
