// POST /orders and PATCH /orders/:id bodies and GET /orders limit validation: bad input is refused with the field named
// and the value shown.
import test from 'ava';
import { parseOrderBody, parseQuantityBody, parseListLimit, isOrderId, cacheKey } from '../../src/orders.ts';

test('a valid body is accepted, trimmed, extra fields dropped', (t) => {
  const r = parseOrderBody(JSON.stringify({ item: '  widget ', quantity: 3, note: 'x' }));
  t.deepEqual(r, { ok: true, value: { item: 'widget', quantity: 3 } });
});

const refuses = test.macro({
  exec(t, body: string, field: string, pattern: RegExp) {
    const r = parseOrderBody(body);
    if (r.ok) return t.fail(`accepted ${body}`);
    t.is(r.field, field);
    t.regex(r.message, pattern);
  },
  title: (provided, body: string) => `refuses ${provided ?? body}`,
});

test(refuses, 'not json', 'body', /not JSON/);
test(refuses, '[1,2]', 'body', /JSON object .*got `\[1,2\]`/);
test(refuses, 'null', 'body', /got `null`/);
test(refuses, '{"quantity":1}', 'item', /`item` to be a non-empty string .*got nothing/);
test(refuses, '{"item":"","quantity":1}', 'item', /got `""`/);
test(refuses, '{"item":"   ","quantity":1}', 'item', /`item`/);
test(refuses, `{"item":"${'x'.repeat(201)}","quantity":1}`, 'item', /at most 200 characters, got `"x{20,}\.\.\.`/);
test(refuses, '{"item":42,"quantity":1}', 'item', /got `42`/);
test(refuses, '{"item":"w"}', 'quantity', /`quantity` to be a whole number from 1 to 1000000, got nothing/);
test(refuses, '{"item":"w","quantity":0}', 'quantity', /got `0`/);
test(refuses, '{"item":"w","quantity":-2}', 'quantity', /got `-2`/);
test(refuses, '{"item":"w","quantity":1.5}', 'quantity', /got `1.5`/);
test(refuses, '{"item":"w","quantity":"2"}', 'quantity', /got `"2"`/);
test(refuses, '{"item":"w","quantity":1000001}', 'quantity', /got `1000001`/);

test('PATCH body: the quantity, validated as POST\'s; other fields ignored; bad input names the field', (t) => {
  t.deepEqual(parseQuantityBody(JSON.stringify({ quantity: 7, item: 'ignored' })), { ok: true, value: { quantity: 7 } });
  t.like(parseQuantityBody('{}'), { ok: false, field: 'quantity', message: 'Expected `quantity` to be a whole number from 1 to 1000000, got nothing' });
  t.like(parseQuantityBody('{"quantity":1000001}'), { ok: false, field: 'quantity', message: 'Expected `quantity` to be a whole number from 1 to 1000000, got `1000001`' });
  t.like(parseQuantityBody('{"quantity":"3"}'), { ok: false, field: 'quantity' });
  t.like(parseQuantityBody('x'), { ok: false, field: 'body', message: 'Expected the body to be JSON `{ "quantity": number }`, got text that is not JSON' });
  t.like(parseQuantityBody('[3]'), { ok: false, field: 'body', message: 'Expected the body to be a JSON object { quantity }, got `[3]`' });
});

test('order ids are UUIDs; the cache key is case-insensitive', (t) => {
  t.true(isOrderId('0b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11'));
  t.false(isOrderId('1'));
  t.false(isOrderId("0b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11'--"));
  t.is(cacheKey('0B8E4A4E-5A36-4F61-9A3E-0C2F0B1F9D11'), 'order:0b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11');
});

test('the list limit: 20 by default, any whole number from 1 to 100 in digits', (t) => {
  t.deepEqual(parseListLimit([]), { ok: true, value: 20 });
  for (const [text, value] of [['1', 1], ['100', 100], ['42', 42], ['007', 7]] as const) t.deepEqual(parseListLimit([text]), { ok: true, value }, text);
  for (const text of ['0', '101', '1000', '-1', '+5', '1e1', '5.0', ' 5', '0x10', 'Infinity', '', '9'.repeat(400)]) {
    const r = parseListLimit([text]);
    if (r.ok) {
      t.fail(`accepted ${JSON.stringify(text)}`);
      continue;
    }
    t.is(r.field, 'limit');
    t.true(r.message.startsWith('Expected `limit` to be a whole number from 1 to 100, got '), r.message);
    t.true(r.message.length < 200, 'a long value is cut');
  }
  t.like(parseListLimit(['5', '5']), { ok: false, message: 'Expected `limit` to be a whole number from 1 to 100, given once, got 2 values: `5`, `5`' });
});
