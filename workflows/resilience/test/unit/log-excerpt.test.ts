import test from 'ava';
import { logExcerpt, logKey } from '../../src/log-excerpt.ts';
import { syncKeyDetail } from '../../src/systems.ts';

const d = (s: string, text: string): string => `2026-12-07T03:31:${s}.000000000Z 2026-12-07 03:31:${s},000 INFO: ${text}`;

test('logKey drops Docker\'s and the program\'s timestamps', (t) => {
  t.is(logKey(d('37', 'no action. I am (pg1), the leader with the lock')), 'INFO: no action. I am (pg1), the leader with the lock');
  t.is(logKey('plain text'), 'plain text');
});

test('the heartbeat is said once until something happens, with how often it came back and when last', (t) => {
  const lines = [
    d('00', 'Lock owner: pg1; I am pg2'),
    d('00', 'no action. I am (pg2), a secondary, and following a leader (pg1)'),
    d('10', 'Lock owner: pg1; I am pg2'),
    d('10', 'no action. I am (pg2), a secondary, and following a leader (pg1)'),
    d('20', 'Lock owner: pg1; I am pg2'),
    d('20', 'no action. I am (pg2), a secondary, and following a leader (pg1)'),
    d('31', 'promoted self to leader by acquiring session lock'),
    d('32', 'no action. I am (pg2), the leader with the lock'),
    d('42', 'no action. I am (pg2), the leader with the lock'),
    d('45', 'Demoting self (immediate-nolock)'),
    d('46', 'Lock owner: pg1; I am pg2'),
  ];
  const out = logExcerpt(lines);
  t.deepEqual(out, [
    lines[0], lines[1],
    '  … 4 more of the same heartbeat lines as above, the last at 2026-12-07T03:31:20.000000000Z 2026-12-07 03:31:20,000',
    lines[6], lines[7],
    '  … 1 more of the same heartbeat line as above, the last at 2026-12-07T03:31:42.000000000Z 2026-12-07 03:31:42,000',
    lines[9], lines[10],
  ]);
  // The promotion and the demotion are in it however long the quiet before them was.
  const long = [...Array.from({ length: 400 }, (_, i) => d(String(i % 60).padStart(2, '0'), 'no action. I am (pg1), the leader with the lock')), d('59', 'Demoting self (immediate)')];
  const short = logExcerpt(long);
  t.is(short.length, 3);
  t.is(short[0], long[0]);
  t.regex(short[1]!, /399 more of the same heartbeat lines as above, the last at \S+Z 2026-12-07 03:31:39,000$/);
  t.is(short[2], long.at(-1));
});

test('past the limit the first lines are kept (the fault comes first) and the rest is counted', (t) => {
  const lines = Array.from({ length: 30 }, (_, i) => d(String(i).padStart(2, '0'), `changed ${i}`));
  const out = logExcerpt(lines, 25);
  t.is(out.length, 26);
  t.is(out[0], lines[0]);
  t.is(out[24], lines[24]);
  t.is(out[25], '(5 more lines)');
  t.deepEqual(logExcerpt([]), []);
});

test('the sync key naming another leader than the lock holder is explained, with the Patroni fix only for 3.0.0 to 3.0.2', (t) => {
  const stuck = { leader: 'pg1', sync: '{"leader":"pg2","sync_standby":null}' };
  const old = syncKeyDetail(stuck, 'patroni 3.0.2');
  t.truthy(old);
  t.regex(old!, /names pg2 as the leader of synchronous mode while pg1 holds the leader lock/);
  t.regex(old!, /PR #2669/);
  const fixed = syncKeyDetail(stuck, 'patroni 4.0.7');
  t.regex(fixed!, /names pg2 as the leader of synchronous mode while pg1 holds the leader lock/);
  t.notRegex(fixed!, /#2669/);
  t.is(syncKeyDetail({ leader: 'pg1', sync: '{"leader":"pg1","sync_standby":"pg3"}' }, 'patroni 3.0.2'), undefined);
  t.is(syncKeyDetail({ leader: null, sync: '{"leader":"pg2"}' }, 'patroni 3.0.2'), undefined);
  t.is(syncKeyDetail({ leader: 'pg1', sync: null }, 'patroni 3.0.2'), undefined);
  t.is(syncKeyDetail({ leader: 'pg1', sync: 'not json' }, 'patroni 3.0.2'), undefined);
  t.is(syncKeyDetail(undefined, 'patroni 3.0.2'), undefined);
});
