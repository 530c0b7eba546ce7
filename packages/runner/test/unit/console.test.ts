import test from 'ava';
import { clock } from '../../src/console.ts';

test('clock: the progress line reads mm:ss.s under an hour and never shows 60 seconds', (t) => {
  t.is(clock(0), '00:00.0');
  t.is(clock(-5), '00:00.0');
  t.is(clock(54_200), '00:54.2');
  t.is(clock(1_439_960), '24:00.0', '23:59.96 rounds to the next minute, not 23:60.0');
  t.is(clock(1_439_940), '23:59.9');
  t.is(clock(59_999), '01:00.0');
  t.is(clock(3_599_960), '1h00:00');
  t.is(clock(3_600_000 + 61_000), '1h01:01');
  t.is(clock(24 * 3_600_000 - 400), '23h59:59');
});
