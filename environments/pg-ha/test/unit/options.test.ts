// Option validation: every bad value is rejected with its name and value in the error, before
// anything starts; defaults are the lab-fast Patroni timings.
import test from 'ava';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseOptions, DEFAULTS, TIMING_DEFAULTS, PG_IMAGES, type PgHaOptionsInput } from '../../src/index.ts';

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
    sync: false, syncStrict: false, failsafeMode: false, network: undefined, namePrefix: 'pgha',
    image: 'bookworm', imageTag: 'resilience/infra:0.1.0', postgresMajor: 15,
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

// The image option: bookworm (Patroni 3.0.2) by default, trixie (Patroni 4.0) on request, each
// with timings its Patroni runs with unchanged.
test(rejects, { image: 'bullseye' }, 'image', 'bullseye');
test(rejects, { image: 'Trixie' }, 'image', 'Trixie');
test(rejects, { image: 13 }, 'image', 13);
test('rejects a ttl below 20 on trixie (Patroni 4 would raise it to 20)', rejects, { image: 'trixie', ttl: 10 }, 'ttl', 10);
test('rejects a retry_timeout below 3 on trixie', rejects, { image: 'trixie', retryTimeout: 2 }, 'retryTimeout', 2);
test('the ttl rule holds on trixie too', rejects, { image: 'trixie', ttl: 20, loopWait: 5, retryTimeout: 8 }, 'ttl', 20);

test('an unknown image names what is accepted', (t) => {
  const error = t.throws(() => parseOptions({ image: 'bullseye' }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /`image`/);
  t.regex(error.message, /`bookworm`.*`trixie`/);
  const flag = t.throws(() => parseOptions({ image: 'sid' }, (k) => (k === 'image' ? '--image' : k)), { instanceOf: InvalidArgumentError });
  t.is(flag.argument, '--image');
});

test('a ttl below Patroni 4\'s minimum says why, naming the image', (t) => {
  const error = t.throws(() => parseOptions({ image: 'trixie', ttl: 12, loopWait: 2, retryTimeout: 4 }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /at least 20 seconds with image `trixie` \(Patroni 4\.0\.7 raises a smaller ttl to 20\)/);
});

test('bookworm keeps accepting a ttl below 20 (Patroni 3.0.2 runs with it)', (t) => {
  t.like(parseOptions({ image: 'bookworm', ttl: 10 }), { ttl: 10, image: 'bookworm' });
  t.like(parseOptions({ ttl: 6, loopWait: 2, retryTimeout: 2 }), { ttl: 6 });
});

test('trixie: PostgreSQL 17 image and the timings Patroni 4 runs with (ttl 20, loop_wait 2, retry_timeout 4)', (t) => {
  const s = parseOptions({ image: 'trixie' });
  t.like(s, { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', postgresMajor: 17, ttl: 20, loopWait: 2, retryTimeout: 4 });
  t.true(s.loopWait + 2 * s.retryTimeout <= s.ttl);
  t.deepEqual(TIMING_DEFAULTS.trixie, { ttl: 20, loopWait: 2, retryTimeout: 4 });
  t.deepEqual(TIMING_DEFAULTS.bookworm, { ttl: 10, loopWait: 2, retryTimeout: 4 });
  // Every profile's defaults satisfy its own minimums and the rule.
  for (const p of Object.values(PG_IMAGES)) {
    t.true(p.defaults.ttl >= p.minimums.ttl && p.defaults.retryTimeout >= p.minimums.retryTimeout && p.defaults.loopWait >= p.minimums.loopWait, p.image);
    t.true(p.defaults.loopWait + 2 * p.defaults.retryTimeout <= p.defaults.ttl, p.image);
  }
});

test('trixie with timings of its own', (t) => {
  t.like(parseOptions({ image: 'trixie', ttl: 30, loopWait: 1, retryTimeout: 10 }), { ttl: 30, loopWait: 1, retryTimeout: 10 });
  t.like(parseOptions({ image: 'trixie', loopWait: 1 }), { ttl: 20, loopWait: 1, retryTimeout: 4 });
});
