// `up` and `down`: provision a kept environment and say how to reach it; remove it again by the
// run id in the state file, or every kept redis-sentinel of this project found by its labels
// (a run that also holds something else, such as an app-stack, is left to its own `down`).
import { Engine, Labels, SetupError, downEnvironment, type Output } from '@resilience/fixtures';
import { PASSWORD_FILE } from './config.ts';
import type { RedisSentinelOptions } from './options.ts';
import { DEFAULT_IMAGE } from './image.ts';
import { provision } from './provision.ts';
import { ENVIRONMENT, type RedisSentinel, type RedisSentinelDescription } from './redis-sentinel.ts';
import { redisSentinelStateFile } from './state.ts';

export type { Output };

export async function up(options: RedisSentinelOptions, flags: { showSecrets: boolean; json: boolean }, io: Output): Promise<number> {
  const state = redisSentinelStateFile();
  const file = state.path;
  const engine = await Engine.connect();
  const previous = state.read();
  if (previous && (await engine.listContainers({ runId: previous.runId })).length > 0) {
    throw new SetupError(`redis-sentinel is already up (run ${previous.runId}, state in ${file})`, { hint: "Remove it first with 'npx nx run redis-sentinel:down'." });
  }
  if (!flags.json) io.err(`Starting Redis (master and replicas) and the Sentinels (image ${options.image ?? DEFAULT_IMAGE})...`);
  const env = await provision({ ...options, engine, labels: { ...options.labels, [Labels.keep]: 'true' } });
  try {
    state.write({ environment: ENVIRONMENT, runId: env.runId, createdAt: new Date().toISOString(), description: env.describe({ showSecrets: true }) });
    const shown = env.describe({ showSecrets: flags.showSecrets });
    if (flags.json) io.out(JSON.stringify(shown, null, 2));
    else for (const line of summary(env, shown, file, flags.showSecrets)) io.out(line);
  } finally {
    // The containers stay; only this process's connections close.
    env.release();
  }
  return 0;
}

function summary(env: RedisSentinel, d: RedisSentinelDescription, file: string, showSecrets: boolean): string[] {
  const s = env.settings;
  const first = d.nodes[0];
  const sentinel = d.sentinels[0];
  const readPassword = `docker exec ${first?.container ?? ''} cat ${PASSWORD_FILE}`;
  return [
    `redis-sentinel is up in ${(env.timings.total / 1000).toFixed(1)} s (run ${d.runId}, network ${d.network})`,
    `  image        ${s.imageTag} (${s.image}, Redis ${s.redisMajor})`,
    `  master name  ${s.masterName}; quorum ${s.quorum} of ${s.sentinels}; down-after ${s.downAfterMs} ms; failover-timeout ${s.failoverTimeoutMs} ms; min-replicas-to-write ${s.minReplicasToWrite}`,
    '  nodes (in-network address -> 127.0.0.1 port):',
    ...d.nodes.map((n, i) => `    ${n.address.padEnd(28)} -> 127.0.0.1:${n.hostPort}${i === 0 ? '  (primary at start)' : ''}`),
    '  sentinels:',
    ...d.sentinels.map((n) => `    ${n.address.padEnd(28)} -> 127.0.0.1:${n.hostPort}`),
    `  password     ${showSecrets ? d.password : '<redacted: --show-secrets prints it>'}`,
    '',
    'Connect:',
    showSecrets ? `  export REDISCLI_AUTH='${d.password}'` : `  export REDISCLI_AUTH="$(${readPassword})"`,
    `  redis-cli -p ${sentinel?.hostPort ?? ''} SENTINEL get-master-addr-by-name ${s.masterName}   # the current primary, by in-network name`,
    `  redis-cli -p ${first?.hostPort ?? ''} INFO replication                       # a node through its published port`,
    `  docker exec -it ${first?.container ?? ''} sh -c 'REDISCLI_AUTH=$(cat ${PASSWORD_FILE}) exec redis-cli'   # inside the network`,
    '  ioredis (follows failovers): new Redis({ name, sentinels, password, sentinelPassword, natMap })',
    `    sentinels: ${JSON.stringify(d.sentinels.map((n) => ({ host: '127.0.0.1', port: n.hostPort })))}`,
    `    natMap:    ${JSON.stringify(env.natMap)}`,
    '',
    showSecrets ? `State (with the password): ${file}` : `The password is hidden: run 'up' with --show-secrets, or read it from ${file} (mode 600).`,
    'Remove it with: npx nx run redis-sentinel:down',
  ];
}

/** The environments a redis-sentinel run is made of; a run that holds anything else is left alone. */
const PARTS: ReadonlySet<string> = new Set([ENVIRONMENT]);

export async function down(flags: { json: boolean }, io: Output): Promise<number> {
  return downEnvironment(ENVIRONMENT, PARTS, redisSentinelStateFile(), flags, io);
}
