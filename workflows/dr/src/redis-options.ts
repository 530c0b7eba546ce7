// The Redis drill's options, validated before anything starts (exit 2 on bad input). Durations
// and the image check are the PostgreSQL drill's.
import { z } from 'zod';
import { duration } from './options.ts';

export { imagesNeeded } from './options.ts';

/** Most keys the drill preloads (10 million keys of 64-byte values is about 1.5 GB of Redis memory). */
export const MAX_KEYS = 10_000_000;

const keys = z.union([z.string(), z.number()]).default(50_000).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_KEYS) {
    ctx.addIssue({ code: 'custom', message: `a whole number of keys from 0 to ${MAX_KEYS} such as 50000` });
    return z.NEVER;
  }
  return n;
});

export const RedisDrillOptions = z.object({
  image: z.enum(['bookworm', 'trixie']).default('bookworm'),
  keys,
  rto: duration('--rto', '2m'),
  lossWindow: duration('--loss-window', '2s'),
  steady: duration('--steady', '5s'),
  interval: duration('--interval', '20ms'),
  timeout: duration('--timeout', '2m'),
}).strict();

export type RedisDrillOptionsT = z.infer<typeof RedisDrillOptions>;

export const REDIS_USAGE = `Usage: npx nx run dr:redis-drill [--image bookworm|trixie] [--keys 50000] [--rto 2m] [--loss-window 2s]
                               [--steady 5s] [--interval 20ms] [--timeout 2m]

  --image        bookworm = Redis 7.0, trixie = Redis 8 (default bookworm)
  --keys         keys preloaded before the traffic starts, part of the digest (default 50000)
  --rto          hypothesis: the disaster to writes succeeding again for a full second on the
                 restored Redis (default 2m)
  --loss-window  hypothesis: the copy of the persistence files back to the oldest acknowledged
                 write missing after the restore (default 2s; appendfsync everysec promises about 1 s)
  --steady       traffic before the backup (default 5s)
  --interval     write probe interval (default 20ms)
  --timeout      longest wait of a save, a copy, a restore or a recovery (default 2m)`;
