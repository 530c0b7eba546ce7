// Faults inside the app's own code, behind the APP_FAULTS flag: the database and cache calls are
// wrapped by a seeded ChaosMonkey (@resilience/fixtures/faulty), so an exception, a delay, or a
// corrupted cache read happens with the configured probability, and a seed replays a run. Off by
// default; with it off the calls are the plain ones.
import { ChaosMonkey, type FaultStats } from '@resilience/fixtures/faulty';
import type { Cache } from './cache.ts';
import type { FaultConfig } from './config.ts';
import type { Database } from './db.ts';
import type { Logger } from './log.ts';

export interface Faults {
  readonly db: Database | undefined;
  readonly cache: Cache | undefined;
  /** Faults drawn so far, per wrapped call (`db.insertOrder`, `cache.get`, ...). */
  stats(): Record<string, FaultStats>;
}

/** Flips, drops or appends characters of a cached value: what a torn or stale write looks like. */
export function corruptText(value: string | null, random: () => number): string | null {
  if (value === null) return null;
  const at = Math.floor(random() * Math.max(1, value.length));
  switch (Math.floor(random() * 3)) {
    case 0: return value.slice(0, at); // truncated
    case 1: { // one character changed (never to itself)
      const old = value.charCodeAt(at);
      let next = 33 + Math.floor(random() * 90);
      if (next === old) next = next === 122 ? 33 : next + 1;
      return value.slice(0, at) + String.fromCharCode(next) + value.slice(at + 1);
    }
    default: return value + '}'; // trailing garbage
  }
}

export function withFaults(db: Database | undefined, cache: Cache | undefined, config: FaultConfig | undefined, log: Logger): Faults {
  if (!config) return { db, cache, stats: () => ({}) };
  const monkey = new ChaosMonkey({ seed: config.seed, probability: config.probability });
  const throws = config.kinds.includes('exception');
  const delay = config.kinds.includes('delay') ? config.delayMs : undefined;
  const common = { ...(throws ? { exception: true as const } : {}), ...(delay ? { delay } : {}) };
  const onFault = (name: string) => (fault: string, call: number) => log('debug', 'fault injected', { call: name, fault, n: call });
  const has = Object.keys(common).length > 0;
  const wrappedDb: Database | undefined = db && has ? {
    ...db,
    target: db.target,
    insertOrder: monkey.wrap('db.insertOrder', db.insertOrder.bind(db), { ...common, onFault: onFault('db.insertOrder') }),
    findOrder: monkey.wrap('db.findOrder', db.findOrder.bind(db), { ...common, onFault: onFault('db.findOrder') }),
    listOrders: monkey.wrap('db.listOrders', db.listOrders.bind(db), { ...common, onFault: onFault('db.listOrders') }),
    updateQuantity: monkey.wrap('db.updateQuantity', db.updateQuantity.bind(db), { ...common, onFault: onFault('db.updateQuantity') }),
  } : db;
  const corrupt = config.kinds.includes('corrupt');
  const wrappedCache: Cache | undefined = cache && (has || corrupt) ? {
    ...cache,
    target: cache.target,
    reconnect: cache.reconnect.bind(cache),
    get: monkey.wrap('cache.get', cache.get.bind(cache), { ...common, ...(corrupt ? { corrupt: corruptText } : {}), onFault: onFault('cache.get') }),
    ...(has ? {
      set: monkey.wrap('cache.set', cache.set.bind(cache), { ...common, onFault: onFault('cache.set') }),
      del: monkey.wrap('cache.del', cache.del.bind(cache), { ...common, onFault: onFault('cache.del') }),
    } : {}),
  } : cache;
  log('warn', 'fault injection on', { kinds: config.kinds, probability: config.probability, seed: config.seed, delayMs: config.delayMs });
  return { db: wrappedDb, cache: wrappedCache, stats: () => monkey.stats() };
}
