// The soak, declared on the runner: app-stack under steady traffic for hours, a seeded schedule
// of faults across the stack (each held, healed, and its recovery measured as in failover),
// resources sampled every 10 s, and at the end leak verdicts per series and degradation over
// time. The report is rewritten every checkpoint; --resume goes on after the runner stopped.
import { provision, type AppStack } from '@resilience/app-stack';
import { FaultProxy, proxyFault, type ContainerHandle } from '@resilience/fixtures';
import {
  clientsRecovered, declareEnvironment, defineWorkflow, fullRedundancy, heal, hold, inject, system, until,
  type CustomFault, type NodeRef, type ResumeState, type Step, type StepContext, type TargetSelector,
} from '@resilience/runner';
import { patroniSystem, sentinelSystem } from '@resilience/resilience/systems';
import { traffic } from '@resilience/resilience/traffic';
import { pgVersions, redisVersion } from '@resilience/resilience/versions';
import { SoakOptions, USAGE, imagesNeeded, settleMs, type SoakOptionsT } from './options.ts';
import { clock as hms, describeFaults, planFaults, type PlannedFault } from './plan.ts';
import { stackReadings } from './readings.ts';
import { RUNNER_PRELOAD, jemallocLoaded, runnerStartedWithout } from './runner-memory.ts';
import { LEAK_MIN_SPAN_MS, SOAK_METRICS, soakAnalysis } from './analysis.ts';

/** The stack, and the fault proxies every client connection of the probes goes through (for latency). */
export interface SoakEnv {
  readonly stack: AppStack;
  readonly proxies: { readonly app: FaultProxy; readonly postgres: FaultProxy };
}

/** The stack as the probes see it: the app and PostgreSQL through the fault proxies. */
function throughProxies(stack: AppStack, proxies: SoakEnv['proxies']): AppStack {
  const pgUrl = new URL(stack.pg.primaryUrl);
  pgUrl.hostname = proxies.postgres.host;
  pgUrl.port = String(proxies.postgres.port);
  const view = <T extends object>(target: T, overrides: Record<string, unknown>): T => new Proxy(target, {
    get: (t, k) => {
      if (typeof k === 'string' && k in overrides) return overrides[k];
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return view(stack, { url: `http://${proxies.app.host}:${proxies.app.port}`, pg: view(stack.pg, { primaryUrl: pgUrl.toString() }) });
}

const nodesOf = (env: SoakEnv, scope: 'postgres' | 'redis'): NodeRef[] =>
  scope === 'postgres' ? env.stack.pg.nodes.map((n) => ({ name: n.name, container: n.container })) : env.stack.redis.nodes.map((n) => ({ name: n.name, container: n.container }));

/** The planned target: the primary, or a replica chosen by the fault's index. */
function targetOf(f: PlannedFault): TargetSelector<SoakEnv> {
  return {
    label: f.target,
    resolve: async (sc) => {
      const primary = await system(sc as StepContext, f.scope).primary();
      if (f.target.endsWith('-primary') || f.target === 'clients') return primary;
      const replicas = nodesOf(sc.env, f.scope).filter((n) => n.name !== primary.name);
      return replicas[f.index % replicas.length] ?? primary;
    },
  };
}

/** Every other container of the target's system: its peers, and etcd or the Sentinels. */
function peersOf(env: SoakEnv, scope: 'postgres' | 'redis', name: string): ContainerHandle[] {
  const nodes = nodesOf(env, scope).filter((n) => n.name !== name).map((n) => n.container);
  return scope === 'postgres' ? [...nodes, ...env.stack.pg.etcd] : [...nodes, ...env.stack.redis.sentinels.map((s) => s.container)];
}

const MIB = 1024 * 1024;

/** The fault kinds, each as the fault library applies it. */
function faultOf(f: PlannedFault): string | CustomFault<SoakEnv> {
  switch (f.kind) {
    case 'kill':
    case 'pause':
      return f.kind;
    case 'partition':
      return { name: 'partition', apply: (run, t, _p, _s, sc) => run.chaos.partition([[t.container], peersOf(sc.env, f.scope, t.name)]) };
    case 'loss':
      return { name: 'loss', apply: (run, t) => run.chaos.loss(t.container, { probability: 0.3, direction: 'both' }) };
    case 'cpu':
      return { name: 'cpu', apply: (run, t) => run.chaos.cpu(t.container, { cpus: 0.05 }) };
    case 'memory':
      return {
        name: 'memory',
        apply: async (run, t) => {
          const stats = (await run.engine.docker.getContainer(t.container.id).stats({ stream: false })) as { memory_stats?: { usage?: number } };
          const used = stats.memory_stats?.usage ?? 64 * MIB;
          return run.chaos.memory(t.container, { limitBytes: Math.max(6 * MIB, Math.ceil((used + 16 * MIB) / MIB) * MIB) });
        },
      };
    case 'latency':
      return {
        name: 'latency',
        apply: async (run, _t, _p, _s, sc) => {
          const proxies = [sc.env.proxies.app, sc.env.proxies.postgres];
          const at = run.now();
          const applied = await Promise.all(proxies.map((p) => proxyFault(p, { latency: { delayMs: 300, direction: 'both' } })));
          return run.chaos.announce({
            id: `latency-${f.index}-${Math.random().toString(16).slice(2, 8)}`, kind: 'latency',
            targets: proxies.map((p) => ({ id: p.name, name: p.name })), params: { delayMs: 300, direction: 'both', through: 'fault proxy' },
            expiresInMs: undefined, at, callMs: run.now() - at,
            undo: async () => (await Promise.allSettled(applied.map((a) => a.heal()))).flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason : new Error(String(r.reason))] : [])),
          });
        },
      };
  }
}

/** The soak's clock: ms from its first step (kept across --resume: the first phase of the run). */
interface SoakClock {
  origin: number | undefined;
}

/** Waits until `at` ms after the first step; a fault that comes late (the one before took long to recover) says so. */
function waitUntil(clock: SoakClock, at: number, what: string): Step<SoakEnv, SoakOptionsT> {
  return {
    label: `until ${what}`,
    run: async (sc) => {
      const origin = (clock.origin ??= sc.now());
      const late = sc.now() - (origin + at);
      if (late > 1_000) sc.note(`${what} is ${(late / 1000).toFixed(1)} s late (what came before took longer)`, { late });
      else if (late < 0) await sc.sleep(-late);
    },
  };
}

/** One planned fault: due time, inject, hold, heal, clients back and full redundancy, then steady. */
function faultSteps(clock: SoakClock, f: PlannedFault, o: SoakOptionsT): Step<SoakEnv, SoakOptionsT>[] {
  return [
    waitUntil(clock, f.at, `fault #${f.index} (due ${hms(f.at)})`),
    {
      label: `fault #${f.index}: ${f.kind} on ${f.target}`,
      run: async (sc) => {
        const inner = sc.withIteration(f.index);
        for (const s of [
          inject(faultOf(f), targetOf(f), { scope: f.scope, params: { planned: f.index } }),
          hold(o.hold),
          heal(f.scope),
          until(clientsRecovered(f.scope), fullRedundancy(f.scope)),
          { label: 'steady', run: async (c: StepContext<SoakEnv, SoakOptionsT>) => c.phase('steady') },
        ] as Step<SoakEnv, SoakOptionsT>[]) await s.run(inner);
      },
    },
  ];
}

export function soakSchedule(o: SoakOptionsT, resume?: ResumeState): Step<SoakEnv, SoakOptionsT>[] {
  const plan = planFaults(o);
  const clock: SoakClock = { origin: resume?.scheduleStartedAt ?? undefined };
  const done = resume ? resume.faults.length : 0;
  const steps: Step<SoakEnv, SoakOptionsT>[] = [{
    label: `start: seed ${o.seed}, ${plan.length} fault(s) planned${done ? `, ${done} done before the resume` : ''}`,
    run: async (sc) => {
      sc.phase('steady');
      clock.origin ??= sc.now();
      sc.evidence('schedule', { seed: o.seed, faults: o.faults.text, kinds: o.kinds, plan }, [{
        title: `Fault schedule (seed ${o.seed}, ${o.faults.text})`,
        header: ['#', 'due', 'kind', 'target'],
        rows: describeFaults(plan).map((line, i) => [String(plan[i]!.index), line.split(': ')[0]!.replace(/^#\d+ at /, ''), plan[i]!.kind, plan[i]!.target]),
      }]);
      if (!resume) for (const line of describeFaults(plan)) sc.note(`planned ${line}`);
    },
  }];
  for (const f of plan.slice(done)) steps.push(...faultSteps(clock, f, o));
  steps.push(waitUntil(clock, o.duration, `the end (${hms(o.duration)})`));
  // Also after a fault the system did not recover from: the hours measured before it are analysed.
  steps.push({ label: 'analysis: leak verdicts, degradation over time, RTO trend', always: true, run: (sc) => soakAnalysis(sc, o, settleMs(o), clock.origin ?? 0) });
  return steps;
}

export const soak = defineWorkflow<SoakOptionsT, SoakEnv>({
  name: 'soak',
  description: 'app-stack under steady traffic for hours with a seeded schedule of faults; resources every 10 s, leak verdicts, degradation over time, checkpoints and --resume',
  options: SoakOptions,
  usage: USAGE,
  metrics: SOAK_METRICS,
  images: (o) => imagesNeeded(o),
  timeoutMs: (o) => o.timeout,
  resumable: true,
  resources: (o) => ({ intervalMs: o.sampleEvery }),
  checkpointMs: (o) => o.checkpointEvery,
  expectedMs: (o) => o.duration,
  environment: async (o, setup) => {
    const missing = runnerStartedWithout();
    if (missing.length > 0) {
      setup.note(`the runner was started without ${missing.join(' and ')} (npx nx run soak:run sets them): its own memory readings may creep for hours with no leak (README, "The runner's own memory")`);
    }
    if (!jemallocLoaded()) {
      setup.note(`the runner runs on glibc's allocator, not jemalloc (npx nx run soak:run preloads ${RUNNER_PRELOAD} when the system has it: apt-get install libjemalloc2): its RSS crept 3.8 %/h over an hour on glibc's, 2.4 %/h on jemalloc (README, "The runner's own memory")`);
    }
    setup.note(`provisioning app-stack (pg-ha, redis-sentinel on ${o.image})`);
    const stack = await provision({ engine: setup.engine, image: o.image, pg: { sync: o.sync }, signal: setup.signal, now: setup.now });
    const proxies: { app?: FaultProxy; postgres?: FaultProxy } = {};
    const readings = stackReadings(stack);
    const teardown = async () => {
      await readings.close();
      await Promise.allSettled(Object.values(proxies).map((p) => p.close()));
      await stack.teardown();
    };
    return declareEnvironment({ stack, proxies } as unknown as SoakEnv, teardown, async () => {
      const app = new URL(stack.url);
      const pg = new URL(stack.pg.primaryUrl);
      proxies.app = await FaultProxy.start({ upstream: { host: app.hostname, port: Number(app.port) }, name: 'clients→app' });
      proxies.postgres = await FaultProxy.start({ upstream: { host: pg.hostname, port: Number(pg.port) }, name: 'clients→haproxy' });
      setup.note(`app-stack healthy in ${(stack.timings['total']! / 1000).toFixed(1)} s; clients connect through fault proxies on 127.0.0.1:${proxies.app.port} (app) and :${proxies.postgres.port} (PostgreSQL)`);
      const [pgv, redis] = await Promise.all([pgVersions(stack.pg), redisVersion(stack.redis)]);
      return {
        systems: { postgres: patroniSystem(stack.pg, pgv.patroni ?? ''), redis: sentinelSystem(stack.redis, redis) },
        settings: { 'pg-ha': stack.pg.settings, 'redis-sentinel': stack.redis.settings, app: stack.settings, provisioning: stack.timings, schedule: { seed: o.seed, faults: o.faults.text, kinds: o.kinds, planned: planFaults(o).length } },
        versions: { ...pgv, redis },
        readings: () => readings.read(),
      };
    });
  },
  traffic: (env, o, t) => traffic(throughProxies(env.stack, env.proxies), { intervalMs: Math.max(1, Math.round(1000 / o.rate)), timeoutMs: 1000 }, t),
  schedule: (o, resume) => soakSchedule(o, resume),
  hypotheses: (o) => [
    // A soak without faults (`--faults=none`) is a stability run: it has no recovery to judge
    // (asked for with `--slo "rto<=60s"`, it fails: not measured).
    ...(planFaults(o).length > 0 ? [{ text: 'rto <= 60s', description: 'client-visible recovery time of every probe after every scheduled fault' }] : []),
    { text: 'availability(steady) >= 99.5%', description: 'successful / attempted operations of all probes between faults' },
    // A run too short for a leak verdict (see LEAK_MIN_SPAN_MS) shows the trends without judging
    // them; `--slo "leaks == 0"` still asks for it (and fails it: not measured).
    ...(o.duration - settleMs(o) >= LEAK_MIN_SPAN_MS
      ? [{ text: 'leaks == 0', description: `no resource series grows significantly (Mann-Kendall p < 0.05, Hamed-Rao corrected) by ${o.leakThreshold} %/h or more of its baseline (Sen's slope) after the settling period` }]
      : []),
    { text: 'degradations == 0', description: 'no significant upward trend of steady-state p99 latency over the run, nor of the RTO of the faults in order' },
  ],
});
