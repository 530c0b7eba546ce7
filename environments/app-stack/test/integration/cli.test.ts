// `up` and `down` as a person runs them: up keeps a labelled stack that serves orders, prints no
// password, leaves a private state file; down removes every object of that run.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, Labels, spawnCli } from '@resilience/fixtures';
import { queryOnce } from '@resilience/pg-ha';
import { ENVIRONMENT_LABEL, appHealth, type AppStackDescription } from '../../src/index.ts';
import type { AppStackState } from '../../src/state.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
const stateFile = join(mkdtempSync(join(tmpdir(), 'appstack-cli-')), 'app-stack.json');

const run = (args: string[]) => spawnCli(cli, args, { APPSTACK_STATE_FILE: stateFile });

let engine: Engine;
test.before(async () => {
  engine = await Engine.connect();
});

test.after.always(async () => {
  // If a test failed half-way, remove what `up` left (by the run id in the state file).
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as AppStackState;
    await engine.removeRun(state.runId);
  }
});

test.serial('up keeps a labelled stack and prints no password; down removes it', async (t) => {
  const upRun = await run(['up', '--mode', 'naive', '--pg-nodes', '2', '--redis-replicas', '0', '--sentinels', '1', '--json']);
  t.is(upRun.code, 0, upRun.stderr);
  const shown = JSON.parse(upRun.stdout) as AppStackDescription;
  t.log(`up: healthy in ${shown.timings['total']} ms`);
  t.is(shown.settings.mode, 'naive');

  t.is(statSync(stateFile).mode & 0o777, 0o600);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as AppStackState;
  t.is(state.runId, shown.runId);
  const pgPassword = new URL(state.description.pg.primary.url).password;
  const redisPassword = state.description.redis.password;
  t.true(pgPassword.length >= 16 && redisPassword.length >= 16);
  for (const secret of [pgPassword, redisPassword]) {
    t.false(upRun.stdout.includes(secret), 'no password is printed');
    t.false(upRun.stderr.includes(secret));
  }
  t.is(shown.pg.primary.url, `postgresql://app:***@127.0.0.1:${shown.pg.primary.port}/app`);

  // What `up` printed reaches the stack: the app, and the database with the state file's password.
  t.like(await appHealth(shown.url), { httpStatus: 200, mode: 'naive', dependencies: { database: 'up', cache: 'up' } });
  const [row] = await queryOnce<{ ro: boolean }>(state.description.pg.primary.url, 'select pg_is_in_recovery() as ro');
  t.false(row?.ro);

  const containers = await engine.listContainers({ runId: state.runId });
  t.is(containers.length, 7); // etcd, 2 PostgreSQL, HAProxy, 1 Redis, 1 Sentinel, 1 app
  for (const c of containers) t.is(c.Labels[Labels.keep], 'true', c.Names[0]);
  t.deepEqual(containers.filter((c) => c.Labels[ENVIRONMENT_LABEL] === 'app-stack').map((c) => c.Labels[Labels.role]), ['app']);

  const again = await run(['up']);
  t.is(again.code, 2, 'a second up is refused while the first runs');
  t.regex(again.stderr, /already up/);

  const downRun = await run(['down']);
  t.is(downRun.code, 0, downRun.stderr);
  t.regex(downRun.stdout, new RegExp(`Removed app-stack run ${state.runId}: 7 containers, 1 networks`));
  t.deepEqual(await engine.listContainers({ runId: state.runId }), []);
  t.false(existsSync(stateFile));
});
