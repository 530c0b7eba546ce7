import test from 'ava';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckLog } from '../../src/ack-log.ts';
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

const idArb = fc.oneof(
  fc.uuid().map((u) => u.toLowerCase()),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.tuple(fc.constantFrom('sql-write-1a2b-', 'redis-write-ff-', 'p-'), fc.nat({ max: 50_000 })).map(([p, n]) => `${p}${n}`),
  // Too long a seq for the short form: kept as text.
  fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }).map((n) => `p-${n}`),
  fc.tuple(fc.constantFrom('sql-write-1a2b-'), fc.nat({ max: 99 })).map(([p, n]) => `${p}0${n}`),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
);
const sampleArb = fc.record({ id: idArb, ok: fc.boolean(), at: fc.double({ min: 0, max: 20_000, noNaN: true }), node: fc.option(fc.constantFrom('pg1', 'pg2', 'redis-1'), { nil: undefined }) });

test('WriteCollector on disk: the same check and the same acks by node and window as in memory, over chunk boundaries (property)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acks-'));
  try {
    fc.assert(fc.property(fc.array(sampleArb, { maxLength: 300 }), fc.integer({ min: 64, max: 600 }), fc.array(fc.tuple(fc.double({ min: 0, max: 20_000, noNaN: true }), fc.double({ min: 0, max: 20_000, noNaN: true })), { minLength: 1, maxLength: 5 }), (samples, chunkBytes, windows) => {
      const memory = new WriteCollector('w');
      const disk = new WriteCollector('w', { spillDir: dir, chunkBytes });
      for (const s of samples) {
        for (const c of [memory, disk]) c.push({ type: 'sample', probe: 'w', op: 'w', intended: s.at - 1, completed: s.at, ok: s.ok, writeId: s.id, ...(s.node ? { node: s.node } : {}) });
      }
      const present = samples.filter((_, i) => i % 3 === 0).map((s) => s.id);
      const o = { store: 's', intervalMs: 10, faults, at: 30_000 };
      t.deepEqual(disk.check(present, o), memory.check(present, o));
      // Each sample writes a new id, so the log's count of acknowledgements is the ledger's.
      const unique = new Set(samples.map((s) => s.id)).size === samples.length;
      for (const [a, b] of windows) {
        for (const node of ['pg1', 'pg2', 'redis-1']) {
          if (unique) t.deepEqual(disk.acksBy(node, Math.min(a, b), Math.max(a, b)), memory.acksBy(node, Math.min(a, b), Math.max(a, b)));
        }
      }
      if (unique) t.is(disk.acked, memory.acked);
      disk.close();
    }), { numRuns: 200 });
    t.deepEqual(readdirSync(dir), [], 'every log and its .acks folder removed on close');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WriteCollector on disk: memory stays at one chunk while the writes go to the file; close removes it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acks-'));
  try {
    const log = new AckLog('http-write', { dir, chunkBytes: 64 * 1024 });
    const before = log.memoryBytes;
    for (let i = 0; i < 200_000; i++) log.append(`0000${i.toString(16).padStart(4, '0')}-aaaa-4bbb-8ccc-${'d'.repeat(12)}`.slice(-36), i % 10 !== 0, i, i % 2 ? 'pg1' : 'pg2');
    t.true(existsSync(log.path));
    t.true(statSync(log.path).size >= 200_000 * 27 - 64 * 1024, `${statSync(log.path).size} bytes on disk for 200,000 records`);
    t.true(log.memoryBytes - before < 16 * 1024, `memory grew by ${log.memoryBytes - before} bytes`);
    let n = 0;
    let acked = 0;
    for (const r of log.records()) {
      n++;
      if (r.ok) acked++;
    }
    t.is(n, 200_000);
    t.is(acked, 180_000);
    // A window reads only the chunks that overlap it: what comes back is a small part of the log.
    let windowed = 0;
    for (const r of log.records({ from: 100_000, to: 100_010 })) windowed += r.at >= 100_000 && r.at < 100_010 ? 1 : 0;
    t.is(windowed, 10);
    t.true([...log.records({ from: 100_000, to: 100_010 })].length < 5_000);
    log.close();
    t.false(existsSync(log.path));
    t.deepEqual(readdirSync(dir), []);
    // Records older than flushAfterMs go to the disk with the next one, however small the chunk.
    const quick = new AckLog('redis-write', { dir, flushAfterMs: 0 });
    quick.append('redis-write-ff-1', true, 1, 'redis-1');
    t.false(existsSync(quick.path));
    quick.append('redis-write-ff-2', false, 2);
    t.true(existsSync(quick.path));
    t.deepEqual([...quick.records()], [{ id: 'redis-write-ff-1', ok: true, at: 1, node: 'redis-1' }, { id: 'redis-write-ff-2', ok: false, at: 2, node: undefined }]);
    quick.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
