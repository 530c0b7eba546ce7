// The Redis drill's traffic for its whole length: a SET of a new key every interval on the
// server's 127.0.0.1 port (the same port before and after the restore, so the probe's client
// reconnects by itself); each acknowledged write is kept in the drill's ledger with its
// wall-clock times, and its loss is judged by the measured loss window, not by losing nothing.
import { readRedisIds, redisWriteProbe } from '@resilience/fixtures';
import type { Traffic, TrafficContext } from '@resilience/runner';
import { AckLedger } from './ledger.ts';
import { WRITE_PREFIX, adminClient, type RedisDrillEnv } from './redis-environment.ts';
import type { RedisDrillOptionsT } from './redis-options.ts';

/** Ids (key names without the prefix) of the probe's keys on the current server. */
export async function readWriteIds(env: RedisDrillEnv): Promise<Set<string>> {
  const c = adminClient(env.clientOptions());
  try {
    await c.connect();
    return await readRedisIds(c, WRITE_PREFIX);
  } finally {
    c.disconnect();
  }
}

/** The loss-window target, which judges the write probe's lost writes in place of `lostWrites == 0`. */
export function lossWindowHypothesis(o: Pick<RedisDrillOptionsT, 'lossWindow'>): { text: string; description: string } {
  return { text: `lossWindow <= ${o.lossWindow}ms`, description: 'acknowledged writes lost, as the time from the copy of the persistence files back to the oldest acknowledged write missing after the restore (--loss-window)' };
}

export function redisDrillTraffic(env: RedisDrillEnv, o: RedisDrillOptionsT, t: TrafficContext): Traffic[] {
  const ledger = new AckLedger(t.now);
  env.ledger = ledger;
  const probe = redisWriteProbe({ name: t.name('redis-write'), intervalMs: o.interval, timeoutMs: 1000, now: t.now, redis: env.clientOptions(), prefix: WRITE_PREFIX, nodeOf: () => env.server.name });
  const unfollow = ledger.follow(probe);
  return [{
    probe,
    scopes: ['redis'],
    lossHypothesis: lossWindowHypothesis(o),
    verify: { store: `keys ${WRITE_PREFIX}* (SCAN) on the restored Redis`, readBack: () => readWriteIds(env) },
    close: () => unfollow(),
  }];
}
