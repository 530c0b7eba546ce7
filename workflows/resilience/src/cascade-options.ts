// The cascade workflow's options and scenarios, validated before anything starts (exit 2).
import { z } from 'zod';
import { bool, duration } from './options.ts';

/** The dependency a scenario makes fail, as the apps name it (and as the probes' scope). */
export type Dependency = 'database' | 'cache';

/** Each scenario: the dependency it hits, whether that dependency fails (errors or time-outs: retry amplification is measured) and what it does, for --help and the report. */
export const CASCADE_SCENARIOS = {
  'redis-slow': { failing: true, dependency: 'cache', does: 'latency on the app -> Redis link: 300 ms for half the hold, then 2 s' },
  'redis-blackhole': { failing: true, dependency: 'cache', does: 'the app -> Redis link accepts and holds every byte: nothing answers, nothing is refused' },
  'db-slow': { failing: true, dependency: 'database', does: 'latency on the app -> PostgreSQL link (500 ms) for half the hold, then lock contention: the orders table locked against writes' },
  'pool-exhaustion': { failing: true, dependency: 'database', does: 'every database connection of the apps held: the orders table locked against everything, so each query waits holding its pooled connection' },
  'retry-storm': { failing: true, dependency: 'database', does: 'the app -> PostgreSQL link resets every connection (fast failures) while clients retry each failed request up to 3 times at once' },
  'cache-flush': { failing: false, dependency: 'cache', does: 'FLUSHALL on the Redis master under load: every cached order gone at once, the reads fall through to PostgreSQL (a cache avalanche)' },
} as const satisfies Record<string, { failing: boolean; dependency: Dependency; does: string }>;

export type CascadeScenario = keyof typeof CASCADE_SCENARIOS;
export const CASCADE_SCENARIO_NAMES = Object.keys(CASCADE_SCENARIOS) as CascadeScenario[];

/**
 * The order `all` runs them in: redis-blackhole last, because a connection that was black-holed
 * stays dead in an app that never opens a new one (the naive app), which would spoil the
 * scenarios after it.
 */
export const ALL_SCENARIOS: readonly CascadeScenario[] = ['retry-storm', 'redis-slow', 'db-slow', 'pool-exhaustion', 'cache-flush', 'redis-blackhole'];

/** `redis-slow`, `retry-storm,db-slow` or `all`: the scenarios to run, in order, on one stack. */
const scenarios = z.string().default('redis-slow').transform((raw, ctx): CascadeScenario[] => {
  if (raw.trim() === 'all') return [...ALL_SCENARIOS];
  const names = raw.split(',').map((x) => x.trim());
  const bad = names.find((n) => !(CASCADE_SCENARIO_NAMES as string[]).includes(n));
  if (bad !== undefined || new Set(names).size !== names.length) {
    ctx.addIssue({ code: 'custom', message: `one of ${CASCADE_SCENARIO_NAMES.join(', ')}, a comma-separated list of them (each once), or all` });
    return z.NEVER;
  }
  return names as CascadeScenario[];
});

export const CascadeOptions = z.object({
  scenario: scenarios,
  image: z.enum(['bookworm', 'trixie']).default('bookworm'),
  steady: duration('--steady', '10s'),
  hold: duration('--hold', '20s'),
  after: duration('--after', '10s'),
  timeout: duration('--timeout', '60s'),
  interval: duration('--interval', '100ms'),
  clientTimeout: duration('--client-timeout', '2s'),
  browser: bool.default(true),
}).strict();

export type CascadeOptionsT = z.infer<typeof CascadeOptions>;

const width = Math.max(...CASCADE_SCENARIO_NAMES.map((s) => s.length));

export const CASCADE_USAGE = `Usage: npx nx run resilience:cascade [--scenario NAME] [--image bookworm|trixie]
                                    [--steady 10s] [--hold 20s] [--after 10s] [--interval 100ms]
                                    [--client-timeout 2s] [--timeout 60s] [--no-browser]

  The reference app runs twice on one stack, naive and hardened, under the same traffic; a
  sidecar fault proxy on each link (app -> HAProxy, app -> Redis) breaks a dependency for both.

  --scenario        what fails (default redis-slow); a comma-separated list, or all, runs them
                    one after another on the same stack:
${CASCADE_SCENARIO_NAMES.map((s) => `                      ${s.padEnd(width)}  ${CASCADE_SCENARIOS[s].does}`).join('\n')}
  --image           the systems under test (default bookworm): bookworm = PostgreSQL 15, Patroni 3.0.2,
                    Redis 7; trixie = PostgreSQL 17, Patroni 4.0, Redis 8
  --steady          steady state before the fault (default 10s)
  --hold            how long the dependency stays broken (default 20s)
  --after           observation after the apps settled (default 10s)
  --interval        time between requests of each probe (default 100ms: 10 requests/s per endpoint and app)
  --client-timeout  how long a client waits for an answer (default 2s)
  --timeout         longest wait for the apps to settle after the heal (default 60s)
  --no-browser      no browser journey (default: Debian's Chromium opens each app's page, places an
                    order and finds it again every 5 s; a failed journey's screenshot is in the report)`;
