// What a person watching a workflow sees. On a terminal: one live status line (phase, elapsed,
// availability of the last second, p99) under the events. In CI: plain timestamped lines.
import type { EventBus, JournalEvent, Probe } from '@resilience/fixtures';

export interface ConsoleOptions {
  readonly tty?: boolean;
  readonly out?: NodeJS.WritableStream & { columns?: number };
  /** Seconds between status lines in plain (CI) mode. */
  readonly plainEverySeconds?: number;
}

function clock(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, '0')}:${(s % 60).toFixed(1).padStart(4, '0')}`;
}

export class ConsoleReporter {
  readonly #tty: boolean;
  readonly #out: NodeJS.WritableStream & { columns?: number };
  readonly #every: number;
  readonly #now: () => number;
  #probes: Probe[] = [];
  #phase = 'setup';
  #timer: NodeJS.Timeout | undefined;
  #statusShown = false;
  #ticks = 0;

  constructor(now: () => number, options: ConsoleOptions = {}) {
    this.#now = now;
    this.#out = options.out ?? process.stdout;
    this.#tty = options.tty ?? (Boolean((process.stdout as { isTTY?: boolean }).isTTY) && !process.env['CI']);
    this.#every = options.plainEverySeconds ?? 5;
  }

  attach(bus: EventBus<JournalEvent>): () => void {
    return bus.subscribe((e) => {
      if (e.type === 'phase') {
        this.#phase = e.name;
        this.line(`phase ${e.name}`);
      } else if (e.type === 'fault-injected') {
        this.line(`fault ${e.kind} injected on ${e.target.join(', ')} (${e.id})`);
      } else if (e.type === 'fault-healed') {
        this.line(`fault ${e.id} healed${e.error ? `, with errors: ${e.error}` : ''}`);
      } else if (e.type === 'note' && e.message === 'measurement') {
        const m = e.data as { name: string; value: number | null; unit: string };
        this.line(`measured ${m.name}: ${m.value === null ? 'not measured' : m.unit === 'ms' ? `${(m.value / 1000).toFixed(2)} s` : `${m.value} ${m.unit}`}`);
      } else if (e.type === 'note') {
        this.line(e.message);
      }
    });
  }

  watch(probes: readonly Probe[]): void {
    this.#probes = [...probes];
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), this.#tty ? 250 : 1000);
    this.#timer.unref();
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

  status(): string {
    const parts = this.#probes.map((p) => {
      const s = p.snapshot();
      const a = s.lastSecond.availability;
      return `${s.probe} ${a === null ? '-' : `${(a * 100).toFixed(1)}%`}${s.latency ? ` p99 ${s.latency.p99Ms.toFixed(0)}ms` : ''}`;
    });
    return `[${clock(this.#now())}] ${this.#phase.padEnd(9)} | ${parts.join(' | ')}`;
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
