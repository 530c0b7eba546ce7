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
  const healedAt = Date.now();
  await chaos.healAll();
  try {
    await pg.waitHealthy({ timeoutMs: 90_000 });
  } catch (e) {
    // What each node said since it was healed (Patroni and PostgreSQL share the container's log),
    // without the lines that repeat every second.
    const said = async (name: string) => {
      const n = pg.nodes.find((x) => x.name === name)!;
      const lines = (await n.container.logs({ sinceEpochMs: healedAt - 1_000 }).catch((x: unknown) => String(x))).split('\n');
      // Also without pg_controldata's indented fields (Patroni prints them at every start).
      return lines.filter((l) => l.trim() && !/^\s/.test(l) && !/not yet accepting connections|Consistent recovery state has not|rejecting connections|Lock owner|establishing a new patroni|Retry got exception|Failed to determine PostgreSQL state|no action\. I am/.test(l)).slice(0, 80).join('\n');
    };
    // Seen once in ten runs here with Patroni 3.0.2: the killed leader comes back as a standby
    // that never reaches a consistent state, and Patroni waits for it for ever: it has no start
    // timeout for standbys and runs no rewind or reinit while one is starting
    // (patroni/patroni#3650). A finding about Patroni, not about archiving: it is logged with
    // its evidence, and the node is reinitialised the way an operator would, so that what this
    // test is about can still be checked.
    const stuck = e instanceof Error && e.message.includes(`last seen: ${leader.name} is starting`);
    if (!stuck) {
      for (const n of pg.nodes) t.log(`--- ${n.name} since the heal\n${await said(n.name)}`);
      throw e;
    }
    t.log(`FINDING: ${leader.name}, the killed leader, was still "starting up as a standby" 90 s after it was started again (patroni/patroni#3650); reinitialising it through Patroni's REST API\n${await said(leader.name)}`);
    await pg.reinitialize(leader.name);
    await pg.waitHealthy({ timeoutMs: 120_000 });
  }
  // `check` switches the WAL segment on the new primary and waits for it in the archive.
  const check = await repo.pgbackrest(['check'], { check: false });
  t.is(check.exitCode, 0, check.output);
  const after = await repo.info();
  const max = after.archive[0]?.max ?? '';
  t.true(max.startsWith('00000002'), `the archive holds the new leader's timeline 2 (max ${max})`);
  t.true(repo.commands.every((c) => c.host.endsWith('pgha-backup')), 'every command ran on the repository host and was recorded');
});

test.serial('reinitialize rebuilds a replica from the leader: a new PostgreSQL with the leader\'s data', async (t) => {
  await queryOnce(pg.primaryUrl, 'create table if not exists reinit_probe (v text)', [], 5_000);
  await queryOnce(pg.primaryUrl, 'insert into reinit_probe values ($1)', ['before-reinit'], 5_000);
  await pg.waitHealthy({ timeoutMs: 60_000 });
  const replica = (await pg.replicas())[0]!;
  const node = pg.nodes.find((n) => n.name === replica.name)!;
  const started = async () => String((await queryOnce(node.url, 'select pg_postmaster_start_time()::text as t', [], 5_000))[0]?.['t']);
  const before = await started();
  await pg.reinitialize(replica.name);
  await pg.waitHealthy({ timeoutMs: 120_000 });
  t.not(await started(), before, `${replica.name} runs a new PostgreSQL`);
  const rows = await queryOnce(node.url, 'select v from reinit_probe', [], 5_000);
  t.true(rows.some((r) => r['v'] === 'before-reinit'), 'with the row written before, copied from the leader');
  await t.throwsAsync(() => pg.reinitialize('pg9'), { message: /`node` to be one of pg1, pg2, pg3, got `pg9`/ });
});

test.serial('restoreNodes refuses a cluster whose PostgreSQL containers are still there, before touching etcd', async (t) => {
  await t.throwsAsync(() => restoreNodes(pg, { restore: { type: 'latest' } }), { message: /cluster whose PostgreSQL containers were removed/ });
  // The cluster is untouched: it still has its primary.
  t.truthy(await pg.primary());
});
