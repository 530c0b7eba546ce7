// Live traffic for the failover workflow, each probe with the systems it depends on: HTTP
// writes and reads through the app, SQL writes through HAProxy, Redis writes and reads through
// Sentinel with probe-grade clients, and on request the stale-cache pair (src/stale-cache.ts:
// updates and reads of one hot order, stale reads counted after the run). Every write probe
// records the node that acknowledged it and says how its writes are read back.
import { httpProbe, readRedisIds, readWrittenIds, redisReadProbe, redisWriteProbe, sqlWriteProbe } from '@resilience/fixtures';
import { orderWriteProbe, readOrderIds, type AppStack } from '@resilience/app-stack';
import type { Traffic, TrafficContext } from '@resilience/runner';
import { ContractCounter, fetchContract, withContract } from '@resilience/fixtures/probes/contract';
import { staleCacheTraffic } from './stale-cache.ts';

export interface TrafficOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Add the stale-cache pair (cache-update, cache-read) and its staleReads / inconsistencyWindow. */
  readonly staleCache?: boolean;
}

/** Seeds one order and returns its id, for the read probe. */
export async function seedOrder(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: 'seed', quantity: 1 }) });
  if (res.status !== 201) throw new Error(`seeding an order failed: HTTP ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

/** The probes, each with the systems it depends on; the Redis probes close their probe-grade clients. */
export async function traffic(stack: AppStack, o: TrafficOptions, t: TrafficContext): Promise<Traffic[]> {
  const common = { intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: t.now };
  const orderId = await seedOrder(stack.url);
  // Every answer of the app, degraded ones included, is checked against its own contract (GET /schema).
  const contract = await fetchContract(stack.url);
  const writes = new ContractCounter();
  const reads = new ContractCounter();
  const writeCheck = withContract({ name: 'http-write', url: `${stack.url}/orders`, method: 'POST' }, contract, writes).inspect!;
  const writer = stack.redis.probeClient();
  const reader = stack.redis.probeClient();
  const primaryUrl = stack.pg.primaryUrl;
  // The pair at most 20 requests/s each: every update deletes the cached order, so the next
  // read goes to PostgreSQL; at the other probes' 100/s it doubled the app's database load and
  // stalled this 2-core machine. 50 ms still times a stale window to 50 ms.
  const staleCache = o.staleCache ? await staleCacheTraffic(stack.url, { intervalMs: Math.max(o.intervalMs, 50), timeoutMs: o.timeoutMs, mode: stack.settings.mode }, t) : [];
  return [
    {
      probe: orderWriteProbe(stack, { ...common, name: t.name('http-write'), inspect: writeCheck }),
      scopes: ['postgres'],
      contract: writes,
      verify: { store: 'table orders on the primary', readBack: () => readOrderIds(primaryUrl) },
    },
    // Cache-aside: a cached order is read from Redis, and from PostgreSQL once its cache entry expires.
    { probe: httpProbe(withContract({ ...common, name: t.name('http-read'), url: `${stack.url}/orders/${orderId}` }, contract, reads)), scopes: ['redis', 'postgres'], contract: reads },
    {
      probe: sqlWriteProbe({ ...common, name: t.name('sql-write'), connection: { connectionString: primaryUrl }, nodeOf: (address) => stack.pg.nodeOfAddress(address) }),
      scopes: ['postgres'],
      verify: { store: 'table resilience_writes on the primary', readBack: () => readWrittenIds({ connectionString: primaryUrl }, 'resilience_writes') },
    },
    {
      probe: redisWriteProbe({ ...common, name: t.name('redis-write'), redis: writer, nodeOf: (c) => stack.redis.nodeOf(c) }),
      scopes: ['redis'],
      close: () => writer.disconnect(),
      verify: {
        store: 'keys on the Redis primary',
        readBack: async () => {
          const c = stack.redis.client();
          try {
            return await readRedisIds(c);
          } finally {
            c.disconnect();
          }
        },
      },
    },
    { probe: redisReadProbe({ ...common, name: t.name('redis-read'), redis: reader }), scopes: ['redis'], close: () => reader.disconnect() },
    ...staleCache,
  ];
}
