import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { RUNNER_ENV, RUNNER_PRELOAD, RUNNER_RUNTIME_FLAGS, RUNNER_V8_FLAGS, jemallocLoaded, keepAllocatorToRunner, missingRunnerSettings, runnerStartedWithout } from '../../src/runner-memory.ts';

const allocator = Object.entries(RUNNER_ENV).map(([k, v]) => `${k}=${v}`);

test('the young generation flags count from node\'s arguments or NODE_OPTIONS, in either spelling, each on its own', (t) => {
  t.deepEqual(missingRunnerSettings([], {}), [...allocator, ...RUNNER_V8_FLAGS]);
  t.deepEqual(missingRunnerSettings([...RUNNER_V8_FLAGS], RUNNER_ENV), []);
  t.deepEqual(missingRunnerSettings([], { ...RUNNER_ENV, NODE_OPTIONS: '--max-old-space-size=4096 --max-semi-space-size=32 --min-semi-space-size=32' }), []);
  t.deepEqual(missingRunnerSettings(['--max_semi_space_size=8', '--min_semi_space_size=8'], RUNNER_ENV), []);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size=16'], RUNNER_ENV), ['--min-semi-space-size=16']);
  t.deepEqual(missingRunnerSettings(['--min-semi-space-size=16'], { ...RUNNER_ENV, NODE_OPTIONS: '--max-semi-space-size=16' }), []);
  t.deepEqual(missingRunnerSettings(['--max-semi-space-size-x=8', '--inspect'], { ...RUNNER_ENV, NODE_OPTIONS: '--max-old-space-size=4096' }), [...RUNNER_V8_FLAGS]);
});

test('the allocator setting counts when set at all (the user\'s own value is kept)', (t) => {
  t.deepEqual(missingRunnerSettings([...RUNNER_V8_FLAGS], { ...RUNNER_ENV, MALLOC_ARENA_MAX: '4' }), []);
  t.deepEqual(missingRunnerSettings([...RUNNER_V8_FLAGS], { ...RUNNER_ENV, MALLOC_ARENA_MAX: '' }), ['MALLOC_ARENA_MAX=2']);
  t.deepEqual(missingRunnerSettings([...RUNNER_V8_FLAGS], { MALLOC_ARENA_MAX: '2' }), ['MALLOC_MMAP_THRESHOLD_=131072', `MALLOC_CONF=${RUNNER_ENV.MALLOC_CONF}`]);
  t.deepEqual(missingRunnerSettings([...RUNNER_V8_FLAGS], {}), allocator);
});

test('the runner keeps jemalloc and its MALLOC_CONF from the processes it starts, and still knows it was started with them', (t) => {
  // As npx nx run soak:run starts it: the settings were all there before the environment was
  // cleaned for the runner's children (a runner that then warned "started without MALLOC_CONF"
  // on every soak was the bug this guards against).
  const env: Record<string, string | undefined> = { ...RUNNER_ENV, LD_PRELOAD: `/usr/lib/x86_64-linux-gnu/${RUNNER_PRELOAD}`, PATH: '/usr/bin' };
  keepAllocatorToRunner(env, [...RUNNER_V8_FLAGS]);
  t.deepEqual(env, { MALLOC_ARENA_MAX: RUNNER_ENV.MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_: RUNNER_ENV.MALLOC_MMAP_THRESHOLD_, PATH: '/usr/bin' });
  t.deepEqual(runnerStartedWithout(), []);
  // Started by hand, with none of it: all of it is missing, and the environment is left alone.
  const bare: Record<string, string | undefined> = { PATH: '/usr/bin', MALLOC_CONF: 'narenas:1' };
  keepAllocatorToRunner(bare, []);
  t.deepEqual(bare, { PATH: '/usr/bin', MALLOC_CONF: 'narenas:1' });
  t.deepEqual(runnerStartedWithout(), ['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072', ...RUNNER_V8_FLAGS]);
});

test('npx nx run soak:run starts the runner with exactly these settings, and jemalloc when the system has it', (t) => {
  const project = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { nx: { targets: { run: { options: { command: string } } } } };
  const words = project.nx.targets.run.options.command.split(/\s+/);
  const env = Object.fromEntries(words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as [string, string]));
  const { LD_PRELOAD: preload, ...allocatorEnv } = env;
  t.deepEqual(missingRunnerSettings(words.filter((w) => w.startsWith('--')), allocatorEnv), []);
  t.deepEqual(allocatorEnv, { ...RUNNER_ENV });
  t.is(preload, '"$(scripts/jemalloc-path)"');
});

test('V8 takes every one of the runner\'s flags: the young generation starts at its full 16 MiB semi-space, and the runtime flags are known', async (t) => {
  // A flag V8 does not know is ignored with a line on stderr, not an error: a renamed flag in a
  // later Node would silently undo the runner's memory settings.
  const script = [
    "const v8 = require('node:v8');",
    `for (const f of ${JSON.stringify(RUNNER_RUNTIME_FLAGS)}) v8.setFlagsFromString(f);`,
    "console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);",
  ].join(' ');
  const withFlags = await execa(process.execPath, [...RUNNER_V8_FLAGS, '-e', script]);
  t.is(withFlags.stderr, '');
  t.is(Number(withFlags.stdout), 16 * 1024 * 1024);
  // Without them V8 starts small and grows the young generation as it likes: the flags are what fix it.
  const without = await execa(process.execPath, ['-e', script]);
  t.true(Number(without.stdout) < 16 * 1024 * 1024, without.stdout);
});

/** What scripts/jemalloc-path prints: jemalloc's library, or '' when the system has none. */
async function jemallocPath(): Promise<string> {
  const { stdout } = await execa(join(import.meta.dirname, '..', '..', '..', '..', 'scripts', 'jemalloc-path'));
  return stdout.trim();
}

test('scripts/jemalloc-path names a file that is jemalloc, or nothing', async (t) => {
  const path = await jemallocPath();
  if (path === '') {
    t.log('this system has no libjemalloc.so.2');
    t.pass();
    return;
  }
  t.true(existsSync(path), path);
  t.true(path.endsWith(`/${RUNNER_PRELOAD}`), path);
});

test('jemalloc, when the system has it, takes the runner\'s MALLOC_CONF: a purging thread of its own and a 1 s decay', async (t) => {
  const preload = await jemallocPath();
  if (preload === '') {
    t.log('this system has no libjemalloc.so.2');
    t.pass();
    return;
  }
  // stats_print: jemalloc prints its options, as it read them, when the process exits.
  const r = await execa(process.execPath, ['-e', '0'], { env: { LD_PRELOAD: preload, MALLOC_CONF: `${RUNNER_ENV.MALLOC_CONF},stats_print:true` } });
  t.regex(r.stderr, /opt\.background_thread: true \(background_thread: true\)/, 'a background thread runs');
  t.regex(r.stderr, /opt\.dirty_decay_ms: 1000 /);
  t.regex(r.stderr, /Background threads: [1-9]/);
});

test('jemallocLoaded reads a process\'s memory map', (t) => {
  t.true(jemallocLoaded('7f5bce209000-7f5bce2af000 r-xp 00009000 fe:00 5595340    /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n'));
  t.false(jemallocLoaded('7f5bce209000-7f5bce2af000 r-xp 00009000 fe:00 5595340    /usr/lib/x86_64-linux-gnu/libc.so.6\n'));
  t.is(jemallocLoaded(readFileSync('/proc/self/maps', 'utf8')), /libjemalloc/.test(process.env['LD_PRELOAD'] ?? ''), 'this test process: loaded exactly when preloaded');
});
