// The soak's options, validated before anything starts (exit 2 on bad input).
import { z } from 'zod';
import { boolOption, durationOption as duration, optionalDurationOption as optionalDuration, parseDuration } from '@resilience/runner';
import { INFRA_IMAGES } from '@resilience/fixtures';

/** The fault kinds a soak draws from. */
export const SOAK_KINDS = ['kill', 'pause', 'partition', 'loss', 'latency', 'cpu', 'memory'] as const;
export type SoakKind = (typeof SOAK_KINDS)[number];

/** When faults come: every fixed period, at Poisson arrivals of a rate, or never. */
export type FaultTiming =
  | { readonly type: 'every'; readonly periodMs: number; readonly text: string }
  | { readonly type: 'poisson'; readonly perHour: number; readonly text: string }
  | { readonly type: 'none'; readonly text: string };

const TIMING_HELP = 'every:<duration> (every:20m), poisson:<n>/h (poisson:3/h) or none';

/** `every:20m`, `poisson:3/h`, `none`; undefined for anything else. */
export function parseTiming(v: string): FaultTiming | undefined {
  const s = v.trim();
  if (s === 'none') return { type: 'none', text: s };
  const every = /^every:(.+)$/.exec(s);
  if (every) {
    try {
      return { type: 'every', periodMs: parseDuration('--faults', every[1]!), text: s };
    } catch {
      return undefined;
    }
  }
  const poisson = /^poisson:(\d+(?:\.\d+)?)\/(h|m)$/.exec(s);
  if (poisson) {
    const n = Number(poisson[1]) * (poisson[2] === 'm' ? 60 : 1);
    return n > 0 && n <= 3600 ? { type: 'poisson', perHour: n, text: s } : undefined;
  }
  return undefined;
}

const timing = z.string().default('every:20m').transform((v, ctx) => {
  const t = parseTiming(v);
  if (!t) {
    ctx.addIssue({ code: 'custom', message: TIMING_HELP });
    return z.NEVER;
  }
  return t;
});

const kinds = z.string().default(SOAK_KINDS.join(',')).transform((v, ctx) => {
  const list = v.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = list.filter((k) => !(SOAK_KINDS as readonly string[]).includes(k));
  if (list.length === 0 || bad.length) {
    ctx.addIssue({ code: 'custom', message: `a comma-separated list of ${SOAK_KINDS.join(', ')}${bad.length ? ` (not: ${bad.join(', ')})` : ''}` });
    return z.NEVER;
  }
  return [...new Set(list)] as SoakKind[];
});

/** `50/s` (operations per second of each probe), `50`; undefined for anything else. */
export function parseRate(v: string | number): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/s)?\s*$/.exec(String(v));
  const n = m ? Number(m[1]) : Number.NaN;
  return n >= 0.1 && n <= 500 ? n : undefined;
}

const rate = z.union([z.string(), z.number()]).default('50/s').transform((v, ctx) => {
  const n = parseRate(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: 'operations per second of each probe, from 0.1/s to 500/s, such as 50/s' });
    return z.NEVER;
  }
  return n;
});

const DAY = 86_400_000;

export const SoakOptions = z.object({
  duration: duration('--duration', '24h'),
  faults: timing,
  kinds,
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1).default(() => Math.floor(Math.random() * 2 ** 32)),
  rate,
  image: z.enum(['bookworm', 'trixie']).default('bookworm'),
  sync: boolOption.default(false),
  hold: duration('--hold', '20s'),
  settle: optionalDuration('--settle'),
  sampleEvery: duration('--sample-every', '10s'),
  checkpointEvery: duration('--checkpoint-every', '10m'),
  leakThreshold: z.coerce.number().min(0.01).max(1000).default(1),
  timeout: duration('--timeout', '2m'),
}).strict()
  .refine((o) => o.duration <= 7 * DAY, { path: ['duration'], message: 'a duration of at most 7 days (168h)' })
  .refine((o) => o.duration >= 60_000, { path: ['duration'], message: 'a duration of at least 1m' })
  .refine((o) => o.faults.type !== 'every' || o.faults.periodMs >= o.hold + 5_000, { path: ['faults'], message: `${TIMING_HELP}, with a period at least --hold + 5s (each fault is held, then recovers)` })
  .refine((o) => o.faults.type !== 'every' || o.faults.periodMs < o.duration, { path: ['faults'], message: `${TIMING_HELP}, with a period shorter than --duration` })
  .refine((o) => o.sampleEvery >= 1_000 && o.sampleEvery <= 600_000, { path: ['sampleEvery'], message: 'from 1s to 10m' })
  .refine((o) => o.checkpointEvery >= 10_000, { path: ['checkpointEvery'], message: 'at least 10s' })
  .refine((o) => o.settle === undefined || o.settle < o.duration, { path: ['settle'], message: 'shorter than --duration' });

export type SoakOptionsT = z.infer<typeof SoakOptions>;

/** The warm-up before the first fault, excluded from the leak verdicts: 10 % of the run, at most 30 min. */
export function settleMs(o: Pick<SoakOptionsT, 'duration' | 'settle'>): number {
  return o.settle ?? Math.min(30 * 60_000, Math.round(o.duration / 10));
}

export const USAGE = `Usage: npx nx run soak:run [--duration 24h] [--faults every:20m|poisson:3/h|none] [--kinds ${SOAK_KINDS.join(',')}]
                         [--seed N] [--rate 50/s] [--image bookworm|trixie] [--sync] [--hold 20s] [--settle 30m]
                         [--sample-every 10s] [--checkpoint-every 10m] [--leak-threshold 1] [--timeout 2m]
       npx nx run soak:run --resume <report folder>

  --duration        how long the soak runs, from the first step (default 24h; 1m to 168h)
  --faults          when faults come: every:<period>, poisson:<n>/h (random arrivals at that rate),
                    or none (default every:20m); the first comes after --settle
  --kinds           the fault kinds drawn from, each on a target drawn from the stack (default all):
                    kill, pause, partition (a node cut from its peers), loss (30 % of packets),
                    latency (300 ms on every client connection, through the fault proxy),
                    cpu (0.05 CPUs), memory (the limit lowered to its use + 16 MiB)
  --seed            the schedule's seed: the same seed gives the same schedule (default random, printed)
  --rate            operations per second of each of the 5 probes (default 50/s)
  --image           bookworm = PostgreSQL 15, Patroni 3.0.2, Redis 7; trixie = PostgreSQL 17, Patroni 4.0, Redis 8
  --sync            Patroni synchronous mode: a commit waits for a synchronous standby (default off:
                    asynchronous replication, where a killed primary's last acknowledged commits can be lost)
  --hold            how long each fault stays in effect before it is healed (default 20s)
  --settle          warm-up before the first fault, left out of the leak verdicts (default 10 % of
                    --duration, at most 30m)
  --sample-every    resource sampling period (default 10s)
  --checkpoint-every  the report is rewritten this often while the run goes on (default 10m)
  --leak-threshold  growth in % of the baseline per hour that makes a significant trend a leak (default 1)
  --timeout         longest wait for a recovery after a heal (default 2m)
  --resume DIR      go on with a run whose runner stopped: the journal is appended and the schedule
                    goes on from where it stopped, with the options it started with`;

export function imagesNeeded(o: Pick<SoakOptionsT, 'image'>): { flag: string; value: string; tag: string }[] {
  return [{ flag: '--image', value: o.image, tag: INFRA_IMAGES[o.image] }];
}
