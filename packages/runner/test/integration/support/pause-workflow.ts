// A small real workflow for the runner's tests, declared on the runner: a Redis container, a
// 10 ms GET probe and a 10 ms SET probe (verified), a pause of exactly --pause, heal, steady again.
import { z } from 'zod';
import { readRedisIds, redisReadProbe, redisWriteProbe, startRedis, type ContainerHandle } from '@resilience/fixtures';
import { Redis } from 'ioredis';
import { defineWorkflow, heal, hold, inject, node, observe, parseDuration, runWorkflow, steady } from '../../../src/index.ts';

const Options = z.object({
  pause: z.string().default('1s').transform((v) => parseDuration('--pause', v)),
  steady: z.string().default('1s').transform((v) => parseDuration('--steady', v)),
  kind: z.enum(['pause', 'kill']).default('pause'),
  imageTag: z.string().optional(),
}).strict();

interface Env {
  readonly container: ContainerHandle;
  readonly port: number;
}

export const pauseWorkflow = defineWorkflow<z.infer<typeof Options>, Env>({
  name: 'pause-demo',
  description: 'pauses a Redis container under a 10 ms probe',
  options: Options,
  usage: '  --pause DURATION   how long the fault lasts (default 1s)\n  --steady DURATION  steady state before and after (default 1s)\n  --kind pause|kill  the fault (default pause)',
  hypotheses: () => ['availability(steady) >= 99%', 'rto <= 30s'],
  // For the preflight test: an extra image the run needs.
  images: (o) => (o.imageTag ? [{ flag: '--image-tag', value: o.imageTag, tag: o.imageTag }] : []),
  environment: async (_o, setup) => {
    const { container, port } = await startRedis(setup.engine, { name: 'redis', signal: setup.signal });
    return { handle: { container, port }, teardown: async () => undefined, versions: { redis: 'redis (fixtures)' } };
  },
  traffic: (env, _o, t) => {
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
