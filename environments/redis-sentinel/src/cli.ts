// `nx run redis-sentinel:up|down`: bring the environment up to stay (kept by sweeps), print how to
// reach it, record it for `down`; and remove it again. Exit 2 on bad input or a setup error.
import { Engine, Labels, isResilienceError } from '@resilience/fixtures';
import { parseCli, USAGE } from './cli-args.ts';
import { removeEnvironments } from './down.ts';
import { PASSWORD_FILE } from './config.ts';
import { provision } from './provision.ts';
import type { RedisSentinel } from './redis-sentinel.ts';
import { STATE_FILE, readState, removeState, stateOf, writeState } from './state.ts';
import type { RedisSentinelSettings } from './options.ts';

const REDACTED = '<redacted: --show-secrets prints it>';

async function up(settings: RedisSentinelSettings, showSecrets: boolean): Promise<void> {
  const previous = readState();
  if (previous) {
    const engine = await Engine.connect();
    const alive = await engine.listContainers({ runId: previous.runId });
    if (alive.length > 0) {
      throw Object.assign(new Error(`redis-sentinel is already up (run ${previous.runId}, ${STATE_FILE}); run 'npx nx run redis-sentinel:down' first`), { exitCode: 2 });
    }
  }
  const { labels, ...rest } = settings;
  const env = await provision({ ...rest, labels: { ...labels, [Labels.keep]: 'true' } });
  try {
    writeState(stateOf(env));
    console.log(describe(env, showSecrets));
  } finally {
    env.release();
  }
}

function describe(env: RedisSentinel, showSecrets: boolean): string {
  const s = env.settings;
  const master = env.nodes[0];
  const first = env.sentinels[0];
  const secret = showSecrets ? env.password : REDACTED;
  const readPassword = `docker exec ${master?.container.name ?? ''} cat ${PASSWORD_FILE}`;
  const lines = [
    `redis-sentinel is up in ${(env.timings.total / 1000).toFixed(1)} s (run ${env.engine.run.runId}, network ${env.network})`,
    `  master name  ${s.masterName}; quorum ${s.quorum} of ${s.sentinels}; down-after ${s.downAfterMs} ms; failover-timeout ${s.failoverTimeoutMs} ms; min-replicas-to-write ${s.minReplicasToWrite}`,
    '  nodes (in-network address -> 127.0.0.1 port):',
    ...env.nodes.map((n, i) => `    ${n.address.padEnd(28)} -> 127.0.0.1:${n.hostPort}${i === 0 ? '  (master at start)' : ''}`),
    '  sentinels:',
    ...env.sentinels.map((n) => `    ${n.address.padEnd(28)} -> 127.0.0.1:${n.hostPort}`),
    `  password     ${secret}`,
    '',
    'Connect:',
    showSecrets ? `  export REDISCLI_AUTH='${env.password}'` : `  export REDISCLI_AUTH="$(${readPassword})"`,
    `  redis-cli -p ${first?.hostPort ?? ''} SENTINEL get-master-addr-by-name ${s.masterName}   # the current master, by in-network name`,
    `  redis-cli -p ${master?.hostPort ?? ''} INFO replication                       # a node through its published port`,
    `  docker exec -it ${master?.container.name ?? ''} sh -c 'REDISCLI_AUTH=$(cat ${PASSWORD_FILE}) exec redis-cli'   # inside the network`,
    '  ioredis (follows failovers): new Redis({ name, sentinels, password, sentinelPassword, natMap })',
    `    sentinels: ${JSON.stringify(env.sentinels.map((n) => ({ host: '127.0.0.1', port: n.hostPort })))}`,
    `    natMap:    ${JSON.stringify(env.natMap)}`,
    '',
    `Recorded in ${STATE_FILE}. Remove with: npx nx run redis-sentinel:down`,
  ];
  return lines.join('\n');
}

async function down(): Promise<void> {
  const state = readState();
  const engine = await Engine.connect();
  const removed = await removeEnvironments(engine, state ? { runId: state.runId } : {});
  removeState();
  const what = state ? `run ${state.runId}` : 'every kept redis-sentinel environment';
  if (removed.containers.length === 0 && removed.networks.length === 0) console.log(`Nothing to remove (${what}).`);
  else console.log(`Removed ${removed.containers.length} container(s) and ${removed.networks.length} network(s) of ${what}.`);
  if (removed.errors.length > 0) throw new AggregateError(removed.errors, removed.errors.map((e) => e.message).join('\n'));
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const cli = parseCli(argv);
    if (cli.command === 'help') {
      console.log(USAGE);
      return 0;
    }
    if (cli.command === 'up') await up(cli.settings, cli.showSecrets);
    else await down();
    return 0;
  } catch (e) {
    console.error(`redis-sentinel: ${(e as Error).message}`);
    if (!isResilienceError(e) && !(e as { exitCode?: number }).exitCode) console.error((e as Error).stack);
    // Bringing an environment up or down has no hypothesis to fail: every error is input or setup.
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
