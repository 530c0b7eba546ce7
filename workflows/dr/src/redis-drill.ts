// The Redis persistence drill, declared on the runner: one Redis with RDB and AOF (appendfsync
// everysec) under live writes; a backup of its persistence files (BGSAVE completed, then the RDB
// and the AOF directory copied from the live volume); the disaster (the server SIGKILLed and
// removed with its volume); a restore from the files into a new volume and a new server;
// verified by which file Redis loaded, a key digest of everything acknowledged before the copy,
// and the measured loss window; RTO to writes succeeding again; evidence for auditors.
import { declareEnvironment, defineWorkflow, inject, observe, steady, until, clientsRecovered, type MetricSpec } from '@resilience/runner';
import { RedisDrillOptions, REDIS_USAGE, imagesNeeded, type RedisDrillOptionsT } from './redis-options.ts';
import { PERSISTENCE, redisDrillEnvironment, type RedisDrillEnv } from './redis-environment.ts';
import { lossWindowHypothesis, redisDrillTraffic } from './redis-traffic.ts';
import { backupFiles, disaster, restore, theServer, verifyRestored } from './redis-steps.ts';

const METRICS: readonly MetricSpec[] = [
  { name: 'bgsave', unit: 'ms', description: 'BGSAVE under load to the save seen done' },
  { name: 'copy', unit: 'ms', description: 'the copy of the RDB and the AOF directory from the live volume into the backup volume' },
  { name: 'backupBytes', unit: 'bytes', description: 'size of the backup (every file copied)' },
  { name: 'restoreFill', unit: 'ms', description: 'the backup copied into the new volume' },
  { name: 'restoreTotal', unit: 'ms', description: 'restore begun to the restored Redis answering' },
  { name: 'serverReady', unit: 'ms', description: 'restored container started to Redis answering (loading included)' },
  { name: 'lossWindow', unit: 'ms', description: 'the copy\'s start back to the oldest acknowledged write missing after the restore; 0 when none is missing' },
  { name: 'lostBeforeCopy', unit: 'count', aggregate: 'sum', description: 'writes acknowledged before the copy began and missing after the restore' },
  { name: 'lostAfterCopy', unit: 'count', aggregate: 'sum', description: 'writes sent between the copy and the disaster, missing as expected (newer than the backup)' },
  { name: 'capturedDuringCopy', unit: 'count', aggregate: 'sum', description: 'writes sent after the copy began that it still caught' },
  { name: 'verificationFailures', unit: 'count', aggregate: 'sum', description: 'failed verification checks of the backup and the restored Redis' },
];

export const redisDrill = defineWorkflow<RedisDrillOptionsT, RedisDrillEnv>({
  name: 'dr-redis-drill',
  description: 'backs up a Redis with RDB and AOF (appendfsync everysec) under load, destroys the server and its volume, restores from the files, verifies which file was loaded and a key digest, and measures the loss window and RTO',
  options: RedisDrillOptions,
  usage: REDIS_USAGE,
  metrics: METRICS,
  images: (o) => imagesNeeded(o),
  timeoutMs: (o) => o.timeout,
  environment: async (o, setup) => {
    const { env, teardown } = await redisDrillEnvironment(o, setup);
    return declareEnvironment(env, teardown, async () => ({
      settings: { redis: { image: o.image, imageTag: env.imageTag, keys: o.keys, persistence: PERSISTENCE, auth: 'requirepass (random per run, not recorded)' } },
      versions: env.versions,
    }));
  },
  traffic: (env, o, t) => redisDrillTraffic(env, o, t),
  schedule: (o) => [
    steady(o.steady),
    backupFiles,
    inject(disaster, theServer, { scope: 'redis' }),
    restore,
    until(clientsRecovered('redis')),
    verifyRestored,
    observe(Math.min(o.steady, 2000)),
  ],
  hypotheses: (o) => [
    { text: `rto <= ${o.rto}ms`, description: 'the disaster to every write succeeding for a full second on the restored Redis (--rto)' },
    { text: 'verificationFailures == 0', description: 'the backup is complete, the restored files match it, Redis loaded the AOF with the same settings, and the key digest matches' },
    // Also the write probe's lossHypothesis (the same text, judged once).
    lossWindowHypothesis(o),
  ],
});
