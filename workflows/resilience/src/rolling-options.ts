// The rolling deploy's options, validated before anything starts (exit 2), and how each way of
// stopping a replica works.
import { z } from 'zod';
import { parseDuration } from '@resilience/runner';
import { duration } from './options.ts';

/** How each replica is taken down; for --help and the report. */
export const STOPS = {
  drain: 'out of the frontend\'s rotation first (HAProxy drain), then SIGTERM: the app finishes its requests in flight and exits',
  sigterm: 'SIGTERM only: the app drains (answers /health 503 `stopping`) and the frontend\'s health checks take it out',
  sigkill: 'SIGKILL while in rotation: requests in flight are cut, the health checks take it out (the known-bad control)',
} as const;
export type Stop = keyof typeof STOPS;
export const STOP_NAMES = Object.keys(STOPS) as Stop[];

/** `off` (or 0) or a positive duration, in ms. */
const delay = (flag: string, fallback: string) => z.union([z.string(), z.number()]).default(fallback).transform((v, ctx) => {
  if (v === 'off' || v === '0' || v === 0) return 0;
  try {
    return parseDuration(flag, v);
  } catch {
    ctx.addIssue({ code: 'custom', message: '`off` or a positive duration such as 100ms' });
    return z.NEVER;
  }
});

export const RollingOptions = z.object({
  replicas: z.coerce.number().int().min(2).max(3).default(3),
  mode: z.enum(['hardened', 'naive']).default('hardened'),
  stop: z.enum(STOP_NAMES as [Stop, ...Stop[]]).default('drain'),
  image: z.enum(['bookworm', 'trixie']).default('bookworm'),
  steady: duration('--steady', '10s'),
  after: duration('--after', '5s'),
  interval: duration('--interval', '20ms'),
  clientTimeout: duration('--client-timeout', '2s'),
  appDelay: delay('--app-delay', '100ms'),
  grace: duration('--grace', '10s'),
  timeout: duration('--timeout', '60s'),
}).strict().superRefine((o, ctx) => {
  if (o.grace % 1000 !== 0) ctx.addIssue({ code: 'custom', path: ['grace'], message: 'whole seconds (Docker\'s stop timeout), such as 10s' });
  if (o.appDelay >= o.clientTimeout) ctx.addIssue({ code: 'custom', path: ['appDelay'], message: `shorter than --client-timeout (${o.clientTimeout} ms), or every request would time out` });
});

export type RollingOptionsT = z.infer<typeof RollingOptions>;

const width = Math.max(...STOP_NAMES.map((s) => s.length));

export const ROLLING_USAGE = `Usage: npx nx run resilience:rolling [--replicas 3] [--mode hardened|naive] [--stop drain|sigterm|sigkill]
                                    [--image bookworm|trixie] [--steady 10s] [--after 5s] [--interval 20ms]
                                    [--client-timeout 2s] [--app-delay 100ms] [--grace 10s] [--timeout 60s]

  Zero-downtime deploy: the reference app's replicas behind an HAProxy frontend are replaced one
  by one under steady traffic through it (order writes and reads); the next replica goes only when
  the new one passed its health gate (/health 200 and UP in the frontend). Every request that
  failed during the deploy is counted; the hypothesis is that none did.

  --replicas        app replicas behind the frontend, 2 or 3 (default 3)
  --mode            the reference app's mode (default hardened)
  --stop            how each old replica is taken down (default drain):
${STOP_NAMES.map((s) => `                      ${s.padEnd(width)}  ${STOPS[s]}`).join('\n')}
  --image           the systems under test (default bookworm): bookworm or trixie
  --steady          steady state before the deploy (default 10s)
  --after           observation after the deploy (default 5s)
  --interval        time between requests of each probe (default 20ms: 50 writes/s and 50 reads/s)
  --client-timeout  how long a client waits for an answer (default 2s); longer is a failed request
  --app-delay       time the app spends on each database and cache call (its APP_FAULTS delay at
                    probability 1; default 100ms), so that requests are in flight when a replica is
                    stopped; off = the app's own speed
  --grace           docker stop's grace period, SIGTERM to SIGKILL (default 10s, whole seconds)
  --timeout         longest wait for a replica to stop, start or pass its health gate (default 60s)`;
