import test from 'ava';
import fc from 'fast-check';
import { WriteCollector, placeWrite, writeCheckOutcome, type FaultSpan } from '../../src/writes.ts';

const faults: FaultSpan[] = [
  { id: 'f1', scope: 'pg', iteration: 1, at: 1000, promotedAt: 3000, healedAt: 5000 },
  { id: 'f2', scope: 'pg', iteration: 2, at: 10_000, promotedAt: 12_000, healedAt: 14_000 },
];

test('placeWrite: windows relative to the fault each write follows, over two faults', (t) => {
  t.deepEqual(placeWrite(500, faults), { fault: faults[0], window: 'before-fault' });
  t.deepEqual(placeWrite(1500, faults), { fault: faults[0], window: 'fault' });
  t.deepEqual(placeWrite(3500, faults), { fault: faults[0], window: 'after-election' });
  t.deepEqual(placeWrite(6000, faults), { fault: faults[0], window: 'after-heal' });
  // Nearer the next fault than the last heal: before the next fault.
  t.deepEqual(placeWrite(9000, faults), { fault: faults[1], window: 'before-fault' });
  t.deepEqual(placeWrite(12_500, faults), { fault: faults[1], window: 'after-election' });
  t.deepEqual(placeWrite(20_000, faults), { fault: faults[1], window: 'after-heal' });
  t.is(placeWrite(500, []), null);
  // A fault that never healed owns everything after it.
  t.deepEqual(placeWrite(99_000, [{ id: 'f', scope: 'x', iteration: 1, at: 10 }]), { fault: { id: 'f', scope: 'x', iteration: 1, at: 10 }, window: 'fault' });
});

test('placeWrite: every write is placed on a fault that started before it, or on the first fault (property)', (t) => {
  fc.assert(fc.property(fc.double({ min: 0, max: 30_000, noNaN: true }), (at) => {
    const p = placeWrite(at, faults)!;
    return p.window === 'before-fault' ? p.fault.at > at : p.fault.at <= at;
  }));
  t.pass();
});

test('WriteCollector: lost writes by node, window and fault; ghosts; RPO per fault', (t) => {
  const c = new WriteCollector('sql-write');
  const ack = (seq: number, at: number, node: string) => c.push({ type: 'sample', probe: 'sql-write', op: 'w', intended: at - 1, completed: at, ok: true, writeId: `sql-write-ab-${seq}`, node });
  const fail = (seq: number, at: number) => c.push({ type: 'sample', probe: 'sql-write', op: 'w', intended: at - 1, completed: at, ok: false, writeId: `sql-write-ab-${seq}` });
  ack(1, 500, 'pg1');
  ack(2, 3500, 'pg2'); // lost: election to heal of f1
  ack(3, 3600, 'pg2'); // lost
  ack(4, 6000, 'pg1');
  ack(5, 12_500, 'pg3'); // lost: election to heal of f2
  fail(6, 1500); // ghost: failed for the client, present
  fail(7, 1600); // failed and absent: neither
  c.push({ type: 'sample', probe: 'other', op: 'w', intended: 1, completed: 2, ok: true, writeId: 'x-1' });
  const check = c.check(['sql-write-ab-1', 'sql-write-ab-4', 'sql-write-ab-6'], { store: 'table', intervalMs: 10, faults, at: 30_000, scope: 'pg' });
  t.is(check.acked, 5);
  t.is(check.lost, 3);
  t.is(check.ghost, 1);
  t.deepEqual(check.lostByNode, { pg2: 2, pg3: 1 });
  t.deepEqual(check.lostByWindow, { 'before-fault': 0, fault: 0, 'after-election': 3, 'after-heal': 0 });
  t.deepEqual(check.perFault.map((f) => [f.faultId, f.lost, f.rpoSeconds]), [['f1', 2, 0.11], ['f2', 1, 0.01]]);
  const outcome = writeCheckOutcome(check, { probe: 'sql-write', store: 'table', scope: 'pg' });
  t.deepEqual(outcome.measurements.map((m) => [m.name, m.value, m.unit]), [['lostWrites', 3, 'count'], ['ghostWrites', 1, 'count'], ['rpoSeconds', 0.11, 's']]);
  t.like(outcome.finding, { kind: 'lost-writes', severity: 'critical', faultId: 'f1', iteration: 1, at: 3500, until: 12_500, nodes: ['pg2', 'pg3'] });
  t.regex(outcome.finding!.detail, /3 of 5 acknowledged writes lost \(2 acknowledged by pg2, 1 acknowledged by pg3; 3 between election and heal\)/);
});

test('writeCheckOutcome: nothing lost, no finding; the measurements are still there (0 is a measurement)', (t) => {
  const c = new WriteCollector('p');
  c.push({ type: 'sample', probe: 'p', op: 'w', intended: 1, completed: 2, ok: true, writeId: 'p-a-1' });
  const o = writeCheckOutcome(c.check(['p-a-1'], { store: 's', intervalMs: 10, faults, at: 3 }), { probe: 'p', store: 's' });
  t.is(o.finding, null);
  t.deepEqual(o.measurements.map((m) => m.value), [0, 0, 0]);
});
