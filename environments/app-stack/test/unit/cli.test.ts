// The command line: flags map onto options, bad input exits 2 naming the flag and the value the
// user typed, and nothing is started (the child runs with an unreachable Docker host).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseCli } from '../../src/cli-args.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock', APPSTACK_STATE_FILE: '/nonexistent/app-stack.json' },
  });
}

test('up flags become options', (t) => {
  const cmd = parseCli(['up', '--mode', 'naive', '--instances', '2', '--sync', '--pg-nodes', '2', '--etcd-nodes', '3', '--redis-replicas', '1', '--sentinels', '3', '--quorum', '3', '--show-secrets', '--json']);
  t.is(cmd.command, 'up');
  if (cmd.command !== 'up') return;
  t.deepEqual(cmd.options, { mode: 'naive', instances: 2, pg: { sync: true, nodes: 2, etcdNodes: 3 }, redis: { replicas: 1, sentinels: 3, quorum: 3 } });
  t.deepEqual(cmd.settings.app, { mode: 'naive', instances: 2, image: 'bookworm' });
  t.like(cmd.settings.pg, { sync: true, nodes: 2, etcdNodes: 3 });
  t.like(cmd.settings.redis, { replicas: 1, sentinels: 3, quorum: 3 });
  t.true(cmd.showSecrets);
  t.true(cmd.json);
});

test('up without flags takes the defaults (hardened, one instance, asynchronous)', (t) => {
  const cmd = parseCli(['up']);
  t.like(cmd, { command: 'up', options: {}, showSecrets: false, json: false, settings: { app: { mode: 'hardened', instances: 1 }, pg: { sync: false } } });
});

test('down takes --json only', (t) => {
  t.deepEqual(parseCli(['down']), { command: 'down', json: false });
  t.deepEqual(parseCli(['down', '--json']), { command: 'down', json: true });
});

const badCli = test.macro({
  exec(t, argv: string[], argument: string, value: unknown) {
    const error = t.throws(() => parseCli(argv), { instanceOf: InvalidArgumentError });
    t.is(error.argument, argument);
    t.deepEqual(error.value, value);
  },
  title: (provided, argv: string[]) => provided ?? `rejects: ${argv.join(' ')}`,
});

test(badCli, ['up', '--mode', 'fast'], '--mode', 'fast');
test(badCli, ['up', '--instances', '0'], '--instances', 0);
test(badCli, ['up', '--instances', '4'], '--instances', 4);
test(badCli, ['up', '--instances', 'two'], '--instances', 'two');
test(badCli, ['up', '--etcd-nodes', '2'], '--etcd-nodes', 2);
test(badCli, ['up', '--pg-nodes', '1'], '--pg-nodes', 1);
test(badCli, ['up', '--quorum', '4'], '--quorum', 4);
test(badCli, ['up', '--sentinels', '1', '--quorum', '2'], '--quorum', 2);
test(badCli, ['up', '--redis-replicas=-1'], '--redis-replicas', -1);
test(badCli, ['up', '--bogus'], 'arguments', '--bogus');
test(badCli, ['up', 'extra'], 'arguments', 'extra');
test(badCli, ['sideways'], 'command', 'sideways');
test(badCli, [], 'command', undefined);
test(badCli, ['down', '--mode', 'naive'], '--mode', 'naive');

test('--help prints the usage and exits 0', (t) => {
  const r = run(['--help']);
  t.is(r.status, 0);
  t.regex(r.stdout, /Usage: .*cli\.ts <up\|down>/);
  t.regex(r.stdout, /--mode M/);
  t.regex(r.stdout, /--sync/);
});

const exits2 = test.macro({
  exec(t, args: string[], named: RegExp) {
    const r = run(args);
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, named);
    t.notRegex(r.stderr, /Docker engine/, 'nothing was started: it never reached Docker');
    t.is(r.stdout, '');
  },
  title: (provided, args: string[]) => provided ?? `cli ${args.join(' ')} exits 2 before starting anything`,
});

test(exits2, ['up', '--mode', 'chaotic'], /`--mode` to be `hardened` or `naive`, got `chaotic`/);
test(exits2, ['up', '--instances', '4'], /`--instances`.*1 to 3, got `4`/);
test(exits2, ['up', '--etcd-nodes', '4'], /`--etcd-nodes`.*an odd number.*got `4`/);
test(exits2, ['up', '--quorum', '5'], /`--quorum`.*`--sentinels` is 3.*got `5`/);
test(exits2, ['launch'], /`command`.*`up` or `down`/);

test('a missing Docker engine is a setup error: exit 2 with a hint', (t) => {
  const r = run(['down']);
  t.is(r.status, 2);
  t.regex(r.stderr, /No Docker engine answered/);
});

test('--image trixie reaches both parts', (t) => {
  const cmd = parseCli(['up', '--image', 'trixie']);
  if (cmd.command !== 'up') return t.fail();
  t.deepEqual(cmd.options, { image: 'trixie' });
  t.like(cmd.settings, { app: { image: 'trixie' }, pg: { image: 'trixie', postgresMajor: 17, ttl: 20 }, redis: { image: 'trixie', redisMajor: 8 } });
});
test(badCli, ['up', '--image', 'bullseye'], '--image', 'bullseye');
test(exits2, ['up', '--image', 'bullseye'], /`--image` to be one of `bookworm` .* or `trixie` .*got `bullseye`/);
