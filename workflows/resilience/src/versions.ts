// The versions of the systems under test, read from the binaries in their containers, for the report.
import type { PgHa } from '@resilience/pg-ha';
import type { RedisSentinel } from '@resilience/redis-sentinel';

interface Execs {
  exec(cmd: string[]): Promise<{ stdout: string }>;
}

const out = async (c: Execs, cmd: string[]) => (await c.exec(cmd)).stdout.trim();

/** `Redis server v=7.0.15 sha=...` as `Redis server v=7.0.15`. */
export async function redisVersion(r: RedisSentinel): Promise<string> {
  return (await out(r.nodes[0]!.container, ['redis-server', '--version'])).split(' ').slice(0, 3).join(' ');
}

export async function pgVersions(pg: PgHa): Promise<{ postgres: string; patroni: string; etcd: string; haproxy: string }> {
  const [postgres, patroni, etcd, haproxy] = await Promise.all([
    out(pg.nodes[0]!.container, ['postgres', '--version']),
    out(pg.nodes[0]!.container, ['patroni', '--version']),
    out(pg.etcd[0]!, ['etcd', '--version']),
    out(pg.haproxy, ['haproxy', '-v']),
  ]);
  return { postgres, patroni, etcd: etcd.split('\n')[0]?.trim() ?? etcd, haproxy: haproxy.split('\n')[0]?.trim() ?? haproxy };
}

export async function redisVersions(r: RedisSentinel): Promise<{ redis: string }> {
  return { redis: await redisVersion(r) };
}
