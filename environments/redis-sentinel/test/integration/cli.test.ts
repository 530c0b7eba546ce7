// `up` and `down` as a person runs them (the shared environment command line): up keeps a
// labelled environment, prints no password, leaves a private state file; down removes that run,
// and without a state file every kept redis-sentinel run, leaving a run that holds more.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Engine, Images, Labels, spawnCli } from '@resilience/fixtures';
import { ENVIRONMENT_LABEL, type RedisSentinelState } from '../../src/index.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const stateFile = join(mkdtempSync(join(tmpdir(), 'redis-cli-')), 'redis-sentinel.json');

const run = (args: string[]) => spawnCli(cli, args, { REDIS_SENTINEL_STATE_FILE: stateFile });

let engine: Engine;
test.before(async () => {
  engine = await Engine.connect();
});

test.after.always(async () => {
  // If a test failed half-way, remove what `up` left (by the run id in the state file).
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as RedisSentinelState;
    await engine.removeRun(state.runId);
  }
});

test.serial('up keeps a labelled environment and prints no password; a second up is refused; down removes it', async (t) => {
  const upRun = await run(['up', '--replicas', '0', '--sentinels', '1']);
  t.is(upRun.code, 0, upRun.stderr);
  t.regex(upRun.stdout, /redis-sentinel is up in [\d.]+ s \(run \S+, network \S+\)/);
  t.log(upRun.stdout.split('\n')[0]);

  t.is(statSync(stateFile).mode & 0o777, 0o600);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as RedisSentinelState;
  const { password } = state.description;
  t.true(password.length >= 24);
  t.false(upRun.stdout.includes(password), 'the password is not printed');
  t.false(upRun.stderr.includes(password));
  t.regex(upRun.stdout, /password {5}<redacted: --show-secrets prints it>/);

  // What the state file says works.
  const node = state.description.nodes[0]!;
  const direct = new Redis({ host: '127.0.0.1', port: node.hostPort, password, lazyConnect: true, maxRetriesPerRequest: 0 });
  t.teardown(() => direct.disconnect());
  await direct.connect();
  t.is(await direct.ping(), 'PONG');
  direct.disconnect();

  const containers = await engine.listContainers({ runId: state.runId });
  t.is(containers.length, 2); // one node, one Sentinel
  for (const c of containers) {
    t.is(c.Labels[Labels.keep], 'true', c.Names[0]);
    t.is(c.Labels[ENVIRONMENT_LABEL], 'redis-sentinel', c.Names[0]);
  }

  const again = await run(['up']);
  t.is(again.code, 2);
  t.regex(again.stderr, /redis-sentinel is already up/);

  const downRun = await run(['down']);
  t.is(downRun.code, 0, downRun.stderr);
  t.regex(downRun.stdout, new RegExp(`Removed redis-sentinel run ${state.runId}: 2 containers, 1 networks`));
  t.deepEqual(await engine.listContainers({ runId: state.runId }), []);
  t.false(existsSync(stateFile));
});

test.serial('down without a state file removes kept redis-sentinel runs found by label, and leaves a run that holds more', async (t) => {
  const keptLabels = { [ENVIRONMENT_LABEL]: 'redis-sentinel', [Labels.keep]: 'true' };
  const alone = await Engine.connect();
  const composed = await Engine.connect();
  t.teardown(async () => {
    await alone.removeRun();
    await composed.removeRun();
  });
  // Stand-ins (idle containers) carrying the labels provision puts on a kept redis-sentinel.
  await alone.startContainer({ image: Images.infra, name: 'redis-1', cmd: ['sleep', 'infinity'], labels: keptLabels });
  await composed.startContainer({ image: Images.infra, name: 'redis-1', cmd: ['sleep', 'infinity'], labels: keptLabels });
  await composed.startContainer({ image: Images.infra, name: 'app-1', cmd: ['sleep', 'infinity'], labels: { [Labels.keep]: 'true', [ENVIRONMENT_LABEL]: 'app-stack' } });
  t.false(existsSync(stateFile));

  const downRun = await run(['down', '--json']);
  t.is(downRun.code, 0, downRun.stderr);
  const removed = (JSON.parse(downRun.stdout) as { removed: { runId: string; containers: number }[] }).removed;
  t.deepEqual(removed.map((r) => [r.runId, r.containers]), [[alone.run.runId, 1]]);
  t.regex(downRun.stderr, new RegExp(`Leaving run ${composed.run.runId}`));
  t.deepEqual(await engine.listContainers({ runId: alone.run.runId }), []);
  t.is((await engine.listContainers({ runId: composed.run.runId })).length, 2);
});
