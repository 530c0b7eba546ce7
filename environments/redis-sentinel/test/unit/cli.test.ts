// The command line: flags become validated options; a bad one exits 2 with a message naming it,
// before any Docker call.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseCli } from '../../src/cli-args.ts';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

test('up flags become options', (t) => {
  const c = parseCli(['up', '--replicas', '1', '--sentinels=5', '--quorum', '3', '--down-after-ms', '1000', '--min-replicas-to-write', '1', '--name-prefix', 'cache', '--show-secrets']);
  if (c.command !== 'up') return t.fail();
  t.is(c.settings.replicas, 1);
  t.is(c.settings.sentinels, 5);
  t.is(c.settings.quorum, 3);
  t.is(c.settings.downAfterMs, 1000);
  t.is(c.settings.minReplicasToWrite, 1);
  t.is(c.settings.namePrefix, 'cache');
  t.true(c.showSecrets);
});

test('up without flags takes the defaults and hides secrets', (t) => {
  const c = parseCli(['up']);
  if (c.command !== 'up') return t.fail();
  t.is(c.settings.quorum, 2);
  t.false(c.showSecrets);
  t.false(c.json);
  t.deepEqual(c.options, {});
});

test('--json on up and down', (t) => {
  t.like(parseCli(['up', '--json', '--replicas', '0']), { command: 'up', json: true, options: { replicas: 0 } });
  t.deepEqual(parseCli(['down', '--json']), { command: 'down', json: true });
  t.deepEqual(parseCli(['down']), { command: 'down', json: false });
});

const bad = test.macro({
  exec(t, argv: string[], argument: string) {
    const error = t.throws(() => parseCli(argv), { instanceOf: InvalidArgumentError });
    t.is(error.argument, argument);
  },
  title: (provided, argv: string[]) => provided ?? `rejects ${argv.join(' ')}`,
});

test(bad, ['up', '--quorum', '4'], '--quorum');
test(bad, ['up', '--replicas', 'two'], '--replicas');
test(bad, ['up', '--down-after-ms=-1'], '--down-after-ms');
test(bad, ['up', '--down-after-ms', '0'], '--down-after-ms');
test(bad, ['up', '--name-prefix', 'Bad'], '--name-prefix');
test(bad, ['up', '--bogus'], 'argument');
test(bad, ['up', '--replicas'], 'argument');
test(bad, ['sideways'], 'command');
test(bad, [], 'command');
test(bad, ['down', '--replicas', '1'], '--replicas');
test(bad, ['up', 'extra'], 'argument');

test('--help prints the usage', (t) => {
  t.deepEqual(parseCli(['--help']), { command: 'help' });
  const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  t.is(r.status, 0);
  t.regex(r.stdout, /Usage: redis-sentinel <command>/);
});

test('a missing Docker engine is a setup error: exit 2 with a hint', (t) => {
  const r = spawnSync(process.execPath, [cli, 'down'], {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock', REDIS_SENTINEL_STATE_FILE: '/nonexistent/redis-sentinel.json' },
  });
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /No Docker engine answered/);
});

test('a quorum above the Sentinels exits 2, naming both values, before touching Docker', (t) => {
  const r = spawnSync(process.execPath, [cli, 'up', '--sentinels', '3', '--quorum', '5'], {
    encoding: 'utf8',
    // Had the CLI called Docker, it would say no engine answers here.
    env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1' },
  });
  t.is(r.status, 2);
  t.regex(r.stderr, /`--quorum`.*`--sentinels` is 3.*got `5`/);
  t.notRegex(r.stderr, /Docker/);
});

test('--image trixie becomes the option; a bad --image is refused naming it', (t) => {
  const c = parseCli(['up', '--image', 'trixie']);
  if (c.command !== 'up') return t.fail();
  t.deepEqual(c.options, { image: 'trixie' });
  t.like(c.settings, { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', redisMajor: 8 });
  const error = t.throws(() => parseCli(['up', '--image', 'valkey']), { instanceOf: InvalidArgumentError });
  t.is(error.argument, '--image');
  t.throws(() => parseCli(['down', '--image', 'trixie']), { instanceOf: InvalidArgumentError });
});

test('a bad --image exits 2, naming it and what is accepted, before touching Docker', (t) => {
  const r = spawnSync(process.execPath, [cli, 'up', '--image', 'bullseye'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1' } });
  t.is(r.status, 2);
  t.regex(r.stderr, /`--image` to be one of `bookworm` .* or `trixie` .*got `bullseye`/);
  t.notRegex(r.stderr, /Docker/);
});
