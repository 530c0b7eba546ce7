// How the soak's runner is started so that its own memory stays flat over a day.
//
// Measured on the soak (README, "The runner's own memory"): the runner's RSS is V8's heap in
// memory plus about 100 MiB outside it (the binary, the C allocator, buffers). With the defaults
// both parts crept for over an hour with no object growing:
// - V8's young generation grows to 128 MiB on this machine (two 64 MiB semi-spaces), more of it
//   in memory as the run goes on, and after each full collection the old generation may grow to
//   four times what is alive. 16 MiB semi-spaces (the 64-bit default of earlier V8 versions) hold
//   the young generation at 32 MiB, all of it in use within seconds, and a fixed 30 % growth
//   keeps the old generation near what is alive (RUNNER_RUNTIME_FLAGS: V8 reads it at every
//   collection, so soak-main.ts sets it).
// - Even so the old generation's pages crept up (44 → 50 MiB in 12 minutes, 33 MiB alive): V8
//   frees a page only when nothing on it is alive and in its normal mode compacts only pages that
//   are mostly free. Its memory-saving mode (--optimize-for-size, also read at every collection)
//   compacts pages 20 % free; on its own it also shrinks the young generation to a few MiB, five
//   times the young collections and 5-10 ms more p99 in the soak's own measurements, so
//   --min-semi-space-size=16 keeps the young generation at its 32 MiB from the start. With both,
//   the old generation stayed at 43-45 MiB and the p99s read as without (README).
// - glibc gives threads arenas of their own (up to 8 per core); the runner's buffers freed on
//   other threads than they were made on spread over them. Two arenas keep the allocator's part
//   at one level from the first minutes. A fixed mmap threshold keeps big buffers (stream
//   chunks, slabs) out of the main heap (see RUNNER_ENV).
// - Better still, jemalloc replaces glibc's allocator when the system has it (RUNNER_PRELOAD).
import { readFileSync } from 'node:fs';

/** The flags that fix the young generation's size, on node's command line (V8 reads them at start). */
export const RUNNER_V8_FLAGS = ['--max-semi-space-size=16', '--min-semi-space-size=16'] as const;
/** The V8 flags read at every collection, which the runner sets on itself at start. */
export const RUNNER_RUNTIME_FLAGS = ['--heap-growing-percent=30', '--optimize-for-size'] as const;
/**
 * The C allocator's settings, read by glibc when the process starts. MALLOC_MMAP_THRESHOLD_ fixes
 * the size from which a block gets its own mapping (returned to the system when freed) at
 * glibc's default of 128 KiB: left alone, glibc raises it to the size of every larger mapped
 * block freed (up to 32 MiB), after which blocks of that size come from the main heap, whose
 * top only shrinks when the block at the very top is free. MALLOC_CONF is jemalloc's (glibc
 * ignores it): jemalloc hands pages freed for 10 s back to the system, but only when the arena
 * that holds them is used again, so an arena whose threads have gone quiet keeps them; a
 * background thread of its own returns them after 1 s whatever the threads do. Read from the
 * runner's jemalloc statistics (`stats_interval`; README, "The runner's own memory"): 40–47 MiB
 * resident with 2–7 MiB of freed pages not returned on the defaults, 35–43 MiB with 0–3 MiB
 * with these settings, for the same 23–28 MiB allocated.
 */
export const RUNNER_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_CONF: 'background_thread:true,dirty_decay_ms:1000' } as const;

/**
 * jemalloc, preloaded by `npx nx run soak:run` when the system has it (scripts/jemalloc-path;
 * `npm run setup` installs Debian's libjemalloc2). Measured on the same one-hour `--sync` schedule
 * (README, "The runner's own memory"): with glibc's allocator the runner's RSS grew 3.82 %/h
 * (4.25 %/h over the last half), a leak by its own verdict; with jemalloc 2.35 %/h, levelling off
 * to 0.79 %/h over the last half: stable. jemalloc hands freed pages back to the system after a
 * few seconds, where glibc keeps the holes its main heap and arenas are left with. Over two
 * hours on jemalloc the RSS still grew 3.02 %/h (2.36 %/h over the last half), in V8's heap, not
 * the allocator: not solved by the allocator.
 */
export const RUNNER_PRELOAD = 'libjemalloc.so.2';

/** Whether a process has jemalloc loaded, from its memory map (default: this process's, `/proc/self/maps`; none readable: no). */
export function jemallocLoaded(maps: string = selfMaps()): boolean {
  return /\/libjemalloc\.so/.test(maps);
}

function selfMaps(): string {
  try {
    return readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return '';
  }
}

let startedWithout: string[] | undefined;

/**
 * Keeps jemalloc and its MALLOC_CONF to the runner: removes them from the environment the
 * processes it starts inherit (docker, the report's checkpoints, the browser keep their own
 * allocator), after noting what of the runner's settings it was started without, which
 * runnerStartedWithout() then tells. soak-main.ts calls it first thing.
 */
export function keepAllocatorToRunner(env: Record<string, string | undefined> = process.env, execArgv: readonly string[] = process.execArgv): void {
  startedWithout = missingRunnerSettings(execArgv, env);
  if (env['LD_PRELOAD']?.includes(RUNNER_PRELOAD)) {
    delete env['LD_PRELOAD'];
    delete env['MALLOC_CONF'];
  }
}

/** What of the runner's settings this process was started without: as noted by keepAllocatorToRunner() before it cleaned the environment, else as the environment reads now. */
export function runnerStartedWithout(): string[] {
  return startedWithout ?? missingRunnerSettings(process.execArgv, process.env);
}

/** What of RUNNER_V8_FLAGS (from node's arguments or NODE_OPTIONS) and RUNNER_ENV the runner was started without. */
export function missingRunnerSettings(execArgv: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const given = [...execArgv, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)].filter(Boolean).map((g) => g.replaceAll('_', '-'));
  const flags = RUNNER_V8_FLAGS.filter((flag) => {
    const name = flag.split('=')[0]!;
    return !given.some((g) => g === name || g.startsWith(`${name}=`));
  });
  const vars = Object.entries(RUNNER_ENV).filter(([k]) => !env[k]).map(([k, v]) => `${k}=${v}`);
  return [...vars, ...flags];
}
