// The real cluster: Patroni elects a leader and replicates; a killed leader is replaced and
// HAProxy follows; the old leader rejoins as a replica; synchronous mode has a sync standby;
// teardown leaves nothing of the run behind.
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { Chaos, Engine, InvalidArgumentError, waitFor } from '@resilience/fixtures';
import { provision, queryOnce, type PgHa } from '../../src/index.ts';

let pg: PgHa;

test.before(async (t) => {
  const started = performance.now();
  pg = await provision();
  t.log(`provisioned in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(pg.timings)}`);
});

test.after.always(async () => {
  await pg?.teardown();
});

test.serial('elects one leader and replicates a write to every replica', async (t) => {
  const members = await pg.members();
  t.is(members.filter((m) => m.role === 'leader').length, 1);
  const replicas = await pg.replicas();
  t.is(replicas.length, 2);

  await queryOnce(pg.leaderUrl, 'create table if not exists events (id bigint primary key, note text not null)');
  await queryOnce(pg.leaderUrl, 'insert into events values ($1, $2)', [1, 'first']);
  for (const r of replicas) {
    const rows = await waitFor(async () => {
      const found = await queryOnce<{ note: string }>(r.url, 'select note from events where id = 1');
      return found.length ? found : undefined;
    }, { what: `row 1 on ${r.name}`, timeoutMs: 10_000, intervalMs: 100 });
    t.deepEqual(rows, [{ note: 'first' }], r.name);
  }
  // The replica port reaches a hot standby: reads work, writes are refused.
  const [{ ro }] = (await queryOnce<{ ro: boolean }>(pg.replicaUrl, 'select pg_is_in_recovery() as ro')) as [{ ro: boolean }];
  t.true(ro);
  const error = await t.throwsAsync(queryOnce(pg.replicaUrl, 'insert into events values (2, $1)', ['nope']));
  t.regex(error.message, /read-only transaction/);
});

test.serial('no container logs a password', async (t) => {
  const secrets = [pg.credentials.superuser.password, pg.credentials.replication.password, pg.credentials.app.password];
  for (const c of pg.containers) {
    const logs = await c.logs();
    t.false(secrets.some((s) => logs.includes(s)), c.name);
  }
});

test.serial('killing the leader elects another, HAProxy routes writes to it, and the old leader rejoins after start', async (t) => {
  const old = await pg.leader();
  const chaos = new Chaos(pg.engine);
  const killedAt = performance.now();
  const fault = await chaos.kill(old.container);
  t.teardown(() => fault.heal());

  const change = await pg.waitForLeaderChange(old, { timeoutMs: 60_000 });
  t.not(change.leader.name, old.name);
  // Writes through HAProxy's leader port reach the new leader.
  const routed = await waitFor(async () => {
    const rows = await queryOnce<{ addr: string }>(pg.leaderUrl,
      "insert into events values (3, 'after failover') on conflict (id) do update set note = excluded.note returning host(inet_server_addr()) as addr", [], 1_000);
    return rows[0]?.addr;
  }, { what: 'a write through HAProxy after failover', timeoutMs: 60_000, intervalMs: 100 });
  const writableAt = performance.now();
  const newLeaderIp = await change.leader.container.ipOn(pg.network);
  t.is(routed, newLeaderIp);
  t.log(`failover: new leader ${change.leader.name} seen ${Math.round(change.seenAt - killedAt)} ms after the kill; writes through HAProxy ${Math.round(writableAt - killedAt)} ms after (ttl ${pg.settings.ttl} s, loop_wait ${pg.settings.loopWait} s)`);

  // Heal: the old leader starts again, rewinds onto the new timeline and follows.
  const healStart = performance.now();
  await fault.heal();
  const members = await pg.waitHealthy({ timeoutMs: 90_000 });
  t.log(`old leader ${old.name} rejoined ${Math.round(performance.now() - healStart)} ms after start`);
  const rejoined = members.find((m) => m.name === old.name);
  t.truthy(rejoined);
  t.not(rejoined!.role, 'leader');
  const leader = members.find((m) => m.role === 'leader')!;
  t.is(leader.name, change.leader.name);
  t.is(rejoined!.timeline, leader.timeline);
  t.true((leader.timeline ?? 0) > (old.timeline ?? 0), `timeline ${leader.timeline} after ${old.timeline}`);
  const rows = await waitFor(async () => {
    const found = await queryOnce<{ note: string }>(old.url, 'select note from events where id = 3');
    return found.length ? found : undefined;
  }, { what: `the post-failover row on ${old.name}`, timeoutMs: 10_000, intervalMs: 100 });
  t.deepEqual(rows, [{ note: 'after failover' }]);
  // The kill left the old leader's WAL ahead of the fork point: Patroni rewound it rather than re-cloning.
  const rewind = (await old.container.logs()).split('\n').filter((l) => /pg_rewind/.test(l));
  t.log(`the old leader's log on rewind:\n${rewind.slice(0, 4).join('\n')}`);
  t.true(rewind.some((l) => /pg_rewind exit code=0/.test(l)), 'the old leader ran pg_rewind successfully');
});

test.serial('synchronous mode on an existing network reports a sync standby; teardown leaves that network', async (t) => {
  const engine = await Engine.connect();
  t.teardown(async () => {
    await engine.removeRun();
  });
  const net = await engine.createNetwork('shared');
  const sync = await provision({ engine, network: net.name, synchronous: true, namePrefix: 'sync' });
  t.teardown(() => sync.teardown());
  t.log(`synchronous cluster provisioned: ${JSON.stringify(sync.timings)}`);
  const members = await sync.members();
  const standby = members.find((m) => m.role === 'sync_standby');
  t.truthy(standby, JSON.stringify(members.map((m) => [m.name, m.role])));
  const [{ names }] = (await queryOnce<{ names: string }>(sync.superuserUrl, "select current_setting('synchronous_standby_names') as names")) as [{ names: string }];
  t.true(names.includes(standby!.name), names);
  t.is(sync.network, net.name);
  for (const c of sync.containers) t.truthy((await c.inspect()).NetworkSettings.Networks?.[net.name], c.name);

  await sync.teardown();
  await sync.teardown(); // idempotent
  t.deepEqual(await engine.listContainers({ runId: engine.run.runId }), []);
  t.is((await engine.docker.getNetwork(net.name).inspect()).Name, net.name);
});

test.serial('a network that does not exist is rejected before anything starts', async (t) => {
  const engine = await Engine.connect();
  const error = await t.throwsAsync(provision({ engine, network: 'rz-no-such-network' }), { instanceOf: InvalidArgumentError });
  t.is(error.argument, 'network');
  t.deepEqual(await engine.listContainers({ runId: engine.run.runId }), []);
});

test.serial('teardown removes every container and the network of the run', async (t) => {
  const runId = pg.runId;
  const network = pg.network;
  t.true((await pg.engine.listContainers({ runId })).length >= 5);
  await pg.teardown();
  await pg.teardown();
  t.deepEqual(await pg.engine.listContainers({ runId }), []);
  const nets = await pg.engine.docker.listNetworks({ filters: { name: [network] } });
  t.deepEqual(nets.filter((n) => n.Name === network), []);
});
