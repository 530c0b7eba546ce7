// The PostgreSQL drill's options, validated before anything starts (exit 2 on bad input).
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { durationOption as duration } from '@resilience/runner';
import { INFRA_IMAGES } from '@resilience/fixtures';

export { duration };

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `200MB` → 200 000 000 bytes; `64MiB`, `1GB`, a plain number of bytes. Undefined for anything else. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!;
  return Number.isFinite(bytes) && bytes >= 1 ? Math.round(bytes) : undefined;
}

const size = (fallback: string, min: number, max: number) => z.union([z.string(), z.number()]).default(fallback).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined || bytes < min || bytes > max) {
    ctx.addIssue({ code: 'custom', message: `a size from ${min / 1e6}MB to ${max / 1e9}GB such as 200MB or 1GB` });
    return z.NEVER;
  }
  return bytes;
});

export const DISASTERS = ['cluster-lost', 'bad-change'] as const;
export type Disaster = (typeof DISASTERS)[number];
/** Negative drills: the drill is sabotaged and must fail, naming why. */
export const SABOTAGES = ['none', 'corrupt-backup', 'target-before-backup'] as const;
export type Sabotage = (typeof SABOTAGES)[number];

export const DrillOptions = z.object({
  disaster: z.enum(DISASTERS).default('cluster-lost'),
  data: size('200MB', 1e6, 100e9),
  image: z.enum(['bookworm', 'trixie']).default('bookworm'),
  processMax: z.coerce.number().int().min(1).max(64).default(Math.max(1, availableParallelism())),
  archiveTimeout: duration('--archive-timeout', '5s'),
  rto: duration('--rto', '10m'),
  rpo: duration('--rpo', '30s'),
  sabotage: z.enum(SABOTAGES).default('none'),
  steady: duration('--steady', '5s'),
  interval: duration('--interval', '100ms'),
  timeout: duration('--timeout', '10m'),
}).strict().refine((o) => o.archiveTimeout >= 1000 && o.archiveTimeout % 1000 === 0, { path: ['archiveTimeout'], message: 'whole seconds, at least 1s (PostgreSQL archive_timeout)' });

export type DrillOptionsT = z.infer<typeof DrillOptions>;

export const USAGE = `Usage: npx nx run dr:drill [--disaster cluster-lost|bad-change] [--data 200MB] [--image bookworm|trixie]
                         [--process-max N] [--archive-timeout 5s] [--rto 10m] [--rpo 30s]
                         [--sabotage none|corrupt-backup|target-before-backup]
                         [--steady 5s] [--interval 100ms] [--timeout 10m]

  --disaster        cluster-lost: every PostgreSQL container and its data destroyed, restored to
                    the latest archived state; bad-change: a mistaken DELETE at a recorded time T,
                    restored to the moment before T (point in time) (default cluster-lost)
  --data            data loaded before the backups (default 200MB)
  --image           bookworm = PostgreSQL 15, Patroni 3.0.2, pgBackRest 2.45; trixie = PostgreSQL 17,
                    Patroni 4.0, pgBackRest 2.55 (default bookworm)
  --process-max     pgBackRest processes for backup and restore (default: the cores, ${Math.max(1, availableParallelism())})
  --archive-timeout PostgreSQL archive_timeout: a WAL segment is archived at least this often (default 5s)
  --rto             hypothesis: disaster to the app serving writes again (default 10m)
  --rpo             hypothesis: acknowledged writes lost, as the time between the disaster
                    (or the target) and the oldest lost write (default 30s)
  --sabotage        a negative drill that must fail: corrupt-backup flips a byte in a file of the
                    latest backup; target-before-backup asks for a point before the oldest backup
  --steady          traffic before the first backup and after the last (default 5s)
  --interval        write probe interval (default 100ms); markers are written every second
  --timeout         longest wait of a restore or a recovery (default 10m)`;

export function imagesNeeded(o: Pick<DrillOptionsT, 'image'>): { flag: string; value: string; tag: string }[] {
  return [{ flag: '--image', value: o.image, tag: INFRA_IMAGES[o.image] }];
}
