// Per-bucket success rate and latency of each probe, for the report's charts: one streaming
// pass over the journal in memory bounded by the bucket count, whatever the run's length.
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import type { JournalEvent, SampleEvent, WindowEvent } from '@resilience/fixtures/events';
import { checkSample, decodeHistogram, isGood, latencyOf } from '@resilience/fixtures/analysis';
import type { GoodOptions, LatencyHistogram } from '@resilience/fixtures/analysis';
import { QuantileSketch } from './sketch.ts';
import type { TimelineProbe } from './schema.ts';

export const DEFAULT_BUCKET_MS = 250;
export const DEFAULT_MAX_BUCKETS = 2000;

export interface TimelineOptions extends GoodOptions {
  /** Bucket width (ms). Default 250. Doubled as often as needed to fit maxBuckets and window events. */
  readonly bucketMs?: number;
  /** Most buckets on the time axis. Default 2000. */
  readonly maxBuckets?: number;
}

/** Buckets of intended start time, with one row of values per probe. */
export interface TimelineData {
  readonly bucketMs: number;
  /** Start of each bucket (ms from run start). */
  readonly t: number[];
  /** Per probe (in order of first appearance), arrays parallel to `t`. */
  readonly probes: TimelineProbe[];
}

interface Bucket {
  attempts: number;
  failures: number;
  readonly latency: QuantileSketch;
}

/** A probe's buckets by index, and the one used last (consecutive samples mostly share it). */
interface ProbeBuckets {
  buckets: Map<number, Bucket>;
  lastIndex: number;
  last: Bucket | null;
}

/**
 * Streaming bucketer: push() journal events in any order, then finish(). A sample counts in
 * the bucket containing its intended start; it is good by the analyser's rule (ok, and within
 * latencyBudgetMs when one is set); its latency is completed − intended, failed ones included.
 * A `window` event counts whole in the bucket containing its `from` (buckets are widened to at
 * least the window's length first), with every value of its latency histogram.
 * When the run outgrows maxBuckets, bucketMs doubles and neighbouring buckets merge (exactly:
 * the latency sketches are mergeable). Percentiles per bucket are within ±0.5 %.
 */
export class TimelineBuilder {
  #bucketMs: number;
  readonly #maxBuckets: number;
  readonly #good: GoodOptions;
  #probes = new Map<string, ProbeBuckets>();
  #maxIndex = -1;

  constructor(options: TimelineOptions = {}) {
    const { bucketMs = DEFAULT_BUCKET_MS, maxBuckets = DEFAULT_MAX_BUCKETS, latencyBudgetMs } = options;
    if (!(Number.isFinite(bucketMs) && bucketMs > 0)) throw new InvalidArgumentError('bucketMs', bucketMs, 'a duration > 0 ms');
    if (!(Number.isInteger(maxBuckets) && maxBuckets >= 1)) throw new InvalidArgumentError('maxBuckets', maxBuckets, 'an integer >= 1');
    if (latencyBudgetMs !== undefined && !(Number.isFinite(latencyBudgetMs) && latencyBudgetMs >= 0)) {
      throw new InvalidArgumentError('latencyBudgetMs', latencyBudgetMs, 'a duration >= 0 ms');
    }
    this.#bucketMs = bucketMs;
    this.#maxBuckets = maxBuckets;
    this.#good = latencyBudgetMs === undefined ? {} : { latencyBudgetMs };
  }

  get bucketMs(): number {
    return this.#bucketMs;
  }

  push(event: JournalEvent): void {
    if (event.type === 'sample') this.#sample(event);
    else if (event.type === 'window') this.#window(event);
  }

  finish(): TimelineData {
    const n = this.#maxIndex + 1;
    const t = Array.from({ length: n }, (_, i) => round(i * this.#bucketMs));
    const probes: TimelineProbe[] = [];
    for (const [probe, { buckets }] of this.#probes) {
      const row: TimelineProbe = { probe, attempts: [], failures: [], successRate: [], p50Ms: [], p99Ms: [] };
      for (let i = 0; i < n; i++) {
        const b = buckets.get(i);
        const attempts = b?.attempts ?? 0;
        const [p50, p99] = b ? b.latency.quantiles([0.5, 0.99]) : [null, null];
        row.attempts.push(round(attempts));
        row.failures.push(round(b?.failures ?? 0));
        row.successRate.push(attempts > 0 ? round((attempts - (b?.failures ?? 0)) / attempts, 6) : null);
        row.p50Ms.push(p50 == null ? null : round(p50));
        row.p99Ms.push(p99 == null ? null : round(p99));
      }
      probes.push(row);
    }
    return { bucketMs: this.#bucketMs, t, probes };
  }

  #sample(event: SampleEvent): void {
    if (typeof event.probe !== 'string' || event.probe === '') throw new InvalidArgumentError('sample.probe', event.probe, 'a non-empty string');
    checkSample(event);
    const bucket = this.#bucket(event.probe, event.intended);
    bucket.attempts += 1;
    if (!isGood(event, this.#good)) bucket.failures += 1;
    bucket.latency.add(latencyOf(event));
  }

  #window(event: WindowEvent): void {
    if (typeof event.probe !== 'string' || event.probe === '') throw new InvalidArgumentError('window.probe', event.probe, 'a non-empty string');
    if (!Number.isFinite(event.from) || !Number.isFinite(event.to)) throw new InvalidArgumentError('window.from/to', [event.from, event.to], 'finite times in ms');
    if (!(Number.isInteger(event.attempts) && event.attempts >= 0 && Number.isInteger(event.failures) && event.failures >= 0 && event.failures <= event.attempts)) {
      throw new InvalidArgumentError('window.attempts/failures', [event.attempts, event.failures], 'integers with 0 <= failures <= attempts');
    }
    while (this.#bucketMs < event.to - event.from) this.#coarsen();
    const bucket = this.#bucket(event.probe, event.from);
    bucket.attempts += event.attempts;
    bucket.failures += event.failures;
    if (event.histogram) addHistogram(bucket.latency, decodeHistogram(event.histogram));
  }

  #bucket(probe: string, at: number): Bucket {
    let index = Math.floor(Math.max(0, at) / this.#bucketMs);
    while (index >= this.#maxBuckets) {
      this.#coarsen();
      index = Math.floor(Math.max(0, at) / this.#bucketMs);
    }
    let p = this.#probes.get(probe);
    if (!p) this.#probes.set(probe, (p = { buckets: new Map(), lastIndex: -1, last: null }));
    if (p.lastIndex === index && p.last) return p.last;
    let bucket = p.buckets.get(index);
    if (!bucket) p.buckets.set(index, (bucket = { attempts: 0, failures: 0, latency: new QuantileSketch() }));
    if (index > this.#maxIndex) this.#maxIndex = index;
    p.lastIndex = index;
    p.last = bucket;
    return bucket;
  }

  /** Doubles the bucket width, merging buckets 2i and 2i + 1 into i. */
  #coarsen(): void {
    this.#bucketMs *= 2;
    this.#maxIndex = this.#maxIndex < 0 ? -1 : this.#maxIndex >> 1;
    for (const p of this.#probes.values()) {
      const merged = new Map<number, Bucket>();
      for (const [i, b] of p.buckets) {
        const target = merged.get(i >> 1);
        if (!target) {
          merged.set(i >> 1, b);
        } else {
          target.attempts += b.attempts;
          target.failures += b.failures;
          target.latency.merge(b.latency);
        }
      }
      p.buckets = merged;
      p.lastIndex = -1;
      p.last = null;
    }
  }
}

/** What hdr-histogram-js's JS histograms have beyond the `Histogram` interface. */
interface IndexedCounts {
  readonly minNonZeroValue: number;
  readonly maxValue: number;
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * Adds a window's HDR histogram (µs) to a sketch (ms): every non-empty HDR bucket between the
 * smallest and largest recorded value, at its middle value, with its count. (The library's own
 * iterator walks every bucket from zero and is a hundred times slower.)
 */
function addHistogram(sketch: QuantileSketch, histogram: LatencyHistogram): void {
  const total = histogram.totalCount;
  if (total === 0) return;
  const h = histogram as unknown as Partial<IndexedCounts>;
  if (typeof h.countsArrayIndex === 'function' && typeof h.getCountAtIndex === 'function' && typeof h.valueFromIndex === 'function'
    && typeof h.medianEquivalentValue === 'function' && typeof h.minNonZeroValue === 'number' && typeof h.maxValue === 'number') {
    const c = h as IndexedCounts;
    const entries: [valueMs: number, count: number][] = [];
    let seen = c.getCountAtIndex(0);
    if (seen > 0) entries.push([0, seen]);
    for (let i = Math.max(1, c.countsArrayIndex(Math.min(c.minNonZeroValue, c.maxValue))), last = c.countsArrayIndex(c.maxValue); i <= last; i++) {
      const n = c.getCountAtIndex(i);
      if (n > 0) {
        entries.push([Math.min(c.medianEquivalentValue(c.valueFromIndex(i)), c.maxValue) / 1000, n]);
        seen += n;
      }
    }
    if (seen === total) {
      for (const [v, n] of entries) sketch.add(v, n);
      return;
    }
  }
  // Another implementation: 100 evenly ranked points stand for the distribution.
  for (let i = 0; i < 100; i++) sketch.add(histogram.getValueAtPercentile(i + 0.5) / 1000, total / 100);
}

/** Buckets the samples of a run (e.g. `timeline(readJournal(path), { bucketMs: 1000 })`). See TimelineBuilder. */
export async function timeline(events: Iterable<JournalEvent> | AsyncIterable<JournalEvent>, options: TimelineOptions = {}): Promise<TimelineData> {
  const builder = new TimelineBuilder(options);
  for await (const event of events) builder.push(event);
  return builder.finish();
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
