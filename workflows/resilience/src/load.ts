// The load workflow, declared on the runner: app-stack under open-loop load (steady, a spike, a
// sustained high rate, or a ramp that finds the knee), optionally with a fault held through the
// peak stage. Measured per stage: offered rate, throughput, p50/p95/p99/max from the intended
// start, error rate, shed and dropped requests, the generator's own lag, the app's CPU and memory.
import { provision, type AppStack } from '@resilience/app-stack';
import { httpProbe } from '@resilience/fixtures';
import { httpLoad, runLoad, type LoadStage, type StageResult } from '@resilience/fixtures/load/index';
import { declareEnvironment, defineWorkflow, heal, inject, primaryOf, type HypothesisSpec, type MetricSpec, type Step, type StepContext } from '@resilience/runner';
import { LOAD_USAGE, LoadOptions, loadStages, peakStage, type LoadOptionsT } from './load-options.ts';
import { sampleApps, type AppSampler } from './load-sampler.ts';
import { imagesNeeded } from './options.ts';
import { patroniSystem, sentinelSystem } from './systems.ts';
import { seedOrder } from './traffic.ts';
import { pgVersions, redisVersion } from './versions.ts';

/** The app-stack and the orders the reads cycle through. */
export interface LoadEnv {
  readonly stack: AppStack;
  readonly orders: readonly string[];
}

export const LOAD_METRICS: readonly MetricSpec[] = [
  { name: 'offeredRate', unit: 'count', aggregate: 'max', description: 'requests per second the schedule offered in a stage (sent + dropped)' },
  { name: 'throughput', unit: 'count', aggregate: 'min', description: 'successful answers per second completed inside a stage\'s window; the worst stage' },
  { name: 'latencyP50', unit: 'ms', description: 'median latency of a stage\'s requests, from their intended start; the worst stage' },
  { name: 'latencyP95', unit: 'ms', description: '95th percentile latency from the intended start; the worst stage' },
  { name: 'latencyP99', unit: 'ms', description: '99th percentile latency from the intended start; the worst stage' },
  { name: 'latencyMax', unit: 'ms', description: 'slowest request of a stage, from its intended start' },
  { name: 'errorRate', unit: 'ratio', aggregate: 'max', description: '(errors + shed + dropped) / offered requests of a stage; the worst stage' },
  { name: 'shed', unit: 'count', aggregate: 'sum', description: 'requests the app refused as overload (HTTP 429)' },
  { name: 'dropped', unit: 'count', aggregate: 'sum', description: 'requests that could not start: --max-in-flight were still open when they were due' },
  { name: 'sendLag', unit: 'ms', description: 'worst delay of the generator sending a request after its intended start (its own lag; counted in the latency)' },
  { name: 'appCpu', unit: 'ratio', aggregate: 'max', description: 'the app containers\' CPU in a stage, as a share of one core (Docker stats, about one reading a second); the worst reading' },
  { name: 'appMemory', unit: 'bytes', aggregate: 'max', description: 'the app containers\' memory in a stage (Docker stats: usage less inactive page cache); the worst reading' },
  { name: 'knee', unit: 'count', aggregate: 'max', description: 'ramp: the highest stage rate (requests/s) whose p99, error rate and throughput stayed within the SLO; not measured when the first stage broke it' },
];

/** A stage within the ramp's SLO: p99 and error rate within it, and the app keeping up (throughput at least 95 % of the rate). */
export function withinSlo(r: StageResult, o: Pick<LoadOptionsT, 'sloP99' | 'sloErrors'>): { ok: boolean; why: string } {
  const broken: string[] = [];
  if (r.latency.p99Ms === null || r.latency.p99Ms > o.sloP99) broken.push(`p99 ${r.latency.p99Ms === null ? 'not measured' : `${Math.round(r.latency.p99Ms)} ms`} > ${o.sloP99} ms`);
  if (r.errorRate > o.sloErrors / 100) broken.push(`error rate ${(r.errorRate * 100).toFixed(2)} % > ${o.sloErrors} %`);
  if (r.throughput < 0.95 * r.offeredRate) broken.push(`throughput ${r.throughput.toFixed(1)}/s < 95 % of ${r.offeredRate.toFixed(1)}/s`);
  return { ok: broken.length === 0, why: broken.join(', ') };
}

/** Every measurement of one stage, scoped by its name. */
function measureStage(sc: StepContext<LoadEnv, LoadOptionsT>, r: StageResult, apps: AppSampler): void {
  const scope = r.name;
  const m = (name: string, unit: 'ms' | 'count' | 'ratio' | 'bytes', value: number | null, description: string) => sc.measure({ name, scope, unit, value, description });
  m('offeredRate', 'count', r.offeredRate, `${r.offered} requests offered over ${r.durationMs / 1000} s`);
  m('throughput', 'count', r.throughput, `${r.ok} ok of ${r.sent} sent; answers/s completed inside the stage`);
  m('latencyP50', 'ms', r.latency.p50Ms, `${r.latency.count} requests, from the intended start`);
  m('latencyP95', 'ms', r.latency.p95Ms, 'from the intended start');
  m('latencyP99', 'ms', r.latency.p99Ms, 'from the intended start');
  m('latencyMax', 'ms', r.latency.maxMs, 'from the intended start');
  const kinds = Object.entries(r.errorKinds).map(([k, n]) => `${k} x${n}`).join(', ');
  m('errorRate', 'ratio', r.errorRate, `${r.errors} errors (${r.timeouts} timeouts), ${r.shed} shed, ${r.dropped} dropped of ${r.offered}${kinds ? `: ${kinds}` : ''}`);
  m('shed', 'count', r.shed, 'HTTP 429');
  m('dropped', 'count', r.dropped, `at the in-flight cap of ${sc.options.maxInFlight}`);
  m('sendLag', 'ms', r.maxSendLagMs, 'the generator\'s worst delay sending');
  const worst = apps.worst(r.startedAt, r.startedAt + r.durationMs);
  m('appCpu', 'ratio', worst.cpuPercent === undefined ? null : worst.cpuPercent / 100, `${worst.readings} reading(s); 100 % = one core`);
  m('appMemory', 'bytes', worst.memoryBytes ?? null, `${worst.readings} reading(s)`);
  sc.note(`${r.name}: offered ${r.offeredRate.toFixed(1)}/s, throughput ${r.throughput.toFixed(1)}/s, p50 ${fmt(r.latency.p50Ms)} p95 ${fmt(r.latency.p95Ms)} p99 ${fmt(r.latency.p99Ms)}, error rate ${(r.errorRate * 100).toFixed(2)} % (${r.errors} errors, ${r.shed} shed, ${r.dropped} dropped)${worst.cpuPercent === undefined ? '' : `, app CPU ${Math.round(worst.cpuPercent)} %`}`);
  if (r.maxSendLagMs > 50) sc.note(`${r.name}: the generator sent up to ${Math.round(r.maxSendLagMs)} ms late (its own CPU); that delay is in the latency`);
}

const fmt = (x: number | null) => (x === null ? '-' : `${Math.round(x)} ms`);

/** The load itself: stages through the app, a fault held through the peak stage, measurements per stage. */
export function loadStep(o: LoadOptionsT): Step<LoadEnv, LoadOptionsT> {
  const stages = loadStages(o);
  const peak = peakStage(stages);
  const faulted = o.fault !== 'none';
  const injectStep = faulted ? inject(o.fault, primaryOf(o.system), { scope: o.system }) as unknown as Step<LoadEnv, LoadOptionsT> : undefined;
  const healStep = heal(o.system) as unknown as Step<LoadEnv, LoadOptionsT>;
  const label = o.profile === 'ramp'
    ? `ramp ${stages.map((s) => s.rate).join(', ')}/s, ${stages[0]!.durationMs} ms each, until the SLO breaks`
    : `load ${stages.map((s) => `${s.name} ${s.rate}/s for ${s.durationMs} ms`).join(', ')}${faulted ? `; ${o.fault} of primaryOf(${o.system}) through ${stages[peak]!.name}` : ''}`;
  return {
    label,
    ...(injectStep ? { children: [injectStep, healStep], fault: o.fault, targets: 1 } : {}),
    run: async (sc) => {
      const { stack, orders } = sc.env;
      const reads = 100 - o.writes;
      const http = httpLoad({
        baseUrl: stack.url,
        connections: o.maxInFlight,
        mix: [
          ...(reads > 0 ? [{ name: 'read', weight: reads, path: (seq: number) => `/orders/${orders[seq % orders.length]}` }] : []),
          ...(o.writes > 0 ? [{
            name: 'write', weight: o.writes, method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' },
            body: (seq: number) => JSON.stringify({ item: `load-${seq}`, quantity: 1 }),
          }] : []),
        ],
      });
      const apps = sampleApps(sc.run.engine, stack.apps.map((a) => a.container.id), sc.now);
      const common = { request: http.request, maxInFlight: o.maxInFlight, timeoutMs: o.requestTimeout, now: sc.now, signal: sc.signal };
      try {
        if (o.profile === 'ramp') {
          await ramp(sc, stages, common, apps);
          return;
        }
        let faultTask: Promise<unknown> | undefined;
        const r = await runLoad({
          ...common,
          stages,
          onStage: (i, s, at) => {
            sc.phase(s.name);
            if (i !== peak || !injectStep) return;
            // Held through the peak stage, then healed; a failure stops the load's result from counting.
            faultTask = (async () => {
              await injectStep.run(sc);
              await sc.sleep(Math.max(0, at + s.durationMs - sc.now()));
              await healStep.run(sc);
            })();
            faultTask.catch(() => undefined);
          },
        });
        await faultTask;
        for (const s of r.stages) measureStage(sc, s, apps);
      } finally {
        await apps.stop();
        await http.close();
      }
    },
  };
}

/** One stage at a time, each rate higher, until one breaks the SLO; the knee is the last that held. */
async function ramp(sc: StepContext<LoadEnv, LoadOptionsT>, stages: readonly LoadStage[], common: Omit<Parameters<typeof runLoad>[0], 'stages'>, apps: AppSampler): Promise<void> {
  let knee: number | null = null;
  let broke: string | undefined;
  for (const stage of stages) {
    sc.phase(stage.name);
    const r = (await runLoad({ ...common, stages: [stage] })).stages[0]!;
    measureStage(sc, r, apps);
    const verdict = withinSlo(r, sc.options);
    if (!verdict.ok) {
      broke = `${stage.rate}/s broke the SLO: ${verdict.why}`;
      break;
    }
    knee = stage.rate;
  }
  const last = stages.at(-1)!.rate;
  sc.measure({
    name: 'knee', scope: 'ramp', unit: 'count', value: knee,
    description: broke
      ? `the highest stage rate within the SLO (p99 <= ${sc.options.sloP99} ms, errors <= ${sc.options.sloErrors} %, throughput >= 95 % of the rate); ${broke}`
      : `every stage up to --max-rate (${last}/s) stayed within the SLO: the knee is above it`,
  });
  sc.note(broke ? `knee: ${knee ?? 'none'}/s (${broke})` : `knee: above ${last}/s (no stage broke the SLO)`);
}

export function loadHypotheses(o: LoadOptionsT): HypothesisSpec[] {
  const resources: HypothesisSpec[] = [
    { text: 'appCpu < 80%', description: 'the app containers used less than 80 % of one core in every stage' },
    { text: 'appMemory < 1073741824', description: 'the app containers used less than 1 GiB in every stage' },
  ];
  if (o.profile === 'ramp') {
    return [{ text: 'knee >= 50', description: 'the app sustains at least 50 requests/s within the SLO' }, ...resources];
  }
  return [
    { text: 'latencyP50 < 1s', description: 'median latency from the intended start, every stage' },
    { text: 'latencyP95 < 3s', description: '95th percentile latency, every stage' },
    { text: 'latencyP99 < 5s', description: '99th percentile latency, every stage' },
    { text: 'errorRate < 1%', description: 'errors, shed and dropped requests of the offered, every stage' },
    { text: 'throughput >= 50', description: 'at least 50 successful answers per second in every stage' },
    ...resources,
  ];
}

export const load = defineWorkflow<LoadOptionsT, LoadEnv>({
  name: 'load',
  description: 'open-loop load on the reference app (steady, spike, sustained, or a ramp to the knee), optionally with a fault through the peak stage; per stage throughput, latency from the intended start, error rate, dropped requests, app CPU and memory',
  options: LoadOptions,
  usage: LOAD_USAGE,
  metrics: LOAD_METRICS,
  images: () => imagesNeeded(['bookworm']),
  timeoutMs: (o) => o.timeout,
  expectedMs: (o) => loadStages(o).reduce((a, s) => a + s.durationMs, 0),
  environment: async (o, setup) => {
    setup.note(`provisioning app-stack (pg-ha, redis-sentinel, app in ${o.appMode} mode)`);
    const stack = await provision({ engine: setup.engine, mode: o.appMode, signal: setup.signal, now: setup.now });
    const orders: string[] = [];
    return declareEnvironment<LoadEnv>({ stack, orders }, () => stack.teardown(), async () => {
      setup.note(`app-stack healthy in ${(stack.timings['total']! / 1000).toFixed(1)} s`);
      for (let i = 0; i < 20; i++) orders.push(await seedOrder(stack.url));
      const [pgv, redis] = await Promise.all([pgVersions(stack.pg), redisVersion(stack.redis)]);
      return {
        systems: { postgres: patroniSystem(stack.pg, pgv.patroni ?? ''), redis: sentinelSystem(stack.redis, redis) },
        settings: { 'pg-ha': stack.pg.settings, 'redis-sentinel': stack.redis.settings, app: stack.settings, provisioning: stack.timings },
        versions: { ...pgv, redis },
      };
    });
  },
  // With a fault, one light read probe (10/s) beside the load, so the runner measures the
  // fault's client-visible RTO as in the failover workflow; without one, the load is the traffic.
  traffic: (env, o, t) => (o.fault === 'none' ? [] : [{
    probe: httpProbe({ name: t.name('http-read'), url: `${env.stack.url}/orders/${env.orders[0]}`, intervalMs: 100, timeoutMs: 1000, now: t.now }),
    scopes: [o.system],
  }]),
  schedule: (o) => [loadStep(o)],
  hypotheses: loadHypotheses,
});
