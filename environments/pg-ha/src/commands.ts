// `up` and `down`: provision a kept environment and say how to reach it; remove it again by
// the run id in the state file, or every kept pg-ha of this project found by its labels.
import { Engine, SetupError, downEnvironment, type Output } from '@resilience/fixtures';
import { provision, ENVIRONMENT } from './provision.ts';
import { pgHaStateFile } from './state.ts';
import type { PgHaOptionsInput } from './options.ts';
import { DEFAULT_IMAGE, PG_IMAGES } from './image.ts';
import type { PgHa, PgHaDescription } from './pg-ha.ts';

export type { Output };

export async function up(options: PgHaOptionsInput, flags: { showSecrets: boolean; json: boolean }, io: Output): Promise<number> {
  const state = pgHaStateFile();
  const file = state.path;
  const engine = await Engine.connect();
  const previous = state.read();
  if (previous && (await engine.listContainers({ runId: previous.runId })).length > 0) {
    throw new SetupError(`pg-ha is already up (run ${previous.runId}, state in ${file})`, { hint: "Remove it first with 'npx nx run pg-ha:down'." });
  }
  const image = PG_IMAGES[options.image ?? DEFAULT_IMAGE];
  if (!flags.json) io.err(`Starting etcd, Patroni (PostgreSQL ${image.postgresMajor}, image ${image.tag}) and HAProxy...`);
  const pg = await provision({ ...options, engine, keep: true });
  state.write({ environment: ENVIRONMENT, runId: pg.runId, createdAt: new Date().toISOString(), description: pg.describe({ showSecrets: true }) });
  const shown = pg.describe({ showSecrets: flags.showSecrets });
  if (flags.json) {
    io.out(JSON.stringify(shown, null, 2));
    return 0;
  }
  for (const line of await summary(pg, shown, file, flags.showSecrets)) io.out(line);
  return 0;
}

async function summary(pg: PgHa, d: PgHaDescription, file: string, showSecrets: boolean): Promise<string[]> {
  const roles = new Map((await pg.members().catch(() => [])).map((m) => [m.name, `${m.role === 'leader' ? 'primary' : m.role} (${m.state}, timeline ${m.timeline ?? '?'})`]));
  const t = d.timings;
  const s = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
  return [
    `pg-ha is up: run ${d.runId}, healthy in ${s(t['total'])} (etcd ${s(t['etcd'])}, containers ${s(t['containers'])}, primary ${s(t['primary'])}, replicas ${s(t['replicas'])}, HAProxy ${s(t['haproxy'])})`,
    '',
    `Primary (read-write) through HAProxy:  127.0.0.1:${d.primary.port}`,
    `  psql '${d.primary.url}'`,
    `Replicas (read-only) through HAProxy:  127.0.0.1:${d.replicas.port}`,
    `  psql '${d.replicas.url}'`,
    `Superuser:  psql '${d.superuser.url}'`,
    `HAProxy stats: ${d.stats}`,
    `From containers on network ${d.network}: ${d.internal.primaryUrl} (replicas: ${d.internal.replicaUrl})`,
    '',
    'Nodes:',
    ...d.nodes.map((n) => `  ${n.name}  ${roles.get(n.name) ?? 'unknown'}  postgres 127.0.0.1:${n.port}  patroni ${n.apiUrl}/cluster  container ${n.container}`),
    `etcd: ${d.etcd.join(', ')}`,
    `Image: ${d.settings.imageTag} (${d.settings.image}, PostgreSQL ${d.settings.postgresMajor})`,
    `Patroni: ttl ${d.settings.ttl} s, loop_wait ${d.settings.loopWait} s, retry_timeout ${d.settings.retryTimeout} s, sync ${d.settings.syncStrict ? 'strict' : d.settings.sync ? 'on' : 'off'}, failsafe_mode ${d.settings.failsafeMode ? 'on' : 'off'}`,
    '',
    showSecrets ? `State (with passwords): ${file}` : `Passwords are hidden: run 'up' with --show-secrets, or read them from ${file} (mode 600).`,
    "Remove it with: npx nx run pg-ha:down",
  ];
}

/** The environments a pg-ha run is made of; a run that holds anything else is left alone. */
const PARTS: ReadonlySet<string> = new Set([ENVIRONMENT]);

export async function down(flags: { json: boolean }, io: Output): Promise<number> {
  return downEnvironment(ENVIRONMENT, PARTS, pgHaStateFile(), flags, io);
}
