// Stale reads of the stale-cache pair against known answers: synthetic acknowledged updates and
// reads with known times and values, exactly which reads are stale and the window; the
// updater's own overlapping updates and unanswered updates are never claimed; and, for
// sequential updates, the rule is the plain one (a read older than the newest acknowledged
// before it began), checked by fast-check against a brute force.
import test from 'ava';
import fc from 'fast-check';
import { findStaleReads, type ObservedRead, type SettledUpdate } from '../../src/stale-cache.ts';

const ack = (quantity: number, sentAt: number, at: number): SettledUpdate => ({ quantity, sentAt, at, ok: true });
const read = (startedAt: number, quantity: number, at = startedAt + 2): ObservedRead => ({ startedAt, at, quantity });

test('sequential updates: exactly the reads older than an update acknowledged before they began are stale; the window is first start to last answer', (t) => {
  const updates = [ack(2, 0, 10), ack(3, 20, 30), ack(4, 40, 50)];
  const reads = [
    read(5, 1), // nothing acknowledged yet: fresh
    read(15, 1), // 2 acknowledged at 10: stale (the seed's 1)
    read(15, 2), // fresh
    read(25, 2), // 3 not acknowledged until 30: fresh
    read(30, 2), // 3 acknowledged at 30, not before the read: fresh
    read(35, 2, 41), // 3 acknowledged at 30: stale
    read(55, 3, 58), // 4 acknowledged at 50: stale
    read(60, 4), // fresh
  ];
  const r = findStaleReads(updates, reads, 1);
  t.deepEqual(r.stale.map((s) => [s.startedAt, s.quantity, s.expected]), [[15, 1, 2], [35, 2, 3], [55, 3, 4]]);
  t.is(r.windowMs, 58 - 15);
  // Two runs of stale reads: 15 (a fresh read at 15 ends it), then 35 and 55 with no fresh read between.
  t.is(r.episodes, 2);
  t.is(r.longestEpisodeMs, 58 - 35);
  t.is(r.reads, 8);
  t.is(r.acknowledged, 3);
});

test('no stale read: window 0; no reads or no updates: nothing stale', (t) => {
  t.like(findStaleReads([ack(2, 0, 10)], [read(20, 2), read(5, 1)], 1), { stale: [], windowMs: 0, episodes: 0, longestEpisodeMs: 0 });
  t.like(findStaleReads([], [read(20, 1)], 1), { stale: [], windowMs: 0 });
  t.like(findStaleReads([ack(2, 0, 10)], [], 1), { stale: [], windowMs: 0, reads: 0 });
});

test('one stale read: the window is its own duration', (t) => {
  const r = findStaleReads([ack(2, 0, 10)], [read(100, 1, 107)], 1);
  t.is(r.stale.length, 1);
  t.is(r.windowMs, 7);
  t.like(r, { episodes: 1, longestEpisodeMs: 7 });
});

test('the updater\'s own overlapping updates may commit in either order: no stale read is claimed', (t) => {
  // 2 was sent first and answered last; 3 was sent while 2 was in flight. The database may hold 2.
  const updates = [ack(2, 0, 50), ack(3, 10, 20)];
  const r = findStaleReads(updates, [read(60, 2), read(60, 3), read(60, 1)], 1);
  t.deepEqual(r.stale.map((s) => [s.quantity, s.expected]), [[1, 3]], 'only the seed, settled before both, is stale');
  // Once an update is sent after 2 was answered and is acknowledged, 2 is stale.
  const later = findStaleReads([...updates, ack(4, 55, 58)], [read(60, 2)], 1);
  t.deepEqual(later.stale.map((s) => [s.quantity, s.expected]), [[2, 4]]);
});

test('an update never answered (timed out) may commit at any time: a read of its value is not claimed; one answered 500 is settled', (t) => {
  const updates: SettledUpdate[] = [
    ack(2, 0, 10),
    // 3 timed out: no entry at all.
    { quantity: 4, sentAt: 30, at: 35, ok: false }, // naive: committed, then its cache SET failed (HTTP 500)
    ack(5, 40, 45),
  ];
  const r = findStaleReads(updates, [read(50, 3), read(50, 4), read(50, 2)], 1);
  t.deepEqual(r.stale.map((s) => [s.quantity, s.expected]), [[4, 5], [2, 5]]);
});

test('sequential updates (each sent after the last was answered): stale iff older than the newest acknowledged before the read began (fast-check against a brute force)', (t) => {
  const scenario = fc.record({
    steps: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 20 }), latency: fc.integer({ min: 1, max: 30 }), ok: fc.boolean() }), { minLength: 1, maxLength: 30 }),
    reads: fc.array(fc.record({ start: fc.integer({ min: 0, max: 1500 }), pick: fc.nat(), latency: fc.integer({ min: 0, max: 20 }) }), { maxLength: 40 }),
  });
  fc.assert(fc.property(scenario, ({ steps, reads }) => {
    let clock = 0;
    const updates: SettledUpdate[] = steps.map((s, i) => {
      const sentAt = clock + s.gap;
      clock = sentAt + s.latency;
      return { quantity: i + 2, sentAt, at: clock, ok: s.ok };
    });
    const values = [1, ...updates.map((u) => u.quantity)];
    const observed = reads.map((r) => read(r.start, values[r.pick % values.length]!, r.start + r.latency));
    const got = findStaleReads(updates, observed, 1).stale.map((s) => [s.startedAt, s.quantity]);
    const expected = observed
      .filter((r) => {
        const newest = Math.max(Number.NEGATIVE_INFINITY, ...updates.filter((u) => u.ok && u.at < r.startedAt).map((u) => u.quantity));
        return r.quantity < newest;
      })
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((r) => [r.startedAt, r.quantity]);
    return JSON.stringify(got) === JSON.stringify(expected);
  }), { numRuns: 300 });
  t.pass();
});
