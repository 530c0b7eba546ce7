// The PostgreSQL disaster-recovery drill, declared on the runner: pg-ha archiving WAL to a
// pgBackRest repository host under live traffic; full, differential and incremental backups;
// the repository verified; a disaster (every node destroyed, or a mistaken DELETE); a restore
// into fresh containers (latest, or point in time); the restored cluster verified; measured: RTO
// to the app serving writes again, RPO from the ledger of acknowledged writes, each step's time,
// restore throughput against a raw copy; evidence for auditors.
import { declareEnvironment, defineWorkflow, observe, inject, steady, until, clientsRecovered, type MetricSpec } from '@resilience/runner';
import { DrillOptions, USAGE, imagesNeeded, type DrillOptionsT } from './options.ts';
import { drillEnvironment, type DrillEnv } from './environment.ts';
import { drillTraffic, rpoHypothesis } from './traffic.ts';
import { backup, change, corruptBackup, disaster, restore, takeManifest, thePrimary, verifyRepository, verifyRestored } from './steps.ts';

const METRICS: readonly MetricSpec[] = [
  { name: 'backup', unit: 'ms', description: 'a pgbackrest backup under load, by type: backup(full), backup(diff), backup(incr)' },
  { name: 'restore', unit: 'ms', description: 'pgbackrest restore into the new first node, before WAL replay' },
  { name: 'recovery', unit: 'ms', description: 'new containers started to the restored primary accepting writes (restore, WAL replay, promotion)' },
  { name: 'restoreMBps', unit: 'count', description: 'restore throughput in MB/s' },
  { name: 'rawCopyMBps', unit: 'count', description: 'a raw copy of the restored data directory on the same disk, MB/s' },
  { name: 'restoreRatio', unit: 'ratio', aggregate: 'min', description: 'restore throughput / raw copy throughput' },
  { name: 'rpo', unit: 'ms', description: 'acknowledged data lost, in time: the oldest lost write to the last write acknowledged before the disaster (or the point-in-time target); 0 when none was lost' },
  { name: 'pastTarget', unit: 'count', aggregate: 'sum', description: 'writes sent after the disaster or target that the restored cluster holds' },
  { name: 'discardedWrites', unit: 'count', aggregate: 'sum', description: 'writes acknowledged after a point-in-time target, absent as they must be' },
  { name: 'verificationFailures', unit: 'count', aggregate: 'sum', description: 'failed verification checks of the repository and the restored cluster' },
];

export const drill = defineWorkflow<DrillOptionsT, DrillEnv>({
  name: 'dr-drill',
  description: 'backs up pg-ha with pgBackRest under load, destroys it (or makes a bad change), restores into fresh containers, verifies the result and measures RTO and RPO',
  options: DrillOptions,
  usage: USAGE,
  metrics: METRICS,
  images: (o) => imagesNeeded(o),
  timeoutMs: (o) => o.timeout,
  environment: async (o, setup) => {
    const { env, teardown } = await drillEnvironment(o, setup);
    return declareEnvironment(env, teardown, async () => ({
      settings: { 'pg-ha': env.stack.pg.settings, app: env.stack.settings, drill: { disaster: o.disaster, sabotage: o.sabotage, data: o.data, dataRows: env.dataRows, processMax: o.processMax, archiveTimeoutS: env.archive.archiveTimeoutS } },
      versions: env.versions,
    }));
  },
  traffic: (env, o, t) => drillTraffic(env, o, t),
  schedule: (o) => [
    steady(o.steady),
    backup('full'),
    change(1),
    backup('diff'),
    change(2),
    backup('incr'),
    ...(o.sabotage === 'corrupt-backup' ? [corruptBackup] : []),
    verifyRepository,
    takeManifest,
    steady(o.steady),
    inject(disaster, thePrimary, { scope: 'postgres' }),
    restore,
    until(clientsRecovered('postgres')),
    verifyRestored,
    observe(Math.min(o.steady, 3000)),
  ],
  hypotheses: (o) => [
    { text: `rto <= ${o.rto}ms`, description: 'disaster to the app and every write probe succeeding for a full second on the restored cluster (--rto)' },
    { text: 'verificationFailures == 0', description: 'the repository and the restored cluster pass every check' },
    // Also each write probe's lossHypothesis (the same text, judged once): some loss is what
    // this drill expects, and the RPO is how much is acceptable.
    rpoHypothesis(o),
  ],
});
