// app-stack on the Debian trixie image (`image: 'trixie'`): both parts run from
// resilience/infra-trixie (PostgreSQL 17 under Patroni 4.0, Redis 8.0); the app (its own image)
// works against them; a killed PostgreSQL primary is replaced and orders through the app are
// committed by the new one. Small: 2 PostgreSQL nodes, 1 Redis replica, 1 Sentinel, 1 app.
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { Chaos, waitFor } from '@resilience/fixtures';
import { provision } from '../../src/index.ts';

async function postOrder(url: string, item: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${url}/orders`, {
    method: 'POST', body: JSON.stringify({ item, quantity: 1 }), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5_000),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

test.serial('trixie: the app works on PostgreSQL 17 and Redis 8; a killed PostgreSQL primary is replaced and the app writes to the new one', async (t) => {
  const origin = performance.now() - 3_600_000;
  const clock = (): number => performance.now() - origin;
  const stack = await provision({ image: 'trixie', pg: { nodes: 2 }, redis: { replicas: 1, sentinels: 1 }, now: clock });
  t.teardown(() => stack.teardown());
  t.log(`trixie stack healthy in ${stack.timings['total']} ms: ${JSON.stringify(stack.timings)}`);
  t.like(stack.settings, { image: 'trixie' });
  t.like(stack.pg.settings, { image: 'trixie', postgresMajor: 17, ttl: 20 });
  t.like(stack.redis.settings, { image: 'trixie', redisMajor: 8 });
  const pgVersion = (await stack.pg.nodes[0]!.container.exec(['postgres', '--version'])).stdout.trim();
  const patroni = (await stack.pg.nodes[0]!.container.exec(['patroni', '--version'])).stdout.trim();
  const redis = (await stack.redis.nodes[0]!.container.exec(['redis-server', '--version'])).stdout.trim();
  t.log(`versions: ${pgVersion} | ${patroni} | ${redis}`);
  t.regex(pgVersion, /PostgreSQL\) 17\./);
  t.regex(patroni, /^patroni 4\.0\./);
  t.regex(redis, /^Redis server v=8\.0\./);

  const first = await postOrder(stack.url, 'book');
  t.is(first.status, 201, JSON.stringify(first.body));
  const old = await stack.pg.primary();
  t.is(stack.pg.nodeOfAddress(String(first.body['server'])), old.name);
  await stack.pg.waitHealthy({ timeoutMs: 30_000 });

  const kill = await new Chaos(stack.engine, { now: clock }).kill(old.container);
  t.teardown(() => kill.heal());
  const promotion = await stack.pg.waitForPromotion(old, { timeoutMs: 90_000 });
  t.log(`trixie app-stack: ${promotion.primary.name} primary ${Math.round(promotion.at - kill.injectedAt)} ms after the kill`);
  t.not(promotion.primary.name, old.name);
  const after = await waitFor(async () => {
    const r = await postOrder(stack.url, 'pen').catch(() => undefined);
    return r?.status === 201 ? r : undefined;
  }, { what: 'an order through the app after the failover', timeoutMs: 60_000, intervalMs: 200 });
  t.log(`orders through the app again ${Math.round(clock() - kill.injectedAt)} ms after the kill`);
  t.is(stack.pg.nodeOfAddress(String(after.body['server'])), promotion.primary.name);

  const runId = stack.runId;
  await kill.heal();
  await stack.teardown();
  t.deepEqual(await stack.engine.listContainers({ runId }), []);
});
