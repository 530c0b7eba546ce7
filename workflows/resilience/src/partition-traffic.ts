// Live writes for the partition workflow. PostgreSQL: SQL writes through HAProxy, each
// acknowledgement attributed to the node that committed it. Redis: writes through the
// Sentinels (the majority side, following the failover) and writes by a client on the cut-off
// master's side, connected straight to it (Jepsen's 2013 setup).
import { OperationFailure, Probe, readRedisIds, readWrittenIds, redisWriteProbe, sqlWriteProbe, DEFAULT_WRITE_PREFIX } from '@resilience/fixtures';
import type { PgHa } from '@resilience/pg-ha';
import type { RedisSentinel } from '@resilience/redis-sentinel';
import type { Traffic, TrafficContext } from '@resilience/runner';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TrafficOptions } from './traffic.ts';

export function pgTraffic(pg: PgHa, o: TrafficOptions, t: TrafficContext): Traffic[] {
  return [{
    probe: sqlWriteProbe({ intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: t.now, name: t.name('sql-write'), connection: { connectionString: pg.primaryUrl }, nodeOf: (address) => pg.nodeOfAddress(address) }),
    scopes: ['postgres'],
    verify: { store: 'table resilience_writes on the primary', readBack: () => readWrittenIds({ connectionString: pg.primaryUrl }, 'resilience_writes') },
  }];
}

/** The keys of both Redis write probes, read through a client of the current master. */
async function readBack(redis: RedisSentinel): Promise<Set<string>> {
  const c = redis.client();
  try {
    return await readRedisIds(c);
  } finally {
    c.disconnect();
  }
}

/**
 * Writes to the node `pin.node` names, over a probe-grade direct connection per node (no
 * offline queue, nothing resent): the client on the master's side of a cut keeps writing to it.
 * Like a Sentinel client, it asks the Sentinels for the master again only when the node answers
 * READONLY (it was turned into a replica), so it writes to the old master until then.
 */
function pinnedWriteProbe(redis: RedisSentinel, pin: { node: string }, o: TrafficOptions, t: TrafficContext): { probe: Probe; close(): void } {
  const clients = new Map<string, Redis>();
  const clientOf = (node: string) => {
    let c = clients.get(node);
    if (!c) {
      c = redis.directClient(redis.node(node), { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, commandTimeout: o.timeoutMs, connectTimeout: o.timeoutMs, retryStrategy: (n: number) => Math.min(n * 10, 100) });
      c.on('error', () => undefined);
      clients.set(node, c);
    }
    return c;
  };
  const name = t.name('redis-isolated');
  const tag = randomBytes(4).toString('hex');
  let asking: Promise<void> | undefined;
  const probe = new Probe({
    name, op: 'redis.write', intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: t.now,
    run: async (ctx) => {
      const node = pin.node;
      ctx.writeId = `${name}-${tag}-${ctx.seq}`;
      let reply: string | null;
      try {
        reply = await clientOf(node).set(`${DEFAULT_WRITE_PREFIX}${ctx.writeId}`, '1');
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('READONLY') && !asking) {
          asking = redis.primary().then((p) => { if (pin.node === node) pin.node = p.name; }, () => undefined).finally(() => { asking = undefined; });
        }
        throw e;
      }
      if (reply !== 'OK') throw new OperationFailure(`unexpected SET reply ${String(reply)}`);
      ctx.node = node;
    },
  });
  return { probe, close: () => { for (const c of clients.values()) c.disconnect(); } };
}

export function redisTraffic(redis: RedisSentinel, pin: { node: string }, o: TrafficOptions, t: TrafficContext): Traffic[] {
  const writer = redis.probeClient();
  const pinned = pinnedWriteProbe(redis, pin, o, t);
  const verify = { store: 'keys on the Redis master', readBack: () => readBack(redis) };
  return [
    {
      probe: redisWriteProbe({ intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: t.now, name: t.name('redis-write'), redis: writer, nodeOf: (c) => redis.nodeOf(c) }),
      scopes: ['redis'], close: () => writer.disconnect(), verify,
    },
    { probe: pinned.probe, scopes: ['redis'], close: pinned.close, verify },
  ];
}
