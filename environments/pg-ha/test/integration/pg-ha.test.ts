// The real cluster: Patroni elects a primary and replicates; every node's address maps to its
// name; a killed primary is replaced (seen on the run clock given to provision) while an SQL
// write probe says which node acknowledged each write; HAProxy follows; the old primary rejoins
// as a replica; waits end at once when their signal aborts; sync mode has a sync standby;
// teardown leaves nothing of the run behind.
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Chaos, Engine, InvalidArgumentError, sqlWriteProbe, waitFor, type ProbeSample } from '@resilience/fixtures';
import { provision, queryOnce, type PgHa } from '../../src/index.ts';

// A run clock that is visibly not performance.now() (as if the run had started an hour ago), so a
// time taken from the wrong clock is off by an hour.
const origin = performance.now() - 3_600_000;
const clock = (): number => performance.now() - origin;

let pg: PgHa;

test.before(async (t) => {
  const started = performance.now();
  pg = await provision({ now: clock });
  t.log(`provisioned in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(pg.timings)}`);
});

test.after.always(async () => {
  await pg?.teardown();
});

test.serial('elects one primary and replicates a write to every replica', async (t) => {
  const members = await pg.members();
  t.is(members.filter((m) => m.role === 'leader').length, 1);
  const primary = await pg.primary();
  t.is(primary.role, 'leader');
  const replicas = await pg.replicas();
  t.is(replicas.length, 2);
  t.false(replicas.some((r) => r.name === primary.name));

  await queryOnce(pg.primaryUrl, 'create table if not exists events (id bigint primary key, note text not null)');
  await queryOnce(pg.primaryUrl, 'insert into events values ($1, $2)', [1, 'first']);
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

test.serial('nodeOfAddress maps every node\'s address (as the node itself reports it) to its name', async (t) => {
  for (const node of pg.nodes) {
    const ip = await node.container.ipOn(pg.network);
    t.is(pg.nodeOfAddress(ip), node.name, ip);
    t.is(pg.nodeOfAddress(`${ip}/32`), node.name, `${ip}/32 (inet::text)`);
    // What a client connected through the network sees: inet_server_addr() of that node.
    const [row] = await queryOnce<{ addr: string }>(node.url, 'select inet_server_addr()::text as addr');
    t.log(`${node.name}: container ${ip}, inet_server_addr()::text ${row?.addr}`);
    t.is(pg.nodeOfAddress(row!.addr), node.name);
  }
  t.is(pg.nodeOfAddress('192.0.2.1'), undefined);
  t.is(pg.nodeOfAddress(''), undefined);
});

test.serial('an SQL write probe through the primary port says which node acknowledged each write', async (t) => {
  const primary = await pg.primary();
  const samples: ProbeSample[] = [];
  const probe = sqlWriteProbe({ name: 'sql-node', connection: { connectionString: pg.primaryUrl }, now: clock, nodeOf: (address) => pg.nodeOfAddress(address), onSample: (s) => samples.push(s) });
  await probe.start();
  await sleep(500);
  await probe.stop();
  const ok = samples.filter((s) => s.ok);
  t.true(ok.length >= 30, `${ok.length} acknowledged writes`);
  t.deepEqual([...new Set(ok.map((s) => s.node))], [primary.name]);
});

test.serial('aborting waitForPromotion or waitHealthy rejects within 200 ms', async (t) => {
  const primary = await pg.primary();
  for (const [what, wait] of [
    ['waitForPromotion', (signal: AbortSignal) => pg.waitForPromotion(primary, { timeoutMs: 60_000, signal })],
    // Asking for a lag no replica can have below 0 keeps it waiting.
    ['waitHealthy', (signal: AbortSignal) => pg.waitHealthy({ timeoutMs: 60_000, maxLagBytes: -1, signal })],
  ] as const) {
    const controller = new AbortController();
    const waiting = wait(controller.signal);
    await sleep(350);
    const abortedAt = performance.now();
    controller.abort(new Error('stop waiting'));
    const error = await t.throwsAsync(waiting);
    const ms = performance.now() - abortedAt;
    t.log(`${what}: rejected ${ms.toFixed(1)} ms after the abort (${error.message})`);
    t.is(error.message, 'stop waiting', what);
    t.true(ms < 200, `${what}: ${ms} ms`);
  }
});

test.serial('killing the primary promotes another (seen on the run clock); writes move to it; the old primary rejoins after start', async (t) => {
  const old = await pg.primary();
  const chaos = new Chaos(pg.engine, { now: clock });
  const samples: ProbeSample[] = [];
  const probe = sqlWriteProbe({ name: 'sql-failover', connection: { connectionString: pg.primaryUrl }, now: clock, intervalMs: 20, timeoutMs: 1_000, nodeOf: (address) => pg.nodeOfAddress(address), onSample: (s) => samples.push(s) });
  await probe.start();
  t.teardown(() => probe.stop());
  await sleep(500);
  const fault = await chaos.kill(old.container);
  t.teardown(() => fault.heal());

  const promotion = await pg.waitForPromotion(old, { timeoutMs: 60_000 });
  const returnedAt = clock();
  t.not(promotion.primary.name, old.name);
  t.is(promotion.previous, old.name);
  const afterKill = promotion.at - fault.injectedAt;
  t.log(`failover: ${promotion.primary.name} seen as primary ${Math.round(afterKill)} ms after the kill (run clock ${Math.round(promotion.at)}; waited ${Math.round(promotion.elapsedMs)} ms; ttl ${pg.settings.ttl} s, loop_wait ${pg.settings.loopWait} s)`);
  t.true(promotion.at > fault.injectedAt && promotion.at <= returnedAt, `at ${promotion.at} is between the kill ${fault.injectedAt} and the return ${returnedAt}`);
  // The leader lock lapses between ttl - loop_wait and ttl after the last renewal.
  t.true(afterKill >= (pg.settings.ttl - pg.settings.loopWait) * 1000 - 1_000, `${afterKill} ms: too soon for the lock to lapse`);
  t.true(afterKill <= (pg.settings.ttl + pg.settings.loopWait) * 1000 + 5_000, `${afterKill} ms`);
  t.true(promotion.elapsedMs > 0 && promotion.elapsedMs <= afterKill + 100);

  // Writes through HAProxy's primary port reach the new primary, and the probe says so.
  const routed = await waitFor(async () => {
    const rows = await queryOnce<{ addr: string }>(pg.primaryUrl,
      "insert into events values (3, 'after failover') on conflict (id) do update set note = excluded.note returning inet_server_addr()::text as addr", [], 1_000);
    return rows[0]?.addr;
  }, { what: 'a write through HAProxy after failover', timeoutMs: 60_000, intervalMs: 100 });
  const writableAt = clock();
  t.is(pg.nodeOfAddress(routed), promotion.primary.name);
  await sleep(500);
  await probe.stop();
  const ok = samples.filter((s) => s.ok);
  const before = ok.filter((s) => s.completed < fault.injectedAt);
  // The kill has taken effect once its Docker call returned; a write issued while it was in
  // flight can still be acknowledged by the old primary.
  const after = ok.filter((s) => s.intended > fault.injectedAt + fault.callMs);
  t.log(`writes through HAProxy ${Math.round(writableAt - fault.injectedAt)} ms after the kill; probe: ${before.length} acknowledged by ${[...new Set(before.map((s) => s.node))].join(', ')} before the kill, ${after.length} by ${[...new Set(after.map((s) => s.node))].join(', ')} after; first after the kill acknowledged ${Math.round((after[0]?.completed ?? Number.NaN) - fault.injectedAt)} ms after it`);
  t.true(before.length > 10 && before.every((s) => s.node === old.name), 'before the kill: the old primary');
  t.true(after.length > 10 && after.every((s) => s.node === promotion.primary.name), 'after the kill: only the new primary');

  // Heal: the old primary starts again, rewinds onto the new timeline and follows.
  const healStart = performance.now();
  await fault.heal();
  const members = await pg.waitHealthy({ timeoutMs: 90_000 });
  t.log(`old primary ${old.name} rejoined ${Math.round(performance.now() - healStart)} ms after start`);
  const rejoined = members.find((m) => m.name === old.name);
  t.truthy(rejoined);
  t.not(rejoined!.role, 'leader');
  const primary = members.find((m) => m.role === 'leader')!;
  t.is(primary.name, promotion.primary.name);
  t.is(rejoined!.timeline, primary.timeline);
  t.true((primary.timeline ?? 0) > (old.timeline ?? 0), `timeline ${primary.timeline} after ${old.timeline}`);
  // Its address after the restart is known again (waitHealthy reads them).
  t.is(pg.nodeOfAddress(await old.container.ipOn(pg.network)), old.name);
  const rows = await waitFor(async () => {
    const found = await queryOnce<{ note: string }>(old.url, 'select note from events where id = 3');
    return found.length ? found : undefined;
  }, { what: `the post-failover row on ${old.name}`, timeoutMs: 10_000, intervalMs: 100 });
  t.deepEqual(rows, [{ note: 'after failover' }]);
  // The kill left the old primary's WAL ahead of the fork point: Patroni rewound it rather than re-cloning.
  const rewind = (await old.container.logs()).split('\n').filter((l: string) => /pg_rewind/.test(l));
  t.log(`the old primary's log on rewind:\n${rewind.slice(0, 4).join('\n')}`);
  t.true(rewind.some((l: string) => /pg_rewind exit code=0/.test(l)), 'the old primary ran pg_rewind successfully');
});

test.serial('no container logs a password', async (t) => {
  const secrets = [pg.credentials.superuser.password, pg.credentials.replication.password, pg.credentials.app.password];
  for (const c of pg.containers) {
    const logs = await c.logs();
    t.false(secrets.some((s) => logs.includes(s)), c.name);
  }
});

test.serial('sync mode on an existing network reports a sync standby; teardown leaves that network', async (t) => {
  const engine = await Engine.connect();
  t.teardown(async () => {
    await engine.removeRun();
  });
  const net = await engine.createNetwork('shared');
  const sync = await provision({ engine, network: net.name, sync: true, nodes: 2, namePrefix: 'sync' });
  t.teardown(() => sync.teardown());
  t.log(`sync cluster provisioned: ${JSON.stringify(sync.timings)}`);
  t.like(sync.settings, { sync: true, syncStrict: false });
  const members = await sync.members();
  const standby = members.find((m) => m.role === 'sync_standby');
  t.truthy(standby, JSON.stringify(members.map((m) => [m.name, m.role])));
  const [{ names }] = (await queryOnce<{ names: string }>(sync.superuserUrl, "select current_setting('synchronous_standby_names') as names")) as [{ names: string }];
  t.true(names.includes(standby!.name), names);
  // Patroni's own keys in etcd say the same: the lock holder leads synchronous mode, the standby is its sync standby.
  const leader = members.find((m) => m.role === 'leader')!;
  const keys = await sync.dcsKeys(['leader', 'sync']);
  t.is(keys?.leader, leader.name);
  t.like(JSON.parse(keys!.sync!), { leader: leader.name, sync_standby: standby!.name });
  t.deepEqual(await sync.dcsKeys(['no_such_key']), { no_such_key: null });
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
