// The rolling deploy workflow, declared on the runner: app-stack with two or three app replicas
// behind an HAProxy frontend, steady traffic through it (order writes with the lost-write check,
// and reads), then every replica replaced in turn: taken out of rotation and stopped (--stop),
// a new container started from the same image, and the next replica only after the new one
// passed its health gate (/health 200 with its dependencies up, and UP in the frontend).
// Measured: the requests that failed during the deploy (the hypothesis: none), per replacement
// the requests in flight when the old replica was signalled, its drain, its time out of
// rotation and the new one's time to healthy, the deploy's total time, and p99 during the
// deploy against the steady state's.
import { httpProbe, type ContainerHandle, type ProbeSample } from '@resilience/fixtures';
import { APP_PORT, appHealth, orderWriteProbe, provision, readOrderIds, startApps, type AppStack, type Frontend } from '@resilience/app-stack';
import { declareEnvironment, defineWorkflow, observe, steady, type MetricSpec, type Step, type StepContext, type Traffic, type TrafficContext } from '@resilience/runner';
import { ROLLING_USAGE, RollingOptions, STOPS, type RollingOptionsT } from './rolling-options.ts';
import { failures, latencyPercentile, type Window } from './rolling-metrics.ts';
import { imagesNeeded } from './options.ts';
import { patroniSystem, sentinelSystem } from './systems.ts';
import { pgVersions, redisVersion } from './versions.ts';
import { seedOrder } from './traffic.ts';

/** One place behind the frontend (its HAProxy server name) and the container filling it now. */
export interface Slot {
  readonly name: string;
  container: ContainerHandle;
  generation: number;
}

/** What one replacement measured (run clock, ms). */
export interface Replacement {
  readonly slot: string;
  readonly old: string;
  readonly next: string;
  /** The frontend's requests in flight on the old replica when it was signalled. */
  readonly inFlightAtStop: number;
  readonly outAt: number;
  readonly signalledAt: number;
  readonly exitedAt: number;
  /** The frontend saw the old replica DOWN or it was put in maintenance. */
  readonly downAt: number;
  readonly startedAt: number;
  readonly healthyAt: number;
  readonly upAt: number;
  readonly exitCode: number | null;
  /** The app's own `stopped` log line: whether it had to cut connections, and its drain ms. */
  readonly appStopped: { readonly forced: boolean; readonly ms: number } | null;
}

export interface RollingEnv {
  readonly stack: AppStack;
  readonly frontend: Frontend;
  readonly slots: Slot[];
  /** Every container a replacement started, removed with the environment. */
  readonly started: ContainerHandle[];
  /** Every request of the probes, through the frontend. */
  readonly samples: ProbeSample[];
  readonly replacements: Replacement[];
  deploy?: Window;
  steady?: Window;
}

/** The app's JSON log line saying it stopped: `{"msg":"stopped","forced":false,"ms":123}`. */
export function appStoppedLine(logs: string): { forced: boolean; ms: number } | null {
  for (const line of logs.split('\n').reverse()) {
    const at = line.indexOf('{');
    if (at < 0) continue;
    try {
      const entry = JSON.parse(line.slice(at)) as { msg?: string; forced?: unknown; ms?: unknown };
      if (entry.msg === 'stopped' && typeof entry.forced === 'boolean' && typeof entry.ms === 'number') return { forced: entry.forced, ms: entry.ms };
    } catch {
      // Not a JSON line.
    }
  }
  return null;
}

/** Signals the old replica as --stop says and waits for it to exit; its exit code. */
async function stopReplica(container: ContainerHandle, o: RollingOptionsT): Promise<number | null> {
  // A deploy stops only the project's own containers.
  await container.engine.inspectOwned(container.id, 'stop');
  if (o.stop === 'sigkill') await container.api.kill({ signal: 'SIGKILL' });
  else await container.api.stop({ t: o.grace / 1000 });
  await container.api.wait();
  return (await container.inspect()).State.ExitCode ?? null;
}

/** Replaces the replica in `slot`: out, stopped, a new container, its health gate. */
async function replace(sc: StepContext<RollingEnv, RollingOptionsT>, slot: Slot): Promise<Replacement> {
  const { stack, frontend } = sc.env;
  const o = sc.options;
  const wait = { timeoutMs: o.timeout, signal: sc.signal };
  const old = slot.container;
  const outAt = sc.now();
  // drain: no new requests from the frontend; those it has go on.
  if (o.stop === 'drain') await frontend.drain(slot.name);
  const inFlightAtStop = (await frontend.server(slot.name)).current;
  const signalledAt = sc.now();
  sc.note(`${slot.name}: ${o.stop} ${old.name} (${inFlightAtStop} request(s) in flight at the frontend)`);
  const exitCode = await stopReplica(old, o);
  const exitedAt = sc.now();
  // Without a drain the frontend finds out through its health checks.
  if (o.stop !== 'drain') await frontend.waitServer(slot.name, (s) => s.status.startsWith('DOWN') && !s.status.includes('/'), { what: `the frontend to mark ${slot.name} DOWN`, ...wait });
  const downAt = sc.now();
  await frontend.maintenance(slot.name);
  const appStopped = appStoppedLine(await old.logs().catch(() => ''));
  await old.remove();
  slot.generation++;
  const nextName = `${slot.name}-v${slot.generation}`;
  const startedAt = sc.now();
  const [app] = await startApps({
    engine: stack.engine, network: stack.network, pg: stack.pg, redis: stack.redis, settings: stack.settings,
    apps: [{ name: nextName, mode: o.mode }], timeoutMs: o.timeout, signal: sc.signal,
    onStarted: (c) => sc.env.started.push(c),
  });
  const healthyAt = sc.now();
  slot.container = app!.container;
  await frontend.setAddress(slot.name, await app!.container.ipOn(stack.network), APP_PORT);
  await frontend.ready(slot.name);
  // The gate: UP in the frontend (after its checks) and the app itself healthy.
  await frontend.waitServer(slot.name, (s) => s.status === 'UP' && s.checkStatus.startsWith('L7OK'), { what: `the frontend to mark ${slot.name} (${nextName}) UP`, ...wait });
  const health = await appHealth(app!.url);
  if (health.httpStatus !== 200) throw new Error(`${nextName} is UP in the frontend but its /health answers ${health.httpStatus}`);
  const upAt = sc.now();
  sc.note(`${slot.name}: ${nextName} UP, ${Math.round(upAt - outAt)} ms out of rotation`);
  return { slot: slot.name, old: old.name, next: app!.container.name, inFlightAtStop, outAt, signalledAt, exitedAt, downAt, startedAt, healthyAt, upAt, exitCode, appStopped };
}

const deploy: Step<RollingEnv, RollingOptionsT> = {
  label: 'deploy: replace every replica in turn (out of rotation, stop, start, health gate)',
  run: async (sc) => {
    const from = sc.now();
    sc.env.steady = { from: sc.env.steady?.from ?? 0, to: from };
    sc.phase('deploy');
    for (const slot of sc.env.slots) {
      const r = await replace(sc, slot);
      sc.env.replacements.push(r);
      const m = (name: string, value: number, unit: 'ms' | 'count') => sc.measure({ name, scope: slot.name, value: Math.round(value), unit, description: describe(name) });
      m('inFlightAtStop', r.inFlightAtStop, 'count');
      m('drainTime', r.exitedAt - r.signalledAt, 'ms');
      m('outOfRotation', r.upAt - r.outAt, 'ms');
      m('timeToHealthy', r.upAt - r.startedAt, 'ms');
    }
    sc.env.deploy = { from, to: sc.now() };
    sc.measure({ name: 'deployTime', scope: 'deploy', value: Math.round(sc.env.deploy.to - from), unit: 'ms', description: describe('deployTime') });
  },
};

const markSteady: Step<RollingEnv, RollingOptionsT> = {
  label: 'mark the steady state\'s start',
  run: async (sc) => {
    sc.env.steady = { from: sc.now(), to: sc.now() };
  },
};

const fmt = (x: number | null) => (x === null ? 'not measured' : `${Math.round(x)} ms`);

/** After the requests of the deploy had time to finish: what failed, and latency against the steady state. */
const measure: Step<RollingEnv, RollingOptionsT> = {
  label: 'measure failed requests and latency of the deploy',
  run: async (sc) => {
    const env = sc.env;
    const w = env.deploy!;
    // A request due before the deploy's end may still be open: wait out the client timeout.
    const left = w.to + sc.options.clientTimeout + 250 - sc.now();
    if (left > 0) await sc.sleep(left);
    const f = failures(env.samples, w);
    const p99Deploy = latencyPercentile(env.samples, w, 99);
    const p99Steady = env.steady ? latencyPercentile(env.samples, env.steady, 99) : null;
    sc.measure({ name: 'failedRequests', scope: 'deploy', value: f.failed, unit: 'count', description: describe('failedRequests') });
    sc.measure({ name: 'deployP99', scope: 'deploy', value: p99Deploy === null ? null : Math.round(p99Deploy), unit: 'ms', description: describe('deployP99') });
    sc.measure({ name: 'steadyP99', scope: 'deploy', value: p99Steady === null ? null : Math.round(p99Steady), unit: 'ms', description: describe('steadyP99') });
    const o = sc.options;
    const rows = env.replacements.map((r) => [
      r.slot, r.old, r.next, String(r.inFlightAtStop), fmt(r.exitedAt - r.signalledAt), r.exitCode === null ? '-' : String(r.exitCode),
      r.appStopped ? `${r.appStopped.ms} ms${r.appStopped.forced ? ', forced' : ''}` : 'no `stopped` line',
      fmt(r.upAt - r.outAt), fmt(r.upAt - r.startedAt),
    ]);
    sc.evidence('rolling-deploy', { stop: o.stop, window: w, failures: f, replacements: env.replacements }, [{
      title: `Rolling deploy (${o.stop}): ${f.failed} of ${f.attempted} requests failed; p99 ${fmt(p99Deploy)} during it, ${fmt(p99Steady)} steady`,
      header: ['slot', 'old', 'new', 'in flight at stop', 'signal to exit', 'exit code', 'app drain (its log)', 'out of rotation', 'time to healthy'],
      rows,
    }]);
    const errors = f.errors.map(([e, n]) => `${n} x ${e}`).join('; ');
    if (f.failed > 0 && o.stop === 'sigkill') {
      sc.finding({
        kind: 'deploy-failed-requests', severity: 'info', scope: 'deploy', at: w.from, until: w.to,
        title: `Killing replicas without a drain failed ${f.failed} of ${f.attempted} requests (the expected answer of --stop sigkill)`,
        detail: `SIGKILL cut the requests in flight on each replica (${env.replacements.map((r) => r.inFlightAtStop).join(', ')} at the frontend when signalled). Errors: ${errors}.`,
      });
    } else if (f.failed > 0) {
      sc.finding({
        kind: 'deploy-failed-requests', severity: 'critical', scope: 'deploy', at: w.from, until: w.to,
        title: `${f.failed} of ${f.attempted} requests failed during a ${o.stop} deploy`,
        detail: `${STOPS[o.stop]}; yet requests through the frontend failed. Errors: ${errors}.`,
      });
    }
    // Requests that did not fail but waited: the frontend routing to a replica that no longer
    // accepts connections until its checks mark it DOWN, each retried after HAProxy's 1 s turn-around.
    if (p99Deploy !== null && p99Steady !== null && p99Deploy > 2 * p99Steady && p99Deploy - p99Steady > 200) {
      sc.finding({
        kind: 'deploy-latency', severity: 'warning', scope: 'deploy', at: w.from, until: w.to,
        title: `p99 rose from ${fmt(p99Steady)} (steady) to ${fmt(p99Deploy)} during the ${o.stop} deploy`,
        detail: o.stop === 'drain'
          ? 'The replicas were out of rotation before they were stopped, yet requests waited: see the frontend\'s retries and the new replicas\' first requests.'
          : 'The frontend kept sending new requests to each stopped replica until its health checks marked it DOWN (about fall x inter); those connections were refused or timed out and HAProxy retried them on another replica after its turn-around of min(timeout connect, 1 s). Taking a replica out of rotation before stopping it (--stop drain) avoids the wait.',
      });
    }
    const forced = env.replacements.filter((r) => r.appStopped?.forced);
    if (forced.length) {
      sc.finding({
        kind: 'drain-forced', severity: 'warning', scope: 'deploy', at: w.from,
        title: `${forced.map((r) => r.old).join(', ')} cut connections at the drain deadline`,
        detail: 'The app logged `stopped` with forced: true: requests were still open when its drain budget (SHUTDOWN_TIMEOUT_MS - 2 s) ran out.',
      });
    }
    if (o.stop !== 'sigkill' && env.replacements.every((r) => r.inFlightAtStop === 0)) {
      sc.finding({
        kind: 'drain-not-shown', severity: 'warning', scope: 'deploy', at: w.from,
        title: 'No request was in flight on any replica when it was stopped: this run does not show that draining works',
        detail: 'Raise the load (shorter --interval) or the time per request (--app-delay) so that each stop catches requests in flight.',
      });
    }
  },
};

export function rollingSchedule(o: RollingOptionsT): Step<RollingEnv, RollingOptionsT>[] {
  return [
    markSteady,
    steady(o.steady) as Step<RollingEnv, RollingOptionsT>,
    deploy,
    observe(o.after) as Step<RollingEnv, RollingOptionsT>,
    measure,
  ];
}

/** Order writes (lost-write checked) and reads of one seeded order, both through the frontend. */
async function rollingTraffic(env: RollingEnv, o: RollingOptionsT, t: TrafficContext): Promise<Traffic[]> {
  const url = env.frontend.url;
  const orderId = await seedOrder(url);
  const common = { intervalMs: o.interval, timeoutMs: o.clientTimeout, now: t.now };
  const write = orderWriteProbe({ url, pg: env.stack.pg }, { ...common, name: t.name('http-write') });
  const read = httpProbe({ ...common, name: t.name('http-read'), url: `${url}/orders/${orderId}` });
  for (const p of [write, read]) p.subscribe((s) => env.samples.push(s));
  return [
    { probe: write, scopes: ['app'], verify: { store: 'table orders on the primary', readBack: () => readOrderIds(env.stack.pg.primaryUrl) } },
    { probe: read, scopes: ['app'] },
  ];
}

export const ROLLING_METRICS: readonly MetricSpec[] = [
  { name: 'failedRequests', unit: 'count', aggregate: 'sum', description: 'requests through the frontend that failed (an error answer, a cut connection, or no answer within --client-timeout) from the deploy\'s start to its end, counting those open when it started' },
  { name: 'deployTime', unit: 'ms', description: 'the deploy: first replica out of rotation to the last new one UP in the frontend' },
  { name: 'inFlightAtStop', unit: 'count', aggregate: 'max', description: 'per replica: requests the frontend had open on it when it was signalled' },
  { name: 'drainTime', unit: 'ms', description: 'per replica: signal (SIGTERM, or SIGKILL) to the container\'s exit' },
  { name: 'outOfRotation', unit: 'ms', description: 'per replica slot: out of rotation (drain, or the signal) to its replacement UP in the frontend' },
  { name: 'timeToHealthy', unit: 'ms', description: 'per replica slot: the new container\'s start to /health 200 with database and cache up and UP in the frontend' },
  { name: 'deployP99', unit: 'ms', description: 'p99 latency (from the intended start) of the requests due during the deploy, both probes pooled' },
  { name: 'steadyP99', unit: 'ms', description: 'p99 latency of the requests due in the steady state before the deploy, both probes pooled' },
];

function describe(metric: string): string {
  return ROLLING_METRICS.find((m) => m.name === metric)?.description ?? metric;
}

export const rolling = defineWorkflow<RollingOptionsT, RollingEnv>({
  name: 'rolling',
  description: 'replaces the reference app\'s replicas behind an HAProxy frontend one by one under traffic (drain, SIGTERM, health gate) and counts the requests that failed',
  options: RollingOptions,
  usage: ROLLING_USAGE,
  metrics: ROLLING_METRICS,
  images: (o) => imagesNeeded([o.image]),
  timeoutMs: (o) => o.timeout,
  expectedMs: (o) => o.steady + o.replicas * 8_000 + o.after + o.clientTimeout,
  environment: async (o, setup) => {
    setup.note(`provisioning app-stack on ${o.image}: pg-ha, redis-sentinel, ${o.replicas} ${o.mode} app replicas behind an HAProxy frontend`);
    const appEnv: Record<string, string> = o.appDelay > 0 ? { APP_FAULTS: 'delay', APP_FAULT_PROBABILITY: '1', APP_FAULT_DELAY_MS: String(Math.round(o.appDelay)) } : {};
    const stack = await provision({
      engine: setup.engine, image: o.image, mode: o.mode, instances: o.replicas, frontend: true,
      ...(o.appDelay > 0 ? { appEnv } : {}), signal: setup.signal, now: setup.now,
    });
    const env: RollingEnv = {
      stack, frontend: stack.frontend!, slots: stack.apps.map((a) => ({ name: a.name, container: a.container, generation: 1 })),
      started: [], samples: [], replacements: [],
    };
    const teardown = async () => {
      const results = await Promise.allSettled(env.started.map((c) => c.remove()));
      await stack.teardown();
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    };
    return declareEnvironment(env, teardown, async () => {
      const [pgv, redis] = await Promise.all([pgVersions(stack.pg), redisVersion(stack.redis)]);
      return {
        systems: { postgres: patroniSystem(stack.pg, pgv.patroni ?? ''), redis: sentinelSystem(stack.redis, redis) },
        settings: { stop: { name: o.stop, does: STOPS[o.stop] }, replicas: o.replicas, app: stack.settings, provisioning: stack.timings },
        versions: { ...pgv, redis },
      };
    });
  },
  traffic: rollingTraffic,
  schedule: rollingSchedule,
  hypotheses: () => [
    { text: 'failedRequests == 0', description: 'no request through the frontend failed while every replica was replaced' },
  ],
});
