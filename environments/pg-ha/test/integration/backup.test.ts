// pgBackRest on a real cluster: WAL is archived to the repository host over TLS by whichever
// node leads, also after the leader was killed and another promoted (the archive gains the new
// timeline); restoreNodes refuses a cluster whose nodes are still there; the repository's
// container and volume go with it.
import test from 'ava';
import { Chaos, Engine, waitFor } from '@resilience/fixtures';
import { generateTls, provision, queryOnce, restoreNodes, startBackupRepo, type ArchiveConfig, type BackupRepo, type PgHa } from '../../src/index.ts';

let engine: Engine;
let pg: PgHa;
let repo: BackupRepo;

test.before(async () => {
  engine = await Engine.connect();
  const net = await engine.createNetwork('pgbr');
  const tls = await generateTls(engine, 'resilience/infra:0.1.0', ['pgha-pg1', 'pgha-pg2', 'pgha-pg3', 'pgha-backup']);
  const archive: ArchiveConfig = { repoHost: 'pgha-backup', tls, archiveTimeoutS: 2, processMax: 1 };
  pg = await provision({ engine, network: net.name, archive });
  repo = await startBackupRepo(engine, { image: pg.settings.imageTag, network: net.name, topology: pg.topology, archive });
});

test.after.always(async () => {
  await repo?.remove().catch(() => undefined);
  await pg?.teardown().catch(() => undefined);
  await engine?.removeRun();
});

test.serial('whichever node leads archives WAL to the repository host, also after a failover', async (t) => {
  await repo.createStanza();
  await repo.pgbackrest(['check']);
  await repo.pgbackrest(['backup', '--type=full']);
  const before = await repo.info();
  t.true((before.archive[0]?.max ?? '').startsWith('00000001'), 'the first leader archived timeline 1');
  const leader = await pg.primary();

  const chaos = new Chaos(engine);
  await chaos.kill(leader.container);
  const promoted = await pg.waitForPromotion(leader.name, { timeoutMs: 60_000 });
  t.not(promoted.primary.name, leader.name);
  // HAProxy follows within its health checks.
  await waitFor(() => queryOnce(pg.primaryUrl, 'create table if not exists after_failover (id int)', [], 2_000).then(() => true, () => undefined), { what: 'a write through HAProxy to the new primary', timeoutMs: 30_000 });

  // With a node down, pgBackRest 2.45's check and backup from the repository host do not get
  // past it: they failed at once ("unable to get address for 'pgha-pg1'") or hung past 100 s in
  // our runs (upstream: pgbackrest#1574). Bounded, logged, not asserted: another version may
  // skip an unreachable standby.
  for (const args of [['check'], ['backup', '--type=incr']]) {
    const r = await repo.exec(['timeout', '15', 'pgbackrest', '--stanza=main', ...args], { check: false });
    t.log(`with ${leader.name} down: ${args.join(' ')} exit ${r.exitCode}${r.exitCode === 124 ? ' (still running after 15 s)' : ''} ${r.output.split('\n').at(-1) ?? ''}`);
  }
  await chaos.healAll();
  await pg.waitHealthy({ timeoutMs: 90_000 });
  // `check` switches the WAL segment on the new primary and waits for it in the archive.
  const check = await repo.pgbackrest(['check'], { check: false });
  t.is(check.exitCode, 0, check.output);
  const after = await repo.info();
  const max = after.archive[0]?.max ?? '';
  t.true(max.startsWith('00000002'), `the archive holds the new leader's timeline 2 (max ${max})`);
  t.true(repo.commands.every((c) => c.host.endsWith('pgha-backup')), 'every command ran on the repository host and was recorded');
});

test.serial('restoreNodes refuses a cluster whose PostgreSQL containers are still there, before touching etcd', async (t) => {
  await t.throwsAsync(() => restoreNodes(pg, { restore: { type: 'latest' } }), { message: /cluster whose PostgreSQL containers were removed/ });
  // The cluster is untouched: it still has its primary.
  t.truthy(await pg.primary());
});
