// The load workflow's options and profiles, validated before anything starts (exit 2), and the
// stages each profile offers.
import { z } from 'zod';
import type { LoadStage } from '@resilience/fixtures/load/index';
import { duration, optionalDuration } from './options.ts';

/** Each profile: what it offers, for --help and the report. */
export const PROFILES = {
  steady: 'the base rate for --duration (default 60 s)',
  spike: 'the base rate for 20 s, 10x it for --duration (default 15 s), the base rate for 20 s again',
  sustained: '4x the base rate for --duration (default 150 s)',
  ramp: 'stages of --duration (default 10 s) at 1, 2, 3, 4, 6, 8, 12, 16, 24, 32x the base rate (up to --max-rate) until one breaks the SLO; reports the knee',
} as const;

export type Profile = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as Profile[];

/** The ramp's steps, as multiples of the base rate. */
export const RAMP_STEPS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32] as const;

const percent = (flag: string, fallback: number) => z.coerce.number().min(0, `${flag}: 0 to 100`).max(100, `${flag}: 0 to 100`).default(fallback);

export const LoadOptions = z.object({
  profile: z.enum(PROFILE_NAMES as [Profile, ...Profile[]]).default('steady'),
  // 60/s by default: throughput counts answers completed inside a stage, so it can never exceed
  // the offered rate, and the default hypothesis asks for at least 50/s.
  rate: z.coerce.number().positive().max(5000).default(60),
  duration: optionalDuration('--duration'),
  maxRate: z.coerce.number().positive().max(20_000).default(2000),
  writes: percent('--writes', 20),
  fault: z.enum(['none', 'pause', 'kill', 'stop', 'disconnect']).default('none'),
  system: z.enum(['redis', 'postgres']).default('redis'),
  maxInFlight: z.coerce.number().int().min(1).max(10_000).default(1000),
  requestTimeout: duration('--request-timeout', '10s'),
  sloP99: duration('--slo-p99', '5s'),
  sloErrors: percent('--slo-errors', 1),
  appMode: z.enum(['hardened', 'naive']).default('hardened'),
  timeout: duration('--timeout', '60s'),
}).strict().superRefine((o, ctx) => {
  if (o.profile === 'ramp' && o.fault !== 'none') {
    ctx.addIssue({ code: 'custom', path: ['fault'], message: 'not with --profile ramp (a fault would break the stage it hits, not the app\'s capacity)' });
  }
  if (o.profile === 'ramp' && o.rate > o.maxRate) {
    ctx.addIssue({ code: 'custom', path: ['maxRate'], message: `at least the base --rate (${o.rate})` });
  }
});

export type LoadOptionsT = z.infer<typeof LoadOptions>;

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The stages of a profile; for ramp, every stage it may run (it stops at the first that breaks the SLO). */
export function loadStages(o: LoadOptionsT): LoadStage[] {
  switch (o.profile) {
    case 'steady':
      return [{ name: 'steady', durationMs: o.duration ?? 60_000, rate: o.rate }];
    case 'spike':
      return [
        { name: 'baseline', durationMs: 20_000, rate: o.rate },
        { name: 'spike', durationMs: o.duration ?? 15_000, rate: round(o.rate * 10) },
        { name: 'after', durationMs: 20_000, rate: o.rate },
      ];
    case 'sustained':
      return [{ name: 'sustained', durationMs: o.duration ?? 150_000, rate: round(o.rate * 4) }];
    case 'ramp':
      return RAMP_STEPS.map((m) => round(o.rate * m)).filter((r) => r <= o.maxRate).map((rate) => ({ name: `rate-${rate}`, durationMs: o.duration ?? 10_000, rate }));
  }
}

/** The stage a --fault hits: the one at the highest rate. */
export function peakStage(stages: readonly LoadStage[]): number {
  let peak = 0;
  for (const [i, s] of stages.entries()) if (s.rate > stages[peak]!.rate) peak = i;
  return peak;
}

const width = Math.max(...PROFILE_NAMES.map((p) => p.length));

export const LOAD_USAGE = `Usage: npx nx run resilience:load [--profile steady|spike|sustained|ramp] [--rate 60] [--duration D]
                                 [--writes 20] [--fault none|pause|kill|stop|disconnect] [--system redis|postgres]
                                 [--max-rate 2000] [--max-in-flight 1000] [--request-timeout 10s]
                                 [--slo-p99 5s] [--slo-errors 1] [--app-mode hardened|naive] [--timeout 60s]

  Open-loop load on the reference app (app-stack): requests start on a schedule whatever the
  answers do, latency counts from the intended start (no coordinated omission).
  --profile     what is offered (default steady), at the base --rate:
${PROFILE_NAMES.map((p) => `                  ${p.padEnd(width)}  ${PROFILES[p]}`).join('\n')}
  --rate        the base rate in requests per second (default 60)
  --duration    the length of the profile's main stage (see above)
  --writes      percent of requests that place an order (POST /orders, default 20); the rest read
                one (GET /orders/:id) of 20 seeded orders
  --fault       a fault held through the peak stage (default none): pause, kill, stop or
                disconnect of the --system primary (default redis); healed at the stage's end
  --max-rate    ramp only: the highest stage rate (default 2000)
  --max-in-flight
                most requests open at once; a request due beyond it is dropped and counted (default 1000)
  --request-timeout
                a request open this long fails (default 10s)
  --slo-p99, --slo-errors
                ramp only: a stage is within the SLO when its p99 <= --slo-p99 (default 5s), its
                error rate <= --slo-errors percent (default 1) and its throughput >= 95 % of its
                rate; the knee is the highest such stage rate
  --app-mode    the reference app's mode (default hardened)
  --timeout     longest wait for a condition (default 60s)`;
