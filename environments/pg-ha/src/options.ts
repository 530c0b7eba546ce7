// The pg-ha options: one zod schema with lab-fast defaults, turned into InvalidArgumentError
// (naming the bad value and what is accepted) before anything is started.
import { z } from 'zod';
import { InvalidArgumentError } from '@resilience/fixtures';

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
  /** An existing Docker network to join (so app-stack can compose it); default: a new one. */
  readonly network?: string;
  /** Prefix of container names, network aliases and the Patroni scope (default `pgha`). */
  readonly namePrefix?: string;
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
  readonly network: string | undefined;
  readonly namePrefix: string;
  /** HAProxy health checks against Patroni's REST API. */
  readonly haproxy: { readonly interMs: number; readonly fall: number; readonly rise: number };
}

export const DEFAULTS = {
  nodes: 3,
  etcdNodes: 1,
  ttl: 10,
  loopWait: 2,
  retryTimeout: 4,
  sync: false,
  namePrefix: 'pgha',
} as const;

export const HAPROXY_CHECKS = { interMs: 1_000, fall: 2, rise: 1 } as const;

/** What each option accepts, in the words of the error message. */
export const EXPECTED: Readonly<Record<keyof PgHaOptionsInput, string>> = {
  nodes: 'a whole number of PostgreSQL nodes from 2 to 5',
  etcdNodes: 'an odd number of etcd members: 1, 3 or 5 (an even count adds no fault tolerance)',
  ttl: 'a whole number of seconds, at least 1',
  loopWait: 'a whole number of seconds, at least 1',
  retryTimeout: 'a whole number of seconds, at least 1',
  sync: "true, false or 'strict'",
  network: 'the name of an existing Docker network (letters, digits, `_`, `.` or `-`)',
  namePrefix: 'lower-case letters, digits and `-`, starting with a letter, at most 20 characters',
};

const seconds = z.number().int().min(1).max(3_600);

const schema = z.strictObject({
  nodes: z.number().int().min(2).max(5).default(DEFAULTS.nodes),
  etcdNodes: z.union([z.literal(1), z.literal(3), z.literal(5)]).default(DEFAULTS.etcdNodes),
  ttl: seconds.default(DEFAULTS.ttl),
  loopWait: seconds.default(DEFAULTS.loopWait),
  retryTimeout: seconds.default(DEFAULTS.retryTimeout),
  sync: z.union([z.boolean(), z.literal('strict')]).default(DEFAULTS.sync),
  network: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).max(128).optional(),
  namePrefix: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/).refine((s) => !s.endsWith('-')).default(DEFAULTS.namePrefix),
});

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
  // Patroni's own rule: the leader must be able to renew its lock (one loop plus a DCS retry
  // on each side) before the TTL runs out, or a healthy leader loses its lock.
  if (o.loopWait + 2 * o.retryTimeout > o.ttl) {
    throw new InvalidArgumentError(
      nameOf('ttl'),
      o.ttl,
      `at least ${nameOf('loopWait')} + 2 × ${nameOf('retryTimeout')} = ${o.loopWait} + 2 × ${o.retryTimeout} = ${o.loopWait + 2 * o.retryTimeout} seconds (Patroni requires loop_wait + 2*retry_timeout <= ttl)`,
    );
  }
  return {
    nodes: o.nodes,
    etcdNodes: o.etcdNodes,
    ttl: o.ttl,
    loopWait: o.loopWait,
    retryTimeout: o.retryTimeout,
    sync: o.sync !== false,
    syncStrict: o.sync === 'strict',
    network: o.network,
    namePrefix: o.namePrefix,
    haproxy: { ...HAPROXY_CHECKS },
  };
}
