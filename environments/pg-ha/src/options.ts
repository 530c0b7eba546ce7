// The pg-ha options: one zod schema with lab-fast defaults, turned into InvalidArgumentError
// (naming the bad value and what is accepted) before anything is started.
import { z } from 'zod';
import { InvalidArgumentError } from '@resilience/fixtures';
import { DEFAULT_IMAGE, IMAGE_NAMES, PG_IMAGES, type ImageName, type PatroniTimings } from './image.ts';

/** What a caller may pass; every field has a default. */
export interface PgHaOptionsInput {
  /** PostgreSQL nodes, each run by Patroni (default 3, 2 to 5). */
  readonly nodes?: number;
  /** etcd members: 1, 3 or 5 (default 1). An even count is rejected. */
  readonly etcdNodes?: number;
  /** Patroni leader lock TTL in seconds (default 10). */
  readonly ttl?: number;
  /** Patroni HA loop period in seconds (default 2). */
  readonly loopWait?: number;
  /** Patroni DCS and PostgreSQL retry timeout in seconds (default 4). */
  readonly retryTimeout?: number;
  /** Synchronous replication: false (async, default), true, or 'strict' (writes block without a sync standby). */
  readonly sync?: boolean | 'strict';
  /**
   * Patroni `failsafe_mode` (default false): with the DCS unreachable, the leader keeps running
   * as primary as long as every other member answers its REST API, instead of demoting itself.
   * Patroni 3.0.0 and later (both images).
   */
  readonly failsafeMode?: boolean;
  /** An existing Docker network to join (so app-stack can compose it); default: a new one. */
  readonly network?: string;
  /** Prefix of container names, network aliases and the Patroni scope (default `pgha`). */
  readonly namePrefix?: string;
  /** The infra image: `bookworm` (default: PostgreSQL 15, Patroni 3.0.2) or `trixie` (PostgreSQL 17, Patroni 4.0). */
  readonly image?: ImageName;
}

/** The resolved settings of one cluster (what provision renders into Patroni and HAProxy). */
export interface PgHaSettings {
  readonly nodes: number;
  readonly etcdNodes: number;
  readonly ttl: number;
  readonly loopWait: number;
  readonly retryTimeout: number;
  /** Patroni `synchronous_mode`: one sync standby confirms every commit. */
  readonly sync: boolean;
  /** Patroni `synchronous_mode_strict`: writes wait while there is no sync standby. */
  readonly syncStrict: boolean;
  /** Patroni `failsafe_mode`: the leader stays primary through a DCS outage while it reaches every member. */
  readonly failsafeMode: boolean;
  readonly network: string | undefined;
  readonly namePrefix: string;
  /** Which infra image (Debian release) the cluster runs on. */
  readonly image: ImageName;
  /** Its tag, e.g. `resilience/infra:0.1.0`. */
  readonly imageTag: string;
  /** The image's PostgreSQL major version (15 on bookworm, 17 on trixie). */
  readonly postgresMajor: number;
  /** HAProxy health checks against Patroni's REST API. */
  readonly haproxy: { readonly interMs: number; readonly fall: number; readonly rise: number };
}

/** Defaults; `ttl`, `loopWait` and `retryTimeout` are those of the default image (bookworm): see `TIMING_DEFAULTS`. */
export const DEFAULTS = {
  nodes: 3,
  etcdNodes: 1,
  ...PG_IMAGES[DEFAULT_IMAGE].defaults,
  sync: false,
  namePrefix: 'pgha',
  image: DEFAULT_IMAGE,
} as const;

/** Patroni's lab-fast timings per image: bookworm 10/2/4, trixie 20/2/4 (Patroni 4 runs with no ttl below 20). */
export const TIMING_DEFAULTS: Readonly<Record<ImageName, PatroniTimings>> = {
  bookworm: PG_IMAGES.bookworm.defaults,
  trixie: PG_IMAGES.trixie.defaults,
};

export const HAPROXY_CHECKS = { interMs: 1_000, fall: 2, rise: 1 } as const;

/** What each option accepts, in the words of the error message. */
export const EXPECTED: Readonly<Record<keyof PgHaOptionsInput, string>> = {
  nodes: 'a whole number of PostgreSQL nodes from 2 to 5',
  etcdNodes: 'an odd number of etcd members: 1, 3 or 5 (an even count adds no fault tolerance)',
  ttl: 'a whole number of seconds, at least 1',
  loopWait: 'a whole number of seconds, at least 1',
  retryTimeout: 'a whole number of seconds, at least 1',
  sync: "true, false or 'strict'",
  failsafeMode: 'true or false',
  network: 'the name of an existing Docker network (letters, digits, `_`, `.` or `-`)',
  namePrefix: 'lower-case letters, digits and `-`, starting with a letter, at most 20 characters',
  image: 'one of `bookworm` (Debian 12: PostgreSQL 15, Patroni 3.0.2) or `trixie` (Debian 13: PostgreSQL 17, Patroni 4.0)',
};

const seconds = z.number().int().min(1).max(3_600);

const schema = z.strictObject({
  nodes: z.number().int().min(2).max(5).default(DEFAULTS.nodes),
  etcdNodes: z.union([z.literal(1), z.literal(3), z.literal(5)]).default(DEFAULTS.etcdNodes),
  // Defaults depend on the image, so they are filled in after parsing.
  ttl: seconds.optional(),
  loopWait: seconds.optional(),
  retryTimeout: seconds.optional(),
  sync: z.union([z.boolean(), z.literal('strict')]).default(DEFAULTS.sync),
  failsafeMode: z.boolean().default(false),
  network: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).max(128).optional(),
  namePrefix: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/).refine((s) => !s.endsWith('-')).default(DEFAULTS.namePrefix),
  image: z.enum(IMAGE_NAMES).default(DEFAULTS.image),
});

const TIMING_KEYS = [
  ['ttl', 'ttl'],
  ['loopWait', 'loop_wait'],
  ['retryTimeout', 'retry_timeout'],
] as const;

/** Validates options and fills in defaults; throws InvalidArgumentError on the first bad value. */
export function parseOptions(input: unknown = {}, nameOf: (key: keyof PgHaOptionsInput) => string = (key) => key): PgHaSettings {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '?';
      const known = (Object.keys(EXPECTED) as (keyof PgHaOptionsInput)[]).map(nameOf);
      throw new InvalidArgumentError(key, (input as Record<string, unknown>)[key], `one of the pg-ha options (${known.join(', ')})`);
    }
    if (issue === undefined || issue.path.length === 0) {
      throw new InvalidArgumentError('options', input, 'an object of pg-ha options');
    }
    const key = String(issue.path[0]) as keyof PgHaOptionsInput;
    throw new InvalidArgumentError(nameOf(key), (input as Record<string, unknown>)[key], EXPECTED[key] ?? 'a valid value');
  }
  const o = parsed.data;
  const profile = PG_IMAGES[o.image];
  const t: PatroniTimings = { ttl: o.ttl ?? profile.defaults.ttl, loopWait: o.loopWait ?? profile.defaults.loopWait, retryTimeout: o.retryTimeout ?? profile.defaults.retryTimeout };
  // Patroni >= 3.2 (trixie's 4.0) silently raises a value below its minimum; refuse it, so the
  // settings reported are the ones Patroni runs with.
  for (const [key, patroniName] of TIMING_KEYS) {
    const min = profile.minimums[key];
    if (t[key] < min) {
      throw new InvalidArgumentError(
        nameOf(key),
        t[key],
        `at least ${min} seconds with ${nameOf('image')} \`${o.image}\` (Patroni ${profile.versions.patroni} raises a smaller ${patroniName} to ${min})`,
      );
    }
  }
  // Patroni's own rule: the leader must be able to renew its lock (one loop plus a DCS retry
  // on each side) before the TTL runs out, or a healthy leader loses its lock.
  if (t.loopWait + 2 * t.retryTimeout > t.ttl) {
    throw new InvalidArgumentError(
      nameOf('ttl'),
      t.ttl,
      `at least ${nameOf('loopWait')} + 2 × ${nameOf('retryTimeout')} = ${t.loopWait} + 2 × ${t.retryTimeout} = ${t.loopWait + 2 * t.retryTimeout} seconds (Patroni requires loop_wait + 2*retry_timeout <= ttl)`,
    );
  }
  return {
    nodes: o.nodes,
    etcdNodes: o.etcdNodes,
    ttl: t.ttl,
    loopWait: t.loopWait,
    retryTimeout: t.retryTimeout,
    sync: o.sync !== false,
    syncStrict: o.sync === 'strict',
    failsafeMode: o.failsafeMode,
    network: o.network,
    namePrefix: o.namePrefix,
    image: o.image,
    imageTag: profile.tag,
    postgresMajor: profile.postgresMajor,
    haproxy: { ...HAPROXY_CHECKS },
  };
}
