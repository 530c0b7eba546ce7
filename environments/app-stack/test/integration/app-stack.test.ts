// The real stack: an order placed through the app is in PostgreSQL and, once read, in Redis on
// the Redis primary; the app names the PostgreSQL node that committed each order, so an HTTP
// write probe attributes every acknowledged write; the hardened app reads through the database
// while the Redis primary is frozen and refuses writes fast while the PostgreSQL primary is; the
// naive app hangs instead; `now` and `sync` reach the parts; teardown leaves nothing behind.
import test, { type ExecutionContext } from 'ava';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { Chaos, Labels, httpProbe, waitFor, type ProbeSample } from '@resilience/fixtures';
import { queryOnce } from '@resilience/pg-ha';
import { appHealth, provision, type AppStack } from '../../src/index.ts';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly cache: string | undefined;
  readonly ms: number;
}

async function call(url: string, init: { method?: 'GET' | 'POST'; body?: unknown; timeoutMs?: number } = {}): Promise<Reply> {
  const started = performance.now();
  const res = await request(url, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  const body = (await res.body.json()) as Record<string, unknown>;
  const cache = res.headers['x-cache'];
  return { status: res.statusCode, body, cache: typeof cache === 'string' ? cache : undefined, ms: performance.now() - started };
}

async function placeOrder(stack: AppStack, item: string): Promise<string> {
  const r = await call(`${stack.url}/orders`, { method: 'POST', body: { item, quantity: 2 } });
  if (r.status !== 201 || typeof r.body['id'] !== 'string') throw new Error(`POST /orders answered ${r.status} ${JSON.stringify(r.body)}`);
  return r.body['id'];
}

/** Every app instance healthy with both dependencies up again (after a heal). */
async function allUp(stack: AppStack): Promise<void> {
  await Promise.all(stack.apps.map((a) => waitFor(async () => {
    const h = await appHealth(a.url);
    return h.status === 'ok' && h.dependencies?.database === 'up' && h.dependencies.cache === 'up';
  }, { what: `${a.name} healthy again`, timeoutMs: 60_000, intervalMs: 200 })));
}

async function assertRunGone(t: ExecutionContext, stack: AppStack): Promise<void> {
  const runId = stack.runId;
  t.deepEqual(await stack.engine.listContainers({ runId }), [], 'no container of the run remains');
  t.deepEqual(await stack.engine.docker.listNetworks({ filters: { label: [`${Labels.runId}=${runId}`] } }), [], 'no network of the run remains');
}

let stack: AppStack;
/** An order read once through the app, so it is in the cache. */
let cachedId: string;

test.before(async (t) => {
  const started = performance.now();
  stack = await provision({ mode: 'hardened', instances: 2 });
  t.log(`hardened stack healthy in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(stack.timings)}; pg-ha ${JSON.stringify(stack.pg.timings)}; redis-sentinel ${JSON.stringify(stack.redis.timings)}`);
});

test.after.always(async () => {
  await stack?.teardown();
});

test.serial('an order placed through the app is read back, the second time from the Redis cache on the Redis primary', async (t) => {
  const placed = await call(`${stack.url}/orders`, { method: 'POST', body: { item: 'book', quantity: 2 } });
  t.is(placed.status, 201);
  const id = String(placed.body['id']);
  const pgPrimary = await stack.pg.primary();
  t.like(placed.body, { item: 'book', quantity: 2 });
  t.log(`POST /orders answered ${JSON.stringify(placed.body)}; primary ${pgPrimary.name} is ${await pgPrimary.container.ipOn(stack.network)}`);
  t.is(stack.pg.nodeOfAddress(String(placed.body['server'])), pgPrimary.name, 'the answer names the node that committed the order');
  const [row] = await queryOnce<{ item: string; quantity: number }>(stack.pg.primaryUrl, 'select item, quantity from orders where id = $1', [id]);
  t.deepEqual(row, { item: 'book', quantity: 2 }, 'the row is in PostgreSQL');

  const first = await call(`${stack.apps[0]!.url}/orders/${id}`);
  t.is(first.status, 200);
  t.like(first.body, { id, item: 'book', quantity: 2, source: 'database' });
  t.is(first.cache, 'miss');

  // The second read, through the other instance: the cache is shared.
  const second = await call(`${stack.apps[1]!.url}/orders/${id}`);
  t.is(second.status, 200);
  t.like(second.body, { id, item: 'book', quantity: 2, source: 'cache' });
  t.is(second.cache, 'hit');

  const redis = stack.redis.client();
  const primary = await stack.redis.primary();
  t.is(await redis.call('ROLE').then((r) => (r as unknown[])[0]), 'master', 'the Sentinel client is on the primary');
  t.is(stack.redis.nodeOf(redis), primary.name);
  const cached = await redis.get(`order:${id}`);
  t.truthy(cached, `order:${id} is on the primary ${primary.name}`);
  t.like(JSON.parse(cached!) as object, { id, item: 'book', quantity: 2 });
  cachedId = id;
});

test.serial('an HTTP write probe (POST /orders) attributes every acknowledged order to the PostgreSQL primary', async (t) => {
  const primary = await stack.pg.primary();
  const samples: ProbeSample[] = [];
  const probe = httpProbe({
    name: 'http-write', url: `${stack.url}/orders`, method: 'POST', intervalMs: 10,
    headers: { 'content-type': 'application/json' },
    body: ({ seq }) => JSON.stringify({ item: `probe-${seq}`, quantity: 1 }),
    okStatus: (status) => status === 201,
    acknowledge: ({ body }, context) => {
      const order = JSON.parse(body) as { id: string; server: string };
      context.writeId = order.id;
      context.node = stack.pg.nodeOfAddress(order.server);
    },
    onSample: (s) => samples.push(s),
  });
  await probe.start();
  await sleep(500);
  await probe.stop();
  const ok = samples.filter((s) => s.ok);
  t.true(ok.length >= 30, `${ok.length} of ${samples.length} acknowledged`);
  t.deepEqual([...new Set(ok.map((s) => s.node))], [primary.name]);
  const ids = ok.map((s) => s.writeId!);
  const rows = await queryOnce<{ n: string }>(stack.pg.primaryUrl, 'select count(*) as n from orders where id = any($1::uuid[])', [ids]);
  t.is(Number(rows[0]?.n), ids.length, 'every acknowledged order is in the table');
});

test.serial('no password is visible to `docker inspect`: not in any container\'s environment, command or labels', async (t) => {
  const secrets = [stack.pg.credentials.superuser.password, stack.pg.credentials.replication.password, stack.pg.credentials.app.password, stack.redis.password];
  const containers = await stack.engine.listContainers({ runId: stack.runId });
  t.true(containers.length >= 12, `the whole stack is read (${containers.length} containers)`);
  for (const c of containers) {
    const { Config } = await stack.engine.docker.getContainer(c.Id).inspect();
    const shown = JSON.stringify({ env: Config.Env, cmd: Config.Cmd, entrypoint: Config.Entrypoint, labels: Config.Labels });
    for (const [i, secret] of secrets.entries()) t.false(shown.includes(secret), `secret ${i} in ${c.Names.join(',')}`);
  }
  // The app got them from files instead, and works (the tests above place and read orders).
  const app = stack.apps[0]!.container;
  t.is((await app.exec(['sh', '-c', 'stat -c "%a %u" /run/secrets/database-url; printenv DATABASE_URL_FILE'])).stdout.trim(), '600 1000\n/run/secrets/database-url');
});

test.serial('/health of every instance says database and cache up', async (t) => {
  for (const app of stack.apps) {
    const h = await appHealth(app.url);
    t.is(h.httpStatus, 200, app.name);
    t.like(h, { status: 'ok', mode: 'hardened', dependencies: { database: 'up', cache: 'up' } }, app.name);
  }
});

test.serial('with the Redis primary paused, an uncached order is read from the database within 1.5 s and /health says degraded', async (t) => {
  const id = await placeOrder(stack, 'lamp');
  const primary = await stack.redis.primary();
  const fault = await new Chaos(stack.engine).pause(primary.container);
  t.teardown(() => fault.heal());
  // Both at once, and healed before Sentinel's down-after (2 s) can start a failover.
  const [read, health] = await Promise.all([call(`${stack.url}/orders/${id}`), appHealth(stack.url)]);
  await fault.heal();
  t.log(`read during the Redis pause: ${read.status} in ${Math.round(read.ms)} ms; /health ${health.status}`);
  t.is(read.status, 200);
  t.like(read.body, { id, item: 'lamp', source: 'database' });
  t.true(read.ms < 1_500, `${Math.round(read.ms)} ms`);
  t.is(health.httpStatus, 200, 'hardened serves every request without the cache');
  t.like(health, { status: 'degraded', dependencies: { database: 'up', cache: 'down' } });

  await stack.redis.waitHealthy({ timeoutMs: 30_000 });
  await allUp(stack);
});

test.serial('with the PostgreSQL primary paused, POST /orders answers 503 within 1.5 s while a cached order is still read', async (t) => {
  // Read it once more, so it is cached whatever the TTL did meanwhile.
  await call(`${stack.url}/orders/${cachedId}`);
  const leader = await stack.pg.primary();
  const fault = await new Chaos(stack.engine).pause(leader.container);
  t.teardown(() => fault.heal());
  const [post, read] = await Promise.all([
    call(`${stack.url}/orders`, { method: 'POST', body: { item: 'chair', quantity: 1 } }),
    call(`${stack.url}/orders/${cachedId}`),
  ]);
  // Healed long before the leader lock (ttl 10 s) expires: no failover.
  await fault.heal();
  t.log(`during the primary pause: POST ${post.status} in ${Math.round(post.ms)} ms (${JSON.stringify(post.body)}); cached GET ${read.status} in ${Math.round(read.ms)} ms`);
  t.is(post.status, 503);
  t.like(post.body, { error: 'database unavailable' });
  t.true(post.ms < 1_500, `${Math.round(post.ms)} ms`);
  t.is(read.status, 200);
  t.is(read.cache, 'hit');
  t.like(read.body, { id: cachedId, source: 'cache' });

  await stack.pg.waitHealthy({ timeoutMs: 60_000 });
  t.is((await stack.pg.primary()).name, leader.name, 'the same primary, no failover');
  await allUp(stack);
  const again = await call(`${stack.url}/orders`, { method: 'POST', body: { item: 'chair', quantity: 1 } });
  t.is(again.status, 201, 'writes work again after the heal');
});

test.serial('teardown of the hardened stack removes every container and the network of its run', async (t) => {
  t.true((await stack.engine.listContainers({ runId: stack.runId })).length >= 12);
  await stack.teardown();
  await stack.teardown(); // idempotent
  await assertRunGone(t, stack);
});

test.serial('naive mode, sync and a run clock: with the primary paused, POST /orders hangs past a 2.5 s client timeout (hardened answers 503 in 1 s)', async (t) => {
  const started = performance.now();
  const origin = performance.now() - 3_600_000;
  const clock = (): number => performance.now() - origin;
  const naive = await provision({ mode: 'naive', instances: 1, sync: true, now: clock, pg: { nodes: 2 }, redis: { replicas: 1, sentinels: 1 } });
  t.teardown(() => naive.teardown());
  t.log(`naive stack healthy in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(naive.timings)}`);
  t.is((await appHealth(naive.url)).mode, 'naive');
  t.truthy(await placeOrder(naive, 'desk'), 'writes work before the fault');
  // `now` and `sync` reached the parts.
  t.is(naive.now, clock);
  t.is(naive.pg.now, clock);
  t.is(naive.redis.now, clock);
  t.like(naive.pg.settings, { sync: true });
  t.truthy((await naive.pg.members()).find((m) => m.role === 'sync_standby'), 'a sync standby');

  const leader = await naive.pg.primary();
  const fault = await new Chaos(naive.engine).pause(leader.container);
  t.teardown(() => fault.heal());
  const postStarted = performance.now();
  const error = await t.throwsAsync(call(`${naive.url}/orders`, { method: 'POST', body: { item: 'desk', quantity: 1 }, timeoutMs: 2_500 }));
  const waited = performance.now() - postStarted;
  await fault.heal();
  t.log(`naive POST during the leader pause: no answer after ${Math.round(waited)} ms (${error.name})`);
  t.is(error.name, 'TimeoutError', error.message);
  t.true(waited >= 2_500, `${Math.round(waited)} ms`);

  await naive.teardown();
  await assertRunGone(t, naive);
});
