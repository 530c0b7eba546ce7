// The drill's environment: app-stack whose pg-ha archives WAL with pgBackRest to a repository
// host in its own container and volume (TLS both ways, a CA made for the run), the stanza made
// and checked, and the data loaded. The handle keeps the current cluster (replaced by the
// restore), the repository, the acknowledged-write ledger and the evidence gathered so far.
import { provision, type AppStack } from '@resilience/app-stack';
import { recordedExec, type CommandRecord } from '@resilience/fixtures';
import { generateTls, parseOptions, queryOnce, startBackupRepo, topology, type ArchiveConfig, type BackupRepo, type PgHa } from '@resilience/pg-ha';
import type { SetupContext } from '@resilience/runner';
import type { DrillOptionsT } from './options.ts';
import type { AckLedger } from './ledger.ts';

/** Tables the drill loads and checks against its manifest (the probes' tables are checked by their ledgers). */
export const DATA_TABLES = ['dr_data', 'dr_accounts'] as const;
/** Accounts: a small table changed between backups, so differential and incremental backups have work. */
export const ACCOUNTS = 10_000;
/** Bytes of one dr_data row on disk, about (a 192-character payload, a key, the tuple header). */
export const ROW_BYTES = 250;

export interface BackupRecord {
  readonly type: 'full' | 'diff' | 'incr';
  readonly label: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly stoppedAt: number;
  readonly durationMs: number;
  /** Database size the backup covers, and what it added to the repository (bytes). */
  readonly size: number;
  readonly repoSize: number;
  readonly delta: number;
  readonly repoDelta: number;
  readonly walStart: string;
  readonly walStop: string;
}

export interface Check {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface TableManifest {
  readonly table: string;
  readonly rows: number;
  /** md5 over the md5 of every row in key order. */
  readonly hash: string;
}

export interface DrillEnv {
  readonly stack: AppStack;
  /** The cluster now: the original, then the restored one. */
  pg: PgHa;
  readonly repo: BackupRepo;
  readonly archive: ArchiveConfig;
  readonly options: DrillOptionsT;
  readonly dataRows: number;
  ledger?: AckLedger;
  /** Commands run on PostgreSQL nodes (the repository keeps its own). */
  readonly nodeCommands: CommandRecord[];
  readonly backups: BackupRecord[];
  readonly checks: Check[];
  manifest?: TableManifest[];
  /** Epoch ms. */
  firstBackupStartedAt?: number;
  /** The disaster: epoch ms, and for bad-change the target (PostgreSQL timestamp text and epoch ms). */
  disasterAt?: number;
  target?: { readonly text: string; readonly epoch: number };
  /** When the old cluster stopped taking writes (epoch ms). */
  oldClusterGoneAt?: number;
  restore?: Record<string, unknown>;
  /** The repository file a negative drill damaged. */
  sabotaged?: string;
  readonly versions: Record<string, string>;
}

export const REPO_HOST = 'pgha-backup';

/** The hash of a table's content: md5 over each row's md5, in key order. */
export function tableHashSql(table: string): string {
  return `select count(*)::bigint as rows, md5(coalesce(string_agg(md5(t::text), '' order by t.id), '')) as hash from ${table} t`;
}

export async function manifest(url: string): Promise<TableManifest[]> {
  const out: TableManifest[] = [];
  for (const table of DATA_TABLES) {
    const [r] = await queryOnce<{ rows: string; hash: string }>(url, tableHashSql(table), [], 300_000);
    out.push({ table, rows: Number(r!.rows), hash: r!.hash });
  }
  return out;
}

/** Loads `bytes` of rows into dr_data (in batches, so WAL is archived as it goes) and the accounts. */
async function loadData(pg: PgHa, bytes: number, note: (m: string) => void): Promise<number> {
  const rows = Math.max(1_000, Math.round(bytes / ROW_BYTES));
  await queryOnce(pg.primaryUrl, 'create table dr_data (id bigint primary key, payload text not null)', [], 10_000);
  await queryOnce(pg.primaryUrl, 'create table dr_accounts (id int primary key, balance bigint not null, updated_at timestamptz not null default now())', [], 10_000);
  await queryOnce(pg.primaryUrl, `insert into dr_accounts (id, balance) select g, 1000 from generate_series(1, ${ACCOUNTS}) g`, [], 60_000);
  const batch = 200_000;
  for (let from = 1; from <= rows; from += batch) {
    const to = Math.min(rows, from + batch - 1);
    // 192 hex characters from six different digests: about as compressible as real text.
    await queryOnce(pg.primaryUrl, `insert into dr_data select g, md5(g::text) || md5((g * 3)::text) || md5((g * 5)::text) || md5((g * 7)::text) || md5((g * 11)::text) || md5((g * 13)::text) from generate_series(${from}, ${to}) g`, [], 600_000);
    if (rows > batch) note(`loaded ${to.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows`);
  }
  await queryOnce(pg.primaryUrl, 'analyze dr_data', [], 120_000);
  return rows;
}

export async function drillEnvironment(o: DrillOptionsT, setup: SetupContext): Promise<{ env: DrillEnv; teardown: () => Promise<void> }> {
  const settings = parseOptions({ image: o.image });
  const topo = topology(settings);
  const tls = await generateTls(setup.engine, settings.imageTag, [...topo.nodes.map((n) => n.alias), REPO_HOST]);
  // Block-level incremental where pgBackRest has it (2.46+: trixie).
  const archive: ArchiveConfig = { repoHost: REPO_HOST, tls, archiveTimeoutS: o.archiveTimeout / 1000, processMax: o.processMax, blockIncremental: o.image === 'trixie' };
  setup.note(`provisioning app-stack on ${o.image} with WAL archived by pgBackRest to ${REPO_HOST}`);
  const stack = await provision({ engine: setup.engine, image: o.image, pgArchive: archive, signal: setup.signal, now: setup.now, timeoutMs: 180_000 });
  let repo: BackupRepo | undefined;
  let env: DrillEnv | undefined;
  const teardown = async () => {
    const results = await Promise.allSettled([env && env.pg !== stack.pg ? env.pg.teardown() : undefined, repo?.remove()]);
    await stack.teardown();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    repo = await startBackupRepo(setup.engine, { image: settings.imageTag, network: stack.network, topology: topo, archive, signal: setup.signal });
    await repo.createStanza({ signal: setup.signal });
    await repo.pgbackrest(['check']);
    setup.note('pgBackRest stanza created and checked (WAL archiving works)');
    const dataRows = await loadData(stack.pg, o.data, setup.note);
    setup.note(`loaded ${dataRows.toLocaleString('en-US')} rows (about ${Math.round(o.data / 1e6)} MB)`);
    const node = stack.pg.nodes[0]!.container;
    const out = async (cmd: string[]) => (await recordedExec(node, cmd)).stdout.trim().split('\n')[0] ?? '';
    const versions = {
      postgres: await out(['postgres', '--version']),
      patroni: await out(['patroni', '--version']),
      pgbackrest: (await recordedExec(repo.container, ['pgbackrest', 'version'])).stdout.trim(),
    };
    env = {
      stack, pg: stack.pg, repo, archive, options: o, dataRows, nodeCommands: [], backups: [], checks: [], versions,
    };
    return { env, teardown };
  } catch (e) {
    await teardown().catch(() => undefined);
    throw e;
  }
}
