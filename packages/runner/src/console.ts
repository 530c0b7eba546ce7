// What a person watching a workflow sees. On a terminal: one live status line (phase, elapsed,
// availability and p99 of the last 5 s per probe) under the events. In CI: plain timestamped lines.
import { formatMetric, measurementName, type EventBus, type JournalEvent, type ProbeLike } from '@resilience/fixtures';

/** The live line's window: what is happening now, not since the start. */
export const LIVE_WINDOW_MS = 5000;

/** Samples of the last LIVE_WINDOW_MS of one probe (completed time, ok, latency). */
class RecentSamples {
  readonly #completed: number[] = [];
  readonly #ok: boolean[] = [];
  readonly #latency: number[] = [];
  #head = 0;

  add(completed: number, ok: boolean, latency: number): void {
    this.#completed.push(completed);
    this.#ok.push(ok);
    this.#latency.push(latency);
  }

  /** Availability and p99 (nearest rank) of the samples completed in (now - window, now]. */
  window(now: number, windowMs = LIVE_WINDOW_MS): { attempts: number; availability: number | null; p99: number | null } {
    while (this.#head < this.#completed.length && this.#completed[this.#head]! <= now - windowMs) this.#head++;
    if (this.#head > 4096) {
      this.#completed.splice(0, this.#head);
      this.#ok.splice(0, this.#head);
      this.#latency.splice(0, this.#head);
      this.#head = 0;
    }
    const n = this.#completed.length - this.#head;
    if (n === 0) return { attempts: 0, availability: null, p99: null };
    let good = 0;
    for (let i = this.#head; i < this.#ok.length; i++) if (this.#ok[i]) good++;
    const lat = this.#latency.slice(this.#head).sort((a, b) => a - b);
    return { attempts: n, availability: good / n, p99: lat[Math.min(n - 1, Math.ceil(0.99 * n) - 1)]! };
  }
}

export interface ConsoleOptions {
  readonly tty?: boolean;
  readonly out?: NodeJS.WritableStream & { columns?: number };
  /** Seconds between status lines in plain (CI) mode. */
  readonly plainEverySeconds?: number;
}

/** mm:ss.s under an hour, hh:mm:ss above; rounded once, so 23:59.96 reads 24:00.0, never 23:60.0. */
export function clock(ms: number): string {
  const tenths = Math.round(Math.max(0, ms) / 100);
  const m = Math.floor(tenths / 600);
  if (m >= 60) {
    const s = Math.floor(tenths / 10);
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }
  return `${String(m).padStart(2, '0')}:${((tenths % 600) / 10).toFixed(1).padStart(4, '0')}`;
}

export class ConsoleReporter {
  readonly #tty: boolean;
  readonly #out: NodeJS.WritableStream & { columns?: number };
  readonly #every: number;
  readonly #now: () => number;
  #probes: ProbeLike[] = [];
  #phase = 'setup';
  #timer: NodeJS.Timeout | undefined;
  #statusShown = false;
  #ticks = 0;
  readonly #recent = new Map<string, RecentSamples>();
  #faultsHealed = 0;
  #findings = 0;
  #expectedEndMs: number | undefined;

  constructor(now: () => number, options: ConsoleOptions = {}) {
    this.#now = now;
    this.#out = options.out ?? process.stdout;
    this.#tty = options.tty ?? (Boolean((process.stdout as { isTTY?: boolean }).isTTY) && !process.env['CI']);
    this.#every = options.plainEverySeconds ?? 5;
  }

  attach(bus: EventBus<JournalEvent>): () => void {
    return bus.subscribe((e) => {
      if (e.type === 'sample') {
        let r = this.#recent.get(e.probe);
        if (!r) this.#recent.set(e.probe, (r = new RecentSamples()));
        r.add(e.completed, e.ok, e.completed - e.intended);
      } else if (e.type === 'phase') {
        this.#phase = e.name;
        this.line(`phase ${e.name}`);
      } else if (e.type === 'fault-injected') {
        this.line(`fault ${e.kind} injected on ${e.targets.join(', ')} (${e.id})`);
      } else if (e.type === 'fault-healed') {
        this.#faultsHealed += 1;
        this.line(`fault ${e.id} healed${e.error ? `, with errors: ${e.error}` : ''}`);
      } else if (e.type === 'measurement') {
        this.line(`measured ${measurementName(e)}: ${formatMetric(e.value, e.unit)}`);
      } else if (e.type === 'finding') {
        this.#findings += 1;
        this.line(`FINDING [${e.severity}] ${e.title}`);
      } else if (e.type === 'note') {
        this.line(e.message);
      } else if (e.type === 'evidence') {
        this.line(`evidence ${e.name}${e.variant ? ` [${e.variant}]` : ''} recorded${e.tables.length ? ` (${e.tables.map((x) => x.title).join(', ')})` : ''}`);
      }
    });
  }

  watch(probes: readonly ProbeLike[]): void {
    this.#probes = [...probes];
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), this.#tty ? 250 : 1000);
    this.#timer.unref();
  }

  /** When the run is expected to end (run clock): the status line shows the time left. */
  expectEnd(atMs: number): void {
    this.#expectedEndMs = atMs;
  }

  /** A line above the status line (terminal) or a timestamped line (plain). */
  line(message: string): void {
    this.#clearStatus();
    this.#out.write(`[${clock(this.#now())}] ${message}\n`);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#clearStatus();
  }

  /** Availability and p99 of the last 5 s per probe (not cumulative: a past outage does not linger). */
  status(): string {
    const now = this.#now();
    const parts = this.#probes.map((p) => {
      const w = this.#recent.get(p.name)?.window(now) ?? { attempts: 0, availability: null, p99: null };
      return `${p.name} ${w.availability === null ? '-' : `${(w.availability * 100).toFixed(1)}%`}${w.p99 === null ? '' : ` p99 ${w.p99.toFixed(0)}ms`}`;
    });
    const eta = this.#expectedEndMs === undefined ? '' : ` | ETA ${clock(Math.max(0, this.#expectedEndMs - now))}`;
    const so = ` | faults healed ${this.#faultsHealed} | findings ${this.#findings}`;
    return `[${clock(now)}] ${this.#phase.padEnd(9)}${eta}${so} | last 5 s: ${parts.join(' | ')}`;
  }

  #tick(): void {
    if (this.#tty) {
      const width = this.#out.columns ?? 160;
      this.#out.write(`\r\x1b[2K${this.status().slice(0, width - 1)}`);
      this.#statusShown = true;
    } else if (++this.#ticks % this.#every === 0) {
      this.#out.write(`${this.status()}\n`);
    }
  }

  #clearStatus(): void {
    if (this.#tty && this.#statusShown) {
      this.#out.write('\r\x1b[2K');
      this.#statusShown = false;
    }
  }
}

/** A plain text table with aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}
