// The app's settings, from environment variables, validated at start: a bad value stops the app
// with a message naming the variable and the value (never a secret's value).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { RateLimit } from './rate-limit.ts';

export type Mode = 'hardened' | 'naive';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where Redis is: one URL, or a master found through Sentinel. */
export type RedisTarget =
  | { readonly kind: 'url'; readonly url: string; readonly password: string | undefined }
  | {
    readonly kind: 'sentinel';
    readonly sentinels: readonly HostPort[];
    readonly masterName: string;
    readonly password: string | undefined;
    readonly sentinelPassword: string | undefined;
  };

/** Faults inside the app's own code (off unless APP_FAULTS is set): see src/faults.ts. */
export interface FaultConfig {
  /** What a hit does: throw, wait `delayMs`, or (cache reads) corrupt the value read. */
  readonly kinds: readonly ('exception' | 'delay' | 'corrupt')[];
  /** Chance that one call is hit. */
  readonly probability: number;
  /** Seed of the draws: the same seed replays the same faults. */
  readonly seed: number;
  readonly delayMs: number;
}

export interface Config {
  readonly host: string;
  /** 0 picks a free port (the `listening` log line says which). */
  readonly port: number;
  readonly mode: Mode;
  readonly logLevel: LogLevel;
  /** PostgreSQL connection string (through HAProxy's leader port); absent: no database. */
  readonly databaseUrl: string | undefined;
  readonly databasePoolMax: number;
  /** Absent: no cache, reads go to the database. */
  readonly redis: RedisTarget | undefined;
  readonly cacheTtlSeconds: number;
  /** Deadline of one database operation, retries included (hardened mode). */
  readonly databaseTimeoutMs: number;
  /** Deadline of one Redis operation, retries included (hardened mode). */
  readonly redisTimeoutMs: number;
  /** Deadline of each dependency check behind /health and /metrics (both modes). */
  readonly healthTimeoutMs: number;
  /** Consecutive failures that open a dependency's circuit breaker (hardened mode). */
  readonly breakerThreshold: number;
  /** How long an open breaker waits before letting one trial call through (hardened mode). */
  readonly breakerHalfOpenMs: number;
  /** Budget for a graceful stop on SIGTERM: drain requests, close pools. */
  readonly shutdownTimeoutMs: number;
  /** Faults injected into the app's database and cache calls; undefined: none (the default). */
  readonly faults: FaultConfig | undefined;
  /** Extra attempts of a database call after a transient error (hardened mode). */
  readonly databaseRetries: number;
  /** Extra attempts of a Redis call after a transient error (hardened mode). */
  readonly redisRetries: number;
  /** Token bucket shedding load with 429 (per instance); undefined: off (the default). */
  readonly rateLimit: RateLimit | undefined;
}

export class ConfigError extends Error {
  /** Exit code for a bad setting. */
  readonly exitCode = 2;
  readonly variable: string;
  /** The value as shown in the message (secrets are never shown). */
  readonly shown: string;
  constructor(variable: string, shown: string, expected: string) {
    super(`Expected ${variable} to be ${expected}, got ${shown}`);
    this.name = 'ConfigError';
    this.variable = variable;
    this.shown = shown;
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A URL with its password replaced, for messages and logs; undefined when it does not parse. */
export function redactUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return undefined;
  }
}

/** `host:port/db` of a connection string: what logs may say about where a dependency is. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '(default port)'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

function show(value: string): string {
  return `\`${value}\``;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)).safeParse(raw.trim());
  if (!parsed.success) throw new ConfigError(name, show(raw), `a whole number from ${min} to ${max}`);
  return parsed.data;
}

function oneOf<const T extends string>(env: Env, name: string, fallback: T, values: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = z.enum(values as [T, ...T[]]).safeParse(raw);
  if (!parsed.success) throw new ConfigError(name, show(raw), values.map((v) => `\`${v}\``).join(' or '));
  return parsed.data;
}

function connectionUrl(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const expected = `a ${protocols.map((p) => `${p}//`).join(' or ')} URL`;
  const redacted = redactUrl(raw);
  // An unparsable value may still hold a password: it is never echoed.
  if (redacted === undefined) throw new ConfigError(name, 'a value that is not a URL (not shown: it may hold a password)', expected);
  const url = new URL(raw);
  // Another scheme may be a misparse (`user:password@host` reads as scheme `user:`): show the scheme only.
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, `a URL with scheme \`${url.protocol}\` (rest not shown: it may hold a password)`, expected);
  if (url.hostname === '') throw new ConfigError(name, show(redacted), expected);
  return raw;
}

const hostPort = z.string().regex(/^[A-Za-z0-9._-]+:\d{1,5}$/).transform((s) => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}).refine((hp) => hp.port >= 1 && hp.port <= 65535);

function sentinels(env: Env): HostPort[] | undefined {
  const raw = env['REDIS_SENTINELS'];
  if (raw === undefined || raw.trim() === '') return undefined;
  const list = raw.split(',').map((s) => s.trim());
  const parsed = list.map((s) => hostPort.safeParse(s));
  if (parsed.some((p) => !p.success)) throw new ConfigError('REDIS_SENTINELS', show(raw), 'a comma-separated list of host:port (port 1 to 65535)');
  return parsed.map((p) => p.data as HostPort);
}

function redisTarget(env: Env): RedisTarget | undefined {
  const url = connectionUrl(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const sentinelList = sentinels(env);
  const password = env['REDIS_PASSWORD'] || undefined;
  if (url && sentinelList) {
    throw new ConfigError('REDIS_SENTINELS', show(env['REDIS_SENTINELS'] ?? ''), 'unset when REDIS_URL is set (use one or the other)');
  }
  if (url) return { kind: 'url', url, password };
  const masterName = env['REDIS_MASTER_NAME'];
  if (sentinelList) {
    if (!masterName || !/^[A-Za-z0-9._-]+$/.test(masterName)) {
      throw new ConfigError('REDIS_MASTER_NAME', masterName ? show(masterName) : 'nothing', 'the Sentinel master name (letters, digits, `.`, `_`, `-`) when REDIS_SENTINELS is set');
    }
    return { kind: 'sentinel', sentinels: sentinelList, masterName, password, sentinelPassword: env['REDIS_SENTINEL_PASSWORD'] || undefined };
  }
  if (masterName) throw new ConfigError('REDIS_SENTINELS', 'nothing', 'a list of host:port when REDIS_MASTER_NAME is set');
  return undefined;
}

const FAULT_KINDS = ['exception', 'delay', 'corrupt'] as const;

function faults(env: Env): FaultConfig | undefined {
  const raw = env['APP_FAULTS'];
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'off') return undefined;
  const kinds = raw.split(',').map((k) => k.trim());
  if (kinds.some((k) => !(FAULT_KINDS as readonly string[]).includes(k)) || new Set(kinds).size !== kinds.length) {
    throw new ConfigError('APP_FAULTS', show(raw), `\`off\` or a comma-separated list of ${FAULT_KINDS.map((k) => `\`${k}\``).join(', ')}`);
  }
  const p = env['APP_FAULT_PROBABILITY'];
  const probability = p === undefined || p === '' ? 0.1 : Number(p);
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(p ?? '0.1')) throw new ConfigError('APP_FAULT_PROBABILITY', show(p ?? ''), 'a number from 0 to 1');
  return {
    kinds: kinds as FaultConfig['kinds'],
    probability,
    seed: integer(env, 'APP_FAULT_SEED', 1, 0, 2 ** 31 - 1),
    delayMs: integer(env, 'APP_FAULT_DELAY_MS', 100, 1, 60_000),
  };
}

function rateLimit(env: Env): RateLimit | undefined {
  const perSecond = integer(env, 'APP_RATE_LIMIT', 0, 0, 1_000_000);
  const burst = integer(env, 'APP_RATE_LIMIT_BURST', Math.max(1, perSecond), 1, 1_000_000);
  // A burst without a rate would silently do nothing: say so.
  if (perSecond === 0 && env['APP_RATE_LIMIT_BURST']) throw new ConfigError('APP_RATE_LIMIT_BURST', show(env['APP_RATE_LIMIT_BURST']), 'unset unless APP_RATE_LIMIT is above 0');
  return perSecond === 0 ? undefined : { perSecond, burst };
}

/** The settings that hold secrets; each may come from a file instead (`DATABASE_URL_FILE`). */
export const SECRET_SETTINGS = ['DATABASE_URL', 'REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD'] as const;

/**
 * `NAME_FILE=/run/secrets/x` sets NAME to the file's contents (without the final newline): the
 * Docker secrets convention, so a secret is not in the container's environment, which
 * `docker inspect` shows. NAME and NAME_FILE together are an error.
 */
export function secretsFromFiles(env: Env, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_SETTINGS) {
    const path = env[`${name}_FILE`];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') throw new ConfigError(`${name}_FILE`, show(path), `unset when ${name} is set (use one or the other)`);
    let content: string;
    try {
      content = read(path);
    } catch (e) {
      throw new ConfigError(`${name}_FILE`, show(path), `a file the app can read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    out[name] = content.replace(/\r?\n$/, '');
  }
  return out;
}

export function loadConfig(given: Env, read?: (path: string) => string): Config {
  const env = secretsFromFiles(given, read);
  const mode = oneOf(env, 'APP_MODE', 'hardened', ['hardened', 'naive'] as const);
  const host = env['HOST'] || '0.0.0.0';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new ConfigError('HOST', show(host), 'an address to listen on, such as `0.0.0.0`');
  return {
    host,
    port: integer(env, 'PORT', 8080, 0, 65535),
    mode,
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    databaseUrl: connectionUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolMax: integer(env, 'DB_POOL_MAX', 10, 1, 200),
    redis: redisTarget(env),
    cacheTtlSeconds: integer(env, 'CACHE_TTL_SECONDS', 60, 1, 86_400),
    databaseTimeoutMs: integer(env, 'DB_TIMEOUT_MS', 1_000, 10, 60_000),
    redisTimeoutMs: integer(env, 'REDIS_TIMEOUT_MS', 200, 10, 60_000),
    healthTimeoutMs: integer(env, 'HEALTH_TIMEOUT_MS', 1_000, 10, 60_000),
    breakerThreshold: integer(env, 'BREAKER_THRESHOLD', 5, 1, 1_000),
    breakerHalfOpenMs: integer(env, 'BREAKER_HALF_OPEN_MS', 2_000, 10, 600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 8_000, 100, 60_000),
    faults: faults(env),
    databaseRetries: integer(env, 'DB_RETRIES', 2, 0, 10),
    redisRetries: integer(env, 'REDIS_RETRIES', 1, 0, 10),
    rateLimit: rateLimit(env),
  };
}
