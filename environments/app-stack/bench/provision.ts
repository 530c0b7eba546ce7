// Benchmark: app-stack provisioning time from images present to every app instance healthy, with
// the time of each step on the critical path (network, then pg-ha beside redis-sentinel, then
// the app), beside the same stack started one part after another (pg-ha, then redis-sentinel,
// then the app, on one network and engine), as a ratio. Runs alternate so load hits both alike.
// Usage: scripts/node environments/app-stack/bench/provision.ts [--runs N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Engine, Images, requireImage } from '@resilience/fixtures';
import { provision as provisionPg } from '@resilience/pg-ha';
import { provision as provisionRedis } from '@resilience/redis-sentinel';
import { APP_DEFAULTS, ENVIRONMENT, ENVIRONMENT_LABEL, provision, startApps } from '../src/index.ts';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
if (!(Number.isInteger(runs) && runs >= 1)) {
  console.error(`Expected \`--runs\` to be a whole number ≥ 1, got \`${process.argv[runsArg + 1]}\``);
  process.exit(2);
}
const GOAL_MS = 20_000;

type Steps = Record<string, number>;
interface Sample {
  readonly total: number;
  readonly steps: Steps;
  readonly pg: Steps;
  readonly redis: Steps;
}

/** app-stack's own provision(): pg-ha and redis-sentinel in parallel, then the app. */
async function parallel(): Promise<Sample> {
  const started = performance.now();
  const stack = await provision();
  const total = performance.now() - started;
  try {
    return { total, steps: { ...stack.timings }, pg: { ...stack.pg.timings }, redis: { ...stack.redis.timings } };
  } finally {
    await stack.teardown();
  }
}

/** The same parts one after another: pg-ha, then redis-sentinel, then the app, same network and engine. */
async function sequential(): Promise<Sample> {
  const started = performance.now();
  const engine = await Engine.connect();
  try {
    await Promise.all([requireImage(engine, Images.infra), requireImage(engine, Images.app)]);
    const steps: Steps = { engine: performance.now() - started };
    let mark = performance.now();
    const lap = (step: string): void => {
      const now = performance.now();
      steps[step] = now - mark;
      mark = now;
    };
    const network = await engine.createNetwork(ENVIRONMENT, { labels: { [ENVIRONMENT_LABEL]: ENVIRONMENT } });
    lap('network');
    const pg = await provisionPg({ engine, network: network.name });
    lap('pg-ha');
    const redis = await provisionRedis({ engine, network: network.name });
    lap('redis-sentinel');
    await startApps({ engine, network: network.name, pg, redis, settings: APP_DEFAULTS });
    lap('app');
    const total = performance.now() - started;
    redis.release();
    return { total, steps, pg: { ...pg.timings }, redis: { ...redis.timings } };
  } finally {
    await engine.removeRun();
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const sec = (ms: number | undefined): string => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const medianOf = (samples: readonly Sample[], pick: (s: Sample) => number | undefined): number => median(samples.map(pick).filter((x): x is number => x !== undefined));

const par: Sample[] = [];
const seq: Sample[] = [];
for (let i = 1; i <= runs; i++) {
  const p = await parallel();
  par.push(p);
  console.log(`run ${i} app-stack (parallel): ${sec(p.total)}  network ${sec(p.steps['network'])}, pg-ha ${sec(p.steps['pg-ha'])} ‖ redis-sentinel ${sec(p.steps['redis-sentinel'])}, app ${sec(p.steps['app'])}`);
  console.log(`        pg-ha: etcd ${sec(p.pg['etcd'])}, containers ${sec(p.pg['containers'])}, leader ${sec(p.pg['leader'])}, replicas ${sec(p.pg['replicas'])}, haproxy ${sec(p.pg['haproxy'])}; redis-sentinel: nodes ${sec(p.redis['nodes'])}, sentinels ${sec(p.redis['sentinels'])}, healthy ${sec(p.redis['healthy'])}`);
  const s = await sequential();
  seq.push(s);
  console.log(`run ${i} one after another:    ${sec(s.total)}  network ${sec(s.steps['network'])}, pg-ha ${sec(s.steps['pg-ha'])}, redis-sentinel ${sec(s.steps['redis-sentinel'])}, app ${sec(s.steps['app'])}`);
}

const parMedian = median(par.map((s) => s.total));
const seqMedian = median(seq.map((s) => s.total));
const critical = {
  engine: medianOf(par, (s) => s.steps['engine']),
  network: medianOf(par, (s) => s.steps['network']),
  'pg-ha': medianOf(par, (s) => s.steps['pg-ha']),
  'redis-sentinel (beside pg-ha)': medianOf(par, (s) => s.steps['redis-sentinel']),
  app: medianOf(par, (s) => s.steps['app']),
};
const pgSteps = Object.fromEntries(['etcd', 'containers', 'leader', 'replicas', 'haproxy'].map((k) => [k, medianOf(par, (s) => s.pg[k])]));
const redisSteps = Object.fromEntries(['nodes', 'sentinels', 'healthy'].map((k) => [k, medianOf(par, (s) => s.redis[k])]));
const seqSteps = Object.fromEntries(['engine', 'network', 'pg-ha', 'redis-sentinel', 'app'].map((k) => [k, medianOf(seq, (s) => s.steps[k])]));

console.log('');
console.log(`app-stack provisioning, images present to healthy, median of ${runs}: ${sec(parMedian)} (goal ≤ ${sec(GOAL_MS)}: ${parMedian <= GOAL_MS ? 'met' : 'MISSED'}); runs ${par.map((s) => sec(s.total)).join(', ')}`);
console.log(`  critical path: ${Object.entries(critical).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}`);
console.log(`  pg-ha steps: ${Object.entries(pgSteps).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}`);
console.log(`  redis-sentinel steps: ${Object.entries(redisSteps).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}`);
console.log(`one part after another, median of ${runs}: ${sec(seqMedian)}; runs ${seq.map((s) => sec(s.total)).join(', ')}`);
console.log(`  steps: ${Object.entries(seqSteps).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}`);
console.log(`ratio app-stack / one after another: ${(parMedian / seqMedian).toFixed(2)}`);

const result = {
  bench: 'app-stack-provision', runs, date: new Date().toISOString(), goalMs: GOAL_MS,
  parallel: { medianMs: Math.round(parMedian), criticalPath: critical, pgSteps, redisSteps, samples: par },
  sequential: { medianMs: Math.round(seqMedian), steps: seqSteps, samples: seq },
  ratio: parMedian / seqMedian,
};
const out = join(resolve(import.meta.dirname, '..', '..', '..'), 'dist', 'bench', 'app-stack-provision.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`Written to ${out}`);
