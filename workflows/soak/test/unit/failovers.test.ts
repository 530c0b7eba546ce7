// Failovers that did not hold, read from role events whose truth is known. The shapes are the
// ones a two-hour soak's journal showed (2026-12-07, dist/reports/soak-20261207-030418): a
// CPU-starved PostgreSQL primary and a thawed one took the lead back from the replica promoted
// in their place (a finding each); a primary writable for 403 ms after its heal that then became
// a replica, and a restarted Redis master writable beside the new one until Sentinel turned it
// into a replica, did not (the failover held: split-brain, not this).
import test from 'ava';
import type { JournalEvent, NodeRole } from '@resilience/fixtures';
import { FailoverWatch } from '../../src/failovers.ts';
import { analyseSoak } from '../../src/analysis.ts';

const S = 1000;
const role = (at: number, node: string, r: NodeRole, writable = r === 'primary', scope = 'postgres'): JournalEvent => ({ type: 'role', at, scope, node, role: r, writable });
const fault = (at: number, id: string, kind = 'pause', scope = 'postgres'): JournalEvent => ({ type: 'fault-injected', id, kind, targets: ['pg1'], params: {}, at, scope, iteration: 1 });
const healed = (at: number, id: string): JournalEvent => ({ type: 'fault-healed', id, at });

function watch(events: readonly JournalEvent[]) {
  const w = new FailoverWatch();
  for (const e of events) w.push(e);
  return w.findings();
}

test('the old primary back and the promoted node a replica: a critical finding with both nodes, the times and the roles as evidence', (t) => {
  const found = watch([
    role(0, 'pg1', 'primary'), role(0, 'pg2', 'replica'), role(0, 'pg3', 'replica'),
    fault(100 * S, 'pause-1'), role(100.1 * S, 'pg1', 'down'),
    role(112.6 * S, 'pg3', 'primary'), healed(120 * S, 'pause-1'),
    role(120.2 * S, 'pg3', 'down'), role(121.2 * S, 'pg3', 'replica'), role(122.1 * S, 'pg1', 'primary'),
  ]);
  t.is(found.length, 1);
  const f = found[0]!;
  t.is(f.kind, 'failover-not-held');
  t.is(f.severity, 'critical');
  t.deepEqual(f.nodes, ['pg1', 'pg3']);
  t.is(f.faultId, 'pause-1');
  t.is(f.at, 112.6 * S, 'from the promotion');
  t.is(f.until, 122.1 * S, 'to the old primary back');
  t.regex(f.title, /failover to pg3 did not hold: pg1 was the primary again 9\.50 s after pg3's promotion/);
  t.regex(f.detail, /pg3 was the writable primary 12\.60 s after it, and pg1 again 2\.10 s after the heal/);
  t.regex(f.evidence[0]!.text, /pg3 {2}replica/);
});

test('both writable for a while, then the promoted node a replica: a finding that says how long both were writable', (t) => {
  const found = watch([
    role(0, 'pg1', 'primary'), role(0, 'pg2', 'replica'),
    fault(10 * S, 'cpu-1', 'cpu'), role(10.5 * S, 'pg1', 'down'), role(22 * S, 'pg2', 'primary'), healed(30 * S, 'cpu-1'),
    role(30.2 * S, 'pg1', 'primary'), role(31 * S, 'pg2', 'replica'),
  ]);
  t.is(found.length, 1);
  t.is(found[0]!.until, 31 * S);
  t.regex(found[0]!.detail, /pg2 stopped being the primary 800 ms later: both were writable until then/);
});

test('the old primary writable after its heal and then a replica (Patroni demoting it, Sentinel reconfiguring a restarted master): the failover held, no finding', (t) => {
  t.deepEqual(watch([
    role(0, 'pg2', 'primary'), role(0, 'pg1', 'replica'),
    fault(10 * S, 'cpu-2', 'cpu'), role(10.4 * S, 'pg2', 'down'), role(22.7 * S, 'pg1', 'primary'), healed(30 * S, 'cpu-2'),
    role(30.3 * S, 'pg2', 'primary'), role(30.7 * S, 'pg2', 'down'), role(31.6 * S, 'pg2', 'replica'),
  ]), []);
  t.deepEqual(watch([
    role(0, 'redis-1', 'primary', true, 'redis'), role(0, 'redis-3', 'replica', false, 'redis'),
    fault(10 * S, 'kill-1', 'kill', 'redis'), role(10.1 * S, 'redis-1', 'down', false, 'redis'), role(12.6 * S, 'redis-3', 'primary', true, 'redis'),
    healed(30 * S, 'kill-1'), role(30.1 * S, 'redis-1', 'primary', true, 'redis'), role(40.5 * S, 'redis-1', 'replica', false, 'redis'),
  ]), []);
});

test('no promotion, a primary unknown before the fault, or a flip after the next fault of the scope began: no finding for the fault', (t) => {
  t.deepEqual(watch([role(0, 'pg1', 'primary'), fault(10 * S, 'loss-1', 'loss'), role(12 * S, 'pg2', 'down'), healed(30 * S, 'loss-1'), role(31 * S, 'pg2', 'replica')]), []);
  t.deepEqual(watch([fault(10 * S, 'pause-1'), role(22 * S, 'pg2', 'primary'), role(31 * S, 'pg2', 'replica'), role(32 * S, 'pg1', 'primary')]), []);
  // A promotion held through the first fault; the second fault's own failover held too.
  t.deepEqual(watch([
    role(0, 'pg1', 'primary'), fault(10 * S, 'kill-1', 'kill'), role(22 * S, 'pg2', 'primary'), healed(30 * S, 'kill-1'), role(40 * S, 'pg1', 'replica'),
    fault(100 * S, 'kill-2', 'kill'), role(101 * S, 'pg2', 'down'), role(112 * S, 'pg1', 'primary'), healed(120 * S, 'kill-2'), role(130 * S, 'pg2', 'replica'),
  ]), []);
});

test('the soak analysis reports the finding from its journal', async (t) => {
  const events: JournalEvent[] = [
    { type: 'run-start', runId: 'r', workflow: 'soak', startedAt: '2026-12-07T00:00:00.000Z', at: 0 },
    role(1 * S, 'pg1', 'primary'), role(1 * S, 'pg2', 'replica'),
    fault(60 * S, 'pause-1'), role(60.2 * S, 'pg1', 'down'), role(72 * S, 'pg2', 'primary'), healed(80 * S, 'pause-1'),
    role(80.3 * S, 'pg2', 'replica'), role(81 * S, 'pg1', 'primary'),
    { type: 'run-end', at: 120 * S, status: 'completed' } as JournalEvent,
  ];
  const r = await analyseSoak(events, { durationMs: 120 * S, settleMs: 10 * S, origin: 0, leakThreshold: 1, stores: new Set() });
  const f = r.findings.filter((x) => x.kind === 'failover-not-held');
  t.is(f.length, 1);
  t.regex(f[0]!.title, /the pause at 0:01:00/);
});
