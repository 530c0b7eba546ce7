// The environment against real containers: replication to every replica, a failover after the
// master is killed (measured), a host-side Sentinel client following it, the old master
// rejoining as a replica, composition into a given network, and teardown leaving nothing.
import test from 'ava';
import { Chaos, Engine, Labels, waitFor } from '@resilience/fixtures';
import { ENVIRONMENT_LABEL, parseReplicationInfo, provision, type RedisSentinel } from '../../src/index.ts';

async function up(t: { teardown: (fn: () => Promise<void>) => void; log: (...values: unknown[]) => void }, options: Parameters<typeof provision>[0] = {}): Promise<RedisSentinel> {
  const env = await provision(options);
  t.teardown(() => env.teardown());
  t.log(`provisioned in ${env.timings.total} ms (${Object.entries(env.timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  return env;
}

test('a write on the master is readable on both replicas', async (t) => {
  const env = await up(t);
  const master = await env.master();
  t.is(master.name, 'redis-1');
  const replicas = await env.replicas();
  t.deepEqual(replicas.map((r) => r.name), ['redis-2', 'redis-3']);

  t.is(await env.directClient(master).set('greeting', 'hello'), 'OK');
  for (const r of replicas) {
    const c = env.directClient(r);
    t.is(await waitFor(() => c.get('greeting').then((v) => v ?? undefined), { what: `greeting on ${r.name}`, timeoutMs: 5_000, intervalMs: 20 }), 'hello');
    await t.throwsAsync(c.set('greeting', 'overwritten'), { message: /^READONLY/ });
  }
});

test('killing the master: the Sentinels promote a replica, the Sentinel client follows, the old master rejoins', async (t) => {
  const env = await up(t);
  const { downAfterMs } = env.settings;
  const old = await env.master();
  const client = env.client();
  t.is(await client.set('before', '1'), 'OK');
  // Acknowledged by both replicas before the kill, so the promoted one must have it.
  t.is(await env.directClient(old).call('WAIT', '2', '5000'), 2);

  const chaos = new Chaos(env.engine);
  const kill = await chaos.kill(old.container);
  t.teardown(() => kill.heal());
  const failover = await env.waitForFailover(old, { timeoutMs: 30_000 });
  const ms = Math.round(failover.switchedAt - kill.injectedAt);
  t.log(`kill -> a majority of Sentinels report ${failover.master.name} as master: ${ms} ms (down-after-milliseconds ${downAfterMs})`);
  t.not(failover.master, old);
  t.true(env.nodes.includes(failover.master));
  // No Sentinel may decide before down-after-milliseconds without a reply (less the 1 s ping
  // period, since the last reply came up to a second before the kill); after that, agreeing on
  // ODOWN, electing a leader and promoting take a few seconds.
  t.true(ms >= downAfterMs - 1_000, `${ms} ms is sooner than down-after-milliseconds allows`);
  t.true(ms <= downAfterMs + 8_000, `${ms} ms is more than 8 s past down-after-milliseconds`);

  const started = performance.now();
  t.is(await client.set('after', '2'), 'OK');
  t.log(`SET through the Sentinel client succeeded ${Math.round(performance.now() - started)} ms after the switch was seen`);
  const onNew = env.directClient(failover.master);
  t.is(await onNew.get('after'), '2');
  t.is(await onNew.get('before'), '1');
  t.is(parseReplicationInfo(String(await onNew.info('replication'))).role, 'master');

  const healed = performance.now();
  await kill.heal();
  const master = await env.waitHealthy({ timeoutMs: 90_000 });
  t.log(`old master ${old.name} rejoined as a replica ${Math.round(performance.now() - healed)} ms after it was started again`);
  t.is(master, failover.master);
  const onOld = env.directClient(old);
  const info = parseReplicationInfo(String(await onOld.info('replication')));
  t.is(info.role, 'slave');
  t.is(info.masterHost, failover.master.host);
  t.is(info.masterLinkStatus, 'up');
  t.is(await onOld.get('after'), '2');
  t.true((await env.replicas()).includes(old));
});

test('joins a given network under another prefix; min-replicas-to-write refuses writes without a replica', async (t) => {
  const engine = await Engine.connect();
  t.teardown(async () => {
    await engine.removeRun();
  });
  const net = await engine.createNetwork('shared');
  const env = await up(t, { engine, network: net.name, namePrefix: 'cache', replicas: 1, sentinels: 1, minReplicasToWrite: 1, minReplicasMaxLagSeconds: 1 });
  t.is(env.network, net.name);
  t.is(env.settings.quorum, 1);
  const master = await env.master();
  t.is(master.address, 'cache-1:6379');
  t.is(await master.container.ipOn(net.name).then((ip) => typeof ip), 'string');
  const client = env.client();
  t.is(await client.set('k', 'v'), 'OK');

  const [replica] = await env.replicas();
  if (!replica) return t.fail('no replica');
  const kill = await new Chaos(engine).kill(replica.container);
  t.teardown(() => kill.heal());
  const refused = await waitFor(async () => {
    try {
      await client.set('k', 'w');
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }, { what: 'the master to refuse writes without a replica', timeoutMs: 15_000, intervalMs: 100 });
  t.regex(refused, /^NOREPLICAS/);

  await env.teardown();
  t.deepEqual((await engine.listContainers({ runId: engine.run.runId })).map((c) => c.Names[0]), []);
  t.is((await engine.docker.getNetwork(net.id).inspect() as { Name: string }).Name, net.name, 'the given network is left in place');
});

test('teardown removes every container and the network it created, and is idempotent', async (t) => {
  const env = await up(t, { replicas: 0, sentinels: 1 });
  const runId = env.engine.run.runId;
  const label = [`${Labels.runId}=${runId}`, `${ENVIRONMENT_LABEL}=redis-sentinel`];
  t.is((await env.engine.docker.listContainers({ all: true, filters: { label } })).length, 2);
  t.is((await env.engine.docker.listNetworks({ filters: { label } })).length, 1);
  await env.teardown();
  await env.teardown();
  t.deepEqual(await env.engine.listContainers({ runId }), []);
  t.deepEqual(await env.engine.docker.listNetworks({ filters: { label: [`${Labels.runId}=${runId}`] } }), []);
});
