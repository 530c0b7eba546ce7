// The app containers' CPU and memory while a load runs, from Docker's stats, one reading after
// another (each takes Docker about a second). The runner's resource sampler writes its readings
// to the journal only, where a step cannot read them back per stage; this one keeps the few
// readings of a load run in memory so each stage gets its worst CPU and memory.
import type { Engine } from '@resilience/fixtures';
import { fromDockerStats } from '@resilience/runner';

export interface AppReading {
  readonly at: number;
  /** Percent of one core, summed over the app containers. */
  readonly cpuPercent: number | undefined;
  /** Bytes, summed over the app containers. */
  readonly memoryBytes: number | undefined;
}

export interface AppSampler {
  /** The worst readings taken in [from, to); undefined when none was taken there. */
  worst(from: number, to: number): { cpuPercent: number | undefined; memoryBytes: number | undefined; readings: number };
  stop(): Promise<void>;
}

type Stats = Parameters<typeof fromDockerStats>[0];

export function sampleApps(engine: Engine, containerIds: readonly string[], now: () => number): AppSampler {
  const readings: AppReading[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = now();
      const each = await Promise.all(containerIds.map(async (id) => {
        try {
          return fromDockerStats((await engine.docker.getContainer(id).stats({ stream: false })) as unknown as Stats);
        } catch {
          return {};
        }
      }));
      const sum = (k: 'cpuPercent' | 'memoryBytes') => (each.every((x) => x[k] !== undefined) ? each.reduce((a, x) => a + x[k]!, 0) : undefined);
      // Stamped in the middle of Docker's own sampling period (it reads twice, about a second apart).
      readings.push({ at: (at + now()) / 2, cpuPercent: sum('cpuPercent'), memoryBytes: sum('memoryBytes') });
    }
  })();
  const max = (xs: (number | undefined)[]) => (xs.some((x) => x !== undefined) ? Math.max(...xs.filter((x): x is number => x !== undefined)) : undefined);
  return {
    worst(from, to) {
      const inside = readings.filter((r) => r.at >= from && r.at < to);
      return { cpuPercent: max(inside.map((r) => r.cpuPercent)), memoryBytes: max(inside.map((r) => r.memoryBytes)), readings: inside.length };
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
