// Benchmark: what a 24-hour soak's journal costs the report. Writes a synthetic soak journal
// with the real Journal writer (5 probes x 50 ops/s, a fault every 20 min, resource events
// every 10 s), then builds the report from it in a child process (so its peak RSS is its own)
// and measures the journal's size, the build's wall time and peak RSS and the files' sizes.
// Results: packages/report/README.md ("Benchmarks: a 24-hour soak's journal").
// Usage: scripts/node packages/report/bench/soak-scale.ts [--hours 24] [--out DIR] [--cpu-prof]
//   --hours     length of the soak (default 24; 0.1 is a quick smoke test)
//   --out       keep the journal and the report in DIR (default: a temporary folder, removed)
//   --cpu-prof  write a CPU profile of the report build into DIR/prof (or the temporary folder)
//   --reuse     with --out: measure the journal already in DIR/journal (written by an earlier run)
// The child modes (--build JOURNAL OUTDIR, --decode JOURNAL) are how the parent measures.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { JOURNAL_FILE, Journal, readJournal } from '@resilience/fixtures/journal';
import { seededRandom } from '@resilience/fixtures/faulty';
import type { FaultInjectedEvent, JournalEvent, SampleEvent, WindowEvent } from '@resilience/fixtures/events';
import { buildReport, writeReport, REPORT_FILES } from '../src/index.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const OPS_PER_SECOND = 50;
const FAULT_EVERY_MS = 20 * MINUTE;
const RESOURCE_EVERY_MS = 10 * SECOND;
const TARGETS = { journalBytes: 1e9, buildSeconds: 60, rssBytes: 1e9, htmlBytes: 5e6 } as const;

interface ProbeSpec {
  readonly name: string;
  readonly op: string;
  readonly scopes: readonly string[];
  readonly writes: boolean;
  /** Nodes that acknowledge writes: the first until the first failover of its scope, then they alternate. */
  readonly nodes: readonly string[];
}

const PROBES: readonly ProbeSpec[] = [
  { name: 'sql-write', op: 'sql.write', scopes: ['postgres'], writes: true, nodes: ['pg1', 'pg2'] },
  { name: 'sql-read', op: 'sql.read', scopes: ['postgres'], writes: false, nodes: [] },
  { name: 'http-write', op: 'http.write', scopes: ['app', 'postgres'], writes: true, nodes: ['pg1', 'pg2'] },
  { name: 'http-read', op: 'http.read', scopes: ['app', 'postgres', 'redis'], writes: false, nodes: [] },
  { name: 'redis-write', op: 'redis.write', scopes: ['redis'], writes: true, nodes: ['redis1', 'redis2'] },
];
const CONTAINERS = ['pg1', 'pg2', 'pg3', 'pgpool', 'redis1', 'redis2', 'redis3', 'sentinel1', 'sentinel2', 'app'];
const FAULT_KINDS = ['kill', 'pause', 'partition', 'latency', 'cpu', 'memory'] as const;
const ERRORS: Record<string, readonly string[]> = {
  postgres: ['connect ECONNREFUSED 10.89.0.11:5432', 'Connection terminated unexpectedly', 'timeout after 1000 ms'],
  redis: ['connect ECONNREFUSED 10.89.0.21:6379', 'READONLY You can\'t write against a read only replica.', 'timeout after 1000 ms'],
};

/** Latency (ms): lognormal around 2 ms (sigma 0.45), and one in 500 from a tail of 10 to 250 ms. */
function latencySampler(rand: () => number): () => number {
  return () => {
    if (rand() < 0.002) return 10 + 240 * rand() ** 2;
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return 2 * Math.exp(0.45 * z);
  };
}

interface Fault {
  readonly id: string;
  readonly kind: (typeof FAULT_KINDS)[number];
  readonly scope: 'postgres' | 'redis';
  readonly target: string;
  readonly at: number;
  /** Probes of its scope fail on [at, failingUntil). */
  readonly failingUntil: number;
  readonly healedAt: number;
}

function faultsOf(durationMs: number, rand: () => number): Fault[] {
  const faults: Fault[] = [];
  // The first at 10 min (or mid-run for a short smoke run), then one every 20 min.
  for (let at = Math.min(10 * MINUTE, durationMs / 2), i = 0; at < durationMs - 30 * SECOND; at += FAULT_EVERY_MS, i++) {
    const scope = i % 3 === 2 ? 'redis' : 'postgres';
    const kind = FAULT_KINDS[i % FAULT_KINDS.length]!;
    const failingMs = 2 * SECOND + 8 * SECOND * rand();
    faults.push({
      id: `f${i + 1}`, kind, scope, target: scope === 'postgres' ? `pg${(i % 2) + 1}` : 'redis1',
      at, failingUntil: at + failingMs, healedAt: at + Math.max(failingMs, 15 * SECOND),
    });
  }
  return faults;
}

/** A binary min-heap by key: the samples written once their completion time is due. */
class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #key: (item: T) => number;

  constructor(key: (item: T) => number) {
    this.#key = key;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T {
    return this.#items[0]!;
  }

  push(item: T): void {
    const items = this.#items;
    const key = this.#key(item);
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#key(items[parent]!) <= key) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      const key = this.#key(last);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= items.length) break;
        const m = l + 1 < items.length && this.#key(items[l + 1]!) < this.#key(items[l]!) ? l + 1 : l;
        if (this.#key(items[m]!) >= key) break;
        items[i] = items[m]!;
        i = m;
      }
      items[i] = last;
    }
    return top;
  }
}

interface Generated {
  readonly path: string;
  readonly samples: number;
  readonly events: number;
  readonly faults: number;
  readonly seconds: number;
}

/** Writes the soak's journal into `dir` as fast as the Journal takes it (synthetic times, not the clock). */
async function generate(dir: string, hours: number): Promise<Generated> {
  const durationMs = hours * 60 * MINUTE;
  const rand = seededRandom(0x50a4);
  const latency = latencySampler(rand);
  const faults = faultsOf(durationMs, rand);
  const t0 = performance.now();
  const journal = await Journal.open(dir, {
    runId: 'soak-bench', workflow: 'soak',
    meta: { settings: { hours, opsPerSecond: OPS_PER_SECOND, probes: PROBES.map((p) => p.name), faultEveryMs: FAULT_EVERY_MS } },
  });
  let events = 1;
  const write = (e: JournalEvent): void => {
    journal.write(e);
    events++;
  };
  for (const p of PROBES) write({ type: 'probe', name: p.name, op: p.op, scopes: p.scopes, intervalMs: SECOND / OPS_PER_SECOND, writes: p.writes, at: 0 });
  write({ type: 'phase', name: 'steady', at: 0 });

  // Everything that is not a sample, in time order; samples are interleaved by intended time.
  const others: Exclude<JournalEvent, SampleEvent | WindowEvent>[] = [];
  for (const [i, f] of faults.entries()) {
    const fault: FaultInjectedEvent = {
      type: 'fault-injected', id: f.id, kind: f.kind, targets: [f.target], at: f.at, callMs: 20 + 80 * rand(), scope: f.scope, iteration: i + 1,
      params: f.kind === 'latency' ? { delayMs: 200 } : f.kind === 'cpu' ? { cores: 2 } : f.kind === 'memory' ? { bytes: 256 * 2 ** 20 } : f.kind === 'partition' ? { groups: [[f.target], ['others']] } : {},
    };
    others.push({ type: 'phase', name: 'fault', at: f.at }, fault);
    others.push({ type: 'fault-healed', id: f.id, at: f.healedAt }, { type: 'phase', name: 'recovery', at: f.healedAt });
    others.push({ type: 'measurement', name: 'election', value: Math.round(f.failingUntil - f.at), unit: 'ms', description: 'fault to the first write acknowledged by the new primary', scope: f.scope, iteration: i + 1, at: f.healedAt });
    others.push({ type: 'phase', name: 'steady', at: f.healedAt + MINUTE });
  }
  for (let at = 0; at < durationMs; at += RESOURCE_EVERY_MS) {
    const hour = at / (60 * MINUTE);
    for (const [c, container] of CONTAINERS.entries()) {
      others.push({
        type: 'resource', container, at,
        memoryBytes: Math.round((120 + 10 * c + 2 * hour + 5 * rand()) * 2 ** 20), cpuPercent: Math.round((3 + 10 * rand()) * 10) / 10,
        pids: 20 + c + Math.floor(3 * rand()), fds: 60 + 2 * c + Math.floor(5 * rand()), connections: 10 + Math.floor(10 * rand()),
      });
    }
  }
  others.sort((a, b) => a.at - b.at);

  const tags = PROBES.map(() => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0'));
  const seqs = PROBES.map(() => 0);
  const failovers = PROBES.map(() => 0);
  const periodMs = SECOND / OPS_PER_SECOND;
  const ticks = Math.floor(durationMs / periodMs);
  const failures = PROBES.map(() => 0);
  // A journal records a sample when it completes: samples wait here until the clock passes their completion.
  const pending = new MinHeap<SampleEvent>((e) => e.completed);
  let nextOther = 0;
  /** Writes, in time order, the pending samples and other events due by `t`. */
  const writeUpTo = (t: number): void => {
    while (pending.size > 0 || nextOther < others.length) {
      const sampleAt = pending.size > 0 ? pending.peek().completed : Infinity;
      const otherAt = nextOther < others.length ? others[nextOther]!.at : Infinity;
      if (Math.min(sampleAt, otherAt) > t) return;
      write(otherAt <= sampleAt ? others[nextOther++]! : pending.pop());
    }
  };
  let faultIndex = 0;
  let samples = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const base = tick * periodMs;
    writeUpTo(base);
    while (faultIndex < faults.length && faults[faultIndex]!.failingUntil <= base) {
      // A kill fails over: writes of its scope are acknowledged by the other node from then on.
      const ended = faults[faultIndex++]!;
      if (ended.kind === 'kill') for (const [p, spec] of PROBES.entries()) if (spec.scopes.includes(ended.scope)) failovers[p]!++;
    }
    const fault = faults[faultIndex] !== undefined && faults[faultIndex]!.at <= base ? faults[faultIndex]! : undefined;
    for (const [p, spec] of PROBES.entries()) {
      // Probes start a little apart within the period, as real ones do.
      const intended = base + p * 3.1;
      const failing = fault !== undefined && spec.scopes.includes(fault.scope);
      let sample: { -readonly [K in keyof SampleEvent]: SampleEvent[K] };
      if (failing) {
        const errors = ERRORS[fault.scope]!;
        const error = errors[Math.floor(rand() * errors.length)]!;
        sample = { type: 'sample', probe: spec.name, op: spec.op, intended, completed: intended + (error.startsWith('timeout') ? 1000 : latency()), ok: false, error };
      } else {
        sample = { type: 'sample', probe: spec.name, op: spec.op, intended, completed: intended + latency(), ok: true };
      }
      if (spec.writes) {
        sample.writeId = `${spec.name}-${tags[p]}-${seqs[p]!++}`;
        if (sample.ok) sample.node = spec.nodes[failovers[p]! % spec.nodes.length]!;
      }
      if (!sample.ok) failures[p]!++;
      pending.push(sample);
      samples++;
    }
    // Let the journal write its buffers out now and then (its writes are asynchronous).
    if (tick % 4096 === 4095) await journal.flush();
  }
  writeUpTo(Infinity);
  const availability = Math.min(...failures.map((f) => 1 - f / ticks));
  const longest = Math.max(0, ...faults.map((f) => f.failingUntil - f.at));
  write({
    type: 'verdict', at: durationMs,
    hypotheses: [
      { name: 'availability', ok: availability >= 0.99, observed: availability, threshold: 0.99, unit: 'ratio', description: 'every probe at least 99 % over the soak' },
      { name: 'outage', ok: longest <= 30_000, observed: Math.round(longest), threshold: 30_000, unit: 'ms', description: 'no fault made its probes fail for more than 30 s' },
    ],
  });
  write({ type: 'run-end', status: 'completed', at: durationMs });
  await journal.close();
  return { path: journal.path, samples, events, faults: faults.length, seconds: (performance.now() - t0) / SECOND };
}

interface BuildResult {
  readonly buildSeconds: number;
  readonly writeSeconds: number;
  /** RSS of the child before the build (Node, the TypeScript stripper, the modules loaded). */
  readonly startRssBytes: number;
  /** User + system CPU time of the build and write: less disturbed than wall time by others on the machine. */
  readonly cpuSeconds: number;
  /** The machine's 1-minute load average when the build finished (2 cores: above 2, others were running too). */
  readonly loadAverage: number;
  readonly maxRssBytes: number;
  readonly files: Record<keyof typeof REPORT_FILES, number | null>;
  readonly bucketMs: number;
  readonly buckets: number;
  /** Resource series (container x metric) and their common bucket width (ms). */
  readonly resourceSeries: number;
  readonly resourceBucketMs: number | null;
  readonly events: number;
}

/** Child: buildReport + writeReport (no PNG), with this process's own peak RSS. */
async function buildChild(journalPath: string, outDir: string): Promise<BuildResult> {
  const startRssBytes = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const built = await buildReport({ journalPath, exitCode: 0 });
  const t1 = performance.now();
  await writeReport(built, outDir, { png: false, stepSummary: false });
  const t2 = performance.now();
  const size = (file: string): number | null => {
    try {
      return statSync(join(outDir, file)).size;
    } catch {
      return null;
    }
  };
  const cpu = process.cpuUsage(c0);
  return {
    startRssBytes,
    buildSeconds: (t1 - t0) / SECOND,
    writeSeconds: (t2 - t1) / SECOND,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    loadAverage: loadavg()[0]!,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    files: Object.fromEntries(Object.entries(REPORT_FILES).map(([k, f]) => [k, size(f)])) as BuildResult['files'],
    bucketMs: built.timeline.bucketMs,
    buckets: built.timeline.t.length,
    resourceSeries: built.resources?.series.length ?? 0,
    resourceBucketMs: built.resources?.bucketMs ?? null,
    events: built.journal.events,
  };
}

/** Child: readJournal alone, to tell the decoder's share of the build. */
async function decodeChild(journalPath: string): Promise<DecodeResult> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let events = 0;
  for await (const _ of readJournal(journalPath)) events++;
  const cpu = process.cpuUsage(c0);
  return { decodeSeconds: (performance.now() - t0) / SECOND, cpuSeconds: (cpu.user + cpu.system) / 1e6, events, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

interface DecodeResult {
  readonly decodeSeconds: number;
  readonly cpuSeconds: number;
  readonly events: number;
  readonly maxRssBytes: number;
}

function child<T>(args: readonly string[], nodeFlags: readonly string[] = []): T {
  const out = execFileSync(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 });
  const last = out.trim().split('\n').at(-1)!;
  return JSON.parse(last) as T;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    hours: { type: 'string', default: '24' },
    out: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    decode: { type: 'boolean', default: false },
  },
});

if (values.build) {
  console.log(JSON.stringify(await buildChild(positionals[0]!, positionals[1]!)));
} else if (values.decode) {
  console.log(JSON.stringify(await decodeChild(positionals[0]!)));
} else {
  const hours = Number(values.hours);
  if (!(Number.isFinite(hours) && hours > 0 && hours <= 24 * 14)) {
    console.error(`Expected \`--hours\` to be a number of hours in (0, 336], got \`${values.hours}\``);
    process.exit(2);
  }
  const root = values.out ?? mkdtempSync(join(tmpdir(), 'rz-soak-'));
  const journalDir = join(root, 'journal');
  const reportDir = join(root, 'report');
  const reuse = values.reuse && values.out !== undefined;
  if (!reuse) rmSync(journalDir, { recursive: true, force: true });
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  try {
    const g: Generated = reuse
      ? { path: join(journalDir, JOURNAL_FILE), samples: NaN, events: NaN, faults: NaN, seconds: 0 }
      : await generate(journalDir, hours);
    const journalBytes = statSync(g.path).size;
    console.log(reuse
      ? `journal: ${g.path} (reused), ${(journalBytes / 1e6).toFixed(1)} MB`
      : `journal: ${g.samples} samples, ${g.events} events, ${g.faults} faults, ${(journalBytes / 1e6).toFixed(1)} MB (${(journalBytes / g.samples).toFixed(1)} bytes a sample), written in ${g.seconds.toFixed(1)} s`);
    const decode = child<DecodeResult>(['--decode', g.path]);
    console.log(`readJournal alone: ${decode.decodeSeconds.toFixed(1)} s (CPU ${decode.cpuSeconds.toFixed(1)} s), ${decode.events} events, peak RSS ${(decode.maxRssBytes / 2 ** 20).toFixed(0)} MiB`);
    const prof = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'prof')}`] : [];
    const b = child<BuildResult>(['--build', g.path, reportDir], prof);
    const mb = (n: number | null): string => (n === null ? 'missing' : `${(n / 1e6).toFixed(2)} MB`);
    const rows: [string, string, string, boolean][] = [
      ['journal size', mb(journalBytes), '≤ 1 GB', journalBytes <= TARGETS.journalBytes],
      ['buildReport + writeReport wall time', `${(b.buildSeconds + b.writeSeconds).toFixed(1)} s (build ${b.buildSeconds.toFixed(1)} s, write ${b.writeSeconds.toFixed(1)} s; CPU ${b.cpuSeconds.toFixed(1)} s, load average ${b.loadAverage.toFixed(1)})`, '≤ 60 s', b.buildSeconds + b.writeSeconds <= TARGETS.buildSeconds],
      ['peak RSS of the report process', `${(b.maxRssBytes / 2 ** 20).toFixed(0)} MiB (${(b.startRssBytes / 2 ** 20).toFixed(0)} MiB before the build)`, '≤ 1 GB', b.maxRssBytes <= TARGETS.rssBytes],
      ['report.html', mb(b.files.html), '≤ 5 MB', (b.files.html ?? Infinity) <= TARGETS.htmlBytes],
      ['report.json', mb(b.files.json), '', true],
      ['summary.md', mb(b.files.markdown), '', true],
      ['junit.xml', mb(b.files.junit), '', true],
    ];
    console.log(`\n${hours} h soak, chart buckets ${b.buckets} of ${b.bucketMs} ms, ${b.resourceSeries} resource series in buckets of ${b.resourceBucketMs} ms, Node ${process.version}\n`);
    console.log('| measure | measured | target | met |\n|---|---:|---|---|');
    for (const [what, got, target, met] of rows) console.log(`| ${what} | ${got} | ${target} | ${target === '' ? '' : met ? 'yes' : '**no**'} |`);
    if (values['cpu-prof']) console.log(`\nCPU profile: ${readdirSync(join(root, 'prof')).map((f) => join(root, 'prof', f)).join(', ')}`);
    console.log(JSON.stringify({ bench: 'soak-scale', date: new Date().toISOString(), node: process.version, hours, journalBytes, generated: g, decode, build: b }));
    if (rows.some(([, , target, met]) => target !== '' && !met)) process.exitCode = 1;
  } finally {
    if (values.out === undefined) rmSync(root, { recursive: true, force: true });
  }
}
