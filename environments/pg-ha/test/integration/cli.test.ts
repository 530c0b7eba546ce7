// `up` and `down` as a person runs them: up keeps a labelled environment, prints no password,
// leaves a private state file; down removes every object of that run.
import test from 'ava';
import { mkdtempSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, Images, Labels, spawnCli } from '@resilience/fixtures';
import { ENVIRONMENT_LABEL, queryOnce } from '../../src/index.ts';
import type { PgHaState } from '../../src/state.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const stateFile = join(mkdtempSync(join(tmpdir(), 'pgha-cli-')), 'pg-ha.json');

const run = (args: string[]) => spawnCli(cli, args, { PGHA_STATE_FILE: stateFile });

let engine: Engine;
test.before(async () => {
  engine = await Engine.connect();
});

test.after.always(async () => {
  // If a test failed half-way, remove what `up` left (by the run id in the state file).
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as PgHaState;
    await engine.removeRun(state.runId);
  }
});

test.serial('up keeps a labelled environment and prints no password; down removes it', async (t) => {
  const upRun = await run(['up', '--nodes', '2']);
  t.is(upRun.code, 0, upRun.stderr);
  t.regex(upRun.stdout, /pg-ha is up: run \S+, healthy in [\d.]+ s/);
  t.log(upRun.stdout.split('\n')[0]);

  t.is(statSync(stateFile).mode & 0o777, 0o600);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as PgHaState;
  const password = new URL(state.description.primary.url).password;
  t.true(password.length >= 32);
  t.false(upRun.stdout.includes(password), 'the password is not printed');
  t.false(upRun.stderr.includes(password));
  t.true(upRun.stdout.includes(`psql 'postgresql://app:***@127.0.0.1:${state.description.primary.port}/app'`));

  // The connection string in the state file works.
  const [row] = await queryOnce<{ ro: boolean }>(state.description.primary.url, 'select pg_is_in_recovery() as ro');
  t.false(row?.ro);

  const containers = await engine.listContainers({ runId: state.runId });
  t.is(containers.length, 4); // etcd, 2 nodes, HAProxy
  for (const c of containers) {
    t.is(c.Labels[Labels.keep], 'true', c.Names[0]);
    t.is(c.Labels[ENVIRONMENT_LABEL], 'pg-ha', c.Names[0]);
  }

  const downRun = await run(['down']);
  t.is(downRun.code, 0, downRun.stderr);
  t.regex(downRun.stdout, new RegExp(`Removed pg-ha run ${state.runId}: 4 containers, 1 networks`));
  t.deepEqual(await engine.listContainers({ runId: state.runId }), []);
  t.false(existsSync(stateFile));
});

test.serial('down without a state file removes kept pg-ha runs found by label, and leaves a run that holds more', async (t) => {
  const keptLabels = { [ENVIRONMENT_LABEL]: 'pg-ha', [Labels.keep]: 'true' };
  const alone = await Engine.connect();
  const composed = await Engine.connect();
  t.teardown(async () => {
    await alone.removeRun();
    await composed.removeRun();
  });
  // Stand-ins (idle containers) carrying the labels provision puts on a kept pg-ha.
  await alone.startContainer({ image: Images.infra, name: 'pgha-pg1', cmd: ['sleep', 'infinity'], labels: keptLabels });
  await composed.startContainer({ image: Images.infra, name: 'pgha-pg1', cmd: ['sleep', 'infinity'], labels: keptLabels });
  await composed.startContainer({ image: Images.infra, name: 'app1', cmd: ['sleep', 'infinity'], labels: { [Labels.keep]: 'true' } });
  t.false(existsSync(stateFile));

  const downRun = await run(['down']);
  t.is(downRun.code, 0, downRun.stderr);
  t.regex(downRun.stdout, new RegExp(`Removed pg-ha run ${alone.run.runId}: 1 containers`));
  t.regex(downRun.stderr, new RegExp(`Leaving run ${composed.run.runId}`));
  t.deepEqual(await engine.listContainers({ runId: alone.run.runId }), []);
  t.is((await engine.listContainers({ runId: composed.run.runId })).length, 2);
});
