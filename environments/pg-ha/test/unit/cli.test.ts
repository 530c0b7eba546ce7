// The command line: flags map onto options, bad input exits 2 naming the flag the user typed,
// and nothing is started (the child runs with an unreachable Docker host).
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
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock', PGHA_STATE_FILE: '/nonexistent/pg-ha.json' },
  });
}

test('up flags become options', (t) => {
  const cmd = parseCli(['up', '--nodes', '2', '--etcd-nodes', '3', '--ttl', '20', '--loop-wait', '4', '--retry-timeout', '8', '--sync-strict', '--network', 'rz-x', '--name-prefix', 'db', '--show-secrets']);
  t.is(cmd.command, 'up');
  if (cmd.command !== 'up') return;
  t.deepEqual(cmd.options, { nodes: 2, etcdNodes: 3, ttl: 20, loopWait: 4, retryTimeout: 8, sync: 'strict', network: 'rz-x', namePrefix: 'db' });
  t.like(cmd.settings, { sync: true, syncStrict: true });
  t.true(cmd.showSecrets);
  t.false(cmd.json);
});

test('up without flags takes the defaults; --sync alone is not strict', (t) => {
  const plain = parseCli(['up']);
  t.like(plain, { command: 'up', options: {}, showSecrets: false });
  const sync = parseCli(['up', '--sync']);
  t.like(sync, { command: 'up', options: { sync: true }, settings: { sync: true, syncStrict: false } });
});

const badCli = test.macro({
  exec(t, argv: string[], argument: string) {
    const error = t.throws(() => parseCli(argv), { instanceOf: InvalidArgumentError });
    t.is(error.argument, argument);
  },
  title: (provided, argv: string[]) => provided ?? `rejects: ${argv.join(' ')}`,
});

test(badCli, ['up', '--nodes', '0'], '--nodes');
test(badCli, ['up', '--nodes', 'three'], '--nodes');
test(badCli, ['up', '--etcd-nodes', '2'], '--etcd-nodes');
test(badCli, ['up', '--ttl', '5'], '--ttl');
test(badCli, ['up', '--loop-wait=-1'], '--loop-wait');
test(badCli, ['up', '--name-prefix', 'No'], '--name-prefix');
test(badCli, ['up', '--bogus'], 'arguments');
test(badCli, ['up', 'extra'], 'arguments');
test(badCli, ['sideways'], 'command');
test(badCli, [], 'command');
test(badCli, ['down', '--nodes', '3'], '--nodes');
test(badCli, ['down', '--sync'], '--sync');
test('the old flag --synchronous is refused', badCli, ['up', '--synchronous'], 'arguments');

test('--help prints the usage and exits 0', (t) => {
  const r = run(['--help']);
  t.is(r.status, 0);
  t.regex(r.stdout, /Usage: .*cli\.ts <up\|down>/);
  t.regex(r.stdout, /--etcd-nodes N/);
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

test(exits2, ['up', '--etcd-nodes', '4'], /`--etcd-nodes`.*an odd number.*got `4`/);
test(exits2, ['up', '--nodes', '0'], /`--nodes`.*got `0`/);
test(exits2, ['up', '--ttl', '8'], /`--ttl`.*loop_wait \+ 2\*retry_timeout <= ttl.*got `8`/);
test(exits2, ['launch'], /`command`.*`up` or `down`/);

test('a missing Docker engine is a setup error: exit 2 with a hint', (t) => {
  const r = run(['down']);
  t.is(r.status, 2);
  t.regex(r.stderr, /No Docker engine answered/);
});

test('--image trixie becomes the option, with the timings Patroni 4 runs with', (t) => {
  const c = parseCli(['up', '--image', 'trixie']);
  t.like(c, { command: 'up', options: { image: 'trixie' }, settings: { image: 'trixie', postgresMajor: 17, ttl: 20, loopWait: 2, retryTimeout: 4 } });
});
test(badCli, ['up', '--image', 'bullseye'], '--image');
test('a ttl below 20 on trixie is refused, naming --ttl', badCli, ['up', '--image', 'trixie', '--ttl', '10'], '--ttl');
test(badCli, ['down', '--image', 'trixie'], '--image');
test(exits2, ['up', '--image', 'bullseye'], /`--image` to be one of `bookworm` .* or `trixie` .*got `bullseye`/);
test(exits2, ['up', '--image', 'trixie', '--ttl', '10'], /`--ttl` to be at least 20 seconds with --image `trixie` \(Patroni 4\.0\.7 raises a smaller ttl to 20\), got `10`/);
