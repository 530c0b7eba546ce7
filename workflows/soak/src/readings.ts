// What the soak reads from the systems every sampling period, beside Docker's numbers:
// PostgreSQL connections and database size (on the primary, through HAProxy), and per Redis
// node its clients, memory and keys. One client each, kept for the whole run, so the readings
// do not themselves grow the connection counts they measure. Per app instance, its own Node.js
// numbers from /metrics (heap used and total, external memory, resident set): a container's
// memory that grows while the heap stays flat is V8 and the allocator, not live objects.
import type { AppStack } from '@resilience/app-stack';
import type { ResourceReading } from '@resilience/runner';
import pg from 'pg';
import type { Redis } from 'ioredis';

/** Unlabelled-or-labelled Prometheus samples of the named metrics, summed per name. */
export function promNumbers(text: string, names: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (-?[0-9.eE+-]+)(?: \d+)?$/.exec(line.trim());
    const key = m ? names[m[1]!] : undefined;
    if (m && key !== undefined && Number.isFinite(Number(m[2]))) out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

const APP_METRICS = {
  nodejs_heap_size_used_bytes: 'heapUsedBytes',
  nodejs_heap_size_total_bytes: 'heapTotalBytes',
  nodejs_external_memory_bytes: 'externalBytes',
  process_resident_memory_bytes: 'rssBytes',
} as const;

/** `used_memory:123` lines of INFO as numbers. */
export function infoNumbers(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of info.split(/\r?\n/)) {
    const m = /^([a-z_]+):(-?\d+(?:\.\d+)?)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
    const keys = /^db\d+:keys=(\d+)/.exec(line.trim());
    if (keys) out['keys'] = (out['keys'] ?? 0) + Number(keys[1]);
  }
  return out;
}

export function stackReadings(stack: AppStack): { read(): Promise<ResourceReading[]>; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: stack.pg.superuserUrl, max: 1, connectionTimeoutMillis: 2_000, statement_timeout: 2_000, application_name: 'soak-readings' });
  pool.on('error', () => undefined);
  const redis = new Map<string, Redis>();
  const clientOf = (node: AppStack['redis']['nodes'][number]) => {
    let c = redis.get(node.name);
    if (!c) {
      c = stack.redis.directClient(node, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: false, retryStrategy: () => 1_000 });
      c.on('error', () => undefined);
      redis.set(node.name, c);
    }
    return c;
  };
  return {
    async read() {
      const out: ResourceReading[] = [];
      const pgRead = pool.query<{ node: string; connections: string; size: string }>(
        `select (select setting from pg_settings where name = 'cluster_name') as node, (select count(*) from pg_stat_activity where backend_type = 'client backend') as connections, pg_database_size(current_database()) as size`,
      ).then((r) => {
        const row = r.rows[0];
        // Named by the cluster (the primary changes with every failover).
        if (row) out.push({ container: 'postgres', values: { pgConnections: Number(row.connections), dbSizeBytes: Number(row.size) } });
      }, () => undefined);
      const redisReads = stack.redis.nodes.map(async (node) => {
        try {
          const n = infoNumbers(String(await clientOf(node).info()));
          out.push({
            container: node.name,
            values: {
              ...(n['connected_clients'] === undefined ? {} : { connections: n['connected_clients'] }),
              ...(n['used_memory'] === undefined ? {} : { usedMemoryBytes: n['used_memory'] }),
              ...(n['used_memory_dataset'] === undefined ? {} : { datasetBytes: n['used_memory_dataset'] }),
              keys: n['keys'] ?? 0,
            },
          });
        } catch {
          // Down or paused: no reading this time.
        }
      });
      const appReads = stack.apps.map(async (app) => {
        try {
          const res = await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
          const values = promNumbers(await res.text(), APP_METRICS);
          if (res.ok && Object.keys(values).length) out.push({ container: app.name, values });
        } catch {
          // Down, paused or cut off by a fault: no reading this time.
        }
      });
      await Promise.all([pgRead, ...redisReads, ...appReads]);
      return out;
    },
    async close() {
      for (const c of redis.values()) c.disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}
