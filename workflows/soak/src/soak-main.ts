// Entry point of `npx nx run soak:run`, which starts it as
//   LD_PRELOAD="$(scripts/jemalloc-path)" MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 \
//     MALLOC_CONF=background_thread:true,dirty_decay_ms:1000 \
//     node --max-semi-space-size=16 --min-semi-space-size=16 workflows/soak/src/soak-main.ts
import { setFlagsFromString } from 'node:v8';
import { runWorkflow } from '@resilience/runner';
import { soak } from './soak.ts';
import { RUNNER_RUNTIME_FLAGS, keepAllocatorToRunner } from './runner-memory.ts';

// The runner must hold its own memory flat for a day (README, "The runner's own memory"). The
// growth of the heap after each full collection and V8's memory-saving mode are read at every
// collection, so they are set here;
// the young generation's size and the allocator's arenas are fixed when the process starts, so
// they come from the command line (see runner-memory.ts; soak.ts notes when they are missing,
// once the options are valid).
for (const flag of RUNNER_RUNTIME_FLAGS) setFlagsFromString(flag);
// jemalloc is for this process: the processes it starts keep their own allocator.
keepAllocatorToRunner();

const result = await runWorkflow(soak, { argv: process.argv.slice(2) });
process.exit(result.exitCode);
