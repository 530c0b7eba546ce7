// The cascade workflow, declared on the runner: the reference app runs twice on one stack,
// naive and hardened, under the same traffic; a sidecar fault proxy on the app -> Redis or the
// app -> HAProxy link (or a lock in PostgreSQL) breaks one dependency for both at once.
// Measured per app: the blast radius (availability and p99 of the endpoints that do not use the
// failing dependency, next to those that do), retry amplification (backend attempts per client
// request, from the app's own /metrics), goodput, requests in flight and event-loop delay, the
// recovery after the heal, and metastability (not back within twice the breaker's half-open
// time). The hypotheses judge the hardened app; the naive one is the control, and findings say
// how it failed (or that the scenario did not hurt it, which says the scenario shows nothing).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Pool } from 'undici';
import { provision, readOrderIds, type AppInstance, type AppStack } from '@resilience/app-stack';
import { Probe, browserJourney, sidecarFault, type ProbeSample, type SidecarProxy, type Toxics } from '@resilience/fixtures';
import { ContractCounter, fetchContract, type ContractChecker } from '@resilience/fixtures/probes/contract';
import {
  declareEnvironment, defineWorkflow, heal, inject, node, observe, primaryOf, steady,
  type CustomFault, type TargetSelector, type MetricSpec, type Step, type StepContext, type Traffic, type TrafficContext,
} from '@resilience/runner';
import { CASCADE_SCENARIOS, CASCADE_USAGE, CascadeOptions, type CascadeOptionsT, type CascadeScenario, type Dependency } from './cascade-options.ts';
import { amplification, appReading, windowStats, type AppReading, type Window } from './cascade-metrics.ts';
import { imagesNeeded } from './options.ts';
import { patroniSystem, sentinelSystem } from './systems.ts';
import { pgVersions, redisVersion } from './versions.ts';

/** The two apps, by name (also their network alias and the prefix of their probes). */
export const CASCADE_APPS = [{ name: 'naive', mode: 'naive' }, { name: 'hardened', mode: 'hardened' }] as const;
export type AppName = (typeof CASCADE_APPS)[number]['name'];

/** Orders seeded (and cached) per app before the traffic starts; the read probe reads them in turn. */
export const SEEDED_ORDERS = 50;

/** The endpoints every app is probed on, and what each needs. */
export const ENDPOINTS = {
  page: { needs: [] as Dependency[], what: 'GET / (the page: needs neither dependency)' },
  create: { needs: ['database'] as Dependency[], what: 'POST /orders (needs PostgreSQL)' },
  read: { needs: ['cache'] as Dependency[], what: `GET /orders/:id of ${SEEDED_ORDERS} cached orders in turn (needs Redis; PostgreSQL only on a miss)` },
} as const;
export type Endpoint = keyof typeof ENDPOINTS;

/** The apps' breaker half-open time (the app's default BREAKER_HALF_OPEN_MS): metastable = not back within twice it. */
export const HALF_OPEN_MS = 2_000;

interface AppLoad {
  readonly app: AppInstance;
  readonly samples: Record<Endpoint, ProbeSample[]>;
  /** Scrapes of /metrics during the fault's hold. */
  readonly during: AppReading[];
  /** Scrapes at the start of the steady state and at the fault's start, with their times on the run clock. */
  baseline?: { readonly at: number; readonly reading: AppReading };
  before?: { readonly at: number; readonly reading: AppReading };
}

export interface CascadeEnv {
  readonly stack: AppStack;
  readonly loads: Record<AppName, AppLoad>;
  /** Client attempts per request of the scenario running now (3 in retry-storm, else 1). */
  clientAttempts: number;
}

const linkOf = (env: CascadeEnv, dependency: Dependency): SidecarProxy => {
  const links = env.stack.links;
  if (!links) throw new Error('the cascade stack was provisioned without links');
  return dependency === 'database' ? links.database : links.cache;
};

/** A toxic on one of the links, healed by putting back what the link did before. */
const onLink = (dependency: Dependency, toxics: Toxics, label: string): CustomFault<CascadeEnv> => ({
  name: label,
  apply: async (run, target, _p, _s, sc) => {
    const link = linkOf(sc.env, dependency);
    const at = sc.now();
    const fault = await sidecarFault(link, toxics);
    return run.chaos.announce({
      id: fault.id, kind: 'proxy', targets: [target.container], params: { link: link.name, ...toxics }, expiresInMs: undefined, at, callMs: sc.now() - at,
      undo: async () => {
        try {
          await fault.heal();
          return [];
        } catch (e) {
          return [e instanceof Error ? e : new Error(String(e))];
        }
      },
    });
  },
});

/**
 * The orders table locked in `mode` from a session of the runner's own (straight to the
 * primary through HAProxy's published port, not through the link): every statement of the apps
 * that conflicts waits, holding its pooled connection. The heal rolls the lock back.
 */
const tableLock = (mode: 'EXCLUSIVE' | 'ACCESS EXCLUSIVE', label: string): CustomFault<CascadeEnv> => ({
  name: label,
  apply: async (run, target, _p, _s, sc) => {
    const client = new pg.Client({ connectionString: sc.env.stack.pg.primaryUrl, application_name: 'cascade-lock' });
    client.on('error', () => undefined);
    const at = sc.now();
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE orders IN ${mode} MODE`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    return run.chaos.announce({
      id: `lock-${randomBytes(6).toString('hex')}`, kind: 'proxy', targets: [target.container], params: { lock: `orders in ${mode.toLowerCase()} mode` }, expiresInMs: undefined, at, callMs: sc.now() - at,
      undo: async () => {
        try {
          await client.query('ROLLBACK');
          return [];
        } catch (e) {
          return [e instanceof Error ? e : new Error(String(e))];
        } finally {
          await client.end().catch(() => undefined);
        }
      },
    });
  },
});

/**
 * FLUSHALL on the Redis master (straight to it, not through the link): what a restart of an
 * empty cache or an operator's mistake does to the apps. Nothing to undo: the heal ends the
 * fault's window, the apps refill the cache themselves.
 */
const flushCache: CustomFault<CascadeEnv> = {
  name: 'flushall',
  apply: async (run, target, _p, _s, sc) => {
    const at = sc.now();
    const client = sc.env.stack.redis.client();
    try {
      await client.flushall();
    } finally {
      client.disconnect();
    }
    return run.chaos.announce({
      id: `flush-${randomBytes(6).toString('hex')}`, kind: 'proxy', targets: [target.container], params: { command: 'FLUSHALL' }, expiresInMs: undefined, at, callMs: sc.now() - at,
      undo: () => Promise.resolve([]),
    });
  },
};

const link = (dependency: Dependency) => node<CascadeEnv>(`link-${dependency}`, (env) => {
  const l = linkOf(env, dependency);
  return { name: l.name, container: l.container };
});
const primaryNode = primaryOf('postgres') as TargetSelector<CascadeEnv>;

/** Scrapes every app's /metrics; an app that does not answer in 3 s gives no reading. */
async function scrape(env: CascadeEnv): Promise<Partial<Record<AppName, AppReading>>> {
  const out: Partial<Record<AppName, AppReading>> = {};
  await Promise.all(CASCADE_APPS.map(async ({ name }) => {
    try {
      // 3 s: /metrics asks each dependency (1 s deadline each), and a stuck one takes that long.
      const res = await fetch(`${env.loads[name].app.url}/metrics`, { signal: AbortSignal.timeout(3_000) });
      if (res.ok) out[name] = appReading(await res.text());
    } catch {
      // A stuck app answers nothing: no reading this time.
    }
  }));
  return out;
}

/** Reads every app's counters at a point of the schedule: the steady state's start (`baseline`) or the fault's (`before`). */
function mark(which: 'baseline' | 'before'): Step<CascadeEnv> {
  return {
    label: `read the apps' /metrics (${which === 'baseline' ? 'steady state starts' : 'the fault starts'})`,
    run: async (sc) => {
      const at = sc.now();
      const r = await scrape(sc.env);
      for (const { name } of CASCADE_APPS) {
        const reading = r[name];
        if (reading) sc.env.loads[name][which] = { at, reading };
      }
    },
  };
}

/** Holds the fault `ms`, reading every app's /metrics twice a second (requests in flight, event-loop delay). */
function holdReading(ms: number): Step<CascadeEnv> {
  // (`during` is emptied when each scenario starts: see `begin`.)
  return {
    label: `hold ${ms} ms (reading the apps' /metrics every 500 ms)`,
    run: async (sc) => {
      const until = sc.now() + ms;
      while (sc.now() < until) {
        const next = Math.min(until, sc.now() + 500);
        const r = await scrape(sc.env);
        for (const { name } of CASCADE_APPS) if (r[name]) sc.env.loads[name].during.push(r[name]);
        const left = next - sc.now();
        if (left > 0) await sc.sleep(left);
      }
    },
  };
}

/** Database attempts per second from the fault's start to now, over the same in the steady state before it; null when either is unknown or the steady state made none. */
function loadFactor(load: AppLoad, now: AppReading | undefined, at: number): number | null {
  const b = load.baseline;
  const f = load.before;
  const rate = (x0: number | undefined, x1: number | undefined, t0: number, t1: number) => (x0 === undefined || x1 === undefined || t1 <= t0 ? null : (x1 - x0) / ((t1 - t0) / 1000));
  const steadyRate = b && f ? rate(b.reading.attempts['database'], f.reading.attempts['database'], b.at, f.at) : null;
  const faultRate = f && now ? rate(f.reading.attempts['database'], now.attempts['database'], f.at, at) : null;
  return steadyRate === null || faultRate === null || steadyRate <= 0 ? null : faultRate / steadyRate;
}

/** The windows of this scenario's faults on the run clock (each scenario is an iteration): each from its start to its heal. */
function faultWindows(sc: StepContext<CascadeEnv>): Window[] {
  return sc.faults.filter((f) => f.iteration === sc.iteration).map((f) => ({ from: f.at, to: f.healedAt ?? sc.now() }));
}

const pct = (x: number | null): string => (x === null ? 'not measured' : `${(x * 100).toFixed(2)} %`);
const ms = (x: number | null): string => (x === null ? 'not measured' : `${Math.round(x)} ms`);

/** After the heal: every measurement of the fault's window, per app, and what the naive control showed. */
function measureWindow(scenario: CascadeScenario): Step<CascadeEnv> {
  return {
  label: 'measure blast radius, amplification, goodput, in-flight and event-loop delay per app',
  run: async (sc) => {
    const dependency = CASCADE_SCENARIOS[scenario].dependency;
    const windows = faultWindows(sc);
    const span = windows.reduce((a, w) => a + (w.to - w.from), 0);
    const after = await scrape(sc.env);
    const rows: string[][] = [];
    for (const { name } of CASCADE_APPS) {
      const load = sc.env.loads[name];
      const endpoints = Object.keys(ENDPOINTS) as Endpoint[];
      const affected = endpoints.filter((e) => (ENDPOINTS[e].needs as readonly Dependency[]).includes(dependency));
      const unaffected = endpoints.filter((e) => !affected.includes(e));
      const pick = (es: readonly Endpoint[]) => es.flatMap((e) => load.samples[e]);
      const un = windowStats(pick(unaffected), windows);
      const af = windowStats(pick(affected), windows);
      const all = windowStats(pick(endpoints), windows);
      const clientRequests = windowStats(pick(affected), [{ from: windows[0]?.from ?? 0, to: windows.at(-1)?.to ?? 0 }]).attempts;
      const amp = amplification(load.before?.reading.attempts[dependency], after[name]?.attempts[dependency], clientRequests);
      // The database's load from this app while the fault was on, against the steady state's.
      const dbLoad = loadFactor(load, after[name], sc.now());
      const goodput = span > 0 ? (all.attempts - all.failures) / (span / 1000) : null;
      const inflight = load.during.map((r) => r.inflight).filter((x): x is number => x !== undefined);
      const lag = load.during.map((r) => r.eventLoopP99Ms).filter((x): x is number => x !== undefined);
      const inflightMax = inflight.length ? Math.max(...inflight) : null;
      const lagMax = lag.length ? Math.max(...lag) : null;
      const m = (metric: string, value: number | null, unit: 'ratio' | 'ms' | 'count') => sc.measure({ name: metric, scope: name, iteration: sc.iteration, value, unit, description: describe(metric) });
      m('unaffectedAvailability', un.availability, 'ratio');
      m('unaffectedP99', un.p99Ms, 'ms');
      m('affectedAvailability', af.availability, 'ratio');
      m('affectedP99', af.p99Ms, 'ms');
      // A flushed cache is empty, not failing: its extra attempts (a set after each miss) are not retries.
      if (CASCADE_SCENARIOS[scenario].failing) m('amplification', amp, 'count');
      if (dependency === 'cache') {
        m('dbLoadFactor', dbLoad === null ? null : Math.round(dbLoad * 100) / 100, 'count');
        const b = load.before?.reading.cacheMisses;
        const a = after[name]?.cacheMisses;
        m('cacheMisses', a === undefined || b === undefined ? null : a - b, 'count');
      }
      m('goodput', goodput === null ? null : Math.round(goodput * 100) / 100, 'count');
      m('inflightMax', inflightMax, 'count');
      m('eventLoopP99Max', lagMax === null ? null : Math.round(lagMax * 10) / 10, 'ms');
      rows.push([name, unaffected.join(', '), pct(un.availability), ms(un.p99Ms), affected.join(', '), pct(af.availability), ms(af.p99Ms), amp === null ? 'not measured' : amp.toFixed(2), goodput === null ? '-' : goodput.toFixed(1), inflightMax === null ? '-' : String(inflightMax), ms(lagMax)]);
      if (name === 'naive') naiveFinding(sc, { scenario, dependency, unaffected, affected, un, af, amp: CASCADE_SCENARIOS[scenario].failing ? amp : null, inflightMax, hardened: hardenedNumbers(sc, dependency, windows) });
    }
    sc.evidence(`blast-radius-${scenario}`, { scenario, dependency, windows, rows }, [{
      title: `Blast radius of ${scenario} (${dependency} failing), per app, over the fault's ${(span / 1000).toFixed(1)} s`,
      header: ['app', 'endpoints not using it', 'availability', 'p99', 'endpoints using it', 'availability', 'p99', 'backend attempts / request', 'goodput /s', 'in flight (max)', 'event-loop p99 (max)'],
      rows,
    }]);
  },
  };
}

type Stats = ReturnType<typeof windowStats>;

/** The hardened app's affected availability in the same windows, for the naive finding's comparison. */
function hardenedNumbers(sc: StepContext<CascadeEnv>, dependency: Dependency, windows: readonly Window[]): Stats {
  const load = sc.env.loads.hardened;
  const affected = (Object.keys(ENDPOINTS) as Endpoint[]).filter((e) => (ENDPOINTS[e].needs as readonly Dependency[]).includes(dependency));
  return windowStats(affected.flatMap((e) => load.samples[e]), windows);
}

/**
 * What the naive control showed, said once: how far the failure spread (its endpoints that do
 * not use the dependency), what it did to those that do (beside the hardened app's), and the
 * load it put on the dependency. A run in which the naive app was not hurt at all shows nothing
 * about the hardening: a warning says so.
 */
function naiveFinding(sc: StepContext<CascadeEnv>, x: { scenario: CascadeScenario; dependency: Dependency; unaffected: readonly Endpoint[]; affected: readonly Endpoint[]; un: Stats; af: Stats; amp: number | null; inflightMax: number | null; hardened: Stats }): void {
  const spread = x.un.availability !== null && x.un.availability < 0.99;
  const hurt = x.af.availability !== null && x.af.availability < 0.99;
  const amplified = x.amp !== null && x.amp > 1.1;
  const numbers = `During ${x.scenario} (${CASCADE_SCENARIOS[x.scenario].does}) the naive app's ${x.unaffected.join(' and ')} answered ${pct(x.un.availability)} of ${x.un.attempts} requests (p99 ${ms(x.un.p99Ms)}) and its ${x.affected.join(' and ')} ${pct(x.af.availability)} (p99 ${ms(x.af.p99Ms)}; the hardened app's: ${pct(x.hardened.availability)}, p99 ${ms(x.hardened.p99Ms)}); ${x.amp === null ? 'its attempts per request were not measured' : `it made ${x.amp.toFixed(2)} attempts on ${x.dependency} per client request`}; requests in flight peaked at ${x.inflightMax ?? 'not measured'}.`;
  if (!spread && !hurt && !amplified) {
    sc.finding({
      kind: 'cascade-not-shown', severity: 'warning', scope: 'naive', at: sc.now(), iteration: sc.iteration,
      title: `The naive app was not hurt by ${x.scenario}: this run shows nothing about the hardening`,
      detail: `${numbers} A scenario that does not hurt the control proves nothing about the hardened app's defences. Try a longer --hold, a shorter --interval (more load), or another scenario.`,
    });
    return;
  }
  const what = [
    spread ? `the failure spread to endpoints that do not use ${x.dependency} (${pct(x.un.availability)} available)` : `the failure stayed with the endpoints that use ${x.dependency} (those that do not: ${pct(x.un.availability)})`,
    hurt ? `those answered ${pct(x.af.availability)} (hardened: ${pct(x.hardened.availability)})` : '',
    amplified ? `${x.amp!.toFixed(2)} attempts on ${x.dependency} per client request` : '',
  ].filter(Boolean).join('; ');
  sc.finding({
    kind: 'cascade', severity: 'info', scope: 'naive', at: sc.now(), iteration: sc.iteration,
    title: `${x.scenario}: the naive app (the control): ${what}`,
    detail: `${numbers}${spread ? '' : ' Node.js keeps serving other requests while these wait (no thread per request to run out of), so a slow or failing dependency stays with its own endpoints unless something shared (a pool, memory, the event loop) runs out.'} The hardened app is judged by the hypotheses.`,
  });
}

/**
 * After the heal: waits until every probe of each app has answered for a whole second, and
 * measures how long that took from the heal; an app not back within twice the breaker's
 * half-open time is metastable (its load keeps it down after the cause is gone).
 */
function settled(scenario: CascadeScenario): Step<CascadeEnv> {
  return {
  label: 'until both apps are back (1 s of successes on every endpoint)',
  run: async (sc) => {
    const healedAt = Math.max(...sc.faults.filter((f) => f.iteration === sc.iteration).map((f) => f.healedAt ?? sc.now()));
    const bound = 2 * HALF_OPEN_MS;
    await Promise.all(CASCADE_APPS.map(async ({ name }) => {
      const load = sc.env.loads[name];
      const deadline = sc.now() + sc.timeoutMs;
      let back: number | null = null;
      while (back === null && sc.now() < deadline && !sc.signal.aborted) {
        back = backSince(load, healedAt);
        if (back === null) await sc.sleep(100);
      }
      const recovery = back === null ? null : Math.max(0, back - healedAt);
      sc.measure({ name: 'recoveryAfterHeal', scope: name, iteration: sc.iteration, value: recovery === null ? null : Math.round(recovery), unit: 'ms', description: describe('recoveryAfterHeal') });
      const metastable = recovery === null || recovery > bound;
      sc.measure({ name: 'metastability', scope: name, iteration: sc.iteration, value: metastable ? 1 : 0, unit: 'count', description: describe('metastability') });
      if (metastable) {
        const health = await fetch(`${load.app.url}/health`, { signal: AbortSignal.timeout(3_000) }).then(async (r) => `HTTP ${r.status} ${await r.text()}`, (e: unknown) => `no answer in 3 s (${e instanceof Error ? e.message : String(e)})`);
        const inflight = (await scrape(sc.env))[name]?.inflight;
        sc.finding({
          kind: 'metastability', severity: name === 'naive' ? 'info' : 'critical', scope: name, at: sc.now(), iteration: sc.iteration,
          title: `${name === 'naive' ? 'The naive app (the control)' : 'The hardened app'} stayed down after ${scenario} was healed: ${recovery === null ? `not back within ${(sc.timeoutMs / 1000).toFixed(0)} s` : `back ${(recovery / 1000).toFixed(1)} s after the heal`}, more than twice the breaker's half-open time (${bound / 1000} s)`,
          detail: `Its dependency was healthy again while it kept failing: something the fault left behind held it in the bad state, a metastable failure. ${METASTABLE_CAUSES[scenario] ?? 'Look at its requests in flight and its /health below: requests queued in it, retries, or connections the fault broke.'} A scenario after this one starts with the app in this state.`,
          evidence: [
            { label: `${name} GET /health after the settle`, text: health },
            { label: `${name} requests in flight now`, text: inflight === undefined ? '/metrics did not answer in 3 s' : String(inflight) },
          ],
        });
      }
    }));
  },
  };
}

/** What is known to keep an app down after a scenario is healed, for the metastability finding. */
const METASTABLE_CAUSES: Partial<Record<CascadeScenario, string>> = {
  'redis-blackhole': 'A connection that was black-holed stays silent after the heal, as a real black hole leaves a TCP connection half dead until keepalive gives up (hours by default): the proxy never forwards on it again. A client that never times a command out and never opens a new connection (the naive app: ioredis with its defaults, no commandTimeout) waits on it for good; the hardened app\'s breaker opens and makes a new connection.',
};

/** The start of the first whole second, after `since`, in which every endpoint of the app answered every request; null if none yet. */
function backSince(load: AppLoad, since: number): number | null {
  const after = (Object.values(load.samples) as ProbeSample[][]).map((xs) => xs.filter((s) => s.intended >= since));
  if (after.some((xs) => xs.length === 0)) return null;
  const merged = after.flat().sort((a, b) => a.intended - b.intended);
  let streak: number | null = null;
  const last = Math.min(...after.map((xs) => xs.at(-1)!.intended));
  for (const s of merged) {
    if (!s.ok) streak = null;
    else streak ??= s.intended;
    if (streak !== null && last - streak >= 1_000 && s.intended - streak >= 1_000) return streak;
  }
  return null;
}

/** The steps of one scenario between `begin` and the measurements. */
function faultSteps(o: CascadeOptionsT, s: CascadeScenario): Step<CascadeEnv>[] {
  const half = Math.max(1_000, Math.round(o.hold / 2));
  const dep = CASCADE_SCENARIOS[s].dependency;
  const stage = (fault: CustomFault<CascadeEnv>, holdFor: number, target = link(dep)): Step<CascadeEnv>[] => [
    inject(fault, target, { scope: dep, targets: 1 }) as Step<CascadeEnv>,
    holdReading(holdFor),
    heal(dep) as Step<CascadeEnv>,
  ];
  switch (s) {
    case 'redis-slow': return [...stage(onLink('cache', { latency: { delayMs: 300, direction: 'both' } }, 'latency 300ms'), half), ...stage(onLink('cache', { latency: { delayMs: 2_000, direction: 'both' } }, 'latency 2s'), half)];
    case 'redis-blackhole': return stage(onLink('cache', { blackhole: true }, 'blackhole'), o.hold);
    case 'db-slow': return [...stage(onLink('database', { latency: { delayMs: 500, direction: 'both' } }, 'latency 500ms'), half), ...stage(tableLock('EXCLUSIVE', 'lock orders (writes)'), half, primaryNode)];
    case 'pool-exhaustion': return stage(tableLock('ACCESS EXCLUSIVE', 'lock orders (everything)'), o.hold, primaryNode);
    case 'retry-storm': return stage(onLink('database', { reset: true }, 'reset'), o.hold);
    case 'cache-flush': return stage(flushCache, o.hold, primaryOf('redis') as TargetSelector<CascadeEnv>);
  }
}

/** Sets the clients up for `scenario` (their attempts per request) and empties the last scenario's /metrics readings. */
function begin(scenario: CascadeScenario): Step<CascadeEnv> {
  return {
    label: `${scenario}: ${CASCADE_SCENARIOS[scenario].does}`,
    run: async (sc) => {
      sc.env.clientAttempts = clientAttempts(scenario);
      for (const { name } of CASCADE_APPS) sc.env.loads[name].during.length = 0;
      sc.note(`scenario ${scenario}: ${CASCADE_SCENARIOS[scenario].does}${sc.env.clientAttempts > 1 ? ` (clients try each request ${sc.env.clientAttempts} times)` : ''}`);
    },
  };
}

/**
 * One block per scenario, in the order given, each an iteration (its faults, measurements and
 * findings carry the number): steady state, the fault, the measurements, the settle, observe.
 */
export function cascadeSchedule(o: CascadeOptionsT): Step<CascadeEnv>[] {
  return o.scenario.map((scenario, i): Step<CascadeEnv> => {
    const steps: Step<CascadeEnv>[] = [
      begin(scenario),
      mark('baseline'),
      steady(o.steady) as Step<CascadeEnv>,
      mark('before'),
      ...faultSteps(o, scenario),
      measureWindow(scenario),
      settled(scenario),
      observe(o.after) as Step<CascadeEnv>,
    ];
    return {
      label: `scenario ${i + 1}: ${scenario}`,
      children: steps,
      run: async (sc) => {
        const inner = sc.withIteration(i + 1);
        for (const step of steps) await step.run(inner);
      },
    };
  });
}

/** Client attempts per request: 3 in retry-storm (clients retry at once), else 1. */
export const clientAttempts = (s: CascadeScenario): number => (s === 'retry-storm' ? 3 : 1);

/** One endpoint of one app as a probe: undici, retrying 5xx and connection errors `attempts` times at once. */
function endpointProbe(load: AppLoad, endpoint: Endpoint, orderIds: readonly string[], contract: ContractChecker, clientsAttempts: () => number, o: CascadeOptionsT, t: TrafficContext, nodeOf: (address: string) => string | undefined): { probe: Probe; pool: Pool; counter: ContractCounter } {
  const counter = new ContractCounter();
  const pool = new Pool(load.app.url, { connections: 128 });
  let seq = 0;
  const request = endpoint === 'page' ? { path: '/', method: 'GET' as const }
    : endpoint === 'read' ? { path: '/orders/:id', method: 'GET' as const }
    : { path: '/orders', method: 'POST' as const };
  const probe = new Probe({
    name: t.name(`${load.app.name}-${endpoint}`),
    op: `${request.method} ${request.path}`,
    intervalMs: o.interval,
    timeoutMs: o.clientTimeout,
    now: t.now,
    run: async (ctx) => {
      const attempts = clientsAttempts();
      for (let attempt = 1; ; attempt++) {
        let status: number;
        let text: string;
        try {
          const body = endpoint === 'create' ? JSON.stringify({ item: `${load.app.name}-${++seq}`, quantity: 1 }) : undefined;
          const path = endpoint === 'read' ? `/orders/${orderIds[ctx.seq % orderIds.length]}` : request.path;
          const res = await pool.request({ ...request, path, signal: ctx.signal, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
          status = res.statusCode;
          text = await res.body.text();
          const type = res.headers['content-type'];
          // Every answer, degraded ones included, must be one the app's contract allows.
          counter.record(contract.check({ method: request.method, path, status, body: text, contentType: Array.isArray(type) ? type[0] : type }), status, ctx.intended);
        } catch (e) {
          if (ctx.signal.aborted || attempt >= attempts) throw e;
          continue;
        }
        if (status >= 500 && attempt < attempts) continue;
        if (status >= 400) throw new Error(`HTTP ${status}`);
        if (endpoint === 'create') {
          const order = JSON.parse(text) as { id: string; server?: string };
          ctx.writeId = String(order.id);
          if (order.server) ctx.node = nodeOf(order.server) ?? order.server;
        }
        return;
      }
    },
  });
  probe.subscribe((s) => load.samples[endpoint].push(s));
  return { probe, pool, counter };
}

/** Seeds `n` orders through `url` and reads each once, so each is cached; their ids. */
async function seedCachedOrders(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: `seed-${i}`, quantity: 1 }) });
    if (res.status !== 201) throw new Error(`seeding an order through ${url} failed: HTTP ${res.status}`);
    const id = ((await res.json()) as { id: string }).id;
    // The first read misses and fills the cache; the probe's reads then hit it.
    const read = await fetch(`${url}/orders/${id}`);
    if (read.status !== 200) throw new Error(`reading the seeded order through ${url} failed: HTTP ${read.status}`);
    ids.push(id);
  }
  return ids;
}

function cascadeTraffic(env: CascadeEnv, o: CascadeOptionsT, t: TrafficContext): Promise<Traffic[]> {
  return Promise.all(CASCADE_APPS.map(async ({ name }) => {
    const load = env.loads[name];
    const orderIds = await seedCachedOrders(load.app.url, SEEDED_ORDERS);
    const contract = await fetchContract(load.app.url);
    // What a person in front of each app's page sees: open it, place an order, find it again.
    const journey: Traffic[] = o.browser
      ? [{ probe: browserJourney({ name: t.name(`${name}-journey`), url: load.app.url, reportDir: t.reportDir, now: t.now }), scopes: ['database', 'cache', name] }]
      : [];
    return [...journey, ...(Object.keys(ENDPOINTS) as Endpoint[]).map((endpoint): Traffic => {
      const { probe, pool, counter } = endpointProbe(load, endpoint, orderIds, contract, () => env.clientAttempts, o, t, (a) => env.stack.pg.nodeOfAddress(a));
      // Scopes: the dependency the endpoint needs (faults of it judge this probe's recovery), and
      // the app's name, which selects its probes in hypotheses and tables (`availability(hardened)`).
      const scopes = [...ENDPOINTS[endpoint].needs, name];
      return {
        probe,
        scopes,
        close: () => pool.close(),
        // Every answer, degraded ones included, checked against the app's contract (the runner judges contractViolations == 0).
        contract: counter,
        ...(endpoint === 'create' ? { verify: { store: 'table orders on the primary', readBack: () => readOrderIds(env.stack.pg.primaryUrl) } } : {}),
      };
    })];
  })).then((xs) => xs.flat());
}

export const CASCADE_METRICS: readonly MetricSpec[] = [
  { name: 'unaffectedAvailability', unit: 'ratio', aggregate: 'min', description: 'per app: successful / attempted requests, during the fault, of the endpoints that do not use the failing dependency (the blast radius)' },
  { name: 'unaffectedP99', unit: 'ms', description: 'per app: p99 latency (from the intended start) during the fault of the endpoints that do not use the failing dependency' },
  { name: 'affectedAvailability', unit: 'ratio', aggregate: 'min', description: 'per app: successful / attempted requests during the fault of the endpoints that use the failing dependency' },
  { name: 'affectedP99', unit: 'ms', description: 'per app: p99 latency during the fault of the endpoints that use the failing dependency' },
  { name: 'amplification', unit: 'count', aggregate: 'max', description: 'per app: attempts on the failing dependency (retries included, from the app\'s /metrics) per client request that needed it, from the fault to its heal; the SRE book allows 3 per layer' },
  { name: 'dbLoadFactor', unit: 'count', aggregate: 'max', description: 'per app, cache scenarios: its attempts on PostgreSQL per second from the fault to its heal, over the same in the steady state before (how much of the cache\'s load fell on the database)' },
  { name: 'cacheMisses', unit: 'count', aggregate: 'max', description: 'per app, cache scenarios: cache misses from the fault to its heal (the app\'s app_cache_requests_total{result="miss"})' },
  { name: 'goodput', unit: 'count', aggregate: 'min', description: 'per app: successful requests per second during the fault, all endpoints' },
  { name: 'inflightMax', unit: 'count', aggregate: 'max', description: 'per app: most requests being served at once during the fault (its /metrics, read every 500 ms)' },
  { name: 'eventLoopP99Max', unit: 'ms', description: 'per app: worst event-loop delay p99 during the fault (its /metrics, read every 500 ms)' },
  { name: 'recoveryAfterHeal', unit: 'ms', description: 'per app: heal to the start of the first second in which every endpoint answered every request; not measured if it did not within --timeout' },
  { name: 'metastability', unit: 'count', aggregate: 'sum', description: `per app: 1 when it was not back within twice the breaker's half-open time (${(2 * HALF_OPEN_MS) / 1000} s) after the heal` },
];

function describe(metric: string): string {
  return CASCADE_METRICS.find((m) => m.name === metric)?.description ?? metric;
}

export const cascade = defineWorkflow<CascadeOptionsT, CascadeEnv>({
  name: 'cascade',
  description: 'breaks one dependency of the reference app (slow, black-holed, locked, failing fast) under the same traffic for a naive and a hardened app, and measures the blast radius, retry amplification, goodput, in-flight requests, recovery and metastability of each',
  options: CascadeOptions,
  usage: CASCADE_USAGE,
  metrics: CASCADE_METRICS,
  images: (o) => imagesNeeded([o.image]),
  timeoutMs: (o) => o.timeout,
  expectedMs: (o) => o.scenario.length * (o.steady + o.hold + 2 * HALF_OPEN_MS + o.after),
  environment: async (o, setup) => {
    setup.note(`provisioning app-stack on ${o.image}: pg-ha, redis-sentinel, links link-database and link-cache, apps naive and hardened`);
    const stack = await provision({
      engine: setup.engine, image: o.image, apps: CASCADE_APPS.map((a) => ({ ...a })), links: true,
      // Reads stay cache hits for the whole run (the default TTL of 60 s would turn them into database reads midway).
      appEnv: { CACHE_TTL_SECONDS: '3600' },
      signal: setup.signal, now: setup.now,
    });
    const byName = (n: AppName): AppLoad => ({ app: stack.apps.find((a) => a.name === n)!, samples: { page: [], create: [], read: [] }, during: [] });
    const env: CascadeEnv = { stack, clientAttempts: 1, loads: { naive: byName('naive'), hardened: byName('hardened') } };
    return declareEnvironment(env, () => stack.teardown(), async () => {
      const [pgv, redis] = await Promise.all([pgVersions(stack.pg), redisVersion(stack.redis)]);
      return {
        systems: { postgres: patroniSystem(stack.pg, pgv.patroni ?? ''), redis: sentinelSystem(stack.redis, redis) },
        settings: { scenarios: o.scenario.map((x) => ({ name: x, does: CASCADE_SCENARIOS[x].does, clientAttempts: clientAttempts(x) })), app: stack.settings, provisioning: stack.timings },
        versions: { ...pgv, redis },
      };
    });
  },
  traffic: cascadeTraffic,
  schedule: cascadeSchedule,
  hypotheses: () => [
    { text: 'unaffectedAvailability(hardened) >= 99%', description: 'the hardened app keeps the endpoints that do not use the failing dependency up (the blast radius stays with the dependency)' },
    { text: 'amplification(hardened) <= 1.1', description: 'the hardened app does not multiply the load on a failing dependency (retries stop when its breaker opens)' },
    { text: 'metastability(hardened) == 0', description: `the hardened app is back within twice its breaker's half-open time (${(2 * HALF_OPEN_MS) / 1000} s) after the heal` },
  ],
});
