// Role measurements against known ground truth: role events made by hand for runs with several
// faults, so demotion, split brain and the new primary are known to the millisecond.
import test from 'ava';
import type { FindingEvent, RoleEvent, SampleEvent } from '@resilience/fixtures';
import { roleSpans, writableOverlaps } from '@resilience/fixtures';
import { RoleWatcher, WriteCollector, roleMeasurements, roleOutcome, type Measurement, type RoleFault, type RoleReading, type ScheduledFault, type System, type Traffic } from '../../src/index.ts';

const role = (at: number, node: string, r: RoleEvent['role'], writable = r === 'primary', variant?: string): RoleEvent => ({ type: 'role', at, scope: 'postgres', node, role: r, writable, ...(variant ? { variant } : {}) });

// Two faults of pg1 then pg2. Fault 1 at 10 s: pg1 stays writable until 16 s (demotion 6 s), pg2
// writable from 14 s (overlap 2 s). Fault 2 at 40 s on pg2: pg2 is frozen at once (down at
// 40.1 s), pg3 writable at 52 s, pg2 thawed writable 55-55.5 s (overlap 0.5 s).
const roles: RoleEvent[] = [
  role(0, 'pg1', 'primary'), role(0, 'pg2', 'replica'), role(0, 'pg3', 'replica'),
  role(14_000, 'pg2', 'primary'), role(16_000, 'pg1', 'down'), role(18_000, 'pg1', 'replica'),
  role(40_100, 'pg2', 'down'), role(52_000, 'pg3', 'primary'), role(55_000, 'pg2', 'primary'), role(55_500, 'pg2', 'replica'),
];
const f1: RoleFault = { scope: 'postgres', iteration: 1, target: 'pg1', kind: 'partition', at: 10_000, promotedAt: 14_200, healedAt: 20_000, until: 40_000 };
const f2: RoleFault = { scope: 'postgres', iteration: 2, target: 'pg2', kind: 'pause', at: 40_000, promotedAt: 52_100, healedAt: 55_000, until: 70_000 };

test('demotion, split brain and the new primary of each of two faults', (t) => {
  const a = roleOutcome(roleSpans(roles, 70_000), f1, undefined);
  t.is(a.demotionMs, 6_000);
  t.is(a.splitBrainMs, 2_000);
  t.deepEqual(a.overlaps, [{ from: 14_000, to: 16_000, nodes: ['pg1', 'pg2'] }]);
  t.deepEqual(a.newPrimary, { node: 'pg2', at: 14_000 });
  t.is(a.noPrimaryMs, 0, 'pg1 until 16 s, pg2 from 14 s');
  const b = roleOutcome(roleSpans(roles, 70_000), f2, undefined);
  t.is(b.demotionMs, 100);
  t.is(b.splitBrainMs, 500);
  t.deepEqual(b.overlaps, [{ from: 55_000, to: 55_500, nodes: ['pg2', 'pg3'] }]);
  t.deepEqual(b.newPrimary, { node: 'pg3', at: 52_000 });
  t.is(b.noPrimaryMs, 11_900, 'pg2 writable until it froze at 40.1 s, pg3 from 52 s');
});

test('the elected node is writable until it lost the role: where the old primary\'s acks stop being stale', (t) => {
  const b = roleOutcome(roleSpans(roles, 70_000), f2, undefined);
  t.is(b.writableUntil('pg3', 52_000), 70_000, 'pg3 stays primary to the end');
  const a = roleOutcome(roleSpans(roles, 70_000), f1, undefined);
  t.is(a.writableUntil('pg2', 14_000), 40_100, 'pg2 primary from 14 s until it froze at 40.1 s');
  t.is(a.writableUntil('pg3', 14_000), 70_000);
  t.is(a.writableUntil('pg1', 20_000), null, 'pg1 never accepted writes again');
});

test('a fault counts only the overlaps in its own share of the run', (t) => {
  const spans = roleSpans(roles, 70_000);
  t.is(writableOverlaps(spans, { scope: 'postgres', from: 0, to: 70_000 }).length, 2);
  t.is(roleOutcome(roleSpans(roles, 70_000), { ...f1, until: 15_000 }, undefined).splitBrainMs, 1_000);
});

test('a primary that stays writable through the fault has no demotion; other variants do not count', (t) => {
  const r = [role(0, 'pg1', 'primary', true, 'a'), role(0, 'pg1', 'primary', true, 'b'), role(12_000, 'pg1', 'replica', false, 'b'), role(11_000, 'pg2', 'primary', true, 'b')];
  const f: RoleFault = { scope: 'postgres', iteration: 1, target: 'pg1', kind: 'partition', at: 10_000, healedAt: 30_000, until: 40_000 };
  const a = roleOutcome(roleSpans(r, 40_000), f, 'a');
  t.is(a.demotionMs, null);
  t.is(a.splitBrainMs, 0);
  t.true(a.observed);
  const b = roleOutcome(roleSpans(r, 40_000), f, 'b');
  t.is(b.demotionMs, 2_000);
  t.is(b.splitBrainMs, 1_000);
  t.false(roleOutcome(roleSpans(r, 40_000), { ...f, target: 'pg9' }, 'a').observed);
});

test('the watcher writes a change once, reads a hung poll as down within its timeout, and stops', async (t) => {
  let answer: RoleReading | 'hang' = { role: 'primary', writable: true };
  const events: RoleEvent[] = [];
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const w = new RoleWatcher({
    scope: 'postgres', intervalMs: 50, timeoutMs: 100, now, emit: (e) => events.push(e),
    sources: [{ node: 'pg1', poll: (signal) => (answer === 'hang' ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) : Promise.resolve(answer)) }],
  });
  w.start();
  await new Promise((r) => setTimeout(r, 150));
  const hungAt = now();
  answer = 'hang';
  await new Promise((r) => setTimeout(r, 250));
  answer = { role: 'replica', writable: false };
  await new Promise((r) => setTimeout(r, 200));
  await w.stop();
  t.deepEqual(events.map((e) => `${e.role}/${e.writable}`), ['primary/true', 'down/false', 'replica/false']);
  const down = events[1]!;
  // The first poll started after the hang (within one 50 ms interval, plus timer jitter on a busy machine).
  t.true(down.at >= hungAt - 1 && down.at <= hungAt + 50 + 40, `the down poll started within one interval of the hang (${down.at} vs ${hungAt})`);
  t.regex(down.detail ?? '', /no answer within 100 ms/);
  const n = events.length;
  await new Promise((r) => setTimeout(r, 150));
  t.is(events.length, n, 'nothing after stop()');
});

test('a watcher polling for a long time keeps a bounded number of listeners on its stop signal (it leaked one per wait)', async (t) => {
  const w = new RoleWatcher({
    scope: 'postgres', intervalMs: 2, timeoutMs: 100, now: () => performance.now(), emit: () => undefined,
    sources: ['pg1', 'pg2', 'pg3'].map((node) => ({ node, poll: async () => ({ role: 'replica' as const, writable: false }) })),
  });
  w.start();
  let most = 0;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    most = Math.max(most, w.stopListeners);
  }
  await w.stop();
  // About 1 000 waits ran (3 nodes, 1 s, every 2 ms or so); at most a wait and 4 polls per node are pending at once.
  t.true(most <= 3 * 5, `at most ${most} listeners at once`);
  t.is(w.stopListeners, 0);
});

test('a node that thaws is seen within one poll interval, while the polls sent during the freeze still hang', async (t) => {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  let frozenUntil = Infinity;
  const events: RoleEvent[] = [];
  // Polls started while frozen never answer by themselves (the watcher's timeout ends them); later ones answer at once.
  const poll = (signal: AbortSignal): Promise<RoleReading> => (now() < frozenUntil
    ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))
    : Promise.resolve({ role: 'primary', writable: true }));
  const w = new RoleWatcher({ scope: 'postgres', intervalMs: 100, timeoutMs: 250, now, emit: (e) => events.push(e), sources: [{ node: 'pg1', poll }] });
  w.start();
  await new Promise((r) => setTimeout(r, 430));
  frozenUntil = now();
  await new Promise((r) => setTimeout(r, 400));
  await w.stop();
  t.deepEqual(events.map((e) => e.role), ['down', 'primary']);
  const seen = events[1]!.at - frozenUntil;
  t.true(seen >= -1 && seen <= 100 + 40, `thaw seen ${seen.toFixed(0)} ms after it happened (interval 100 ms, timeout 250 ms)`);
});

test('two faults measured end to end: demotion, split brain, no primary and stale acknowledgements, with findings by severity', async (t) => {
  // The same two faults; sql-write acknowledged by pg1 every 100 ms until it demoted (16 s), by
  // pg2 from 14.5 s until it froze (40 s), by pg3 from 52.5 s: clients wrote to pg1 and pg2 in the
  // first overlap, to pg3 only in the second.
  const collector = new WriteCollector('sql-write');
  let seq = 0;
  const ack = (at: number, node: string) => {
    const e: SampleEvent = { type: 'sample', probe: 'sql-write', op: 'sql.write', intended: at - 2, completed: at, ok: true, writeId: `sql-write-t-${seq++}`, node };
    collector.push(e);
  };
  for (let at = 100; at < 16_000; at += 100) ack(at, 'pg1');
  for (let at = 14_500; at < 40_000; at += 100) ack(at, 'pg2');
  for (let at = 52_500; at < 70_000; at += 100) ack(at, 'pg3');
  const fault = (f: RoleFault, id: string, promoted: string): ScheduledFault => ({
    injected: { id } as ScheduledFault['injected'], kind: f.kind, scope: f.scope, iteration: f.iteration, variant: undefined,
    target: { name: f.target, container: {} as ScheduledFault['target']['container'] }, at: f.at, atEpochMs: 0,
    promoted: { node: promoted, at: f.promotedAt! }, healedAt: f.healedAt,
  });
  const system = { roles: () => [], electionBoundMs: 5_000, electionBound: 'ttl 4 s + loop_wait 1 s', title: 'PostgreSQL', explain: async () => ({ evidence: [{ label: 'log', text: 'lines' }] }) } as unknown as System;
  const measured: Measurement[] = [];
  const findings: Omit<FindingEvent, 'type' | 'id'>[] = [];
  await roleMeasurements({
    systems: { postgres: system }, faults: [fault(f1, 'f1', 'pg2'), fault(f2, 'f2', 'pg3')], roles,
    collectors: [{ traffic: { probe: { name: 'sql-write' }, scopes: ['postgres'] } as unknown as Traffic, collector }],
    endAt: 70_000, variant: undefined, measure: (m) => measured.push(m), finding: (f) => findings.push(f),
  });
  const value = (name: string, iteration: number) => measured.find((m) => m.name === name && m.iteration === iteration)?.value;
  t.is(value('demotion', 1), 6_000);
  t.is(value('splitBrain', 1), 2_000);
  t.is(value('noPrimary', 1), 0);
  // pg1's acks from the election (14.2 s, inclusive) while pg2 still accepted writes: 14.2 ... 15.9 s.
  t.is(value('staleAcks', 1), 18);
  t.is(value('ackWindow', 1), 5_900);
  t.is(value('demotion', 2), 100);
  t.is(value('splitBrain', 2), 500);
  t.is(value('noPrimary', 2), 11_900);
  t.is(value('staleAcks', 2), 0, 'pg2 acknowledged nothing after it froze');
  t.is(value('ackWindow', 2), 0);
  const kinds = findings.map((f) => `${f.kind}#${f.iteration}:${f.severity}`);
  t.deepEqual(kinds, ['split-brain#1:critical', 'no-primary#2:warning', 'split-brain#2:warning']);
  t.true(findings[0]!.evidence.some((e) => /sql-write: \d+ acknowledged by pg1/.test(e.text) && /acknowledged by pg2/.test(e.text)));
  t.true(findings[0]!.evidence.some((e) => e.label === 'log'), "the system's evidence is attached");
});
