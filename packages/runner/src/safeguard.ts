// Safeguards (`--abort-if "availability(fault) < 50%"`): hypothesis expressions watched while
// the run goes on, over a sliding window of what the probes saw. When one is true, the runner
// heals every fault at once and ends the run with a finding (Chaos Toolkit's and Steadybit's
// safeguards, Gremlin's halt conditions). The expression is the same grammar as a hypothesis;
// it trips when it holds.
import { InvalidArgumentError, type JournalEvent } from '@resilience/fixtures';
import { parseHypothesis, compare, formatValue, type Hypothesis } from './hypotheses.ts';
import { MetricRegistry, baseName, type Aggregate } from './metrics.ts';

/** Metrics a safeguard computes from the probes' samples of the window. */
const WINDOWED = new Set(['availability', 'shed', 'p50', 'p95', 'p99', 'p999', 'max']);
const PERCENTILE: Record<string, number> = { p50: 50, p95: 95, p99: 99, p999: 99.9 };
/** Probe metrics that need the whole run (a recovery, a sum of outages): not watchable live. */
const WHOLE_RUN = new Set(['rto', 'ttd', 'outage']);

export const DEFAULT_ABORT_WINDOW_MS = 10_000;

export interface Safeguard extends Hypothesis {
  /** availability and latency: over the window; findings and measured metrics: so far. */
  readonly over: 'window' | 'so far';
}

/**
 * Parses an `--abort-if` expression; bad input (exit 2) for a bad expression or a metric that
 * cannot be watched while the run goes on (rto, ttd, outage are only known at the end).
 */
export function parseSafeguard(text: string, registry: MetricRegistry): Safeguard {
  let h: Hypothesis;
  try {
    h = parseHypothesis(text, undefined, registry);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new InvalidArgumentError('--abort-if', text, e.message.replace(/^Expected `hypothesis` to be /, '').replace(/, got .*$/s, ''));
    throw e;
  }
  if (WHOLE_RUN.has(h.metric)) {
    throw new InvalidArgumentError('--abort-if', text, `a condition that can be watched while the run goes on: availability, shed or a latency percentile (${[...WINDOWED].filter((m) => m !== 'availability' && m !== 'shed').join(', ')}) over the window, findings, or a measured metric (${h.metric} is only known at the end of the run)`);
  }
  return { ...h, over: WINDOWED.has(h.metric) ? 'window' : 'so far' };
}

export interface Trip {
  readonly safeguard: Safeguard;
  /** The value that made it true, in the metric's unit. */
  readonly observed: number;
  /** Run clock of the check that tripped. */
  readonly at: number;
  /** What it was computed over, for the finding. */
  readonly basis: string;
}

interface Entry {
  readonly probe: string;
  readonly intended: number;
  readonly attempts: number;
  readonly failures: number;
  /** Of the failures, the shed ones (HTTP 429). */
  readonly shed: number;
  /** null for a window event (no single latency). */
  readonly latencyMs: number | null;
}

/**
 * Follows the run's events and judges the safeguards on demand (`check(now)`). Windowed
 * metrics are judged once the window has been observed in full (its phase, its probes), so the
 * first failed request of a fault does not read as 0 % availability.
 */
export class SafeguardMonitor {
  readonly safeguards: readonly Safeguard[];
  readonly windowMs: number;
  readonly #registry: MetricRegistry;
  readonly #entries: Entry[] = [];
  #head = 0;
  /** Phase changes in order: name and start. */
  readonly #phases: { readonly name: string; readonly at: number }[] = [];
  readonly #scopes = new Map<string, readonly string[]>();
  readonly #firstSeen = new Map<string, number>();
  readonly #findings: { readonly severity: string }[] = [];
  readonly #measurements: { readonly name: string; readonly scope: string | undefined; readonly value: number | null }[] = [];

  constructor(safeguards: readonly Safeguard[], options: { readonly windowMs?: number; readonly registry?: MetricRegistry } = {}) {
    this.safeguards = safeguards;
    this.windowMs = options.windowMs ?? DEFAULT_ABORT_WINDOW_MS;
    this.#registry = options.registry ?? new MetricRegistry();
  }

  observe(e: JournalEvent): void {
    switch (e.type) {
      case 'phase':
        this.#phases.push({ name: e.name, at: e.at });
        break;
      case 'probe':
        this.#scopes.set(e.name, e.scopes);
        break;
      case 'sample':
        this.#add({ probe: e.probe, intended: e.intended, attempts: 1, failures: e.ok ? 0 : 1, shed: !e.ok && e.shed === true ? 1 : 0, latencyMs: Math.max(0, e.completed - e.intended) });
        break;
      case 'window':
        this.#add({ probe: e.probe, intended: e.from, attempts: e.attempts, failures: e.failures, shed: e.shed ?? 0, latencyMs: null });
        break;
      case 'finding':
        this.#findings.push({ severity: e.severity });
        break;
      case 'measurement':
        this.#measurements.push({ name: e.name, scope: e.scope, value: e.value });
        break;
      default:
        break;
    }
  }

  #add(entry: Entry): void {
    if (!this.#firstSeen.has(entry.probe)) this.#firstSeen.set(entry.probe, entry.intended);
    this.#entries.push(entry);
  }

  /** The phase a time falls in (the last phase started at or before it). */
  #phaseAt(t: number): string | undefined {
    let lo = 0;
    let hi = this.#phases.length - 1;
    let found: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#phases[mid]!.at <= t) {
        found = this.#phases[mid]!.name;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The first safeguard that holds now, or undefined. */
  check(now: number): Trip | undefined {
    const from = now - this.windowMs;
    // Entries older than the window are dropped (the array is compacted now and then).
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.intended < from) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
    for (const s of this.safeguards) {
      const v = this.#value(s, now, from);
      if (v && compare(v.value, s.op, s.threshold)) return { safeguard: s, observed: v.value, at: now, basis: v.basis };
    }
    return undefined;
  }

  #value(s: Safeguard, now: number, from: number): { value: number; basis: string } | undefined {
    if (s.metric === 'findings') {
      const n = this.#findings.filter((f) => !s.args.length || s.args.includes(f.severity)).length;
      return { value: n, basis: 'findings so far' };
    }
    if (s.over === 'so far') {
      const found = this.#measurements.filter((m) => m.name === s.metric && (!s.args.length || (m.scope !== undefined && s.args.includes(m.scope))));
      if (found.length === 0 || found.some((m) => m.value === null)) return undefined;
      const spec = this.#registry.get(s.metric);
      const agg: Aggregate = spec?.aggregate ?? (spec?.unit === 'count' ? 'sum' : 'max');
      const xs = found.map((m) => m.value as number);
      const value = agg === 'sum' ? xs.reduce((a, b) => a + b, 0) : agg === 'min' ? Math.min(...xs) : Math.max(...xs);
      return { value, basis: `${found.length} measurement(s) so far` };
    }
    const phaseNames = new Set(this.#phases.map((p) => p.name));
    const phase = s.args.find((a) => phaseNames.has(a));
    const selectors = s.args.filter((a) => a !== phase);
    const probeSelected = (probe: string) => !selectors.length || selectors.some((a) => baseName(probe) === a || probe === a || (this.#scopes.get(probe) ?? []).includes(a));
    const selected = [...this.#firstSeen.keys()].filter(probeSelected);
    if (selected.length === 0) return undefined;
    // Observed for a full window: the phase (its latest start) and the probes began before it.
    const since = Math.max(Math.min(...selected.map((p) => this.#firstSeen.get(p)!)), phase === undefined ? -Infinity : this.#phases.findLast((p) => p.name === phase)!.at);
    if (now - since < this.windowMs) return undefined;
    let attempts = 0;
    let failures = 0;
    let shed = 0;
    const latencies: number[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.intended < from || e.intended >= now || !probeSelected(e.probe)) continue;
      if (phase !== undefined && this.#phaseAt(e.intended) !== phase) continue;
      attempts += e.attempts;
      failures += e.failures;
      shed += e.shed;
      if (e.latencyMs !== null) latencies.push(e.latencyMs);
    }
    if (attempts === 0) return undefined;
    const basis = `${attempts.toLocaleString('en-US')} operations of ${selected.join(', ')} in the last ${formatValue(this.windowMs, 'ms')}${phase ? ` of phase ${phase}` : ''}`;
    if (s.metric === 'availability') return { value: (attempts - failures) / attempts, basis };
    if (s.metric === 'shed') return { value: shed, basis };
    if (latencies.length === 0) return undefined;
    latencies.sort((a, b) => a - b);
    const p = PERCENTILE[s.metric];
    const value = p === undefined ? latencies.at(-1)! : latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))]!;
    return { value, basis };
  }
}
