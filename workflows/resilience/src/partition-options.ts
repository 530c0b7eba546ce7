// The partition workflow's options and scenarios, validated before anything starts (exit 2).
import { z } from 'zod';
import { bool, duration, imageList, optionalDuration, type Image } from './options.ts';

/** Each scenario: what it cuts, for --help and the report; which system it hits. */
export const SCENARIOS = {
  'leader-isolated': { system: 'postgres', cuts: 'the Patroni leader from etcd and the other PostgreSQL nodes; HAProxy and clients still reach it' },
  'dcs-lost': { system: 'postgres', cuts: 'etcd from every PostgreSQL node, with and without Patroni failsafe_mode (--failsafe)' },
  'one-way': { system: 'postgres', cuts: 'what the leader receives (it can still send), healed, then what it sends' },
  'majorities-ring': { system: 'postgres', cuts: 'three sites (a PostgreSQL node and an etcd member each) in a one-way ring: every site hears a different majority' },
  'redis-master-isolated': { system: 'redis', cuts: 'the Redis master from the Sentinels and replicas, while a client on its side keeps writing to it' },
  'pause-thaw': { system: 'postgres', cuts: 'nothing: freezes the Patroni leader past the TTL, then thaws it' },
} as const;

export type Scenario = keyof typeof SCENARIOS;
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as Scenario[];

export const PartitionOptions = z.object({
  scenario: z.enum(SCENARIO_NAMES as [Scenario, ...Scenario[]]).default('leader-isolated'),
  image: z.enum(['bookworm', 'trixie', 'both']).default('bookworm'),
  iterations: z.coerce.number().int().min(1).max(20).default(1),
  sync: bool.default(false),
  failsafe: z.enum(['on', 'off', 'both']).optional(),
  redisMinReplicas: z.coerce.number().int().min(1).max(60).optional(),
  steady: duration('--steady', '5s'),
  hold: optionalDuration('--hold'),
  after: duration('--after', '3s'),
  timeout: duration('--timeout', '60s'),
  interval: duration('--interval', '10ms'),
}).strict().superRefine((o, ctx) => {
  if (o.redisMinReplicas !== undefined && o.scenario !== 'redis-master-isolated') {
    ctx.addIssue({ code: 'custom', path: ['redisMinReplicas'], message: `only with --scenario redis-master-isolated (not ${o.scenario}, a PostgreSQL scenario)` });
  }
  if (o.failsafe !== undefined && o.scenario !== 'dcs-lost') {
    ctx.addIssue({ code: 'custom', path: ['failsafe'], message: `only with --scenario dcs-lost (not ${o.scenario})` });
  }
  if (o.sync && SCENARIOS[o.scenario].system !== 'postgres') {
    ctx.addIssue({ code: 'custom', path: ['sync'], message: `only with a PostgreSQL scenario (not ${o.scenario})` });
  }
});

export type PartitionOptionsT = z.infer<typeof PartitionOptions>;

/** How long the cut lasts once the system reacted (per scenario; --hold overrides). */
export function holdMs(o: PartitionOptionsT): number {
  if (o.hold !== undefined) return o.hold;
  return o.scenario === 'dcs-lost' ? 20_000 : o.scenario === 'majorities-ring' ? 30_000 : 5_000;
}

export interface PartitionSetup {
  readonly name: string;
  readonly image: Image;
  readonly failsafe: boolean;
}

/** The variants: one per image (and per failsafe_mode for dcs-lost), named by what varies. */
export function partitionSetups(o: PartitionOptionsT): PartitionSetup[] {
  const failsafes = o.scenario !== 'dcs-lost' ? [false] : o.failsafe === 'on' ? [true] : o.failsafe === 'off' ? [false] : [false, true];
  const images = imageList(o.image);
  const out: PartitionSetup[] = [];
  for (const image of images) {
    for (const failsafe of failsafes) {
      const parts = [...(images.length > 1 ? [image] : []), ...(failsafes.length > 1 ? [failsafe ? 'failsafe-on' : 'failsafe-off'] : [])];
      out.push({ name: parts.join('-'), image, failsafe });
    }
  }
  return out;
}

const width = Math.max(...SCENARIO_NAMES.map((s) => s.length));

export const PARTITION_USAGE = `Usage: npx nx run resilience:partition [--scenario NAME] [--image bookworm|trixie|both] [--iterations N]
                                      [--sync] [--failsafe on|off|both] [--redis-min-replicas N]
                                      [--steady 5s] [--hold 5s] [--after 3s] [--timeout 60s] [--interval 10ms]

  --scenario    what is cut (default leader-isolated):
${SCENARIO_NAMES.map((s) => `                  ${s.padEnd(width)}  ${SCENARIOS[s].cuts}`).join('\n')}
  --image       the systems under test (default bookworm): bookworm = PostgreSQL 15, Patroni 3.0.2,
                etcd 3.4, Redis 7; trixie = PostgreSQL 17, Patroni 4.0, etcd 3.5, Redis 8; both = side by side
  --iterations  repeat the scenario N times (default 1)
  --sync        Patroni synchronous mode (PostgreSQL scenarios)
  --failsafe    dcs-lost only: Patroni failsafe_mode on, off, or both side by side (default both)
  --redis-min-replicas N
                redis-master-isolated only: min-replicas-to-write 1 and min-replicas-max-lag N,
                so a master that lost its replicas refuses writes after about N + 1 s
  --steady      steady state before each cut (default 5s)
  --hold        how long the cut stays once the system reacted (default 5s; dcs-lost 20s,
                majorities-ring 30s)
  --after       observation after recovery (default 3s)
  --timeout     longest wait for an election or a recovery (default 60s)
  --interval    probe interval (default 10ms)`;
