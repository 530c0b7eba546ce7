// app-stack options, all validated before anything starts: the app's own here, the pg-ha and
// redis-sentinel ones with those environments' own parsers (so an even etcd count or a quorum
// larger than the Sentinels is refused here, not after the network and half the stack exist).
import { z } from 'zod';
import { Engine, InvalidArgumentError } from '@resilience/fixtures';
import { IMAGE_NAMES, parseOptions as parsePgOptions, type ImageName, type PgHaOptionsInput, type PgHaSettings } from '@resilience/pg-ha';
import { parseOptions as parseRedisOptions, type RedisSentinelOptions, type RedisSentinelSettings } from '@resilience/redis-sentinel';

/** pg-ha options; app-stack owns the network. */
export type StackPgOptions = Omit<PgHaOptionsInput, 'network'>;
/** redis-sentinel options; app-stack owns the engine and the network. */
export type StackRedisOptions = Omit<RedisSentinelOptions, 'engine' | 'network'>;

export interface AppStackOptionsInput {
  readonly pg?: StackPgOptions;
  readonly redis?: StackRedisOptions;
  /** `hardened` (timeouts, retries, breaker, fallbacks) or `naive` (none). */
  readonly mode?: string;
  /** App instances (1 to 3). */
  readonly instances?: number;
  /** Patroni synchronous replication (`true` or `'strict'`): the same as `pg.sync`, passed through to pg-ha. */
  readonly sync?: boolean | 'strict';
  /**
   * The infra image of both parts: `bookworm` (default: PostgreSQL 15, Patroni 3.0.2, Redis 7.0)
   * or `trixie` (PostgreSQL 17, Patroni 4.0, Redis 8.0); the same as `pg.image` and
   * `redis.image` (given too, they must agree). The app's own image is the same for both.
   */
  readonly image?: ImageName;
  /** Named apps, each in its own mode (1 to 3; names are lower-case, e.g. `naive`, `hardened`); instead of `mode` and `instances`. */
  readonly apps?: readonly { readonly name: string; readonly mode: string }[];
  /**
   * Put a sidecar fault proxy on each link of the apps: `link-database` (to HAProxy's primary
   * port) and `link-cache` (to the Redis master at provisioning). Every app reaches its
   * dependencies through them, so a fault on a link hits every app the same way.
   */
  readonly links?: boolean;
  /** More settings of every app (`CACHE_TTL_SECONDS`, `BREAKER_THRESHOLD`...: see the app's README); secrets are not accepted here. */
  readonly appEnv?: Readonly<Record<string, string>>;
  /** An HAProxy in front of the apps (`AppStack.frontend`), checking each one's /health: what a rolling deploy goes through. */
  readonly frontend?: boolean;
}

export interface AppSpecSetting {
  readonly name: string;
  readonly mode: 'hardened' | 'naive';
}

export interface AppSettings {
  readonly mode: 'hardened' | 'naive';
  readonly instances: number;
  /** The infra image both parts run on (`bookworm`, `trixie`), or `mixed` when `pg.image` and `redis.image` differ. */
  readonly image: ImageName | 'mixed';
  /** The named apps, when given. */
  readonly apps?: readonly AppSpecSetting[];
  /** Whether the apps reach their dependencies through sidecar fault proxies. */
  readonly links?: boolean;
  /** More settings of every app. */
  readonly env?: Readonly<Record<string, string>>;
  /** Whether an HAProxy frontend balances over the apps. */
  readonly frontend?: boolean;
}

/** Everything provision() needs, resolved. */
export interface StackSettings {
  readonly app: AppSettings;
  readonly pg: PgHaSettings;
  readonly redis: RedisSentinelSettings;
  readonly keep: boolean;
  readonly timeoutMs: number;
}

export const APP_DEFAULTS: AppSettings = { mode: 'hardened', instances: 1, image: 'bookworm' };

/** What each option accepts, in the words of the error message. */
const EXPECTED: Readonly<Record<string, string>> = {
  mode: '`hardened` or `naive`',
  instances: 'a whole number of app instances from 1 to 3',
  pg: 'an object of pg-ha options',
  redis: 'an object of redis-sentinel options',
  keep: 'true or false',
  timeoutMs: 'a positive whole number of milliseconds',
  engine: 'an Engine from @resilience/fixtures',
  signal: 'an AbortSignal',
  now: 'a function returning the run clock in ms',
  sync: "true, false or 'strict' (Patroni synchronous replication, as `pg.sync`)",
  image: 'one of `bookworm` (Debian 12: PostgreSQL 15, Patroni 3.0.2, Redis 7.0) or `trixie` (Debian 13: PostgreSQL 17, Patroni 4.0, Redis 8.0)',
  pgArchive: "an object of pg-ha's `archive` (pgBackRest repository host and TLS)",
  apps: 'a list of 1 to 3 apps `{ name, mode }` with distinct lower-case names (letters, digits, `-`, not `link-...`) and mode `hardened` or `naive`, without `instances`',
  links: 'true or false',
  frontend: 'true or false',
  appEnv: 'an object of app settings (upper-case names such as `CACHE_TTL_SECONDS`, string values), none of them a secret or set by app-stack (DATABASE_URL, REDIS_*, APP_MODE, PORT)',
};

const plainObject = z.record(z.string(), z.unknown());

const schema = z.strictObject({
  mode: z.enum(['hardened', 'naive']).default(APP_DEFAULTS.mode),
  instances: z.number().int().min(1).max(3).default(APP_DEFAULTS.instances),
  pg: plainObject.optional(),
  redis: plainObject.optional(),
  keep: z.boolean().default(false),
  timeoutMs: z.number().int().min(1).max(3_600_000).default(120_000),
  engine: z.custom<Engine>((v) => v instanceof Engine).optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
  now: z.custom<() => number>((v) => typeof v === 'function').optional(),
  sync: z.union([z.boolean(), z.literal('strict')]).optional(),
  image: z.enum(IMAGE_NAMES).optional(),
  // pg-ha's `archive` (pgBackRest); checked by pg-ha's provision.
  pgArchive: plainObject.optional(),
  apps: z.array(z.strictObject({ name: z.string().regex(/^(?!link-)[a-z][a-z0-9-]{0,30}$/), mode: z.enum(['hardened', 'naive']) }))
    .min(1).max(3).refine((xs) => new Set(xs.map((x) => x.name)).size === xs.length).optional(),
  links: z.boolean().default(false),
  frontend: z.boolean().default(false),
  appEnv: z.record(z.string().regex(/^(?!DATABASE_URL|REDIS_|APP_MODE$|PORT$|HOST$)[A-Z][A-Z0-9_]*$/), z.string()).optional(),
});

/**
 * Validates every option (the app's, and the pg-ha and redis-sentinel ones passed through) and
 * fills in defaults; throws InvalidArgumentError naming the first bad value. `nameOf` turns an
 * option's path (`mode`, `pg.etcdNodes`, `redis.quorum`) into the name the user typed.
 */
export function parseStackOptions(input: unknown = {}, nameOf: (path: string) => string = (path) => path): StackSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidArgumentError('options', input, 'an object of app-stack options');
  }
  const raw = input as Record<string, unknown>;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '?';
      throw new InvalidArgumentError(nameOf(key), raw[key], `not set: it is not an app-stack option (options: ${Object.keys(EXPECTED).join(', ')})`);
    }
    const key = String(issue?.path[0] ?? 'options');
    throw new InvalidArgumentError(nameOf(key), raw[key], EXPECTED[key] ?? 'a valid value');
  }
  const o = parsed.data;
  if (o.apps && raw['instances'] !== undefined) throw new InvalidArgumentError(nameOf('instances'), raw['instances'], 'unset when `apps` names the apps (each app is one instance)');
  const pgInput: Record<string, unknown> = { ...o.pg };
  if (o.sync !== undefined) {
    if (pgInput['sync'] !== undefined && pgInput['sync'] !== o.sync) {
      throw new InvalidArgumentError(nameOf('sync'), o.sync, `the same as \`${nameOf('pg.sync')}\` (${JSON.stringify(pgInput['sync'])}), or left out: both set Patroni's synchronous replication`);
    }
    pgInput['sync'] = o.sync;
  }
  const redisInput: Record<string, unknown> = { ...o.redis };
  if (o.image !== undefined) {
    for (const [part, options] of [['pg', pgInput], ['redis', redisInput]] as const) {
      if (options['image'] !== undefined && options['image'] !== o.image) {
        throw new InvalidArgumentError(nameOf('image'), o.image, `the same as \`${nameOf(`${part}.image`)}\` (${JSON.stringify(options['image'])}), or left out: both choose the infra image`);
      }
      options['image'] = o.image;
    }
  }
  // The stack's parts share its network (and its engine); one given here would be ignored.
  for (const [part, options, owned] of [['pg', pgInput, ['network']], ['redis', redisInput, ['network', 'engine']]] as const) {
    for (const key of owned) {
      if (options[key] !== undefined) throw new InvalidArgumentError(nameOf(`${part}.${key}`), options[key], 'unset: app-stack creates the network and passes its engine to every part');
    }
  }
  const pg = withPgNames(pgInput, nameOf);
  const { engine: _engine, ...redis } = parseRedisOptions(redisInput, (key) => nameOf(`redis.${key}`));
  const image = pg.image === redis.image ? pg.image : 'mixed';
  const app: AppSettings = {
    mode: o.mode, instances: o.apps?.length ?? o.instances, image,
    ...(o.apps ? { apps: o.apps } : {}), ...(o.links ? { links: true } : {}), ...(o.appEnv ? { env: o.appEnv } : {}),
    ...(o.frontend ? { frontend: true } : {}),
  };
  return { app, pg, redis, keep: o.keep, timeoutMs: o.timeoutMs };
}

/**
 * pg-ha's parser, its errors naming `pg.<option>`. It names an unknown option by its bare key
 * (not through `nameOf`), so that one error is renamed here.
 */
function withPgNames(input: Record<string, unknown>, nameOf: (path: string) => string): PgHaSettings {
  try {
    return parsePgOptions(input, (key) => nameOf(`pg.${key}`));
  } catch (e) {
    if (e instanceof InvalidArgumentError && Object.hasOwn(input, e.argument)) {
      const expected = /^Expected `[^`]*` to be ([\s\S]*), got [\s\S]*$/.exec(e.message)?.[1] ?? 'one of the pg-ha options';
      throw new InvalidArgumentError(nameOf(`pg.${e.argument}`), e.value, expected);
    }
    throw e;
  }
}

/** The app's own options only (mode, instances), validated like parseStackOptions. */
export function parseAppOptions(input: AppStackOptionsInput): AppSettings {
  return parseStackOptions({ mode: input.mode, instances: input.instances, ...(input.image !== undefined ? { image: input.image } : {}) }).app;
}
