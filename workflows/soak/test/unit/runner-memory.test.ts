import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNNER_ENV, RUNNER_V8_FLAGS, missingRunnerSettings } from '../../src/runner-memory.ts';

const allocator = Object.entries(RUNNER_ENV).map(([k, v]) => `${k}=${v}`);

test('the young generation flag counts from node\'s arguments or NODE_OPTIONS, in either spelling', (t) => {
  t.deepEqual(missingRunnerSettings([], {}), [...allocator, ...RUNNER_V8_FLAGS]);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size=16'], RUNNER_ENV), []);
  t.deepEqual(missingRunnerSettings([], { ...RUNNER_ENV, NODE_OPTIONS: '--max-old-space-size=4096 --max-semi-space-size=32' }), []);
  t.deepEqual(missingRunnerSettings(['--max_semi_space_size=8'], RUNNER_ENV), []);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size-x=8', '--inspect'], { ...RUNNER_ENV, NODE_OPTIONS: '--max-old-space-size=4096' }), [...RUNNER_V8_FLAGS]);
});

test('the allocator setting counts when set at all (the user\'s own value is kept)', (t) => {
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size=16'], { ...RUNNER_ENV, MALLOC_ARENA_MAX: '4' }), []);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size=16'], { ...RUNNER_ENV, MALLOC_ARENA_MAX: '' }), ['MALLOC_ARENA_MAX=2']);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size=16'], { MALLOC_ARENA_MAX: '2' }), ['MALLOC_MMAP_THRESHOLD_=131072']);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size=16'], {}), allocator);
});

test('npx nx run soak:run starts the runner with exactly these settings', (t) => {
  const project = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { nx: { targets: { run: { options: { command: string } } } } };
  const words = project.nx.targets.run.options.command.split(/\s+/);
  const env = Object.fromEntries(words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split('=') as [string, string]));
  t.deepEqual(missingRunnerSettings(words.filter((w) => w.startsWith('--')), env), []);
  t.deepEqual(env, { ...RUNNER_ENV });
});
