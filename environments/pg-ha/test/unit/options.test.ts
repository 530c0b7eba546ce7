// Option validation: every bad value is rejected with its name and value in the error, before
// anything starts; defaults are the lab-fast Patroni timings.
import test from 'ava';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseOptions, DEFAULTS, type PgHaOptionsInput } from '../../src/index.ts';

const show = (value: unknown): string => (typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value));

const rejects = test.macro({
  exec(t, input: Record<string, unknown>, argument: string, value: unknown) {
    const error = t.throws(() => parseOptions(input), { instanceOf: InvalidArgumentError });
    t.is(error.argument, argument);
    t.deepEqual(error.value, value);
    t.true(error.message.includes(`\`${argument}\``), error.message);
    t.is(error.exitCode, 2);
  },
  title: (provided, input: Record<string, unknown>, argument: string, value: unknown) =>
    provided ?? `rejects ${argument} = ${show(value)}${Object.keys(input).length > 1 ? ` with ${JSON.stringify(input)}` : ''}`,
});

test(rejects, { nodes: 0 }, 'nodes', 0);
test(rejects, { nodes: 1 }, 'nodes', 1);
test(rejects, { nodes: 6 }, 'nodes', 6);
test(rejects, { nodes: 2.5 }, 'nodes', 2.5);
test(rejects, { nodes: -3 }, 'nodes', -3);
test(rejects, { nodes: '3' }, 'nodes', '3');
test(rejects, { nodes: Number.NaN }, 'nodes', Number.NaN);
test(rejects, { etcdNodes: 2 }, 'etcdNodes', 2);
test(rejects, { etcdNodes: 4 }, 'etcdNodes', 4);
test(rejects, { etcdNodes: 0 }, 'etcdNodes', 0);
test(rejects, { etcdNodes: 7 }, 'etcdNodes', 7);
test(rejects, { ttl: 0 }, 'ttl', 0);
test(rejects, { ttl: -10 }, 'ttl', -10);
test(rejects, { ttl: 10.5 }, 'ttl', 10.5);
test(rejects, { loopWait: 0 }, 'loopWait', 0);
test(rejects, { retryTimeout: -1 }, 'retryTimeout', -1);
test('rejects ttl shorter than loop_wait + 2 × retry_timeout', rejects, { ttl: 9 }, 'ttl', 9);
test('rejects a loop_wait that breaks the ttl rule', rejects, { loopWait: 3 }, 'ttl', 10);
test('rejects a retry_timeout that breaks the ttl rule', rejects, { ttl: 20, loopWait: 5, retryTimeout: 8 }, 'ttl', 20);
test(rejects, { sync: 'yes' }, 'sync', 'yes');
test(rejects, { sync: 1 }, 'sync', 1);
test('rejects the old name `synchronous`, naming it', rejects, { synchronous: true }, 'synchronous', true);
test(rejects, { network: '' }, 'network', '');
test(rejects, { network: 'has space' }, 'network', 'has space');
test(rejects, { namePrefix: 'Upper' }, 'namePrefix', 'Upper');
test(rejects, { namePrefix: '1abc' }, 'namePrefix', '1abc');
test(rejects, { namePrefix: 'trailing-' }, 'namePrefix', 'trailing-');
test(rejects, { namePrefix: 'a'.repeat(21) }, 'namePrefix', 'a'.repeat(21));
test('rejects an unknown option, naming it', rejects, { replicas: 2 }, 'replicas', 2);

test('the ttl rule names both other timings in its message', (t) => {
  const error = t.throws(() => parseOptions({ ttl: 9 }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /loopWait \+ 2 × retryTimeout = 2 \+ 2 × 4 = 10 seconds/);
  t.regex(error.message, /loop_wait \+ 2\*retry_timeout <= ttl/);
});

test('rejects options that are not an object', (t) => {
  const error = t.throws(() => parseOptions(42), { instanceOf: InvalidArgumentError });
  t.is(error.argument, 'options');
});

test('an error can name the flag the user typed', (t) => {
  const error = t.throws(() => parseOptions({ etcdNodes: 2 }, (k) => `--${k}`), { instanceOf: InvalidArgumentError });
  t.is(error.argument, '--etcdNodes');
});

test('defaults are the lab-fast Patroni timings with HAProxy checks every second', (t) => {
  const s = parseOptions();
  t.deepEqual(s, {
    nodes: 3, etcdNodes: 1, ttl: 10, loopWait: 2, retryTimeout: 4,
    sync: false, syncStrict: false, network: undefined, namePrefix: 'pgha',
    haproxy: { interMs: 1000, fall: 2, rise: 1 },
  });
  t.is(s.loopWait + 2 * s.retryTimeout <= s.ttl, true);
  t.is(DEFAULTS.nodes, 3);
});

const accepts = test.macro({
  exec(t, input: PgHaOptionsInput, expected: Partial<ReturnType<typeof parseOptions>>) {
    t.like(parseOptions(input), expected);
  },
  title: (provided, input: PgHaOptionsInput) => provided ?? `accepts ${JSON.stringify(input)}`,
});

test(accepts, { nodes: 2 }, { nodes: 2 });
test(accepts, { nodes: 5, etcdNodes: 5 }, { nodes: 5, etcdNodes: 5 });
test(accepts, { etcdNodes: 3 }, { etcdNodes: 3 });
test(accepts, { sync: true }, { sync: true, syncStrict: false });
test(accepts, { sync: 'strict' }, { sync: true, syncStrict: true });
test(accepts, { ttl: 30, loopWait: 10, retryTimeout: 10 }, { ttl: 30, loopWait: 10, retryTimeout: 10 });
test(accepts, { network: 'rz-app-net', namePrefix: 'db-2' }, { network: 'rz-app-net', namePrefix: 'db-2' });
