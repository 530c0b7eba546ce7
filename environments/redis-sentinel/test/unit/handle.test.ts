// The handle without Docker: which node a client's connection goes to, the probe client's
// options, and the description with the password redacted.
import test from 'ava';
import type { Redis } from 'ioredis';
import { RedisSentinel, parseOptions, probeClientOptions, type RedisNode } from '../../src/index.ts';
import type { Resources } from '../../src/resources.ts';

function member(name: string, port: number, hostPort: number): RedisNode {
  return { name, container: { name: `rz-x-${name}` } as RedisNode['container'], host: name, port, address: `${name}:${port}`, hostPort };
}

function handle(): RedisSentinel {
  const { engine: _engine, ...settings } = parseOptions({});
  return new RedisSentinel({
    engine: { run: { runId: 'run-x' } } as unknown as RedisSentinel['engine'],
    settings, network: 'rz-x-redis',
    nodes: [member('redis-1', 6379, 41001), member('redis-2', 6379, 41002), member('redis-3', 6379, 41003)],
    sentinels: [member('redis-sentinel-1', 26379, 42001)],
    timings: { engine: 1, network: 2, nodes: 3, sentinels: 4, healthy: 5, total: 15 },
    password: 'pa55-word', resources: {} as Resources, now: () => 42,
  });
}

const client = (stream: unknown): Redis => ({ stream }) as unknown as Redis;

test('nodeOf names the node behind the connection\'s 127.0.0.1 port, and nothing else', (t) => {
  const env = handle();
  t.is(env.nodeOf(client({ remoteAddress: '127.0.0.1', remotePort: 41002 })), 'redis-2');
  t.is(env.nodeOf(client({ remoteAddress: '::ffff:127.0.0.1', remotePort: 41003 })), 'redis-3');
  t.is(env.nodeOf(client({ remoteAddress: '127.0.0.1', remotePort: 42001 })), undefined, 'a Sentinel is not a node');
  t.is(env.nodeOf(client({ remoteAddress: '10.0.0.2', remotePort: 41002 })), undefined, 'not through the published port');
  t.is(env.nodeOf(client({ remoteAddress: '127.0.0.1', remotePort: 41002, destroyed: true })), undefined, 'a closed connection');
  t.is(env.nodeOf(client(undefined)), undefined);
});

test('the probe client never queues, retries, resends or resubscribes, and reconnects fast', (t) => {
  const o = probeClientOptions();
  t.like(o, { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, autoResubscribe: false, commandTimeout: 1_000, disconnectTimeout: 100 });
  t.true((o.retryStrategy?.(1) ?? 1_000) <= 100 && (o.retryStrategy?.(50) ?? 1_000) <= 100);
  t.is(typeof o.reconnectOnError === 'function' ? o.reconnectOnError(new Error('READONLY You can\'t write against a read only replica.')) : undefined, 1, 'reconnect on READONLY, without resending');
});

test('describe shows the password only when asked, and no labels', (t) => {
  const env = handle();
  const d = env.describe();
  t.is(d.password, '***');
  t.false(JSON.stringify(d).includes('pa55-word'));
  t.is(env.describe({ showSecrets: true }).password, 'pa55-word');
  t.like(d, { runId: 'run-x', network: 'rz-x-redis', masterName: 'mymaster' });
  t.deepEqual(d.nodes[1], { name: 'redis-2', container: 'rz-x-redis-2', address: 'redis-2:6379', hostPort: 41002 });
  t.false('labels' in d.settings);
});

test('node() and waitForPromotion name an unknown node', async (t) => {
  const env = handle();
  t.is(env.node('redis-3').hostPort, 41003);
  t.throws(() => env.node('redis-9'), { message: /`node`.*one of redis-1, redis-2, redis-3.*got `redis-9`/ });
  await t.throwsAsync(env.waitForPromotion('redis-9'), { message: /`previous`/ });
});
