// Each node asked directly what it is, for the runner's role watcher: PostgreSQL through its
// own published port (`pg_is_in_recovery()`), Redis through its own (`ROLE`, and whether a
// master with min-replicas-to-write has enough good replicas to accept writes). One
// connection per node, more while one hangs, dropped and made anew after any failure or timeout.
import type { RoleReading, RoleSource } from '@resilience/runner';
import type { PgHa } from '@resilience/pg-ha';
import type { RedisSentinel } from '@resilience/redis-sentinel';
import type { Redis } from 'ioredis';
import pg from 'pg';

/**
 * A role source over connections made as needed: a poll takes an idle connection or opens one
 * (polls of one node may overlap while it hangs), gives it back after an answer, and drops it
 * when the poll fails or is aborted.
 */
function source<C>(node: string, open: () => Promise<C>, drop: (c: C) => void, read: (c: C) => Promise<RoleReading>): RoleSource {
  const idle: C[] = [];
  const busy = new Set<Promise<C>>();
  return {
    node,
    poll: async (signal) => {
      const c = idle.pop();
      const taken = c === undefined ? open() : Promise.resolve(c);
      busy.add(taken);
      const onAbort = () => void taken.then(drop, () => undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const conn = await taken;
        const r = await read(conn);
        if (!signal.aborted && idle.length < 2) idle.push(conn);
        else if (!signal.aborted) drop(conn);
        return r;
      } catch (e) {
        void taken.then(drop, () => undefined);
        throw e;
      } finally {
        busy.delete(taken);
        signal.removeEventListener('abort', onAbort);
      }
    },
    close: () => {
      for (const c of idle.splice(0)) drop(c);
      for (const b of busy) void b.then(drop, () => undefined);
    },
  };
}

export function pgRoleSources(pgHa: PgHa): RoleSource[] {
  return pgHa.nodes.map((n) => source(n.name,
    async () => {
      const c = new pg.Client({ connectionString: n.superuserUrl, connectionTimeoutMillis: 1_000, application_name: 'resilience-role-watch' });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
    (c) => {
      (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      void c.end().catch(() => undefined);
    },
    async (c) => {
      const r = await c.query<{ r: boolean }>('select pg_is_in_recovery() as r');
      return r.rows[0]?.r === false ? { role: 'primary', writable: true, detail: 'not in recovery' } : { role: 'replica', writable: false, detail: 'in recovery' };
    }));
}

export function redisRoleSources(redis: RedisSentinel): RoleSource[] {
  const need = redis.settings.minReplicasToWrite;
  return redis.nodes.map((n) => source<Redis>(n.name,
    async () => {
      const c = redis.directClient(n, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
    (c) => c.disconnect(),
    async (c) => {
      const role = (await c.call('ROLE')) as unknown[];
      if (role[0] !== 'master') return { role: 'replica', writable: false, detail: `${String(role[0])} of ${String(role[1] ?? '?')}` };
      if (need === 0) return { role: 'primary', writable: true, detail: 'master' };
      const info = String(await c.call('INFO', 'replication'));
      const good = Number(/min_slaves_good_slaves:(\d+)/.exec(info)?.[1] ?? Number.NaN);
      return good >= need
        ? { role: 'primary', writable: true, detail: `master, ${good} good replicas` }
        : { role: 'primary', writable: false, detail: `master refusing writes (NOREPLICAS: ${Number.isNaN(good) ? '?' : good} of ${need} good replicas)` };
    }));
}
