import test from 'ava';
import { DrillOptions, parseSize } from '../../src/options.ts';
import { judgeWrites, type LedgerEntry } from '../../src/ledger.ts';
import { pgTimestamp } from '../../src/steps.ts';

test('defaults: cluster-lost, 200 MB, bookworm, a 5 s archive_timeout, no sabotage', (t) => {
  const o = DrillOptions.parse({});
  t.like(o, { disaster: 'cluster-lost', data: 200_000_000, image: 'bookworm', archiveTimeout: 5000, sabotage: 'none', rpo: 30_000 });
  t.true(o.processMax >= 1);
});

test('sizes: decimal and binary units, a plain number of bytes; anything else is undefined', (t) => {
  t.is(parseSize('200MB'), 200_000_000);
  t.is(parseSize('64MiB'), 64 * 1024 * 1024);
  t.is(parseSize('1.5GB'), 1_500_000_000);
  t.is(parseSize('4096'), 4096);
  t.is(parseSize(4096), 4096);
  for (const bad of ['abc', '', '-5MB', '5 parsecs', '0']) t.is(parseSize(bad), undefined, bad);
});

const rejects = test.macro((t, input: Record<string, unknown>, path: string) => {
  const r = DrillOptions.safeParse(input);
  t.false(r.success);
  t.is(r.error?.issues[0]?.path.join('.'), path);
});
test('--data=abc is refused', rejects, { data: 'abc' }, 'data');
test('--data below 1 MB is refused', rejects, { data: '100kB' }, 'data');
test('an unknown disaster is refused', rejects, { disaster: 'meteor' }, 'disaster');
test('--process-max=0 is refused', rejects, { processMax: '0' }, 'processMax');
test('an archive timeout of part of a second is refused', rejects, { archiveTimeout: '1500ms' }, 'archiveTimeout');
test('an unknown sabotage is refused', rejects, { sabotage: 'fire' }, 'sabotage');

const e = (id: string, sentAt: number, ackAt: number): LedgerEntry => ({ id, probe: 'p', sentAt, ackAt });

test('judgeWrites, a lost tail (cluster lost): the RPO spans the oldest lost write to the last acknowledgement before the cutoff', (t) => {
  const entries = [e('a', 0, 5), e('b', 100, 105), e('c', 200, 205), e('d', 300, 305), e('late', 990, 1500), e('new', 2000, 2005)];
  const j = judgeWrites(entries, new Set(['a', 'b', 'new']), 1000);
  t.like(j, { lost: 2, rpoMs: 105, kept: 2, holes: 0, afterCutoffPresent: 0, straddling: 1, oldestLostAckAt: 205 });
  t.deepEqual(j.lostIds, ['c', 'd']);
});

test('judgeWrites, a hole: a lost write acknowledged before a kept one is counted', (t) => {
  const j = judgeWrites([e('a', 0, 5), e('b', 100, 105), e('c', 200, 205)], new Set(['a', 'c']), 1000);
  t.like(j, { lost: 1, holes: 1, rpoMs: 105 });
  // One lost write: an RPO of at least 1 ms, never 0.
  t.like(judgeWrites([e('a', 0, 5), e('b', 100, 100.2)], new Set(['a']), 1000), { lost: 1, rpoMs: 1 });
});

test('judgeWrites, point in time: writes after the target are discarded, one present is past the target, writes after the old cluster went are not judged', (t) => {
  const entries = [e('a', 0, 5), e('b', 500, 505), e('c', 600, 605), e('d', 700, 705), e('after-restore', 1200, 1205)];
  const exact = judgeWrites(entries, new Set(['a', 'b', 'after-restore']), 550, 1000);
  t.like(exact, { lost: 0, rpoMs: 0, discarded: 2, afterCutoffPresent: 0, kept: 2 });
  const past = judgeWrites(entries, new Set(['a', 'b', 'c', 'after-restore']), 550, 1000);
  t.like(past, { afterCutoffPresent: 1, discarded: 1 });
  t.deepEqual(past.afterCutoffPresentIds, ['c']);
  // Sent before the target, acknowledged after it: committed after it when missing (discarded, like
  // the writes sent later), before it when present; neither is lost or past the target.
  const straddlers = [e('a', 0, 5), e('s-missing', 540, 560), e('s-present', 545, 558), e('c', 600, 605)];
  t.like(judgeWrites(straddlers, new Set(['a', 's-present']), 550, 1000), { lost: 0, kept: 1, straddling: 2, discarded: 2, afterCutoffPresent: 0 });
  const before = judgeWrites(entries, new Set(['after-restore']), 550, 1000);
  t.like(before, { lost: 2, rpoMs: 505 });
});

test('pgTimestamp: UTC with microseconds and a zone, as pgBackRest and PostgreSQL take it', (t) => {
  t.is(pgTimestamp(Date.UTC(2026, 11, 2, 5, 6, 7, 89)), '2026-12-02 05:06:07.089000+00');
});
