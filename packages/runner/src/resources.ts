// Resource sampling for long runs: every interval, each container of the run (Docker stats:
// memory working set, CPU, processes; open files counted in /proc inside it), readings the
// environment adds (PostgreSQL connections and database size, Redis memory and clients, disk
// use), and the runner's own process (RSS, heap, event-loop delay), as `resource` events. The
// series are kept (a few numbers per container and interval: 24 h at 10 s is 8 640 points) for
// the leak verdicts at the end.
import { readFile, readdir } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Engine, ResourceEvent } from '@resilience/fixtures';

/** Named readings of one container (or of anything else: `runner`), beyond Docker's. */
export interface ResourceReading {
  readonly container: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface ResourceSamplerOptions {
  readonly engine: Engine;
  readonly intervalMs: number;
  now(): number;
  emit(event: ResourceEvent): void;
  /** The environment's own readings, read every interval; a failure skips them for that interval. */
  readonly readings?: () => Promise<readonly ResourceReading[]>;
  /** Called once per failing source and interval, for the console. */
  readonly onError?: (source: string, error: unknown) => void;
}

/** The name a person knows a container by: `pg1` for `rz-<run>-pg1`. */
export function shortName(name: string, runId: string): string {
  const n = name.replace(/^\//, '');
  const prefix = `rz-${runId}-`;
  return n.startsWith(prefix) ? n.slice(prefix.length) : n;
}

interface DockerStats {
  readonly memory_stats?: { readonly usage?: number; readonly stats?: Readonly<Record<string, number>> };
  readonly cpu_stats?: { readonly cpu_usage?: { readonly total_usage?: number }; readonly system_cpu_usage?: number; readonly online_cpus?: number };
  readonly precpu_stats?: { readonly cpu_usage?: { readonly total_usage?: number }; readonly system_cpu_usage?: number };
  readonly pids_stats?: { readonly current?: number };
}

/**
 * Memory as the kernel would reclaim last (what `docker stats` shows): usage less the inactive
 * page cache; CPU in percent of one core over Docker's own sampling period.
 */
export function fromDockerStats(s: DockerStats): { memoryBytes?: number; cpuPercent?: number; pids?: number } {
  const out: { memoryBytes?: number; cpuPercent?: number; pids?: number } = {};
  const usage = s.memory_stats?.usage;
  if (typeof usage === 'number' && usage > 0) {
    const inactive = s.memory_stats?.stats?.['inactive_file'] ?? s.memory_stats?.stats?.['total_inactive_file'] ?? 0;
    out.memoryBytes = Math.max(0, usage - inactive);
  }
  const cpu = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sys = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  if (sys > 0 && cpu >= 0 && s.precpu_stats?.system_cpu_usage) out.cpuPercent = (cpu / sys) * (s.cpu_stats?.online_cpus ?? 1) * 100;
  if (typeof s.pids_stats?.current === 'number' && s.pids_stats.current > 0) out.pids = s.pids_stats.current;
  return out;
}

/** Counts the open file descriptors of every process in the container (POSIX sh: works in every image). */
const COUNT_FDS = ['sh', '-c', 'n=0; for d in /proc/[0-9]*/fd; do set -- "$d"/*; [ -e "$1" ] && n=$((n + $#)); done; echo "$n"'];

export class ResourceSampler {
  readonly #o: ResourceSamplerOptions;
  readonly #loop: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: 20 });
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ResourceSamplerOptions) {
    this.#o = options;
  }

  start(): this {
    this.#loop.enable();
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.sampleOnce().finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(tick, Math.max(0, this.#o.intervalMs - 1));
      });
    };
    this.#timer = setTimeout(tick, 0);
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    this.#loop.disable();
  }

  /** One round over every source; never throws. */
  async sampleOnce(): Promise<void> {
    const { engine } = this.#o;
    const runId = engine.run.runId;
    const at = this.#o.now();
    const signal = AbortSignal.timeout(Math.max(2_000, this.#o.intervalMs - 500));
    const containers = await engine.listContainers({ runId }).catch((e: unknown) => {
      this.#o.onError?.('docker', e);
      return [];
    });
    const rounds = containers.filter((c) => c.State === 'running' || c.State === 'paused').map(async (info) => {
      const name = shortName(info.Names[0] ?? info.Id, runId);
      const c = engine.docker.getContainer(info.Id);
      const stats = await (c.stats({ stream: false, abortSignal: signal } as { stream: false }) as unknown as Promise<DockerStats>).then(fromDockerStats, () => ({}));
      // A paused container's processes cannot run an exec: its files are counted when it thaws.
      const fds = info.State === 'running' ? await countFds(engine, info.Id, signal) : undefined;
      return { name, stats, fds };
    });
    const readings = this.#o.readings
      ? this.#o.readings().catch((e: unknown) => {
        this.#o.onError?.('readings', e);
        return [] as readonly ResourceReading[];
      })
      : Promise.resolve([] as readonly ResourceReading[]);
    const [docker, extra] = await Promise.all([Promise.all(rounds), readings]);
    const byName = new Map<string, Record<string, number>>();
    for (const d of docker) {
      byName.set(d.name, { ...d.stats, ...(d.fds === undefined ? {} : { fds: d.fds }) });
    }
    for (const r of extra) byName.set(r.container, { ...byName.get(r.container), ...finite(r.values) });
    const p99 = this.#loop.percentile(99) / 1e6;
    this.#loop.reset();
    // Heap total is what V8 committed; heap physical is the part of it in memory (RSS counts that;
    // Node 24's V8 may count it up to a few hundred KiB above the total, in its old and trusted spaces),
    // V8 malloced its own zones and tables (compilers, parsers): with them the runner's RSS splits
    // into V8's heap, V8's native memory and the rest (buffers, the allocator, the binary).
    // The heap's figures come from one reading, and the RSS after it (so it holds the heap read).
    const v8 = getHeapStatistics();
    const mem = process.memoryUsage();
    byName.set('runner', { memoryBytes: mem.rss, rssBytes: mem.rss, heapUsedBytes: v8.used_heap_size, heapTotalBytes: v8.total_heap_size, heapPhysicalBytes: v8.total_physical_size, v8MallocedBytes: v8.malloced_memory, externalBytes: mem.external, arrayBuffersBytes: mem.arrayBuffers, ...(Number.isFinite(p99) ? { eventLoopDelayP99Ms: p99 } : {}) });
    for (const [container, all] of byName) {
      const { memoryBytes, cpuPercent, pids, fds, connections, ...rest } = all;
      const event: { -readonly [K in keyof ResourceEvent]: ResourceEvent[K] } = { type: 'resource', container, at };
      if (memoryBytes !== undefined) event.memoryBytes = memoryBytes;
      if (cpuPercent !== undefined) event.cpuPercent = round(cpuPercent);
      if (pids !== undefined) event.pids = pids;
      if (fds !== undefined) event.fds = fds;
      if (connections !== undefined) event.connections = connections;
      if (Object.keys(rest).length) event.values = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, round(v)]));
      // Emitted only: the journal keeps the series and the leak verdicts read it from there (a copy
      // kept here grew the runner's heap by about 2 MiB/h and nothing read it).
      this.#o.emit(event);
    }
  }
}

function finite(values: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)));
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Open files of every process of the container. Where the engine runs on this machine the
 * container's processes are read from /proc through its cgroup (no process is started in it);
 * otherwise (a remote engine, no access) an exec counts them inside it.
 */
async function countFds(engine: Engine, id: string, signal: AbortSignal): Promise<number | undefined> {
  const local = await hostFds(engine, id);
  if (local !== undefined) return local;
  try {
    const handle = await engine.container(id);
    const r = await handle.exec(COUNT_FDS, { user: '0', signal });
    const n = Number.parseInt(r.stdout.trim(), 10);
    return r.exitCode === 0 && Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Set once the host's /proc showed it is not the engine's (a remote engine): exec from then on. */
let hostProcUnavailable = false;

/**
 * The container's processes through its cgroup in the host's /proc; undefined when they cannot
 * be read this time (the container stopped meanwhile). The cgroup path must name the container's
 * id: with a remote engine the pid Docker reports belongs to another machine, and a process of
 * that number here is someone else's.
 */
async function hostFds(engine: Engine, id: string): Promise<number | undefined> {
  if (hostProcUnavailable) return undefined;
  let lines: string[];
  let pid: number;
  try {
    pid = (await engine.docker.getContainer(id).inspect()).State.Pid;
    if (!pid) return undefined;
    lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  // cgroup v1 (the pids controller's hierarchy), else v2 (the unified one).
  const v1 = lines.find((l) => /^\d+:pids:/.test(l))?.replace(/^\d+:pids:/, '').trim();
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3).trim();
  const path = v1 ?? v2;
  if (path === undefined || !path.includes(id)) {
    hostProcUnavailable = true;
    return undefined;
  }
  try {
    const procs = (await readFile(v1 !== undefined ? `/sys/fs/cgroup/pids${path}/cgroup.procs` : `/sys/fs/cgroup${path}/cgroup.procs`, 'utf8')).split('\n').filter(Boolean);
    let n = 0;
    for (const p of procs) n += (await readdir(`/proc/${p}/fd`).catch(() => [])).length;
    return n;
  } catch {
    return undefined;
  }
}
