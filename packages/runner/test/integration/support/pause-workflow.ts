// A small real workflow for the runner's tests, declared on the runner: a Redis container, a
// 10 ms GET probe and a 10 ms SET probe (verified), a pause of exactly --pause, heal, steady again.
// With --probes in-network the Redis has no published port: the probes run in an agent on its
// network (as against a remote engine) and the writes are read back with redis-cli inside it.
import { z } from 'zod';
import { DEFAULT_WRITE_PREFIX, Images, inNetworkProbe, readRedisIds, redisReadProbe, redisWriteProbe, startRedis, waitFor, type ContainerHandle, type Engine } from '@resilience/fixtures';
import { Redis } from 'ioredis';
import { defineWorkflow, heal, hold, inject, node, observe, parseDuration, runWorkflow, steady } from '../../../src/index.ts';

const Options = z.object({
  pause: z.string().default('1s').transform((v) => parseDuration('--pause', v)),
  steady: z.string().default('1s').transform((v) => parseDuration('--steady', v)),
  kind: z.enum(['pause', 'kill']).default('pause'),
  imageTag: z.string().optional(),
  probes: z.enum(['local', 'in-network']).default('local'),
}).strict();

interface Env {
  readonly container: ContainerHandle;
  readonly port: number;
  readonly engine: Engine;
  /** Set in-network: the Redis is `redis:6379` there, with no published port. */
  readonly network?: string;
}

export const pauseWorkflow = defineWorkflow<z.infer<typeof Options>, Env>({
  name: 'pause-demo',
  description: 'pauses a Redis container under a 10 ms probe',
  options: Options,
  usage: '  --pause DURATION   how long the fault lasts (default 1s)\n  --steady DURATION  steady state before and after (default 1s)\n  --kind pause|kill  the fault (default pause)\n  --probes local|in-network  where the probes run (default local)',
  hypotheses: () => ['availability(steady) >= 99%', 'rto <= 30s'],
  // For the preflight test: an extra image the run needs.
  images: (o) => (o.imageTag ? [{ flag: '--image-tag', value: o.imageTag, tag: o.imageTag }] : []),
  environment: async (o, setup) => {
    if (o.probes === 'in-network') {
      const network = (await setup.engine.createNetwork('pause')).name;
      const container = await setup.engine.startContainer({
        image: Images.infra, name: 'redis', role: 'redis', networks: [{ network, aliases: ['redis'] }],
        cmd: ['redis-server', '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
      }, setup.signal);
      await waitFor(async () => (await container.exec(['redis-cli', 'ping'])).stdout.trim() === 'PONG', { what: 'Redis to answer inside its container', timeoutMs: 20_000, intervalMs: 100, signal: setup.signal });
      return { handle: { container, port: 0, engine: setup.engine, network }, teardown: async () => undefined, versions: { redis: 'redis (fixtures)' } };
    }
    const { container, port } = await startRedis(setup.engine, { name: 'redis', signal: setup.signal });
    return { handle: { container, port, engine: setup.engine }, teardown: async () => undefined, versions: { redis: 'redis (fixtures)' } };
  },
  traffic: (env, _o, t) => {
    if (env.network) {
      const agent = (kind: 'redis-read' | 'redis-write', name: string) => inNetworkProbe({ engine: env.engine, network: env.network!, now: t.now, spec: { kind, name: t.name(name), host: 'redis', port: 6379, intervalMs: 10, timeoutMs: 250 } });
      return [
        { probe: agent('redis-read', 'redis-get'), scopes: ['redis'] },
        {
          probe: agent('redis-write', 'redis-set'),
          scopes: ['redis'],
          verify: {
            store: 'keys on the Redis container (redis-cli --scan inside it)',
            readBack: async () => {
              const r = await env.container.exec(['redis-cli', '--scan', '--pattern', `${DEFAULT_WRITE_PREFIX}*`]);
              if (r.exitCode !== 0) throw new Error(`redis-cli --scan failed: ${r.stderr}`);
              return new Set(r.stdout.split('\n').filter(Boolean).map((k) => k.slice(DEFAULT_WRITE_PREFIX.length)));
            },
          },
        },
      ];
    }
    const writer = new Redis({ host: '127.0.0.1', port: env.port, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
    return [
      { probe: redisReadProbe({ name: t.name('redis-get'), redis: { host: '127.0.0.1', port: env.port }, intervalMs: 10, timeoutMs: 250, now: t.now }), scopes: ['redis'] },
      {
        probe: redisWriteProbe({ name: t.name('redis-set'), redis: writer, intervalMs: 10, timeoutMs: 250, now: t.now }),
        scopes: ['redis'],
        verify: {
          store: 'keys on the Redis container',
          readBack: async () => {
            const c = new Redis({ host: '127.0.0.1', port: env.port });
            try {
              return await readRedisIds(c);
            } finally {
              c.disconnect();
            }
          },
        },
      },
    ];
  },
  schedule: (o) => [
    steady(o.steady),
    inject(o.kind, node<Env>('redis', (env) => ({ name: 'redis', container: env.container })), { scope: 'redis' }),
    { label: 'ready', run: async (sc) => sc.note('READY-FAULT') },
    hold(o.pause),
    heal(),
    observe(o.steady),
  ],
});

if (import.meta.main) {
  const result = await runWorkflow(pauseWorkflow, { argv: process.argv.slice(2), reportsRoot: process.env['REPORTS_ROOT'] });
  process.exit(result.exitCode);
}
