// Live traffic for the failover workflow: HTTP writes and reads through the app, SQL
// acknowledged writes through HAProxy, Redis writes and reads through Sentinel.
import { randomBytes } from 'node:crypto';
import { Pool as HttpPool } from 'undici';
import { Probe, httpProbe, sqlWriteProbe, redisWriteProbe, redisReadProbe } from '@resilience/fixtures';
import type { AppStack } from '@resilience/app-stack';
import type { Redis } from 'ioredis';

export interface TrafficOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
}

/** POST /orders; an order id returned with 201 is an acknowledged write (the app answers after commit). */
export function httpWriteProbe(baseUrl: string, o: TrafficOptions): Probe {
  const pool = new HttpPool(baseUrl, { connections: 64, keepAliveTimeout: 10_000 });
  let seq = 0;
  return new Probe({
    name: 'http-write',
    op: 'POST /orders',
    intervalMs: o.intervalMs,
    timeoutMs: o.timeoutMs,
    now: o.now,
    run: async (ctx) => {
      const res = await pool.request({
        path: '/orders', method: 'POST', signal: ctx.signal,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: `probe-${++seq}`, quantity: 1 }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`HTTP ${res.statusCode}`);
      ctx.writeId = (JSON.parse(text) as { id: string }).id;
    },
    close: () => pool.close(),
  });
}

/** Seeds one order and returns its id, for the read probe. */
export async function seedOrder(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: `seed-${randomBytes(3).toString('hex')}`, quantity: 1 }) });
  if (res.status !== 201) throw new Error(`seeding an order failed: HTTP ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

export interface Traffic {
  readonly probes: Probe[];
  /** Probes whose success depends on each target. */
  readonly dependsOn: { readonly postgres: readonly string[]; readonly redis: readonly string[] };
  readonly redisClients: Redis[];
}

export function traffic(stack: AppStack, orderId: string, o: TrafficOptions): Traffic {
  const redisWriter = stack.redis.client();
  const redisReader = stack.redis.client();
  const probes = [
    httpWriteProbe(stack.url, o),
    httpProbe({ name: 'http-read', url: `${stack.url}/orders/${orderId}`, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: o.now }),
    sqlWriteProbe({ name: 'sql-write', connection: { connectionString: stack.pg.leaderUrl }, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: o.now }),
    redisWriteProbe({ name: 'redis-write', redis: redisWriter, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: o.now }),
    redisReadProbe({ name: 'redis-read', redis: redisReader, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: o.now }),
  ];
  return {
    probes,
    dependsOn: { postgres: ['http-write', 'sql-write'], redis: ['redis-write', 'redis-read'] },
    redisClients: [redisWriter, redisReader],
  };
}
