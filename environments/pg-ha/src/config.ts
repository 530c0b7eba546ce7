// Renders the files the containers run from: Patroni's YAML (no secrets: passwords reach
// Patroni through its PATRONI_* environment variables, read from the secrets file at start,
// never the container's own environment), the post-bootstrap script that creates
// the app user, HAProxy's configuration, and etcd's command line. Pure, so unit-tested.
import { InvalidArgumentError } from '@resilience/fixtures';
import type { PgHaSettings } from './options.ts';
import { PORTS, type NodeName, type Topology } from './topology.ts';
import { APP_DATABASE } from './secrets.ts';
import { PG_IMAGES } from './image.ts';
import { RESTORE_SCRIPT, archiveParameters, type ArchiveConfig, type RestoreBootstrap } from './backup.ts';

/** Where each file lives inside the containers. */
export const PATHS = {
  patroniConfig: '/tmp/patroni.yml',
  postBootstrap: '/tmp/post-bootstrap.sh',
  dataDir: '/var/lib/postgresql/data',
  pgpass: '/tmp/pgpass',
  socketDir: '/tmp',
  haproxyConfig: '/tmp/haproxy.cfg',
  etcdDataDir: '/tmp/etcd-data',
} as const;

const q = (s: string): string => JSON.stringify(s); // a JSON string is a YAML string

/** What a node adds for pgBackRest: WAL archiving to the repository host, and a restore as the way a new cluster bootstraps. */
export interface BackupExtras {
  readonly archive?: ArchiveConfig | undefined;
  readonly restore?: RestoreBootstrap | undefined;
}

/** Patroni's configuration for one node. Writes go to the container's writable layer, so a killed and restarted node keeps its data. */
export function renderPatroniConfig(settings: PgHaSettings, topo: Topology, node: NodeName, extras: BackupExtras = {}): string {
  const archive = extras.archive ? Object.entries(archiveParameters(extras.archive)).map(([k, v]) => `        ${k}: ${q(v)}`) : [];
  // A new cluster from a backup: pgBackRest restores and writes the recovery settings; Patroni
  // keeps them, starts PostgreSQL and waits for the end of recovery (promotion at the target).
  const restore = extras.restore
    ? ['  method: pgbackrest', '  pgbackrest:', `    command: ${q(RESTORE_SCRIPT)}`, '    keep_existing_recovery_conf: true', '    no_params: true']
    : [];
  const etcdHosts = topo.etcd.map((e) => `${e.alias}:${PORTS.etcdClient}`).join(',');
  return [
    `scope: ${q(topo.scope)}`,
    `namespace: "/service/"`,
    `name: ${q(node.member)}`,
    'log:',
    '  level: INFO',
    'restapi:',
    `  listen: "0.0.0.0:${PORTS.patroniApi}"`,
    `  connect_address: ${q(`${node.alias}:${PORTS.patroniApi}`)}`,
    'etcd3:',
    `  hosts: ${q(etcdHosts)}`,
    'bootstrap:',
    '  dcs:',
    `    ttl: ${settings.ttl}`,
    `    loop_wait: ${settings.loopWait}`,
    `    retry_timeout: ${settings.retryTimeout}`,
    '    maximum_lag_on_failover: 1048576',
    `    synchronous_mode: ${settings.sync}`,
    `    synchronous_mode_strict: ${settings.syncStrict}`,
    `    failsafe_mode: ${settings.failsafeMode}`,
    '    postgresql:',
    '      use_pg_rewind: true',
    '      use_slots: true',
    '      parameters:',
    '        wal_level: replica',
    '        hot_standby: "on"',
    '        wal_log_hints: "on"',
    '        max_connections: 100',
    '        max_wal_senders: 10',
    '        max_replication_slots: 10',
    '        wal_keep_size: "128MB"',
    '        password_encryption: "scram-sha-256"',
    // A replica retries streaming after 1 s, not 5 s: a new replica whose slot the leader has
    // not made yet, or a replica after failover, follows its leader sooner.
    '        wal_retrieve_retry_interval: "1s"',
    ...archive,
    ...restore,
    '  initdb:',
    '    - encoding: UTF8',
    '    - locale: C.UTF-8',
    '    - data-checksums',
    '    - auth-host: scram-sha-256',
    '    - auth-local: trust',
    `  post_bootstrap: ${q(PATHS.postBootstrap)}`,
    'postgresql:',
    `  listen: "0.0.0.0:${PORTS.postgres}"`,
    `  connect_address: ${q(`${node.alias}:${PORTS.postgres}`)}`,
    `  data_dir: ${q(PATHS.dataDir)}`,
    `  bin_dir: ${q(PG_IMAGES[settings.image].binDir)}`,
    `  pgpass: ${q(PATHS.pgpass)}`,
    '  use_unix_socket: true',
    // A fast checkpoint: the default (spread) makes a new replica wait minutes for its base backup.
    '  basebackup:',
    '    - checkpoint: fast',
    '  parameters:',
    `    unix_socket_directories: ${q(PATHS.socketDir)}`,
    '  pg_hba:',
    '    - local all all trust',
    '    - host replication all all scram-sha-256',
    '    - host all all all scram-sha-256',
    '  authentication:',
    '    superuser:',
    '      username: postgres',
    '    replication:',
    '      username: replicator',
    '',
  ].join('\n');
}

/**
 * Run by Patroni once, on the node that initialises the cluster, with a superuser connection
 * string as its argument; creates the app user (password from the environment) and database,
 * or, in a cluster restored from a backup that has them, sets the password. It also removes
 * the recovery settings a restore wrote to postgresql.auto.conf: replicas copy that file, and a
 * replica with a recovery target would stop following at it and promote itself.
 */
export function renderPostBootstrap(): string {
  return [
    '#!/bin/sh',
    'set -eu',
    'psql -X -q -v ON_ERROR_STOP=1 "$1" <<SQL',
    'DO \\$\\$ BEGIN',
    `  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN ALTER ROLE app LOGIN PASSWORD '$PGHA_APP_PASSWORD';`,
    `  ELSE CREATE ROLE app LOGIN PASSWORD '$PGHA_APP_PASSWORD'; END IF;`,
    'END \\$\\$;',
    `SELECT 'CREATE DATABASE ${APP_DATABASE} OWNER app' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${APP_DATABASE}') \\gexec`,
    ...RECOVERY_SETTINGS.map((k) => `ALTER SYSTEM RESET ${k};`),
    'SELECT pg_reload_conf();',
    'SQL',
    '',
  ].join('\n');
}

/** The recovery settings pgBackRest's restore writes (and post-bootstrap resets). */
export const RECOVERY_SETTINGS = ['restore_command', 'recovery_target_time', 'recovery_target_action', 'recovery_target', 'recovery_target_lsn', 'recovery_target_xid', 'recovery_target_name', 'recovery_target_inclusive', 'recovery_target_timeline'] as const;

/** HAProxy: one port to the primary, one to the replicas, each routed by Patroni's REST health checks. */
export function renderHaproxyConfig(settings: PgHaSettings, topo: Topology): string {
  const { interMs, fall, rise } = settings.haproxy;
  const servers = topo.nodes.map(
    (n) => `  server ${n.member} ${n.alias}:${PORTS.postgres} check port ${PORTS.patroniApi} resolvers docker resolve-prefer ipv4 init-addr libc,none`,
  );
  return [
    'global',
    '  maxconn 500',
    '',
    // Docker's embedded DNS: a restarted container may come back with another address.
    'resolvers docker',
    '  nameserver dns 127.0.0.11:53',
    '  resolve_retries 3',
    '  timeout resolve 1s',
    '  timeout retry 1s',
    '  hold valid 2s',
    '  hold other 2s',
    '  hold refused 2s',
    '  hold nx 2s',
    '  hold timeout 2s',
    '  hold obsolete 2s',
    '',
    'defaults',
    '  mode tcp',
    '  retries 2',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 1s',
    `  default-server inter ${interMs}ms fall ${fall} rise ${rise} on-marked-down shutdown-sessions`,
    '',
    'listen stats',
    '  mode http',
    `  bind :${PORTS.haproxyStats}`,
    '  stats enable',
    '  stats uri /',
    '  stats refresh 2s',
    '',
    'listen primary',
    `  bind :${PORTS.haproxyPrimary}`,
    // OPTIONS is Patroni's GET answered with the status only; no body for HAProxy to cut off.
    '  option httpchk OPTIONS /primary',
    '  http-check expect status 200',
    ...servers,
    '',
    'listen replicas',
    `  bind :${PORTS.haproxyReplicas}`,
    '  balance roundrobin',
    '  option httpchk OPTIONS /replica',
    '  http-check expect status 200',
    ...servers,
    '',
  ].join('\n');
}

/** `etcdctl` run inside an etcd container against that member's own client port. */
export function etcdctlCommand(args: readonly string[]): string[] {
  return ['etcdctl', `--endpoints=http://127.0.0.1:${PORTS.etcdClient}`, ...args];
}

/** etcd's command line for one member of a cluster of `topo.etcd.length`. */
export function etcdCommand(topo: Topology, member: NodeName, token: string): string[] {
  const peers = topo.etcd.map((e) => `${e.member}=http://${e.alias}:${PORTS.etcdPeer}`).join(',');
  return [
    'etcd',
    '--name', member.member,
    '--data-dir', PATHS.etcdDataDir,
    '--listen-client-urls', `http://0.0.0.0:${PORTS.etcdClient}`,
    '--advertise-client-urls', `http://${member.alias}:${PORTS.etcdClient}`,
    '--listen-peer-urls', `http://0.0.0.0:${PORTS.etcdPeer}`,
    '--initial-advertise-peer-urls', `http://${member.alias}:${PORTS.etcdPeer}`,
    '--initial-cluster', peers,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
  ];
}

/**
 * Where a container's secrets are (passwords, the TLS key): a shell file of `export NAME='value'`
 * lines, owned by the container's user with mode 600, put there before the container starts
 * (Engine `files`), so `docker inspect` shows neither the values nor the names' contents.
 */
export const SECRETS_FILE = '/tmp/pgha-secrets.env';

/** The secrets file's content: one `export NAME='value'` line each, quoted for sh. */
export function renderSecretsFile(secrets: Readonly<Record<string, string>>): string {
  return Object.entries(secrets).map(([k, v]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new InvalidArgumentError('secret name', k, 'an environment variable name (A-Z, 0-9, _)');
    return `export ${k}='${v.replaceAll("'", `'\\''`)}'\n`;
  }).join('');
}

/**
 * The shell command a container runs to write its files from environment variables and exec
 * the server, so a restarted container (same command, same environment) comes back the same.
 * With `secrets` it first reads the secrets file (SECRETS_FILE) into its environment: the
 * server and the files get them, `docker inspect` does not.
 */
export function writeAndExec(files: readonly { readonly path: string; readonly envVar: string; readonly mode?: string }[], exec: readonly string[], before: readonly string[] = [], background: readonly string[] = [], secrets = false): string[] {
  const lines = ['set -e', 'umask 077', ...(secrets ? [`. ${SECRETS_FILE}`] : []), ...before];
  for (const f of files) {
    lines.push(`printf '%s\\n' "$${f.envVar}" > ${f.path}`);
    if (f.mode) lines.push(`chmod ${f.mode} ${f.path}`);
  }
  for (const b of background) lines.push(`${b} &`);
  lines.push(`exec ${exec.join(' ')}`);
  return ['bash', '-c', lines.join('\n')];
}
