// The options table: every bad value is rejected before anything starts, naming the option and
// the value; defaults fill in the rest.
import test from 'ava';
import { InvalidArgumentError, Labels, describe } from '@resilience/fixtures';
import { DEFAULTS, parseOptions, provision } from '../../src/index.ts';

const show = (value: unknown): string => (typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value));

const bad = test.macro({
  exec(t, options: unknown, argument: string, value: unknown) {
    const error = t.throws(() => parseOptions(options), { instanceOf: InvalidArgumentError });
    t.is(error.argument, argument);
    t.deepEqual(error.value, value);
    t.true(error.message.includes(`\`${argument}\``), error.message);
    t.true(error.message.endsWith(`got ${describe(value)}`), error.message);
    t.is(error.exitCode, 2);
  },
  title: (provided, options: unknown, argument: string, value: unknown) => provided ?? `rejects ${argument} = ${show(value)} (${JSON.stringify(options)})`,
});

test(bad, { replicas: -1 }, 'replicas', -1);
test(bad, { replicas: 1.5 }, 'replicas', 1.5);
test(bad, { replicas: 'two' }, 'replicas', 'two');
test(bad, { sentinels: 0 }, 'sentinels', 0);
test(bad, { sentinels: Number.NaN }, 'sentinels', Number.NaN);
test(bad, { quorum: 0 }, 'quorum', 0);
test(bad, { quorum: 4 }, 'quorum', 4);
test(bad, { sentinels: 1, quorum: 2 }, 'quorum', 2);
test(bad, { downAfterMs: 0 }, 'downAfterMs', 0);
test(bad, { downAfterMs: -5 }, 'downAfterMs', -5);
test(bad, { downAfterMs: '2s' }, 'downAfterMs', '2s');
test(bad, { failoverTimeoutMs: 0 }, 'failoverTimeoutMs', 0);
test(bad, { failoverTimeoutMs: 1.5 }, 'failoverTimeoutMs', 1.5);
test(bad, { minReplicasToWrite: -1 }, 'minReplicasToWrite', -1);
test(bad, { minReplicasToWrite: 3 }, 'minReplicasToWrite', 3);
test(bad, { replicas: 0, minReplicasToWrite: 1 }, 'minReplicasToWrite', 1);
test(bad, { minReplicasMaxLagSeconds: 0 }, 'minReplicasMaxLagSeconds', 0);
test(bad, { masterName: 'my master' }, 'masterName', 'my master');
test(bad, { masterName: '' }, 'masterName', '');
test(bad, { network: '' }, 'network', '');
test(bad, { network: 'no spaces' }, 'network', 'no spaces');
test(bad, { namePrefix: 'Redis' }, 'namePrefix', 'Redis');
test(bad, { namePrefix: 'redis_a' }, 'namePrefix', 'redis_a');
test(bad, { namePrefix: 'redis-' }, 'namePrefix', 'redis-');
test(bad, { namePrefix: '1redis' }, 'namePrefix', '1redis');
test(bad, { healthyTimeoutMs: 0 }, 'healthyTimeoutMs', 0);
test(bad, { labels: { [Labels.runId]: 'mine' } }, 'labels', { [Labels.runId]: 'mine' });
test(bad, { labels: { [Labels.role]: 'other' } }, 'labels', { [Labels.role]: 'other' });
test(bad, { labels: { a: 1 } }, 'labels', { a: 1 });
test(bad, { engine: {} }, 'engine', {});
test('rejects an unknown option, naming it', bad, { replica: 2 }, 'replica', 2);
test('rejects options that are not an object', bad, 3, 'options', 3);

test('a quorum above the Sentinels names both values', (t) => {
  const error = t.throws(() => parseOptions({ sentinels: 3, quorum: 4 }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /`quorum`.*`sentinels` is 3.*got `4`/);
});

test('min-replicas-to-write above the replicas names both values', (t) => {
  const error = t.throws(() => parseOptions({ replicas: 1, minReplicasToWrite: 2 }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /`minReplicasToWrite`.*`replicas` is 1.*got `2`/);
});

test('defaults: two replicas, three Sentinels, quorum 2, down-after 2000 ms', (t) => {
  const s = parseOptions({});
  t.deepEqual({ ...s }, {
    replicas: 2, sentinels: 3, quorum: 2, downAfterMs: 2_000, failoverTimeoutMs: DEFAULTS.failoverTimeoutMs,
    minReplicasToWrite: 0, minReplicasMaxLagSeconds: 10, masterName: 'mymaster', network: undefined,
    namePrefix: 'redis', healthyTimeoutMs: DEFAULTS.healthyTimeoutMs, labels: {}, engine: undefined,
    image: 'bookworm', imageTag: 'resilience/infra:0.1.0', redisMajor: 7,
  });
});

test('image: bookworm by default, trixie (Redis 8) on request, anything else refused naming what is accepted', (t) => {
  t.like(parseOptions({ image: 'trixie' }), { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', redisMajor: 8 });
  t.like(parseOptions({ image: 'bookworm' }), { image: 'bookworm', imageTag: 'resilience/infra:0.1.0', redisMajor: 7 });
  for (const bad of ['bullseye', 'valkey', '', 8]) {
    const error = t.throws(() => parseOptions({ image: bad }), { instanceOf: InvalidArgumentError });
    t.is(error.argument, 'image');
    t.deepEqual(error.value, bad);
    t.regex(error.message, /`bookworm`.*`trixie`/);
    t.is(error.exitCode, 2);
  }
});

test('the default quorum is a majority of the Sentinels', (t) => {
  t.is(parseOptions({ sentinels: 1 }).quorum, 1);
  t.is(parseOptions({ sentinels: 2 }).quorum, 2);
  t.is(parseOptions({ sentinels: 5 }).quorum, 3);
  t.is(parseOptions({ sentinels: 5, quorum: 2 }).quorum, 2);
});

test('zero replicas and min-replicas-to-write up to the replicas are accepted', (t) => {
  t.is(parseOptions({ replicas: 0 }).replicas, 0);
  t.is(parseOptions({ replicas: 2, minReplicasToWrite: 2 }).minReplicasToWrite, 2);
});

test('provision rejects bad options before connecting to Docker', async (t) => {
  const before = process.env['DOCKER_HOST'];
  // An engine that cannot exist: had provision tried it, the error would be a SetupError.
  process.env['DOCKER_HOST'] = 'tcp://127.0.0.1:1';
  t.teardown(() => {
    if (before === undefined) delete process.env['DOCKER_HOST'];
    else process.env['DOCKER_HOST'] = before;
  });
  const error = await t.throwsAsync(provision({ sentinels: 3, quorum: 5 }), { instanceOf: InvalidArgumentError });
  t.is(error.argument, 'quorum');
  const clock = await t.throwsAsync(provision({ now: 5 as unknown as () => number }), { instanceOf: InvalidArgumentError });
  t.is(clock.argument, 'now');
  const signal = await t.throwsAsync(provision({ signal: 'stop' as unknown as AbortSignal }), { instanceOf: InvalidArgumentError });
  t.is(signal.argument, 'signal');
  const aborted = new Error('already aborted');
  await t.throwsAsync(provision({ signal: AbortSignal.abort(aborted) }), { is: aborted });
});
