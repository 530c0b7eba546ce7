import test from 'ava';
import fc from 'fast-check';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseHypothesis, evaluate, compare, formatValue } from '../../src/hypotheses.ts';

test('parses durations, percentages and counts into normalised thresholds', (t) => {
  t.like(parseHypothesis('rto <= 30s'), { metric: 'rto', op: '<=', threshold: 30_000, unit: 'ms', args: [] });
  t.like(parseHypothesis('availability(steady) >= 99.9%'), { metric: 'availability', args: ['steady'], threshold: 0.999, unit: 'ratio' });
  t.like(parseHypothesis('p99(fault, http) <= 2s'), { metric: 'p99', args: ['fault', 'http'], threshold: 2000 });
  t.like(parseHypothesis('lostWrites == 0'), { metric: 'lostWrites', op: '==', threshold: 0, unit: 'count' });
  t.like(parseHypothesis('rto < 1ms'), { threshold: 1 });
  t.like(parseHypothesis('ttd <= 2m'), { threshold: 120_000 });
});

const rejects = test.macro((t, text: string, pattern: RegExp) => {
  const error = t.throws(() => parseHypothesis(text), { instanceOf: InvalidArgumentError });
  t.is(error.argument, 'hypothesis');
  t.is(error.value, text);
  t.regex(error.message, pattern);
});
test('rejects an unknown metric', rejects, 'uptime >= 99%', /known metric/);
test('rejects a percentage for a duration', rejects, 'rto <= 5%', /duration/);
test('rejects a duration for availability', rejects, 'availability >= 5s', /percentage/);
test('rejects availability above 100%', rejects, 'availability >= 120%', /between 0 and 100%/);
test('rejects garbage', rejects, 'rto is fine', /expression like/);
test('rejects a unit on a count', rejects, 'lostWrites == 0s', /plain number/);

test('an unmeasured value fails its hypothesis', (t) => {
  const [outcome] = evaluate([parseHypothesis('rto <= 30s')], () => null);
  t.false(outcome?.ok);
  t.is(outcome?.observed, null);
});

test('evaluate passes the args to the lookup and compares', (t) => {
  const seen: string[][] = [];
  const out = evaluate([parseHypothesis('availability(steady) >= 99.9%'), parseHypothesis('rto <= 1ms')], (metric, args) => {
    seen.push([metric, ...args]);
    return metric === 'rto' ? 8500 : 0.9995;
  });
  t.deepEqual(seen, [['availability', 'steady'], ['rto']]);
  t.deepEqual(out.map((o) => o.ok), [true, false]);
});

test('compare agrees with the operators (property)', (t) => {
  fc.assert(fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (a, b) => {
    return compare(a, '<=', b) === a <= b && compare(a, '>', b) === a > b && compare(a, '==', b) === (a === b) && compare(a, '!=', b) === (a !== b);
  }));
  t.pass();
});

test('formats values for people', (t) => {
  t.is(formatValue(8534, 'ms'), '8.53 s');
  t.is(formatValue(250, 'ms'), '250 ms');
  t.is(formatValue(0.9996, 'ratio'), '99.960 %');
  t.is(formatValue(null, 'count'), 'not measured');
});
