import test from 'ava';
import { boolOption } from '../../src/index.ts';

test('a boolean flag takes the flag alone, true or false; anything else is refused with what is accepted', (t) => {
  t.true(boolOption.parse(true));
  t.false(boolOption.parse('false'));
  t.true(boolOption.parse('true'));
  const bad = boolOption.safeParse('maybe');
  t.false(bad.success);
  t.regex(bad.error?.issues[0]?.message ?? '', /true or false/);
});
