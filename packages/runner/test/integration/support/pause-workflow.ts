// A small real workflow for the runner's tests: a Redis container, a 10 ms GET probe, a pause
// of --pause-ms, heal, then steady state again.
import { z } from 'zod';
import { redisReadProbe, startRedis } from '@resilience/fixtures';
import { runWorkflow, parseHypothesis, parseDuration, type WorkflowDefinition } from '../../../src/index.ts';

const Options = z.object({
  pause: z.string().default('1s').transform((v) => parseDuration('--pause', v)),
  steady: z.string().default('1s').transform((v) => parseDuration('--steady', v)),
}).strict();

export const pauseWorkflow: WorkflowDefinition<z.infer<typeof Options>> = {
  name: 'pause-demo',
  description: 'pauses a Redis container under a 10 ms probe',
  options: Options,
  usage: '  --pause DURATION   how long the pause lasts (default 1s)\n  --steady DURATION  steady state before and after (default 1s)',
  hypotheses: () => [parseHypothesis('availability(steady) >= 99%'), parseHypothesis('rto <= 30s')],
  run: async (ctx) => {
    const { container: redis, port } = await startRedis(ctx.run.engine, { name: 'redis', signal: ctx.signal });
    await ctx.startProbe(redisReadProbe({ name: 'redis-get', redis: { host: '127.0.0.1', port }, intervalMs: 10, timeoutMs: 250, now: () => ctx.run.now() }));
    ctx.phase('steady');
    await ctx.sleep(ctx.options.steady);
    ctx.phase('fault');
    const fault = await ctx.run.chaos.pause(redis);
    ctx.console.line('READY-FAULT');
    await ctx.sleep(ctx.options.pause);
    await fault.heal();
    ctx.phase('after');
    await ctx.sleep(ctx.options.steady);
    ctx.measure({ name: 'pauseMs', value: ctx.options.pause, unit: 'ms', description: 'requested pause' });
  },
};

if (import.meta.main) {
  const result = await runWorkflow(pauseWorkflow, { argv: process.argv.slice(2), reportsRoot: process.env['REPORTS_ROOT'] });
  process.exit(result.exitCode);
}
