import test from 'ava';
import { redact, redactString } from '../../src/index.ts';

test('redact() removes the values of password, secret, token, passwd and pwd keys at any depth', (t) => {
  const input = {
    user: 'app',
    password: 'p1',
    nested: { PGPASSWORD: 'p2', clientSecret: { value: 'p3' }, list: [{ apiToken: 'p4' }, { passwd: 'p5', pwd: 'p6' }] },
    token: null,
    count: 3,
  };
  t.deepEqual(redact(input), {
    user: 'app',
    password: '***',
    nested: { PGPASSWORD: '***', clientSecret: '***', list: [{ apiToken: '***' }, { passwd: '***', pwd: '***' }] },
    token: null,
    count: 3,
  });
  t.is(input.password, 'p1', 'the input is not changed');
});

const urls = test.macro((t, input: string, expected: string) => {
  t.is(redactString(input), expected);
  t.deepEqual(redact({ deep: [{ url: input }] }), { deep: [{ url: expected }] });
});

test('user and password in a URL', urls, 'postgres://user:pass@db:5432/app', 'postgres://user:***@db:5432/app');
test('a password containing @', urls, 'postgres://user:p@ss@db/app', 'postgres://user:***@db/app');
test('a password only', urls, 'redis://:s3cret@127.0.0.1:6379/0', 'redis://:***@127.0.0.1:6379/0');
test('a lone credential before @ (a token)', urls, 'https://ghp_abc123@github.example/x', 'https://***@github.example/x');
test('a URL inside a message', urls, 'connect to postgresql://a:b@h failed; retry', 'connect to postgresql://a:***@h failed; retry');
test('two URLs', urls, 'from amqp://u:1@a to amqp://v:2@b', 'from amqp://u:***@a to amqp://v:***@b');
test('a URL without credentials is kept', urls, 'http://127.0.0.1:8080/health?x=1', 'http://127.0.0.1:8080/health?x=1');
test('an e-mail address after a URL path is kept', urls, 'http://h/path see me@example.com', 'http://h/path see me@example.com');
test('query string tokens', urls, 'http://h/x?token=abc&b=1', 'http://h/x?token=***&b=1');
test('libpq conninfo passwords', urls, "host=pg-1 password=hunter2 user=app", 'host=pg-1 password=*** user=app');
test('quoted conninfo passwords', urls, "password='two words' user=app", 'password=*** user=app');
test('a password in a JSON-ish message', urls, 'config: {"pwd": "x"} secret: y', 'config: {"pwd": ***} secret: ***');

test('redact() copies Maps, Dates and Errors, and survives cycles', (t) => {
  const cyclic: Record<string, unknown> = { name: 'a' };
  cyclic.self = cyclic;
  const shared = { url: 'postgres://u:p@h' };
  t.deepEqual(redact({
    map: new Map([['password', 'x'], ['host', 'h']]),
    when: new Date('2026-01-02T03:04:05.000Z'),
    error: new Error('login postgres://u:p@h failed'),
    cyclic,
    a: shared,
    b: shared,
  }), {
    map: { password: '***', host: 'h' },
    when: '2026-01-02T03:04:05.000Z',
    error: { name: 'Error', message: 'login postgres://u:***@h failed' },
    cyclic: { name: 'a', self: '[circular]' },
    a: { url: 'postgres://u:***@h' },
    b: { url: 'postgres://u:***@h' },
  });
});

test('redact() keeps a __proto__ key as a plain key', (t) => {
  const input = JSON.parse('{"__proto__": {"password": "x"}}') as Record<string, unknown>;
  const out = redact(input);
  t.deepEqual(Object.keys(out), ['__proto__']);
  t.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { password: '***' });
  t.is(Object.getPrototypeOf(out), Object.prototype);
});
