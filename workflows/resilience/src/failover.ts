// The failover workflow, declared on the runner: app-stack under live traffic; the Patroni
// primary and/or the Redis primary fail; measured: time to detect, election, client-visible RTO
// per fault and its distribution, availability and latency per phase, lost and ghost writes by
// acknowledging node and window, rejoin of the old primary and full redundancy, and stale cache
// reads of the app (src/stale-cache.ts).
import { provision, type AppStack } from '@resilience/app-stack';
import {
  clientsRecovered, declareEnvironment, defineWorkflow, fullRedundancy, heal, inject, observe, primaryOf, promoted, rejoined, repeat, steady, until,
} from '@resilience/runner';
import { FailoverOptions, USAGE, imagesNeeded, setups, type FailoverOptionsT } from './options.ts';
import { patroniSystem, sentinelSystem } from './systems.ts';
import { STALE_CACHE_METRICS } from './stale-cache.ts';
import { traffic } from './traffic.ts';
import { pgVersions, redisVersion } from './versions.ts';

async function versions(stack: AppStack): Promise<Record<string, string>> {
  const [pgv, redis] = await Promise.all([pgVersions(stack.pg), redisVersion(stack.redis)]);
  return { ...pgv, redis };
}

export const failover = defineWorkflow<FailoverOptionsT, AppStack>({
  name: 'failover',
  description: 'fails the PostgreSQL primary and/or the Redis primary under live traffic and measures detection, election, RTO, availability, latency and lost writes',
  options: FailoverOptions,
  usage: USAGE,
  metrics: STALE_CACHE_METRICS,
  variants: (o) => (setups(o).length > 1 ? setups(o).map((s) => s.name) : []),
  images: (o) => imagesNeeded(setups(o).map((s) => s.image)),
  timeoutMs: (o) => o.timeout,
  environment: async (o, setup) => {
    const { mode, image } = setups(o).find((s) => s.name === (setup.variant ?? ''))!;
    setup.note(`provisioning app-stack (pg-ha, redis-sentinel on ${image}, app in ${mode} mode)`);
    const stack = await provision({ engine: setup.engine, mode, image, pg: { sync: o.sync }, signal: setup.signal, now: setup.now });
    return declareEnvironment(stack, () => stack.teardown(), async () => {
      setup.note(`app-stack healthy in ${(stack.timings['total']! / 1000).toFixed(1)} s`);
      const v = await versions(stack);
      return {
        systems: { postgres: patroniSystem(stack.pg, v.patroni ?? ''), redis: sentinelSystem(stack.redis, v.redis ?? '') },
        settings: { 'pg-ha': stack.pg.settings, 'redis-sentinel': stack.redis.settings, app: stack.settings, provisioning: stack.timings },
        versions: v,
      };
    });
  },
  traffic: (stack, o, t) => traffic(stack, { intervalMs: o.interval, timeoutMs: 1000, staleCache: true }, t),
  schedule: (o) => {
    const systems = o.system === 'both' ? ['postgres', 'redis'] : [o.system];
    return [
      repeat(o.iterations, systems.flatMap((s) => [
        steady(o.steady),
        inject(o.fault, primaryOf(s), { scope: s }),
        until(promoted(s), clientsRecovered(s)),
        heal(s),
        until(rejoined(s), fullRedundancy(s)),
        observe(o.after),
      ])),
      steady(Math.min(o.steady, 5000)),
    ];
  },
  hypotheses: () => [
    { text: 'rto <= 30s', description: 'client-visible recovery time of every probe after every failover' },
    { text: 'availability(steady) >= 99.9%', description: 'successful / attempted operations of all probes in steady state' },
  ],
});
