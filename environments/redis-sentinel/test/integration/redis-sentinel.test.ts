// The environment against real containers: replication to every replica; a promotion after the
// primary is killed (seen on the run clock given to provision) with a write probe saying which
// node acknowledged each SET; the old primary rejoining as a replica; waits that end at once
// when aborted; a probe client that fails fast and never resends where the default client
// resends; composition into a given network; teardown leaving nothing.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Chaos, Engine, Labels, redisWriteProbe, waitFor, type ProbeSample } from '@resilience/fixtures';
import { Redis } from 'ioredis';
import { ENVIRONMENT_LABEL, parseReplicationInfo, probeClientOptions, provision, type RedisSentinel } from '../../src/index.ts';

// A run clock that is visibly not performance.now() (as if the run had started an hour ago).
const origin = performance.now() - 3_600_000;
const clock = (): number => performance.now() - origin;

async function up(t: { teardown: (fn: () => Promise<void>) => void; log: (...values: unknown[]) => void }, options: Parameters<typeof provision>[0] = {}): Promise<RedisSentinel> {
  const env = await provision({ now: clock, ...options });
  t.teardown(() => env.teardown());
  t.log(`provisioned in ${env.timings.total} ms (${Object.entries(env.timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  return env;
}

test.serial('a write on the primary is readable on both replicas', async (t) => {
  const env = await up(t);
  const primary = await env.primary();
  t.is(primary.name, 'redis-1');
  const replicas = await env.replicas();
  t.deepEqual(replicas.map((r) => r.name), ['redis-2', 'redis-3']);

  t.is(await env.directClient(primary).set('greeting', 'hello'), 'OK');
  for (const r of replicas) {
    const c = env.directClient(r);
    t.is(await waitFor(() => c.get('greeting').then((v) => v ?? undefined), { what: `greeting on ${r.name}`, timeoutMs: 5_000, intervalMs: 20 }), 'hello');
    await t.throwsAsync(c.set('greeting', 'overwritten'), { message: /^READONLY/ });
  }
  // nodeOf: which node a client's connection goes to.
  const client = env.client();
  await client.ping();
  t.is(env.nodeOf(client), 'redis-1');
  const direct = env.directClient(replicas[1]!);
  await direct.ping();
  t.is(env.nodeOf(direct), replicas[1]!.name);
});

/**
 * What ioredis's failover detector does on `+switch-master` (connector.disconnect()), done while
 * the client is reconnecting: the pending connect fails and ioredis ends the client for good.
 */
async function switchMasterWhileReconnecting(client: Redis): Promise<void> {
  if (client.status !== 'ready') await new Promise<void>((ok) => client.once('ready', () => ok()));
  await client.ping();
  const connecting = new Promise<void>((ok) => client.once('connecting', () => ok()));
  (client as unknown as { stream: { destroy(): void } }).stream.destroy();
  await connecting;
  (client as unknown as { connector: { disconnect(): void } }).connector.disconnect();
}

test.serial('ioredis ends a Sentinel client for good when +switch-master comes while it reconnects; a probe client is connected again and the time recorded, one we close stays closed', async (t) => {
  const env = await up(t);
  // The bare client: the same options, no revival. It never comes back.
  const bare = new Redis({ ...env.clientOptions(), ...probeClientOptions() });
  bare.on('error', () => undefined);
  t.teardown(() => bare.disconnect());
  await switchMasterWhileReconnecting(bare);
  await sleep(1_000);
  t.is(bare.status, 'end', 'ioredis gave the client up');
  await t.throwsAsync(bare.ping(), { message: /Connection is closed/ });

  const probe = env.probeClient();
  const before = clock();
  await switchMasterWhileReconnecting(probe);
  t.is(await waitFor(() => probe.ping().catch(() => undefined), { what: 'the revived probe client answering', timeoutMs: 5_000, intervalMs: 20 }), 'PONG');
  t.is(env.clientRevivals.length, 1);
  t.true(env.clientRevivals[0]!.at >= before && env.clientRevivals[0]!.at <= clock(), 'on the run clock');
  probe.disconnect();
  await sleep(300);
  t.is(probe.status, 'end', 'a client we closed stays closed');
  t.is(env.clientRevivals.length, 1);
});

test.serial('killing the primary: a promotion seen on the run clock, the write probe follows and names the node, the old primary rejoins', async (t) => {
  const env = await up(t);
  const { downAfterMs } = env.settings;
  const old = await env.primary();
  const client = env.client();
  t.is(await client.set('before', '1'), 'OK');
  // Acknowledged by both replicas before the kill, so the promoted one must have it.
  t.is(await env.directClient(old).call('WAIT', '2', '5000'), 2);

  const samples: ProbeSample[] = [];
  const probe = redisWriteProbe({ name: 'redis-write', redis: env.probeClient(), nodeOf: (c) => env.nodeOf(c), now: clock, intervalMs: 20, timeoutMs: 1_000, onSample: (s) => samples.push(s) });
  await probe.start();
  t.teardown(() => probe.stop());
  await sleep(300);

  const chaos = new Chaos(env.engine, { now: clock });
  const kill = await chaos.kill(old.container);
  t.teardown(() => kill.heal());
  const promotion = await env.waitForPromotion(old, { timeoutMs: 30_000 });
  const returnedAt = clock();
  const ms = Math.round(promotion.at - kill.injectedAt);
  t.log(`kill -> a majority of Sentinels report ${promotion.primary.name} as master: ${ms} ms (run clock ${Math.round(promotion.at)}; waited ${Math.round(promotion.elapsedMs)} ms; down-after-milliseconds ${downAfterMs})`);
  t.not(promotion.primary, old);
  t.is(promotion.previous, old.name);
  t.true(env.nodes.includes(promotion.primary));
  t.true(promotion.at > kill.injectedAt && promotion.at <= returnedAt, `at ${promotion.at} between the kill ${kill.injectedAt} and the return ${returnedAt}`);
  // No Sentinel may decide before down-after-milliseconds without a reply (less the 1 s ping
  // period, since the last reply came up to a second before the kill); after that, agreeing on
  // ODOWN, electing a leader and promoting take a few seconds.
  t.true(ms >= downAfterMs - 1_000, `${ms} ms is sooner than down-after-milliseconds allows`);
  t.true(ms <= downAfterMs + 8_000, `${ms} ms is more than 8 s past down-after-milliseconds`);

  const started = performance.now();
  t.is(await client.set('after', '2'), 'OK');
  t.log(`SET through the Sentinel client succeeded ${Math.round(performance.now() - started)} ms after the promotion was seen`);
  await sleep(1_000);
  await probe.stop();
  const ok = samples.filter((s) => s.ok);
  const before = ok.filter((s) => s.completed < kill.injectedAt);
  // SIGKILL has taken effect only once the kill call returns: a SET sent while the call was in
  // flight may rightly be acknowledged by the old primary.
  const killed = kill.injectedAt + kill.callMs;
  const after = ok.filter((s) => s.intended > killed);
  const failed = samples.filter((s) => !s.ok);
  t.log(`probe: ${before.length} SETs acknowledged by ${[...new Set(before.map((s) => s.node))].join(', ')} before the kill; ${failed.length} failed (first ${Math.round((failed[0]?.completed ?? Number.NaN) - kill.injectedAt)} ms after the kill: ${failed[0]?.error}); ${after.length} acknowledged by ${[...new Set(after.map((s) => s.node))].join(', ')} after, the first ${Math.round((after[0]?.completed ?? Number.NaN) - kill.injectedAt)} ms after the kill (the kill call took ${Math.round(kill.callMs)} ms)`);
  t.true(before.length > 5 && before.every((s) => s.node === old.name), 'before the kill: the old primary');
  t.true(after.length > 5 && after.every((s) => s.node === promotion.primary.name), 'after the kill: only the new primary');
  t.true(failed.length > 0, 'the outage is seen');

  const onNew = env.directClient(promotion.primary);
  t.is(await onNew.get('after'), '2');
  t.is(await onNew.get('before'), '1');
  t.is(parseReplicationInfo(String(await onNew.info('replication'))).role, 'master');

  const healed = performance.now();
  await kill.heal();
  const primary = await env.waitHealthy({ timeoutMs: 90_000 });
  t.log(`old primary ${old.name} rejoined as a replica ${Math.round(performance.now() - healed)} ms after it was started again`);
  t.is(primary, promotion.primary);
  const onOld = env.directClient(old);
  const info = parseReplicationInfo(String(await onOld.info('replication')));
  t.is(info.role, 'slave');
  t.is(info.masterHost, promotion.primary.host);
  t.is(info.masterLinkStatus, 'up');
  t.is(await onOld.get('after'), '2');
  t.true((await env.replicas()).includes(old));
});

test.serial('primary paused past a promotion: the probe client\'s SET fails and is never resent; the default client resends its own', async (t) => {
  const env = await up(t, { replicas: 1, sentinels: 3 });
  const old = await env.primary();
  const probeClient = env.probeClient({ commandTimeout: 500 });
  // Without an offline queue a command before the connection is ready fails at once.
  await t.throwsAsync(probeClient.ping(), { message: /enableOfflineQueue options is false/ });
  await waitFor(() => probeClient.status === 'ready', { what: 'the probe client to connect', timeoutMs: 10_000, intervalMs: 10 });
  const plain = env.client();
  await Promise.all([probeClient.ping(), plain.ping()]);
  t.is(env.nodeOf(probeClient), old.name);

  // Aborting the waits: each rejects with the reason, at once.
  for (const [what, wait] of [
    ['waitForPromotion', (signal: AbortSignal) => env.waitForPromotion(old, { timeoutMs: 30_000, signal })],
    ['primary', (signal: AbortSignal) => env.primary({ timeoutMs: 30_000, signal })],
    ['waitHealthy', (signal: AbortSignal) => env.waitHealthy({ timeoutMs: 30_000, signal })],
  ] as const) {
    const controller = new AbortController();
    const reason = new Error(`stop ${what}`);
    const waiting = wait(controller.signal);
    if (what !== 'waitForPromotion') {
      // These hold at once while healthy: abort before they answer.
      controller.abort(reason);
      await t.throwsAsync(waiting, { is: reason });
      continue;
    }
    await sleep(300);
    const abortedAt = performance.now();
    controller.abort(reason);
    const error = await t.throwsAsync(waiting);
    const took = performance.now() - abortedAt;
    t.log(`${what}: rejected ${took.toFixed(1)} ms after the abort`);
    t.is(error, reason);
    t.true(took < 200, `${took} ms`);
  }

  const chaos = new Chaos(env.engine, { now: clock });
  const pause = await chaos.pause(old.container);
  t.teardown(() => pause.heal());
  // Both SETs are written to connections whose server is frozen.
  const sentAt = clock();
  const probeSet = probeClient.set('written-by-probe-client', '1').then(() => ({ ok: true as const, at: clock() }), (e: Error) => ({ ok: false as const, at: clock(), error: e.message }));
  const plainSet = plain.set('written-by-default-client', '1').then(() => ({ ok: true as const, at: clock() }), (e: Error) => ({ ok: false as const, at: clock(), error: e.message }));

  // While the connection is frozen, and while it reconnects, the probe client fails at once or at its timeout.
  const probeResult = await probeSet;
  t.log(`probe client SET during the pause: ${probeResult.ok ? 'OK' : probeResult.error} after ${Math.round(probeResult.at - sentAt)} ms`);
  t.false(probeResult.ok);
  t.true(probeResult.at - sentAt < 1_000, `${probeResult.at - sentAt} ms`);

  const promotion = await env.waitForPromotion(old, { timeoutMs: 30_000 });
  t.log(`paused primary ${old.name} replaced by ${promotion.primary.name} ${Math.round(promotion.at - pause.injectedAt)} ms after the pause`);
  const recovered = await waitFor(async () => {
    try {
      return (await probeClient.set('after-promotion', '1')) === 'OK' ? clock() : undefined;
    } catch {
      return undefined;
    }
  }, { what: 'the probe client to write to the new primary', timeoutMs: 15_000, intervalMs: 20 });
  t.is(env.nodeOf(probeClient), promotion.primary.name);
  t.log(`probe client wrote to ${promotion.primary.name} ${Math.round(recovered - promotion.at)} ms after the promotion was seen`);
  // It left the frozen connection at once (disconnectTimeout 100 ms), not after ioredis' default 2 s.
  t.true(recovered - promotion.at < 1_000, `${recovered - promotion.at} ms`);

  const plainResult = await plainSet;
  t.log(`default client SET sent during the pause: ${plainResult.ok ? 'OK' : plainResult.error} after ${Math.round(plainResult.at - sentAt)} ms`);

  await pause.heal();
  await env.waitHealthy({ timeoutMs: 90_000 });
  const onNew = env.directClient(promotion.primary);
  const probeKey = await onNew.exists('written-by-probe-client');
  const plainKey = await onNew.exists('written-by-default-client');
  t.log(`on the new primary after the heal: probe client's key ${probeKey ? 'present' : 'absent'}, default client's key ${plainKey ? 'present' : 'absent'}`);
  t.is(probeKey, 0, 'the failed SET of the probe client was not resent to the new primary');
  // The default client queued its unanswered SET and resent it after reconnecting: a write the
  // frozen primary never answered, acknowledged late by another node.
  t.true(plainResult.ok && plainKey === 1, 'the default client resent its SET to the new primary');
  t.true(plainResult.at > promotion.at - 100, 'and it was acknowledged only after the promotion');
});

test.serial('joins a given network under another prefix; min-replicas-to-write refuses writes without a replica', async (t) => {
  const engine = await Engine.connect();
  t.teardown(async () => {
    await engine.removeRun();
  });
  const net = await engine.createNetwork('shared');
  const env = await up(t, { engine, network: net.name, namePrefix: 'cache', replicas: 1, sentinels: 1, minReplicasToWrite: 1, minReplicasMaxLagSeconds: 1 });
  t.is(env.network, net.name);
  t.is(env.settings.quorum, 1);
  const primary = await env.primary();
  t.is(primary.address, 'cache-1:6379');
  t.is(await primary.container.ipOn(net.name).then((ip: string) => typeof ip), 'string');
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
  }, { what: 'the primary to refuse writes without a replica', timeoutMs: 15_000, intervalMs: 100 });
  t.regex(refused, /^NOREPLICAS/);

  await env.teardown();
  t.deepEqual((await engine.listContainers({ runId: engine.run.runId })).map((c) => c.Names[0]), []);
  t.is((await engine.docker.getNetwork(net.id).inspect() as { Name: string }).Name, net.name, 'the given network is left in place');
});

test.serial('teardown removes every container and the network it created, and is idempotent', async (t) => {
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
