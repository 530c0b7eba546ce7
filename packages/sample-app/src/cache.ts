// The Redis cache, reached by URL or through Sentinel. Hardened: commands fail at once while
// disconnected (no offline queue), reconnects back off with jitter, a READONLY reply (a demoted
// master) reconnects to the new one. Naive: ioredis's defaults (offline queue, 20 retries per
// command, no command timeout).
import { Redis, type RedisOptions } from 'ioredis';
import { abortable } from './abort.ts';
import { describeTarget, type Mode, type RedisTarget } from './config.ts';
import type { Logger } from './log.ts';

export interface Cache {
  /** Where it is, for logs: `host:port` or `sentinel:<master>`. */
  readonly target: string;
  get(key: string, signal: AbortSignal): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number, signal: AbortSignal): Promise<void>;
  /** Removes a key (absent already is success). */
  del(key: string, signal: AbortSignal): Promise<void>;
  ping(signal: AbortSignal): Promise<void>;
  /** Drops the connection and makes a new one (a suspect connection after repeated timeouts). */
  reconnect(): void;
  close(timeoutMs: number): Promise<void>;
}

export interface CacheOptions {
  readonly mode: Mode;
  readonly log: Logger;
}

function backoff(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2_000) + Math.floor(Math.random() * 100);
}

function hardenedOptions(): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 1_000,
    retryStrategy: backoff,
    reconnectOnError: (e) => e.message.startsWith('READONLY'),
  };
}

export function createCache(target: RedisTarget, options: CacheOptions): Cache {
  const extra = options.mode === 'hardened' ? hardenedOptions() : {};
  const password = target.password ? { password: target.password } : {};
  let redis: Redis;
  let where: string;
  if (target.kind === 'url') {
    where = describeTarget(target.url);
    redis = new Redis(target.url, { ...password, ...extra });
  } else {
    where = `sentinel:${target.masterName}`;
    redis = new Redis({
      sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: target.masterName,
      ...password,
      ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
      ...extra,
      ...(options.mode === 'hardened' ? { failoverDetector: true, sentinelRetryStrategy: backoff } : {}),
    });
  }
  // Log changes of state, not every reconnect attempt's error.
  let connected: boolean | undefined;
  let closing = false;
  redis.on('ready', () => {
    if (connected !== true) options.log('info', 'cache connected', { target: where });
    connected = true;
  });
  redis.on('error', (e: Error) => {
    if (connected !== false) options.log('warn', 'cache connection error', { target: where, error: e });
    connected = false;
  });
  redis.on('end', () => {
    connected = false;
  });

  return {
    target: where,
    get: (key, signal) => abortable(redis.get(key), signal),
    async set(key, value, ttlSeconds, signal) {
      await abortable(redis.set(key, value, 'EX', ttlSeconds), signal);
    },
    async del(key, signal) {
      await abortable(redis.del(key), signal);
    },
    async ping(signal) {
      await abortable(redis.ping(), signal);
    },
    reconnect() {
      if (closing) return;
      options.log('info', 'cache reconnecting', { target: where, status: redis.status });
      // A client ioredis ended by itself (its failover detector's disconnect during a reconnect
      // makes the pending connect fail, and a failed connect is final) only comes back by connect().
      if (redis.status === 'end') redis.connect().catch(() => undefined);
      else redis.disconnect(true);
    },
    async close(timeoutMs) {
      closing = true;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([redis.quit().then(() => undefined, () => undefined), gaveUp]);
      clearTimeout(timer);
      redis.disconnect();
    },
  };
}

/** Whether an error says Redis is unwell (counted by the breaker); a command error is not. */
export function isCacheFailure(e: Error): boolean {
  return !(e.name === 'ReplyError' && /^(ERR|WRONGTYPE|NOSCRIPT)/.test(e.message));
}

/** Worth another attempt at once: refused, reset, a failover in progress. */
export function isCacheTransient(e: Error): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code)) return true;
  return /^(READONLY|LOADING|MASTERDOWN|TRYAGAIN)/.test(e.message) || /Connection is closed|Stream isn't writeable/.test(e.message);
}
