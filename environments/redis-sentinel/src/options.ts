// The options of a redis-sentinel environment: validated with zod before anything starts, so a
// bad value fails fast with an InvalidArgumentError naming the value and what is accepted.
import { z } from 'zod';
import { Engine, InvalidArgumentError, Labels } from '@resilience/fixtures';
import { DEFAULT_IMAGE, IMAGE_NAMES, INFRA_IMAGES, REDIS_MAJOR, type ImageName } from './image.ts';

export interface RedisSentinelOptions {
  /** Replicas of the master (default 2). */
  readonly replicas?: number;
  /** Sentinel processes, each in its own container (default 3). */
  readonly sentinels?: number;
  /** Sentinels that must agree the master is down (default: a majority of `sentinels`, 2 of 3). */
  readonly quorum?: number;
  /** Sentinel `down-after-milliseconds` (default 2000). */
  readonly downAfterMs?: number;
  /** Sentinel `failover-timeout` in milliseconds (default 5000; a failed election is retried after twice this). */
  readonly failoverTimeoutMs?: number;
  /** Redis `min-replicas-to-write` (default 0: writes never wait for replicas). */
  readonly minReplicasToWrite?: number;
  /** Redis `min-replicas-max-lag` in seconds (default 10). */
  readonly minReplicasMaxLagSeconds?: number;
  /** Name the Sentinels monitor the master under (default `mymaster`). */
  readonly masterName?: string;
  /** An existing Docker network (full name) to join instead of creating one; it is left in place. */
  readonly network?: string;
  /** Prefix of container names and network aliases (default `redis`): `redis-1`, `redis-sentinel-1`. */
  readonly namePrefix?: string;
  /** How long provisioning waits for the topology to be healthy (default 60000). */
  readonly healthyTimeoutMs?: number;
  /** Extra labels on every container and the network (e.g. the keep label for `up`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The infra image: `bookworm` (default, Redis 7.0) or `trixie` (Redis 8.0). */
  readonly image?: ImageName;
  /** The engine to create containers with (default: a new connection with a fresh run id). */
  readonly engine?: Engine;
}

/** What provision() takes besides the options: the run's clock and a signal. */
export interface RedisSentinelProvisionOptions extends RedisSentinelOptions {
  /** The run's clock (ms, monotonic): every time the handle returns is on it. Default performance.now(). */
  readonly now?: () => number;
  /** Ends provisioning (and removes what it started) at once. */
  readonly signal?: AbortSignal;
}

/** The resolved options, as the environment runs with them. */
export interface RedisSentinelSettings {
  readonly replicas: number;
  readonly sentinels: number;
  readonly quorum: number;
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;
  readonly minReplicasToWrite: number;
  readonly minReplicasMaxLagSeconds: number;
  readonly masterName: string;
  readonly network: string | undefined;
  readonly namePrefix: string;
  readonly healthyTimeoutMs: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Which infra image (Debian release) the nodes and Sentinels run on. */
  readonly image: ImageName;
  /** Its tag, e.g. `resilience/infra:0.1.0`. */
  readonly imageTag: string;
  /** The image's Redis major version (7 on bookworm, 8 on trixie). */
  readonly redisMajor: number;
}

export const DEFAULTS = {
  replicas: 2,
  sentinels: 3,
  downAfterMs: 2_000,
  failoverTimeoutMs: 5_000,
  minReplicasToWrite: 0,
  minReplicasMaxLagSeconds: 10,
  masterName: 'mymaster',
  namePrefix: 'redis',
  healthyTimeoutMs: 60_000,
  image: DEFAULT_IMAGE,
} as const;

/** What each option accepts, in the words of the error message. */
const EXPECTED: Readonly<Record<string, string>> = {
  replicas: 'a whole number of replicas, 0 or more',
  sentinels: 'a whole number of Sentinels, at least 1',
  quorum: 'a whole number of Sentinels, at least 1',
  downAfterMs: 'a positive whole number of milliseconds',
  failoverTimeoutMs: 'a positive whole number of milliseconds',
  minReplicasToWrite: 'a whole number of replicas, 0 or more',
  minReplicasMaxLagSeconds: 'a positive whole number of seconds',
  masterName: 'a master name of letters, digits, `.`, `_` or `-`',
  network: 'the name of an existing Docker network',
  namePrefix: 'a lower-case DNS label of at most 30 characters (letters, digits, `-`, starting with a letter)',
  healthyTimeoutMs: 'a positive whole number of milliseconds',
  labels: 'an object of string label values that leaves the run and role labels (project, run id, owner, created-at, role) alone',
  image: 'one of `bookworm` (Debian 12: Redis 7.0) or `trixie` (Debian 13: Redis 8.0)',
  engine: 'an Engine from @resilience/fixtures',
};

// The Engine and the environment set these; an override would hide a container from sweeps and
// `cleanup`, or give it the wrong role.
const RESERVED_LABELS = new Set<string>([Labels.project, Labels.runId, Labels.ownerPid, Labels.ownerHost, Labels.createdAt, Labels.role]);

const count = (min: number) => z.number().int().min(min).max(1_000);
const millis = z.number().int().min(1).max(3_600_000);

const schema = z.strictObject({
  replicas: count(0).default(DEFAULTS.replicas),
  sentinels: count(1).default(DEFAULTS.sentinels),
  quorum: count(1).optional(),
  downAfterMs: millis.default(DEFAULTS.downAfterMs),
  failoverTimeoutMs: millis.default(DEFAULTS.failoverTimeoutMs),
  minReplicasToWrite: count(0).default(DEFAULTS.minReplicasToWrite),
  minReplicasMaxLagSeconds: z.number().int().min(1).max(3_600).default(DEFAULTS.minReplicasMaxLagSeconds),
  masterName: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default(DEFAULTS.masterName),
  network: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).optional(),
  namePrefix: z.string().regex(/^[a-z][a-z0-9-]{0,29}$/).refine((s) => !s.endsWith('-')).default(DEFAULTS.namePrefix),
  healthyTimeoutMs: millis.default(DEFAULTS.healthyTimeoutMs),
  labels: z.record(z.string(), z.string()).refine((l) => !Object.keys(l).some((k) => RESERVED_LABELS.has(k))).default({}),
  image: z.enum(IMAGE_NAMES).default(DEFAULTS.image),
  engine: z.custom<Engine>((v) => v instanceof Engine).optional(),
});

/** A majority of n voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Validates options and fills in defaults. Throws InvalidArgumentError for the first bad value:
 * its `argument` names the option, its message the value and what is accepted.
 */
export function parseOptions(
  input: unknown = {},
  /** How to name an option in errors (the CLI names its flags). */
  nameOf: (option: string) => string = (option) => option,
): RedisSentinelSettings & { readonly engine: Engine | undefined } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidArgumentError('options', input, 'an object of redis-sentinel options');
  }
  const raw = input as Record<string, unknown>;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      throw new InvalidArgumentError(nameOf(key), raw[key], `not set: it is not an option (options: ${Object.keys(EXPECTED).join(', ')})`);
    }
    const key = String(issue?.path[0] ?? 'options');
    throw new InvalidArgumentError(nameOf(key), raw[key], EXPECTED[key] ?? 'valid');
  }
  const o = parsed.data;
  const quorum = o.quorum ?? majority(o.sentinels);
  if (quorum > o.sentinels) {
    throw new InvalidArgumentError(nameOf('quorum'), quorum, `at most the number of Sentinels (\`${nameOf('sentinels')}\` is ${o.sentinels}), since a quorum of ${quorum} could never be reached`);
  }
  if (o.minReplicasToWrite > o.replicas) {
    throw new InvalidArgumentError(nameOf('minReplicasToWrite'), o.minReplicasToWrite, `at most the number of replicas (\`${nameOf('replicas')}\` is ${o.replicas}), or the master would refuse every write`);
  }
  return {
    replicas: o.replicas,
    sentinels: o.sentinels,
    quorum,
    downAfterMs: o.downAfterMs,
    failoverTimeoutMs: o.failoverTimeoutMs,
    minReplicasToWrite: o.minReplicasToWrite,
    minReplicasMaxLagSeconds: o.minReplicasMaxLagSeconds,
    masterName: o.masterName,
    network: o.network,
    namePrefix: o.namePrefix,
    healthyTimeoutMs: o.healthyTimeoutMs,
    labels: o.labels,
    image: o.image,
    imageTag: INFRA_IMAGES[o.image],
    redisMajor: REDIS_MAJOR[o.image],
    engine: o.engine,
  };
}
