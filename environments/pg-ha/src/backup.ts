// pgBackRest for a pg-ha cluster: a repository host in its own container and volume, TLS
// between it and every PostgreSQL node (`pgbackrest server` on both sides, one CA made per
// cluster), WAL archived by whichever node leads, backups run on the repository host, and
// restores run on a fresh node as Patroni's custom bootstrap. Every command the repository
// runs is recorded (command line, exit code, time, output) for a drill's evidence.
import { InvalidArgumentError, ResilienceError, recordedExec, type CommandRecord, type ContainerHandle, type Engine } from '@resilience/fixtures';
import { PATHS, SECRETS_FILE, renderSecretsFile, writeAndExec } from './config.ts';
import { PORTS, type Topology } from './topology.ts';

/** Where pgBackRest's files live in every container (the repository itself is a volume). */
export const BACKUP_PATHS = {
  /** pgBackRest reads /etc/pgbackrest.conf when /etc/pgbackrest/pgbackrest.conf does not exist; the image gives it to postgres. */
  config: '/etc/pgbackrest.conf',
  dir: '/tmp/pgbackrest',
  ca: '/tmp/pgbackrest/ca.crt',
  cert: '/tmp/pgbackrest/tls.crt',
  key: '/tmp/pgbackrest/tls.key',
  repo: '/var/lib/pgbackrest',
  /** Written by the restore bootstrap: `<start epoch ms> <end epoch ms> <exit code>`. */
  restoreTiming: '/tmp/pgbackrest/restore.timing',
  restoreLog: '/tmp/pgbackrest/restore.log',
} as const;

export const STANZA = 'main';
/** pgBackRest's TLS server port (its default). */
export const PGBACKREST_PORT = 8432;
/** The common name of the one certificate every host presents, as server and as client. */
const TLS_CN = 'pgbackrest';

/** PEM texts of the cluster's CA and the certificate (with its key) every host presents. */
export interface TlsBundle {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** What a pg-ha node needs to archive WAL to, and restore from, the repository host. */
export interface ArchiveConfig {
  /** Network alias of the repository host. */
  readonly repoHost: string;
  readonly tls: TlsBundle;
  /** PostgreSQL `archive_timeout` in seconds: a WAL segment is archived at least this often under writes (bounds the RPO of losing every node). */
  readonly archiveTimeoutS: number;
  /** Parallel processes of backup and restore (`process-max`). */
  readonly processMax: number;
  /**
   * Block-level incremental backups (`repo1-bundle`, `repo1-block`: pgBackRest 2.46 and later,
   * so trixie's 2.55, not bookworm's 2.45). Without them a differential or incremental backup
   * copies every changed file whole: one changed row in a 200 MB table copies the table.
   */
  readonly blockIncremental?: boolean;
}

/** A restore run as Patroni's custom bootstrap of a new cluster's first node. */
export interface RestoreBootstrap {
  /** `latest`: to the end of the archived WAL; `time`: point in time, `target` inclusive. */
  readonly type: 'latest' | 'time';
  /** PostgreSQL timestamp with time zone, e.g. `2026-12-02 05:00:00.123+00` (type `time`). */
  readonly target?: string;
}

export function checkArchiveConfig(a: ArchiveConfig): void {
  if (typeof a.repoHost !== 'string' || !/^[a-z][a-z0-9-]*$/.test(a.repoHost)) throw new InvalidArgumentError('archive.repoHost', a.repoHost, 'a network alias (lower-case letters, digits, `-`)');
  if (!(Number.isInteger(a.archiveTimeoutS) && a.archiveTimeoutS >= 1 && a.archiveTimeoutS <= 3600)) throw new InvalidArgumentError('archive.archiveTimeoutS', a.archiveTimeoutS, 'a whole number of seconds from 1 to 3600');
  if (!(Number.isInteger(a.processMax) && a.processMax >= 1 && a.processMax <= 64)) throw new InvalidArgumentError('archive.processMax', a.processMax, 'a whole number of processes from 1 to 64');
  if (a.blockIncremental !== undefined && typeof a.blockIncremental !== 'boolean') throw new InvalidArgumentError('archive.blockIncremental', a.blockIncremental, 'true or false');
  for (const k of ['ca', 'cert', 'key'] as const) {
    if (typeof a.tls?.[k] !== 'string' || !a.tls[k].includes('-----BEGIN')) throw new InvalidArgumentError(`archive.tls.${k}`, '(not shown)', 'a PEM text (see generateTls)');
  }
}

export function checkRestoreBootstrap(r: RestoreBootstrap): void {
  if (r.type !== 'latest' && r.type !== 'time') throw new InvalidArgumentError('restore.type', r.type, '`latest` or `time`');
  if (r.type === 'time' && (typeof r.target !== 'string' || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:?\d\d)?$/.test(r.target))) {
    throw new InvalidArgumentError('restore.target', r.target, 'a timestamp with time zone such as `2026-12-02 05:00:00.123+00`');
  }
}

const tlsLines = (prefix: string): string[] => [
  `${prefix}-ca-file=${BACKUP_PATHS.ca}`,
  `${prefix}-cert-file=${BACKUP_PATHS.cert}`,
  `${prefix}-key-file=${BACKUP_PATHS.key}`,
];

const commonLines = (a: ArchiveConfig): string[] => [
  `log-path=${BACKUP_PATHS.dir}/log`,
  `lock-path=${BACKUP_PATHS.dir}/lock`,
  `spool-path=${BACKUP_PATHS.dir}/spool`,
  'log-level-console=warn',
  'log-level-file=info',
  'compress-type=lz4',
  `process-max=${a.processMax}`,
  'tls-server-address=*',
  `tls-server-port=${PGBACKREST_PORT}`,
  ...tlsLines('tls-server'),
  `tls-server-auth=${TLS_CN}=${STANZA}`,
];

/** pgbackrest.conf of a PostgreSQL node: its own data directory, the repository on the repository host. */
export function renderNodeBackupConfig(a: ArchiveConfig): string {
  return [
    '[global]',
    ...commonLines(a),
    `repo1-host=${a.repoHost}`,
    'repo1-host-type=tls',
    `repo1-host-port=${PGBACKREST_PORT}`,
    ...tlsLines('repo1-host'),
    '',
    `[${STANZA}]`,
    `pg1-path=${PATHS.dataDir}`,
    `pg1-socket-path=${PATHS.socketDir}`,
    `pg1-port=${PORTS.postgres}`,
    '',
  ].join('\n');
}

/** pgbackrest.conf of the repository host: the repository on its volume, every node as pgN over TLS. */
export function renderRepoBackupConfig(a: ArchiveConfig, topo: Topology): string {
  return [
    '[global]',
    ...commonLines(a),
    `repo1-path=${BACKUP_PATHS.repo}`,
    'repo1-retention-full=2',
    ...(a.blockIncremental ? ['repo1-bundle=y', 'repo1-block=y'] : []),
    'start-fast=y',
    '',
    `[${STANZA}]`,
    ...topo.nodes.flatMap((n, i) => [
      `pg${i + 1}-host=${n.alias}`,
      `pg${i + 1}-host-type=tls`,
      `pg${i + 1}-host-port=${PGBACKREST_PORT}`,
      ...tlsLines(`pg${i + 1}-host`),
      `pg${i + 1}-path=${PATHS.dataDir}`,
      `pg${i + 1}-socket-path=${PATHS.socketDir}`,
      `pg${i + 1}-port=${PORTS.postgres}`,
    ]),
    '',
  ].join('\n');
}

/** PostgreSQL parameters that archive every WAL segment to the repository. */
export function archiveParameters(a: ArchiveConfig): Record<string, string> {
  return {
    archive_mode: 'on',
    archive_command: `pgbackrest --stanza=${STANZA} archive-push %p`,
    archive_timeout: `${a.archiveTimeoutS}s`,
  };
}

/**
 * The custom bootstrap command: pgBackRest restores into the empty data directory and writes
 * the recovery settings (restore_command, and for a point in time the target, inclusive, with
 * `promote`); Patroni keeps them, starts PostgreSQL, and waits for the end of recovery. The
 * restore's own start, end and exit code go to a file, for its throughput.
 */
export function renderRestoreScript(r: RestoreBootstrap, a: ArchiveConfig): string {
  const target = r.type === 'time' ? ` --type=time '--target=${r.target}' --target-action=promote` : '';
  return [
    '#!/bin/bash',
    'set -u',
    `mkdir -p -m 700 ${PATHS.dataDir} ${BACKUP_PATHS.dir}`,
    'start=$(date +%s%3N)',
    `pgbackrest --stanza=${STANZA} --process-max=${a.processMax} --log-level-console=info${target} restore > ${BACKUP_PATHS.restoreLog} 2>&1`,
    'rc=$?',
    `echo "$start $(date +%s%3N) $rc" > ${BACKUP_PATHS.restoreTiming}`,
    'exit $rc',
    '',
  ].join('\n');
}

/** What a container's command (writeAndExec) adds to run pgBackRest: its files, from these variables (of the secrets file, SECRETS_FILE), after making its directories. */
export interface BackupContainerParts {
  readonly files: { path: string; envVar: string; mode?: string }[];
  readonly env: Record<string, string>;
  /** Shell lines before the files are written. */
  readonly before: string[];
}

/** pgbackrest.conf and the TLS files, as every pgBackRest container (node or repository host) writes them. */
function backupContainerParts(config: string, tls: TlsBundle): BackupContainerParts {
  return {
    files: [
      { path: BACKUP_PATHS.config, envVar: 'PGHA_PGBACKREST_CONF' },
      { path: BACKUP_PATHS.ca, envVar: 'PGHA_PGBACKREST_CA' },
      { path: BACKUP_PATHS.cert, envVar: 'PGHA_PGBACKREST_CERT' },
      { path: BACKUP_PATHS.key, envVar: 'PGHA_PGBACKREST_KEY', mode: '600' },
    ],
    env: { PGHA_PGBACKREST_CONF: config, PGHA_PGBACKREST_CA: tls.ca, PGHA_PGBACKREST_CERT: tls.cert, PGHA_PGBACKREST_KEY: tls.key },
    before: [`mkdir -p ${BACKUP_PATHS.dir}/log ${BACKUP_PATHS.dir}/lock ${BACKUP_PATHS.dir}/spool`],
  };
}

/** What a PostgreSQL node adds for pgBackRest: its files (and the restore script when it bootstraps from a backup). Its command runs `pgbackrest server` beside Patroni. */
export function nodeBackupFiles(a: ArchiveConfig, restore: RestoreBootstrap | undefined): BackupContainerParts {
  const parts = backupContainerParts(renderNodeBackupConfig(a), a.tls);
  if (!restore) return parts;
  return {
    ...parts,
    files: [...parts.files, { path: RESTORE_SCRIPT, envVar: 'PGHA_RESTORE_SH', mode: '700' }],
    env: { ...parts.env, PGHA_RESTORE_SH: renderRestoreScript(restore, a) },
  };
}

export const RESTORE_SCRIPT = '/tmp/pgbackrest-restore.sh';

/**
 * A CA and one certificate (server and client use, every host's name as a SAN) made with
 * openssl in a short-lived container of `image`: nothing is installed on the host.
 */
export async function generateTls(engine: Engine, image: string, hosts: readonly string[], labels: Record<string, string> = {}): Promise<TlsBundle> {
  for (const h of hosts) if (!/^[a-z][a-z0-9-]*$/.test(h)) throw new InvalidArgumentError('hosts', h, 'network aliases (lower-case letters, digits, `-`)');
  const san = hosts.map((h) => `DNS:${h}`).join(',');
  const script = [
    'set -e',
    'cd "$(mktemp -d)"',
    'openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=resilience-pgbackrest-ca -keyout ca.key -out ca.crt 2>/dev/null',
    `openssl req -newkey rsa:2048 -nodes -subj /CN=${TLS_CN} -keyout tls.key -out tls.csr 2>/dev/null`,
    `printf 'subjectAltName=${san}\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext`,
    'openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile ext -out tls.crt 2>/dev/null',
    'for f in ca.crt tls.crt tls.key; do echo "=== $f"; cat "$f"; done',
  ].join('\n');
  const c = await engine.startContainer({ image, name: `tls-${Math.random().toString(36).slice(2, 8)}`, labels, cmd: ['sleep', '120'] });
  try {
    const r = await c.exec(['bash', '-c', script]);
    if (r.exitCode !== 0) throw new ResilienceError(`making the pgBackRest TLS certificates failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
    const part = (name: string) => {
      const m = new RegExp(`=== ${name.replace('.', '\\.')}\\n([\\s\\S]*?)(?=\\n=== |\\s*$)`).exec(r.stdout);
      if (!m?.[1]) throw new ResilienceError(`making the pgBackRest TLS certificates printed no ${name}`);
      return `${m[1].trim()}\n`;
    };
    return { ca: part('ca.crt'), cert: part('tls.crt'), key: part('tls.key') };
  } finally {
    await c.remove();
  }
}

/** The pgBackRest repository host: its container, its volume, and the commands it runs. */
export class BackupRepo {
  readonly container: ContainerHandle;
  readonly volume: string;
  readonly alias: string;
  /** Every command run through `pgbackrest()`, in order. */
  readonly commands: CommandRecord[] = [];
  readonly #engine: Engine;

  constructor(engine: Engine, container: ContainerHandle, volume: string, alias: string) {
    this.#engine = engine;
    this.container = container;
    this.volume = volume;
    this.alias = alias;
  }

  /** `pgbackrest --stanza=main <args>` on the repository host, recorded. */
  pgbackrest(args: readonly string[], options: { readonly check?: boolean; readonly signal?: AbortSignal } = {}): Promise<CommandRecord & { readonly stdout: string }> {
    return recordedExec(this.container, ['pgbackrest', `--stanza=${STANZA}`, ...args], { ...options, records: this.commands });
  }

  /**
   * `stanza-create`, retried every 250 ms (up to 20 times) while the repository host's TLS server
   * is not listening yet; only the attempt that counts is recorded.
   */
  async createStanza(options: { readonly signal?: AbortSignal } = {}): Promise<CommandRecord> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.pgbackrest(['stanza-create'], { check: attempt >= 21, ...options });
      if (r.exitCode === 0) return r;
      this.commands.pop();
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** Any command on the repository host (e.g. to read or damage a repository file), recorded. */
  exec(cmd: readonly string[], options: { readonly check?: boolean; readonly signal?: AbortSignal } = {}): Promise<CommandRecord & { readonly stdout: string }> {
    return recordedExec(this.container, cmd, { ...options, records: this.commands });
  }

  /** `pgbackrest info --output=json` of the stanza. */
  async info(): Promise<PgBackRestInfo> {
    const r = await this.pgbackrest(['info', '--output=json']);
    const parsed = JSON.parse(r.stdout) as PgBackRestInfo[];
    const stanza = parsed.find((s) => s.name === STANZA);
    if (!stanza) throw new ResilienceError(`pgbackrest info shows no stanza ${STANZA}`);
    return stanza;
  }

  /** Removes the container and its volume; idempotent. */
  async remove(): Promise<void> {
    await this.container.remove();
    await this.#engine.removeVolume(this.volume);
  }
}

/** The parts of `pgbackrest info --output=json` a drill reads. */
export interface PgBackRestInfo {
  readonly name: string;
  readonly status: { readonly code: number; readonly message: string };
  readonly archive: readonly { readonly id: string; readonly min: string | null; readonly max: string | null }[];
  readonly backup: readonly {
    readonly label: string;
    readonly type: 'full' | 'diff' | 'incr';
    readonly prior: string | null;
    readonly timestamp: { readonly start: number; readonly stop: number };
    readonly info: { readonly size: number; readonly delta: number; readonly repository: { readonly size: number; readonly delta: number } };
    readonly archive: { readonly start: string; readonly stop: string };
    readonly lsn?: { readonly start: string; readonly stop: string };
  }[];
}

/** Starts the repository host on `network` with a new labelled volume for the repository. */
export async function startBackupRepo(engine: Engine, options: { readonly image: string; readonly network: string; readonly topology: Topology; readonly archive: ArchiveConfig; readonly labels?: Record<string, string>; readonly signal?: AbortSignal }): Promise<BackupRepo> {
  checkArchiveConfig(options.archive);
  const alias = options.archive.repoHost;
  const parts = backupContainerParts(renderRepoBackupConfig(options.archive, options.topology), options.archive.tls);
  const volume = await engine.createVolume(`${alias}-repo`, { labels: options.labels ?? {} });
  let container: ContainerHandle;
  try {
    container = await engine.startContainer({
      image: options.image,
      name: alias,
      role: 'pgbackrest',
      user: 'postgres',
      hostname: alias,
      networks: [{ network: options.network, aliases: [alias] }],
      volumes: [{ source: volume, target: BACKUP_PATHS.repo }],
      ...(options.labels ? { labels: options.labels } : {}),
      files: [{ path: SECRETS_FILE, content: renderSecretsFile(parts.env) }],
      cmd: writeAndExec(parts.files, ['pgbackrest', 'server'], parts.before, [], true),
    }, options.signal);
  } catch (e) {
    await engine.removeVolume(volume).catch(() => undefined);
    throw e;
  }
  return new BackupRepo(engine, container, volume, alias);
}
