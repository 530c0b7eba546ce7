// Option validation: every bad value (the app's own, and the pg-ha and redis-sentinel ones passed
// through) is rejected naming the option and the value, before any Docker call is made.
import test from 'ava';
import type Docker from 'dockerode';
import { Engine, InvalidArgumentError } from '@resilience/fixtures';
import { parseStackOptions, provision } from '../../src/index.ts';

const show = (value: unknown): string => (typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value));

/** A Docker client that answers the ping and records every other call: none may happen. */
function recordingDocker(): { docker: Docker; calls: string[] } {
  const calls: string[] = [];
  const docker = new Proxy({}, {
    get: (_target, property) => {
      if (property === 'then') return undefined;
      if (property === 'ping') return async () => 'OK';
      return (...args: unknown[]) => {
        calls.push(String(property));
        return Promise.reject(new Error(`unexpected Docker call ${String(property)}(${args.length} args)`));
      };
    },
  }) as unknown as Docker;
  return { docker, calls };
}

const rejects = test.macro({
  async exec(t, input: Record<string, unknown>, argument: string, value: unknown) {
    const error = t.throws(() => parseStackOptions(input), { instanceOf: InvalidArgumentError });
    t.is(error.argument, argument);
    t.deepEqual(error.value, value);
    t.true(error.message.includes(`\`${argument}\``), error.message);
    t.true(error.message.includes(`got ${typeof value === 'string' ? `\`${value}\`` : ''}`), error.message);
    t.is(error.exitCode, 2);
    // provision() refuses the same options before it makes any Docker call.
    const { docker, calls } = recordingDocker();
    const engine = await Engine.connect({ docker });
    const thrown = await t.throwsAsync(provision({ ...input, engine }), { instanceOf: InvalidArgumentError });
    t.is(thrown.argument, argument);
    t.deepEqual(calls, [], 'nothing was started');
  },
  title: (provided, input: Record<string, unknown>, argument: string, value: unknown) =>
    provided ?? `rejects ${argument} = ${show(value)}${Object.keys(input).length > 1 || typeof Object.values(input)[0] === 'object' ? ` in ${JSON.stringify(input)}` : ''}`,
});

test('rejects an unknown app mode, naming it', rejects, { mode: 'fast' }, 'mode', 'fast');
test(rejects, { mode: 'HARDENED' }, 'mode', 'HARDENED');
test(rejects, { mode: 1 }, 'mode', 1);
test(rejects, { instances: 0 }, 'instances', 0);
test(rejects, { instances: 4 }, 'instances', 4);
test(rejects, { instances: 1.5 }, 'instances', 1.5);
test(rejects, { instances: '2' }, 'instances', '2');
test(rejects, { keep: 'yes' }, 'keep', 'yes');
test(rejects, { timeoutMs: 0 }, 'timeoutMs', 0);
test('rejects an unknown option (a typo), naming it', rejects, { instance: 2 }, 'instance', 2);
test(rejects, { pg: 3 }, 'pg', 3);
test('passes pg-ha options through: an even etcd count', rejects, { pg: { etcdNodes: 2 } }, 'pg.etcdNodes', 2);
test(rejects, { pg: { nodes: 1 } }, 'pg.nodes', 1);
test('passes pg-ha options through: the ttl rule', rejects, { pg: { ttl: 5 } }, 'pg.ttl', 5);
test(rejects, { pg: { sync: 'yes' } }, 'pg.sync', 'yes');
test('rejects the old pg-ha name `synchronous`', rejects, { pg: { synchronous: true } }, 'pg.synchronous', true);
test(rejects, { sync: 'yes' }, 'sync', 'yes');
test('rejects sync and pg.sync that disagree', rejects, { sync: true, pg: { sync: false } }, 'sync', true);
test(rejects, { now: 5 }, 'now', 5);
test('rejects a pg-ha option that does not exist', rejects, { pg: { replicas: 2 } }, 'pg.replicas', 2);
test('rejects a network for pg-ha: the stack owns it', rejects, { pg: { network: 'elsewhere' } }, 'pg.network', 'elsewhere');
test('passes redis-sentinel options through: a quorum larger than the Sentinels', rejects, { redis: { sentinels: 3, quorum: 4 } }, 'redis.quorum', 4);
test(rejects, { redis: { sentinels: 1, quorum: 2 } }, 'redis.quorum', 2);
test(rejects, { redis: { sentinels: 0 } }, 'redis.sentinels', 0);
test(rejects, { redis: { replicas: -1 } }, 'redis.replicas', -1);
test(rejects, { redis: { masterName: 'my master' } }, 'redis.masterName', 'my master');
test('rejects a network for redis-sentinel: the stack owns it', rejects, { redis: { network: 'elsewhere' } }, 'redis.network', 'elsewhere');

test('the quorum error names both redis values', (t) => {
  const error = t.throws(() => parseStackOptions({ redis: { sentinels: 3, quorum: 4 } }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /`redis\.sentinels` is 3/);
  t.regex(error.message, /got `4`/);
});

test('the etcd error says why an even count is refused', (t) => {
  const error = t.throws(() => parseStackOptions({ pg: { etcdNodes: 4 } }), { instanceOf: InvalidArgumentError });
  t.regex(error.message, /`pg\.etcdNodes`.*an odd number.*got `4`/);
});

test('errors can name the flag the user typed', (t) => {
  const error = t.throws(() => parseStackOptions({ pg: { etcdNodes: 2 } }, (path) => (path === 'pg.etcdNodes' ? '--etcd-nodes' : path)), { instanceOf: InvalidArgumentError });
  t.is(error.argument, '--etcd-nodes');
});

test('defaults: hardened, one instance, the parts\' own defaults', (t) => {
  const s = parseStackOptions();
  t.deepEqual(s.app, { mode: 'hardened', instances: 1, image: 'bookworm' });
  t.like(s.pg, { nodes: 3, etcdNodes: 1, sync: false, image: 'bookworm', imageTag: 'resilience/infra:0.1.0' });
  t.like(s.redis, { replicas: 2, sentinels: 3, quorum: 2 });
  t.false(s.keep);
  t.is(s.timeoutMs, 120_000);
});

test('accepts every valid combination it is given', (t) => {
  const s = parseStackOptions({ mode: 'naive', instances: 3, pg: { nodes: 2, sync: 'strict', etcdNodes: 3 }, redis: { replicas: 0, sentinels: 1 }, keep: true, timeoutMs: 5_000, now: () => 1 });
  t.deepEqual(s.app, { mode: 'naive', instances: 3, image: 'bookworm' });
  t.like(s.pg, { nodes: 2, etcdNodes: 3, sync: true, syncStrict: true });
  t.like(s.redis, { replicas: 0, sentinels: 1, quorum: 1 });
  t.true(s.keep);
});

test('sync passes through to pg-ha, as pg.sync does', (t) => {
  t.like(parseStackOptions({ sync: true }).pg, { sync: true, syncStrict: false });
  t.like(parseStackOptions({ sync: 'strict' }).pg, { sync: true, syncStrict: true });
  t.like(parseStackOptions({ sync: true, pg: { sync: true, nodes: 2 } }).pg, { sync: true, nodes: 2 });
  t.like(parseStackOptions({ sync: false }).pg, { sync: false });
});

test('rejects options that are not an object', (t) => {
  const error = t.throws(() => parseStackOptions([]), { instanceOf: InvalidArgumentError });
  t.is(error.argument, 'options');
});

test('image passes through to both parts, as pg.image and redis.image do', (t) => {
  const s = parseStackOptions({ image: 'trixie' });
  t.is(s.app.image, 'trixie');
  t.like(s.pg, { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', postgresMajor: 17, ttl: 20 });
  t.like(s.redis, { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', redisMajor: 8 });
  t.like(parseStackOptions({ image: 'trixie', pg: { image: 'trixie' } }).pg, { image: 'trixie' });
  const mixed = parseStackOptions({ pg: { image: 'trixie' } });
  t.is(mixed.app.image, 'mixed');
  t.like(mixed.redis, { image: 'bookworm' });
});

test('image: a bad value, a disagreeing part, and trixie with a ttl Patroni 4 would change are refused', (t) => {
  const bad = t.throws(() => parseStackOptions({ image: 'bullseye' }), { instanceOf: InvalidArgumentError });
  t.is(bad.argument, 'image');
  t.regex(bad.message, /`bookworm`.*`trixie`/);
  const clash = t.throws(() => parseStackOptions({ image: 'trixie', redis: { image: 'bookworm' } }), { instanceOf: InvalidArgumentError });
  t.is(clash.argument, 'image');
  t.regex(clash.message, /redis\.image/);
  const ttl = t.throws(() => parseStackOptions({ image: 'trixie', pg: { ttl: 10 } }), { instanceOf: InvalidArgumentError });
  t.is(ttl.argument, 'pg.ttl');
  t.regex(ttl.message, /at least 20 seconds/);
});
