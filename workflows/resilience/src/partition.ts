// The partition workflow, declared on the runner: one scenario of network cuts (or a freeze)
// against pg-ha or redis-sentinel under live writes, every node's role polled directly.
// Measured: the old primary's demotion, the election, two writable primaries at once (split
// brain), writes the old primary acknowledged after the election, how long a cut-off master
// kept acknowledging, and the acknowledged writes lost, on one image or both side by side.
import { DEFAULTS as PG_DEFAULTS, provision as provisionPg, type PgHa } from '@resilience/pg-ha';
import { DEFAULTS as REDIS_DEFAULTS, provision as provisionRedis, type RedisSentinel } from '@resilience/redis-sentinel';
import type { ChaosRun, ContainerHandle } from '@resilience/fixtures';
import {
  clientsRecovered, defineWorkflow, fullRedundancy, heal, hold, inject, observe, primaryOf, promoted, rejoined, repeat, steady, until,
  declareEnvironment, type Condition, type CustomFault, type Declared, type HypothesisSpec, type Step,
} from '@resilience/runner';
import { PARTITION_USAGE, PartitionOptions, SCENARIOS, holdMs, partitionSetups, type PartitionOptionsT } from './partition-options.ts';
import { pgVersions, redisVersions } from './versions.ts';
import { imagesNeeded } from './options.ts';
import { patroniSystem, sentinelSystem } from './systems.ts';
import { pgTraffic, redisTraffic } from './partition-traffic.ts';

/** The environment of one variant: pg-ha, or redis-sentinel with the node the cut-off client writes to. */
export type PartitionEnv =
  | { readonly system: 'postgres'; readonly pg: PgHa }
  | { readonly system: 'redis'; readonly redis: RedisSentinel; readonly pin: { node: string } };

/** Starts the netns agents of every container a cut can hit, so each cut takes effect in milliseconds. */
async function warm(run: ChaosRun, containers: readonly ContainerHandle[]): Promise<void> {
  await Promise.all(containers.map((c) => run.chaos.prepareNetwork(c)));
}

/** A teardown that first removes the run's netns agents (their targets go with the environment). */
const released = (run: ChaosRun, teardown: () => Promise<void>) => async () => {
  await run.chaos.releaseNetwork();
  await teardown();
};

const pgOf = (env: PartitionEnv): PgHa => {
  if (env.system !== 'postgres') throw new Error('a PostgreSQL fault on a Redis environment');
  return env.pg;
};

/** Everything of pg-ha but `leader`: etcd and the other PostgreSQL nodes. */
const rest = (pg: PgHa, leader: string): ContainerHandle[] => [...pg.etcd, ...pg.nodes.filter((n) => n.name !== leader).map((n) => n.container)];

const isolateLeader: CustomFault<PartitionEnv> = {
  name: 'partition',
  apply: (run, t, _p, _s, sc) => run.chaos.partition([[t.container], rest(pgOf(sc.env), t.name)]),
};

const dcsLost: CustomFault<PartitionEnv> = {
  name: 'partition',
  apply: (run, _t, _p, _s, sc) => {
    const pg = pgOf(sc.env);
    return run.chaos.partition([[...pg.etcd], pg.nodes.map((n) => n.container)]);
  },
};

/** `in`: the leader can send but not receive; `out`: it can receive but not send. */
const oneWay = (direction: 'in' | 'out'): CustomFault<PartitionEnv> => ({
  name: `one-way-${direction}`,
  apply: (run, t, _p, _s, sc) => {
    const others = rest(pgOf(sc.env), t.name);
    return run.chaos.partition(direction === 'in' ? [others, [t.container]] : [[t.container], others], { mode: 'one-way' });
  },
});

/**
 * Three sites, site i = PostgreSQL node i and etcd member i; site i drops what site i-1 sends:
 * every site hears itself and one other, a different majority each (Jepsen's majorities ring).
 */
const majoritiesRing: CustomFault<PartitionEnv> = {
  name: 'majorities-ring',
  apply: (run, _t, _p, _s, sc) => {
    const pg = pgOf(sc.env);
    const sites = pg.nodes.map((n, i) => [n.container, pg.etcd[i]!]);
    const drops = new Map<ContainerHandle, ContainerHandle[]>();
    for (const [i, site] of sites.entries()) {
      const before = sites[(i + sites.length - 1) % sites.length]!;
      for (const c of site) drops.set(c, before);
    }
    return run.chaos.grudge(drops);
  },
};

const isolateMaster: CustomFault<PartitionEnv> = {
  name: 'partition',
  apply: (run, t, _p, _s, sc) => {
    if (sc.env.system !== 'redis') throw new Error('a Redis fault on a PostgreSQL environment');
    const redis = sc.env.redis;
    sc.env.pin.node = t.name;
    return run.chaos.partition([[t.container], [...redis.nodes.filter((n) => n.name !== t.name).map((n) => n.container), ...redis.sentinels.map((s) => s.container)]]);
  },
};

/** Which conditions a cut waits for before the hold and before the end, besides the rejoin and full redundancy. */
interface CutWaits {
  readonly beforeHold: readonly Condition[];
  readonly afterHeal: readonly Condition[];
}

/**
 * One cut of the primary: inject, wait (`beforeHold`), hold, heal, wait (`afterHeal`, then
 * the old primary back and full redundancy), observe.
 */
function cut(fault: string | CustomFault<PartitionEnv>, scope: string, waits: CutWaits, holdFor: number, after: number, targets?: number): Step<PartitionEnv>[] {
  return [
    inject(fault, primaryOf(scope), { scope, ...(targets === undefined ? {} : { targets }) }),
    ...(waits.beforeHold.length ? [until(...waits.beforeHold)] : []),
    ...(holdFor > 0 ? [hold(holdFor)] : []),
    heal(scope),
    until(...waits.afterHeal, rejoined(scope), fullRedundancy(scope)),
    observe(after),
  ] as Step<PartitionEnv>[];
}

/** A cut that ends in a failover: the election and the clients back before the hold. */
const failover = (scope: string): CutWaits => ({ beforeHold: [promoted(scope), clientsRecovered(scope)], afterHeal: [] });
/**
 * The Redis master cut off: the election before the hold; the clients only after the heal, as
 * the client on the master's side cannot succeed before it (with min-replicas-to-write its
 * master refuses writes, and it asks for the new master only when the old one says READONLY).
 */
const masterFailover: CutWaits = { beforeHold: [promoted('redis')], afterHeal: [clientsRecovered('redis')] };
/** A cut that needs no election to end: held, healed, then the old leader back. */
const held: CutWaits = { beforeHold: [], afterHeal: [] };

/** Every container of pg-ha with `etcd` members: each cut puts rules in all of them (the blast radius, for --max-targets). */
const PG_ALL = (etcd: number) => PG_DEFAULTS.nodes + etcd;

export function partitionSchedule(o: PartitionOptionsT): Step<PartitionEnv>[] {
  const h = holdMs(o);
  const body: Step<PartitionEnv>[] = [steady(o.steady) as Step<PartitionEnv>];
  switch (o.scenario) {
    case 'leader-isolated': body.push(...cut(isolateLeader, 'postgres', failover('postgres'), h, o.after, PG_ALL(1))); break;
    case 'dcs-lost': body.push(...cut(dcsLost, 'postgres', held, h, o.after, PG_ALL(1))); break;
    case 'one-way': body.push(...cut(oneWay('in'), 'postgres', failover('postgres'), h, o.after, PG_ALL(1)), steady(o.steady) as Step<PartitionEnv>, ...cut(oneWay('out'), 'postgres', failover('postgres'), h, o.after, PG_ALL(1))); break;
    case 'majorities-ring': body.push(...cut(majoritiesRing, 'postgres', held, h, o.after, PG_ALL(3))); break;
    case 'redis-master-isolated': body.push(...cut(isolateMaster, 'redis', masterFailover, h, o.after, 1 + REDIS_DEFAULTS.replicas + REDIS_DEFAULTS.sentinels)); break;
    case 'pause-thaw': body.push(...cut('pause', 'postgres', failover('postgres'), 0, o.after)); break;
  }
  return [repeat(o.iterations, body) as Step<PartitionEnv>];
}

export function partitionHypotheses(o: PartitionOptionsT): HypothesisSpec[] {
  const system = SCENARIOS[o.scenario].system;
  const out: HypothesisSpec[] = [
    { text: `splitBrain(${system}) == 0`, description: `no two ${system === 'postgres' ? 'PostgreSQL' : 'Redis'} nodes accepted writes at the same time (each polled directly every 100 ms)` },
    { text: 'rto <= 60s', description: 'client-visible recovery time of every probe after every cut' },
  ];
  if (o.redisMinReplicas !== undefined) {
    // Redis counts a replica as good while its last REPLCONF ACK (sent every second) is at most
    // N whole seconds old, re-counted once a second (replicationCron): N + 1 s, plus up to 1 s of
    // rounding and cron phase.
    out.push({ text: `ackWindow(redis-isolated) <= ${o.redisMinReplicas + 2}s`, description: `with min-replicas-max-lag ${o.redisMinReplicas}, the cut-off master stops acknowledging within ${o.redisMinReplicas} s of replica lag + 1 s ACK period + 1 s replicationCron period` });
  }
  return out;
}

export const partition = defineWorkflow<PartitionOptionsT, PartitionEnv>({
  name: 'partition',
  description: 'cuts the network of pg-ha or redis-sentinel (or freezes the leader) under live writes and measures demotion, election, two writable primaries, stale and lost acknowledged writes, on one image or two',
  options: PartitionOptions,
  usage: PARTITION_USAGE,
  variants: (o) => (partitionSetups(o).length > 1 ? partitionSetups(o).map((s) => s.name) : []),
  images: (o) => imagesNeeded(partitionSetups(o).map((s) => s.image)),
  timeoutMs: (o) => o.timeout,
  environment: async (o, setup): Promise<Declared<PartitionEnv>> => {
    const s = partitionSetups(o).find((x) => x.name === (setup.variant ?? ''))!;
    if (SCENARIOS[o.scenario].system === 'redis') {
      setup.note(`provisioning redis-sentinel on ${s.image}${o.redisMinReplicas ? ` (min-replicas-to-write 1, min-replicas-max-lag ${o.redisMinReplicas})` : ''}`);
      const redis = await provisionRedis({
        engine: setup.engine, image: s.image, now: setup.now, signal: setup.signal,
        ...(o.redisMinReplicas ? { minReplicasToWrite: 1, minReplicasMaxLagSeconds: o.redisMinReplicas } : {}),
      });
      const pin = { node: '' };
      return declareEnvironment<PartitionEnv>({ system: 'redis', redis, pin }, released(setup.run, () => redis.teardown()), async () => {
        await warm(setup.run, [...redis.nodes, ...redis.sentinels].map((n) => n.container));
        const v = await redisVersions(redis);
        pin.node = (await redis.primary()).name;
        return { systems: { redis: sentinelSystem(redis, v.redis) }, settings: { 'redis-sentinel': redis.settings }, versions: v };
      });
    }
    const etcdNodes = o.scenario === 'majorities-ring' ? 3 : 1;
    setup.note(`provisioning pg-ha on ${s.image} (${etcdNodes} etcd${s.failsafe ? ', failsafe_mode on' : ''}${o.sync ? ', synchronous' : ''})`);
    const pg = await provisionPg({ engine: setup.engine, image: s.image, sync: o.sync, etcdNodes, failsafeMode: s.failsafe, now: setup.now, signal: setup.signal });
    return declareEnvironment<PartitionEnv>({ system: 'postgres', pg }, released(setup.run, () => pg.teardown()), async () => {
      if (o.scenario !== 'pause-thaw') await warm(setup.run, pg.containers);
      const v = await pgVersions(pg);
      return { systems: { postgres: patroniSystem(pg, v.patroni) }, settings: { 'pg-ha': pg.settings }, versions: v };
    });
  },
  traffic: (env, o, t) => (env.system === 'postgres'
    ? pgTraffic(env.pg, { intervalMs: o.interval, timeoutMs: 1000 }, t)
    : redisTraffic(env.redis, env.pin, { intervalMs: o.interval, timeoutMs: 1000 }, t)),
  schedule: partitionSchedule,
  hypotheses: partitionHypotheses,
});
