import test from 'ava';
import { FailoverOptions, setups } from '../../src/options.ts';

test('defaults: both systems, kill, one unnamed run on bookworm with the hardened app', (t) => {
  const o = FailoverOptions.parse({});
  t.like(o, { system: 'both', fault: 'kill', iterations: 1, appMode: 'hardened', image: 'bookworm', steady: 10_000, interval: 10 });
  t.deepEqual(setups(o), [{ name: '', mode: 'hardened', image: 'bookworm' }]);
});

test('variants are named by what varies', (t) => {
  t.deepEqual(setups({ appMode: 'both', image: 'trixie' }).map((s) => s.name), ['hardened', 'naive']);
  t.deepEqual(setups({ appMode: 'naive', image: 'both' }).map((s) => s.name), ['bookworm', 'trixie']);
  t.deepEqual(setups({ appMode: 'both', image: 'both' }), [
    { name: 'bookworm-hardened', mode: 'hardened', image: 'bookworm' },
    { name: 'bookworm-naive', mode: 'naive', image: 'bookworm' },
    { name: 'trixie-hardened', mode: 'hardened', image: 'trixie' },
    { name: 'trixie-naive', mode: 'naive', image: 'trixie' },
  ]);
});

const rejects = test.macro((t, input: Record<string, unknown>, path: string) => {
  const r = FailoverOptions.safeParse(input);
  t.false(r.success);
  t.is(r.error?.issues[0]?.path.join('.'), path);
});
test('an unknown image is refused', rejects, { image: 'sid' }, 'image');
test('the old --target is refused (Nx takes it for itself)', rejects, { target: 'redis' }, '');
test('zero iterations are refused', rejects, { iterations: '0' }, 'iterations');
