// Per-container resource series for the report's charts (memory, CPU, pids, fds, connections
// and every named `values` reading of the journal's `resource` events): one streaming pass in
// memory bounded by the bucket count, whatever the run's length.
import { InvalidArgumentError } from '@resilience/fixtures/errors';
import { RESOURCE_METRICS } from '@resilience/fixtures/analysis';
import type { JournalEvent, ResourceEvent } from '@resilience/fixtures/events';
import type { ReportResources, ResourceSeries, ResourceUnit } from './schema.ts';

export const DEFAULT_RESOURCE_BUCKET_MS = 1000;
export const DEFAULT_RESOURCE_MAX_BUCKETS = 240;

export interface ResourceOptions {
  /** Starting bucket width (ms). Default 1000; doubled as often as needed to fit maxBuckets. */
  readonly bucketMs?: number;
  /** Most buckets per series. Default 240. */
  readonly maxBuckets?: number;
}

/** The unit of a metric, from its name: `…Bytes` bytes, `…Percent` (cpuPercent) percent, `…Ms` ms, anything else a count. */
export function resourceUnit(metric: string): ResourceUnit {
  if (/Bytes$/.test(metric)) return 'bytes';
  if (/Percent$/.test(metric)) return 'percent';
  if (/Ms$/.test(metric)) return 'ms';
  return 'count';
}

interface Bucket {
  count: number;
  sum: number;
  min: number;
  max: number;
}

interface Reading {
  readonly at: number;
  readonly value: number;
}

interface SeriesState {
  readonly container: string;
  readonly metric: string;
  buckets: Map<number, Bucket>;
  lastIndex: number;
  last: Bucket | null;
  first: Reading;
  latest: Reading;
  peak: number;
}

const NAMED: readonly string[] = RESOURCE_METRICS;

/**
 * Streaming bucketer of `resource` events: push() journal events in any order, then finish().
 * Each (container, metric) is a series; a reading counts in the bucket containing its `at`
 * (count, sum, min, max: merging two buckets is exact). Every series shares one bucket width:
 * when a reading falls past maxBuckets × bucketMs, bucketMs doubles and neighbouring buckets of
 * every series merge, so each series holds at most maxBuckets buckets. finish() gives each
 * series its own `t` (the non-empty buckets only, in time order): a container that ran for an
 * hour of a day-long run has an hour of points, no run of nulls. Non-finite readings, and
 * events without a container name or a finite `at`, are skipped.
 */
export class ResourceBuilder {
  #bucketMs: number;
  readonly #maxBuckets: number;
  readonly #series = new Map<string, SeriesState>();

  constructor(options: ResourceOptions = {}) {
    const { bucketMs = DEFAULT_RESOURCE_BUCKET_MS, maxBuckets = DEFAULT_RESOURCE_MAX_BUCKETS } = options;
    if (!(Number.isFinite(bucketMs) && bucketMs > 0)) throw new InvalidArgumentError('bucketMs', bucketMs, 'a duration > 0 ms');
    if (!(Number.isInteger(maxBuckets) && maxBuckets >= 1)) throw new InvalidArgumentError('maxBuckets', maxBuckets, 'an integer >= 1');
    this.#bucketMs = bucketMs;
    this.#maxBuckets = maxBuckets;
  }

  get bucketMs(): number {
    return this.#bucketMs;
  }

  push(event: JournalEvent): void {
    if (event.type === 'resource') this.#resource(event);
  }

  /** The series in order of first reading (per container, metrics in the order they first appeared); null without any reading. */
  finish(): ReportResources | null {
    if (this.#series.size === 0) return null;
    const series: ResourceSeries[] = [];
    const byContainer = new Map<string, SeriesState[]>();
    for (const s of this.#series.values()) {
      let list = byContainer.get(s.container);
      if (!list) byContainer.set(s.container, (list = []));
      list.push(s);
    }
    for (const list of byContainer.values()) {
      for (const s of list) {
        const indices = [...s.buckets.keys()].sort((a, b) => a - b);
        const row: ResourceSeries = {
          container: s.container, metric: s.metric, unit: resourceUnit(s.metric),
          t: [], count: [], mean: [], min: [], max: [],
          first: round(s.first.value), last: round(s.latest.value), peak: round(s.peak),
        };
        for (const i of indices) {
          const b = s.buckets.get(i)!;
          row.t.push(round(i * this.#bucketMs));
          row.count.push(b.count);
          row.mean.push(roundValue(b.sum / b.count));
          row.min.push(round(b.min));
          row.max.push(round(b.max));
        }
        series.push(row);
      }
    }
    return { bucketMs: this.#bucketMs, series };
  }

  #resource(event: ResourceEvent): void {
    if (typeof event.container !== 'string' || event.container === '' || !finite(event.at)) return;
    for (const metric of NAMED) this.#add(event.container, metric, event.at, (event as unknown as Record<string, unknown>)[metric]);
    if (event.values && typeof event.values === 'object') {
      for (const [metric, value] of Object.entries(event.values)) if (!NAMED.includes(metric)) this.#add(event.container, metric, event.at, value);
    }
  }

  #add(container: string, metric: string, at: number, value: unknown): void {
    if (!finite(value)) return;
    let index = Math.floor(Math.max(0, at) / this.#bucketMs);
    while (index >= this.#maxBuckets) {
      this.#coarsen();
      index = Math.floor(Math.max(0, at) / this.#bucketMs);
    }
    const key = `${container}\u0000${metric}`;
    let s = this.#series.get(key);
    if (!s) {
      const reading = { at, value };
      this.#series.set(key, (s = { container, metric, buckets: new Map(), lastIndex: -1, last: null, first: reading, latest: reading, peak: value }));
    } else {
      if (at < s.first.at) s.first = { at, value };
      if (at >= s.latest.at) s.latest = { at, value };
      if (value > s.peak) s.peak = value;
    }
    let bucket = s.lastIndex === index ? s.last : s.buckets.get(index);
    if (!bucket) {
      s.buckets.set(index, (bucket = { count: 1, sum: value, min: value, max: value }));
    } else {
      bucket.count += 1;
      bucket.sum += value;
      if (value < bucket.min) bucket.min = value;
      if (value > bucket.max) bucket.max = value;
    }
    s.lastIndex = index;
    s.last = bucket;
  }

  /** Doubles the bucket width, merging buckets 2i and 2i + 1 of every series into i. */
  #coarsen(): void {
    this.#bucketMs *= 2;
    for (const s of this.#series.values()) {
      const merged = new Map<number, Bucket>();
      for (const [i, b] of s.buckets) {
        const target = merged.get(i >> 1);
        if (!target) {
          merged.set(i >> 1, b);
        } else {
          target.count += b.count;
          target.sum += b.sum;
          if (b.min < target.min) target.min = b.min;
          if (b.max > target.max) target.max = b.max;
        }
      }
      s.buckets = merged;
      s.lastIndex = -1;
      s.last = null;
    }
  }
}

/** Buckets the resource readings of a run (e.g. `resources(readJournal(path))`). See ResourceBuilder. */
export async function resources(events: Iterable<JournalEvent> | AsyncIterable<JournalEvent>, options: ResourceOptions = {}): Promise<ReportResources | null> {
  const builder = new ResourceBuilder(options);
  for await (const event of events) builder.push(event);
  return builder.finish();
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A mean: whole numbers from 1 000 up (bytes, counts), three decimals below (percent, ms). */
function roundValue(x: number): number {
  return Math.abs(x) >= 1000 ? Math.round(x) : round(x);
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
