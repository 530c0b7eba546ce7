// The cascade workflow's options and scenarios, validated before anything starts (exit 2).
import { z } from 'zod';
import { bool, duration } from './options.ts';

/** The dependency a scenario makes fail, as the apps name it (and as the probes' scope). */
export type Dependency = 'database' | 'cache';

/** Each scenario: the dependency it hits and what it does, for --help and the report. */
export const CASCADE_SCENARIOS = {
  'redis-slow': { dependency: 'cache', does: 'latency on the app -> Redis link: 300 ms for half the hold, then 2 s' },
  'redis-blackhole': { dependency: 'cache', does: 'the app -> Redis link accepts and holds every byte: nothing answers, nothing is refused' },
  'db-slow': { dependency: 'database', does: 'latency on the app -> PostgreSQL link (500 ms) for half the hold, then lock contention: the orders table locked against writes' },
  'pool-exhaustion': { dependency: 'database', does: 'every database connection of the apps held: the orders table locked against everything, so each query waits holding its pooled connection' },
  'retry-storm': { dependency: 'database', does: 'the app -> PostgreSQL link resets every connection (fast failures) while clients retry each failed request up to 3 times at once' },
  'cache-flush': { dependency: 'cache', does: 'FLUSHALL on the Redis master under load: every cached order gone at once, the reads fall through to PostgreSQL (a cache avalanche)' },
} as const satisfies Record<string, { dependency: Dependency; does: string }>;

export type CascadeScenario = keyof typeof CASCADE_SCENARIOS;
export const CASCADE_SCENARIO_NAMES = Object.keys(CASCADE_SCENARIOS) as CascadeScenario[];

export const CascadeOptions = z.object({
  scenario: z.enum(CASCADE_SCENARIO_NAMES as [CascadeScenario, ...CascadeScenario[]]).default('redis-slow'),
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

  --scenario        what fails (default redis-slow):
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
