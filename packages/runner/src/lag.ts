// The runner's own health while it measures: a timer that should fire every `tickMs` and the
// time it actually took. When the runner is starved (its host's cores busy with something else,
// a long synchronous step), every timeout of a probe or a role poll fires late and every latency
// it measures includes its own delay: failures and slowness that are the runner's, not the
// system's. The windows where that happened become a finding, so a run never blames the system
// under test for them without saying so.
import { cpus, loadavg } from 'node:os';
import { InvalidArgumentError } from '@resilience/fixtures';

/** A stretch of time in which the runner's timers fired late by more than the threshold. */
export interface LagWindow {
  /** Run clock (ms): the tick before the first late one, and the last late one. */
  readonly from: number;
  readonly to: number;
  /** The worst lateness of a tick in it (ms). */
  readonly maxMs: number;
  /** Host load averages (1, 5, 15 min) when the window was last extended. */
  readonly load: readonly number[];
}

export interface LagMonitorOptions {
  now(): number;
  /** Lateness of a tick (ms) that counts as lag. Default 200. */
  readonly thresholdMs?: number;
  /** Timer period (ms). Default 100. */
  readonly tickMs?: number;
  /** Late ticks this close (ms) belong to one window. Default 2000. */
  readonly mergeMs?: number;
}

export class LagMonitor {
  readonly #now: () => number;
  readonly thresholdMs: number;
  readonly #tickMs: number;
  readonly #mergeMs: number;
  readonly #windows: { from: number; to: number; maxMs: number; load: readonly number[] }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #maxMs = 0;
  #ticks = 0;

  constructor(o: LagMonitorOptions) {
    const { thresholdMs = 200, tickMs = 100, mergeMs = 2000 } = o;
    for (const [name, v] of [['thresholdMs', thresholdMs], ['tickMs', tickMs], ['mergeMs', mergeMs]] as const) {
      if (!(Number.isFinite(v) && v > 0)) throw new InvalidArgumentError(name, v, 'a positive number of ms');
    }
    this.#now = o.now;
    this.thresholdMs = thresholdMs;
    this.#tickMs = tickMs;
    this.#mergeMs = mergeMs;
  }

  /** Starts (again, after stop(): the time in between is not judged). */
  start(): this {
    if (this.#timer) return this;
    this.#last = this.#now();
    this.#timer = setInterval(() => this.#tick(this.#now()), this.#tickMs);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The worst lateness of any tick so far (ms). */
  get maxMs(): number {
    return this.#maxMs;
  }

  get ticks(): number {
    return this.#ticks;
  }

  windows(): readonly LagWindow[] {
    return this.#windows.map((w) => ({ ...w }));
  }

  /** One tick at `at`: its lateness is the time since the last one less the period. Exposed for tests. */
  tickAt(at: number): void {
    this.#tick(at);
  }

  #tick(at: number): void {
    const late = at - this.#last - this.#tickMs;
    const before = this.#last;
    this.#last = at;
    this.#ticks += 1;
    if (late > this.#maxMs) this.#maxMs = late;
    if (late <= this.thresholdMs) return;
    const open = this.#windows.at(-1);
    if (open && before - open.to <= this.#mergeMs) {
      open.to = at;
      open.maxMs = Math.max(open.maxMs, late);
      open.load = loadavg();
    } else {
      this.#windows.push({ from: before, to: at, maxMs: late, load: loadavg() });
    }
  }
}

/** The finding for a run whose runner lagged, or undefined when it never did. */
export function lagFinding(monitor: LagMonitor, format: (ms: number) => string): {
  kind: string; severity: 'warning'; title: string; detail: string; at: number; until: number;
  evidence: { label: string; text: string }[]; data: Record<string, unknown>;
} | undefined {
  const windows = monitor.windows();
  if (windows.length === 0) return undefined;
  const total = windows.reduce((s, w) => s + (w.to - w.from), 0);
  const worst = Math.max(...windows.map((w) => w.maxMs));
  return {
    kind: 'runner-lagged', severity: 'warning', at: windows[0]!.from, until: windows.at(-1)!.to,
    title: `the runner itself lagged: its timers fired up to ${Math.round(worst)} ms late, ${windows.length} time(s), ${(total / 1000).toFixed(1)} s in all`,
    detail: `While the runner is starved every probe timeout and every role poll fires late and every latency it measures includes its own delay, so failures, slow operations and nodes that "did not answer" in these windows may be the runner's, not the system's. The host has ${cpus().length} core(s); the load averages are in the evidence. Give the runner a core of its own (nothing else busy on the machine: no parallel test suites or builds), or lower the traffic rate. Lateness counted above ${monitor.thresholdMs} ms.`,
    evidence: [{
      label: 'windows (run clock): worst lateness, host load 1/5/15 min',
      text: windows.map((w) => `${format(w.from)} – ${format(w.to)}: up to ${Math.round(w.maxMs)} ms late; load ${w.load.map((x) => x.toFixed(2)).join(' / ')}`).join('\n'),
    }],
    data: { thresholdMs: monitor.thresholdMs, maxMs: Math.round(worst), windows: windows.map((w) => ({ from: w.from, to: w.to, maxMs: Math.round(w.maxMs) })) },
  };
}
