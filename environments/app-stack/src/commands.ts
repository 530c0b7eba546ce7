// `up` and `down`: provision a kept app-stack and say how to reach each part; remove it again
// by the run id in the state file, or every kept app-stack of this project found by its labels.
import { Engine, SetupError, downEnvironment, type Output } from '@resilience/fixtures';
import { PASSWORD_FILE } from '@resilience/redis-sentinel';
import { provision, type AppStack, type AppStackDescription } from './app-stack.ts';
import { ENVIRONMENT } from './app.ts';
import type { AppStackOptionsInput } from './options.ts';
import { appStackStateFile } from './state.ts';

export type { Output };

export async function up(options: AppStackOptionsInput, flags: { showSecrets: boolean; json: boolean }, io: Output): Promise<number> {
  const state = appStackStateFile();
  const file = state.path;
  const engine = await Engine.connect();
  const previous = state.read();
  if (previous && (await engine.listContainers({ runId: previous.runId })).length > 0) {
    throw new SetupError(`app-stack is already up (run ${previous.runId}, state in ${file})`, { hint: "Remove it first with 'npx nx run app-stack:down'." });
  }
  if (!flags.json) io.err('Starting pg-ha (etcd, Patroni, HAProxy) and redis-sentinel in parallel, then the app...');
  const stack = await provision({ ...options, engine, keep: true });
  try {
    state.write({ environment: ENVIRONMENT, runId: stack.runId, createdAt: new Date().toISOString(), description: stack.describe({ showSecrets: true }) });
    const shown = stack.describe({ showSecrets: flags.showSecrets });
    if (flags.json) io.out(JSON.stringify(shown, null, 2));
    else for (const line of await summary(stack, shown, file, flags.showSecrets)) io.out(line);
  } finally {
    // The containers stay; only this process's Redis connections close.
    stack.redis.release();
  }
  return 0;
}

const seconds = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`;

async function summary(stack: AppStack, d: AppStackDescription, file: string, showSecrets: boolean): Promise<string[]> {
  const [members, redisPrimary] = await Promise.all([
    stack.pg.members().catch(() => []),
    stack.redis.primary().catch(() => undefined),
  ]);
  const roles = new Map(members.map((m) => [m.name, `${m.role === 'leader' ? 'primary' : m.role} (${m.state})`]));
  const t = d.timings;
  const app = d.apps[0]!;
  const auth = showSecrets
    ? `export REDISCLI_AUTH='${d.redis.password}'`
    : `export REDISCLI_AUTH="$(docker exec ${d.redis.nodes[0]!.container} cat ${PASSWORD_FILE})"`;
  const sync = d.pg.settings.syncStrict ? 'strict' : d.pg.settings.sync ? 'on' : 'off';
  return [
    `app-stack is up: run ${d.runId}, healthy in ${seconds(t['total'])} (network ${seconds(t['network'])}; pg-ha ${seconds(t['pg-ha'])} and redis-sentinel ${seconds(t['redis-sentinel'])} in parallel; app ${seconds(t['app'])})`,
    `Network: ${d.network}`,
    '',
    `App (${d.settings.mode}, ${d.apps.length} instance${d.apps.length > 1 ? 's' : ''}):`,
    ...d.apps.map((a) => `  ${a.name}  ${a.url}  (container ${a.container})`),
    `  curl -s -X POST ${app.url}/orders -H 'content-type: application/json' -d '{"item":"book","quantity":1}'`,
    `  curl -s ${app.url}/orders/<id>     curl -s ${app.url}/health     curl -s ${app.url}/metrics`,
    `  The app reaches the database at ${d.appDatabaseUrl} and Redis through the Sentinels ${d.redis.sentinels.map((s) => s.address).join(', ')}.`,
    '',
    `PostgreSQL ${d.pg.settings.postgresMajor} (pg-ha on ${d.pg.settings.imageTag}: Patroni ttl ${d.pg.settings.ttl} s, loop_wait ${d.pg.settings.loopWait} s, sync ${sync}):`,
    `  primary (read-write) through HAProxy, 127.0.0.1:${d.pg.primary.port}:  psql '${d.pg.primary.url}'`,
    `  replicas (read-only) through HAProxy, 127.0.0.1:${d.pg.replicas.port}: psql '${d.pg.replicas.url}'`,
    `  superuser:  psql '${d.pg.superuser.url}'`,
    ...d.pg.nodes.map((n) => `  ${n.name}  ${roles.get(n.name) ?? 'unknown'}  postgres 127.0.0.1:${n.port}  patroni ${n.apiUrl}/cluster`),
    `  HAProxy stats: ${d.pg.stats}`,
    '',
    `Redis ${d.redis.settings['redisMajor'] as number} (redis-sentinel on ${d.redis.settings['imageTag'] as string}: master name ${d.redis.masterName}, quorum ${String(d.redis.settings['quorum'])} of ${d.redis.sentinels.length}):`,
    `  ${auth}`,
    ...d.redis.nodes.map((n) => `  ${n.address.padEnd(24)} redis-cli -p ${n.hostPort}${redisPrimary?.name === n.name ? '   (primary)' : ''}`),
    ...d.redis.sentinels.map((s) => `  ${s.address.padEnd(24)} redis-cli -p ${s.hostPort} SENTINEL get-master-addr-by-name ${d.redis.masterName}`),
    '  The Sentinels name the master by its in-network address; the list above maps each address to its 127.0.0.1 port.',
    '',
    showSecrets ? `State (with passwords): ${file}` : `Passwords are hidden: run 'up' with --show-secrets, or read them from ${file} (mode 600).`,
    'Remove it with: npx nx run app-stack:down',
  ];
}

/** The environments a app-stack run is made of; a run that holds anything else is left alone. */
const PARTS: ReadonlySet<string> = new Set([ENVIRONMENT, 'pg-ha', 'redis-sentinel']);

export async function down(flags: { json: boolean }, io: Output): Promise<number> {
  return downEnvironment(ENVIRONMENT, PARTS, appStackStateFile(), flags, io);
}
