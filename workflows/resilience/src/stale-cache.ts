// Stale cache reads, measured: an updater probe sets one hot order's quantity to a new, higher
// number every interval (PATCH), a reader probe reads that order back (GET, through the cache).
// A read that began after quantity q was acknowledged and returns an older quantity is a stale
// read: the cache kept (or got back) an entry the database had moved past, as after a Redis
// failover that lost the invalidation or the write-through SET. Measured after the run:
// staleReads (count) and inconsistencyWindow (first stale read's start to the last one's answer).
import { httpProbe } from '@resilience/fixtures';
import type { MetricSpec, Traffic, TrafficContext, TrafficMeasures } from '@resilience/runner';

/** The metrics the pair measures (for the workflow's `metrics`, so --slo can name them). */
export const STALE_CACHE_METRICS: readonly MetricSpec[] = [
  { name: 'staleReads', unit: 'count', aggregate: 'sum', description: 'reads of the hot order that began after a newer quantity was acknowledged and returned an older one' },
  { name: 'inconsistencyWindow', unit: 'ms', description: 'first stale read\'s start to the last stale read\'s answer (0: none)' },
];

/** An update the app answered: `ok` (200, acknowledged) or not; either way it is settled at `at`. */
export interface SettledUpdate {
  readonly quantity: number;
  /** When it was meant to be sent (its intended start, never after the real one). */
  readonly sentAt: number;
  /** When its answer arrived: whatever it did to the database was done by then. */
  readonly at: number;
  readonly ok: boolean;
}

export interface ObservedRead {
  /** Its intended start (never after the real one). */
  readonly startedAt: number;
  /** When its answer arrived. */
  readonly at: number;
  readonly quantity: number;
}

export interface StaleRead extends ObservedRead {
  /** The newest quantity acknowledged before the read began. */
  readonly expected: number;
}

export interface StaleReadReport {
  readonly reads: number;
  readonly acknowledged: number;
  readonly stale: readonly StaleRead[];
  /** First stale read's start to the last stale read's answer, ms; 0 when there is none. */
  readonly windowMs: number;
  /**
   * Runs of stale reads with no fresh read between them (reads in order of start): the window
   * may span several short ones (the cache-aside race: a miss reads the database, an update
   * commits and deletes the entry, then the miss SETs the older value) or one long one.
   */
  readonly episodes: number;
  /** The longest episode, its first read's start to its last read's answer, ms; 0 when none. */
  readonly longestEpisodeMs: number;
}

/**
 * Which reads are stale. Read r returned quantity v; it is stale when some update q was
 * acknowledged before r began and was sent (at or) after the update that wrote v was answered:
 * then q committed after v did, and r, which began after that, still saw v. Requiring the
 * answer of v before the send of q keeps the updater's own overlapping requests out (two
 * updates in flight at once may commit in either order: no stale read can be claimed then),
 * and a read of a quantity whose update never got an answer (timed out: it may still commit
 * later) is never counted. `initial` is the quantity the order had before any update.
 */
export function findStaleReads(updates: readonly SettledUpdate[], reads: readonly ObservedRead[], initial: number): StaleReadReport {
  const settledAt = new Map<number, number>([[initial, Number.NEGATIVE_INFINITY]]);
  for (const u of updates) settledAt.set(u.quantity, Math.min(settledAt.get(u.quantity) ?? Infinity, u.at));
  // Acknowledged updates by answer time, with the latest send and the highest quantity so far.
  const acks = updates.filter((u) => u.ok).sort((a, b) => a.at - b.at);
  const latestSent: number[] = [];
  const highest: number[] = [];
  acks.forEach((u, i) => {
    latestSent.push(Math.max(latestSent[i - 1] ?? Number.NEGATIVE_INFINITY, u.sentAt));
    highest.push(Math.max(highest[i - 1] ?? Number.NEGATIVE_INFINITY, u.quantity));
  });
  /** Index of the last acknowledgement strictly before `t`, or -1. */
  const lastBefore = (t: number): number => {
    let lo = 0;
    let hi = acks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (acks[mid]!.at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  const stale: StaleRead[] = [];
  let episodes = 0;
  let longestEpisodeMs = 0;
  let episode: { start: number; end: number } | undefined;
  for (const r of [...reads].sort((a, b) => a.startedAt - b.startedAt)) {
    const i = lastBefore(r.startedAt);
    const written = settledAt.get(r.quantity);
    const isStale = i >= 0 && written !== undefined && latestSent[i]! >= written && highest[i]! > r.quantity;
    if (!isStale) {
      episode = undefined;
      continue;
    }
    stale.push({ ...r, expected: highest[i]! });
    if (!episode) {
      episode = { start: r.startedAt, end: r.at };
      episodes++;
    }
    episode.end = Math.max(episode.end, r.at);
    longestEpisodeMs = Math.max(longestEpisodeMs, episode.end - episode.start);
  }
  const windowMs = stale.length === 0 ? 0 : Math.max(...stale.map((s) => s.at)) - stale[0]!.startedAt;
  return { reads: reads.length, acknowledged: acks.length, stale, windowMs, episodes, longestEpisodeMs };
}

export interface StaleCacheOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The app's mode, named in the finding. */
  readonly mode: string;
}

const SEED_QUANTITY = 1;

const formatMs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * The updater and the reader on a new hot order of the app at `baseUrl`. The reader carries the
 * `measure` hook. Quantities are the updater's sequence number + 2 (above the seed's 1), so each
 * value names one update; at most 1,000,000 (the app's limit): about 2.7 hours at 10 ms.
 */
export async function staleCacheTraffic(baseUrl: string, o: StaleCacheOptions, t: TrafficContext): Promise<Traffic[]> {
  const res = await fetch(`${baseUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: 'hot', quantity: SEED_QUANTITY }) });
  if (res.status !== 201) throw new Error(`seeding the hot order failed: HTTP ${res.status}`);
  const id = ((await res.json()) as { id: string }).id;
  const url = `${baseUrl}/orders/${id}`;
  const updates: SettledUpdate[] = [];
  const reads: ObservedRead[] = [];
  const common = { intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, now: t.now };
  const quantityOf = (body: string): number => {
    const q = (JSON.parse(body) as { quantity?: unknown }).quantity;
    if (typeof q !== 'number') throw new Error(`the answer has no quantity: ${body.slice(0, 100)}`);
    return q;
  };
  const updater = httpProbe({
    ...common,
    name: t.name('cache-update'),
    url,
    method: 'PATCH',
    op: 'PATCH /orders/:id',
    headers: { 'content-type': 'application/json' },
    body: ({ seq }) => JSON.stringify({ quantity: seq + 2 }),
    okStatus: (status) => status === 200,
    // Every answer settles its update (a 500 of naive mode comes after the commit); a 200 acknowledges it.
    inspect: ({ status }, ctx) => {
      if (status !== 200) updates.push({ quantity: ctx.seq + 2, sentAt: ctx.intended, at: t.now(), ok: false });
    },
    acknowledge: ({ body }, ctx) => {
      const quantity = quantityOf(body);
      if (quantity !== ctx.seq + 2) throw new Error(`PATCH quantity ${ctx.seq + 2} answered quantity ${quantity}`);
      updates.push({ quantity, sentAt: ctx.intended, at: t.now(), ok: true });
    },
  });
  const reader = httpProbe({
    ...common,
    name: t.name('cache-read'),
    url,
    op: 'GET /orders/:id (hot)',
    okStatus: (status) => status === 200,
    acknowledge: ({ body }, ctx) => {
      reads.push({ startedAt: ctx.intended, at: t.now(), quantity: quantityOf(body) });
    },
  });
  const measure = (): TrafficMeasures => {
    const report = findStaleReads(updates, reads, SEED_QUANTITY);
    const scope = 'cache-read';
    const measurements = [
      { name: 'staleReads', scope, value: report.stale.length, unit: 'count' as const, description: `reads of the hot order (of ${report.reads}, against ${report.acknowledged} acknowledged updates) that returned a quantity older than one acknowledged before they began` },
      { name: 'inconsistencyWindow', scope, value: report.windowMs, unit: 'ms' as const, description: 'first stale read\'s start to the last stale read\'s answer (0: none)' },
    ];
    if (report.stale.length === 0) return { measurements };
    const first = report.stale[0]!;
    const until = first.startedAt + report.windowMs;
    return {
      measurements,
      findings: [{
        id: `stale-cache:${reader.name}`, kind: 'stale-cache', severity: 'warning', scope, at: first.startedAt, until,
        title: `${report.stale.length} stale reads over ${Math.round(report.windowMs)} ms in ${report.episodes} episode${report.episodes === 1 ? '' : 's'}, the longest ${Math.round(report.longestEpisodeMs)} ms (${o.mode} app)`,
        detail: `Reads of an order that began after a newer quantity was acknowledged returned an older one, from ${formatMs(first.startedAt)} to ${formatMs(until)} (${report.episodes} separate episode${report.episodes === 1 ? '' : 's'}, the longest ${Math.round(report.longestEpisodeMs)} ms): `
          + `the ${o.mode} app's cache served an entry the database had moved past (${o.mode === 'hardened' ? 'an invalidation that failed or was lost, or a read that refilled the entry with an older value' : 'a write-through SET that failed or was lost in the failover'}). `
          + 'It lasts until the entry is replaced or its TTL ends.',
        evidence: [{
          label: 'stale reads (first 10): started, answered, returned, newest acknowledged',
          text: report.stale.slice(0, 10).map((s) => `${Math.round(s.startedAt)} ms  ${Math.round(s.at)} ms  quantity ${s.quantity}  expected >= ${s.expected}`).join('\n'),
        }],
      }],
    };
  };
  return [
    { probe: updater, scopes: ['postgres', 'redis'] },
    { probe: reader, scopes: ['redis', 'postgres'], measure },
  ];
}
