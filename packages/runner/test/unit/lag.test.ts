// The runner's own lag: ticks that come late by more than the threshold open a window, close
// ones merge, and a real block of the event loop is measured as what it was.
import test from 'ava';
import { LagMonitor, lagFinding } from '../../src/lag.ts';

test('late ticks open windows; ticks within the merge distance extend them; the worst lateness is kept', (t) => {
  const m = new LagMonitor({ now: () => 0, thresholdMs: 200, tickMs: 100, mergeMs: 2000 });
  let at = 0;
  const tick = (gap: number) => m.tickAt((at += gap));
  for (let i = 0; i < 10; i++) tick(100);
  tick(450); // 350 late: a window from 1000 to 1450
  tick(100);
  tick(700); // 600 late, 100 ms after the last late one: same window
  for (let i = 0; i < 50; i++) tick(100);
  tick(300); // 200 late: not above the threshold
  tick(1300); // 1200 late, long after: a second window
  t.deepEqual(m.windows().map(({ from, to, maxMs }) => ({ from, to, maxMs })), [
    { from: 1000, to: 2250, maxMs: 600 },
    { from: 7550, to: 8850, maxMs: 1200 },
  ]);
  t.is(m.maxMs, 1200);
  const f = lagFinding(m, (ms) => `${ms} ms`)!;
  t.like(f, { kind: 'runner-lagged', severity: 'warning', at: 1000, until: 8850 });
  t.regex(f.title, /up to 1200 ms late, 2 time\(s\), 2\.5 s in all/);
  t.regex(f.evidence[0]!.text, /^1000 ms – 2250 ms: up to 600 ms late; load /);
});

test('a run whose timers were never late has no finding', (t) => {
  const m = new LagMonitor({ now: () => 0 });
  for (let i = 1; i <= 100; i++) m.tickAt(i * 100 + (i % 3));
  t.deepEqual(m.windows(), []);
  t.is(lagFinding(m, String), undefined);
});

test('the event loop blocked for 800 ms is measured as at least 700 ms of lateness', async (t) => {
  const m = new LagMonitor({ now: () => performance.now(), thresholdMs: 300, tickMs: 50 }).start();
  await new Promise((r) => setTimeout(r, 120));
  const until = performance.now() + 800;
  while (performance.now() < until) { /* the runner starved */ }
  await new Promise((r) => setTimeout(r, 120));
  m.stop();
  const w = m.windows();
  t.is(w.length, 1);
  t.true(w[0]!.maxMs >= 700 && w[0]!.maxMs < 1500, `lateness ${w[0]!.maxMs}`);
  t.true(w[0]!.to - w[0]!.from >= 800);
});

test('bad options name the value', (t) => {
  t.throws(() => new LagMonitor({ now: () => 0, thresholdMs: 0 }), { message: /thresholdMs/ });
  t.throws(() => new LagMonitor({ now: () => 0, tickMs: Number.NaN }), { message: /tickMs/ });
});
