// `up` and `down`: provision a kept environment and say how to reach it; remove it again by
// the run id in the state file, or every kept pg-ha of this project found by its labels.
import { Engine, Labels, PROJECT, SetupError, isProjectOwned } from '@resilience/fixtures';
import { provision, ENVIRONMENT, ENVIRONMENT_LABEL } from './provision.ts';
import { readState, removeState, stateFile, writeState } from './state.ts';
import type { PgHaOptionsInput } from './options.ts';
import type { PgHa, PgHaDescription } from './pg-ha.ts';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export async function up(options: PgHaOptionsInput, flags: { showSecrets: boolean; json: boolean }, io: Output): Promise<number> {
  const file = stateFile();
  const engine = await Engine.connect();
  const previous = readState(file);
  if (previous && (await engine.listContainers({ runId: previous.runId })).length > 0) {
    throw new SetupError(`pg-ha is already up (run ${previous.runId}, state in ${file})`, { hint: "Remove it first with 'npx nx run pg-ha:down'." });
  }
  if (!flags.json) io.err('Starting etcd, Patroni (PostgreSQL 15) and HAProxy...');
  const pg = await provision({ ...options, engine, keep: true });
  writeState({ environment: ENVIRONMENT, runId: pg.runId, createdAt: new Date().toISOString(), description: pg.describe({ showSecrets: true }) }, file);
  const shown = pg.describe({ showSecrets: flags.showSecrets });
  if (flags.json) {
    io.out(JSON.stringify(shown, null, 2));
    return 0;
  }
  for (const line of await summary(pg, shown, file, flags.showSecrets)) io.out(line);
  return 0;
}

async function summary(pg: PgHa, d: PgHaDescription, file: string, showSecrets: boolean): Promise<string[]> {
  const roles = new Map((await pg.members().catch(() => [])).map((m) => [m.name, `${m.role} (${m.state}, timeline ${m.timeline ?? '?'})`]));
  const t = d.timings;
  const s = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
  return [
    `pg-ha is up: run ${d.runId}, healthy in ${s(t['total'])} (etcd ${s(t['etcd'])}, containers ${s(t['containers'])}, leader ${s(t['leader'])}, replicas ${s(t['replicas'])}, HAProxy ${s(t['haproxy'])})`,
    '',
    `Leader (read-write) through HAProxy:   127.0.0.1:${d.leader.port}`,
    `  psql '${d.leader.url}'`,
    `Replicas (read-only) through HAProxy:  127.0.0.1:${d.replicas.port}`,
    `  psql '${d.replicas.url}'`,
    `Superuser:  psql '${d.superuser.url}'`,
    `HAProxy stats: ${d.stats}`,
    `From containers on network ${d.network}: ${d.internal.leaderUrl} (replicas: ${d.internal.replicaUrl})`,
    '',
    'Nodes:',
    ...d.nodes.map((n) => `  ${n.name}  ${roles.get(n.name) ?? 'unknown'}  postgres 127.0.0.1:${n.port}  patroni ${n.apiUrl}/cluster  container ${n.container}`),
    `etcd: ${d.etcd.join(', ')}`,
    `Patroni: ttl ${d.settings.ttl} s, loop_wait ${d.settings.loopWait} s, retry_timeout ${d.settings.retryTimeout} s, synchronous ${d.settings.synchronousStrict ? 'strict' : d.settings.synchronous}`,
    '',
    showSecrets ? `State (with passwords): ${file}` : `Passwords are hidden: run 'up' with --show-secrets, or read them from ${file} (mode 600).`,
    "Remove it with: npx nx run pg-ha:down",
  ];
}

export async function down(flags: { json: boolean }, io: Output): Promise<number> {
  const file = stateFile();
  const engine = await Engine.connect();
  const state = readState(file);
  const runIds = state ? [state.runId] : await keptRuns(engine, io);
  const removed = [];
  for (const runId of runIds) {
    const r = await engine.removeRun(runId);
    if (r.errors.length) throw new AggregateError(r.errors, `Removing pg-ha run ${runId} left ${r.errors.length} error(s): ${r.errors.map((e) => e.message).join('; ')}`);
    removed.push({ runId, containers: r.containers, networks: r.networks, volumes: r.volumes });
  }
  removeState(file);
  if (flags.json) io.out(JSON.stringify({ removed }, null, 2));
  else if (removed.length === 0) io.out('No pg-ha environment to remove.');
  else for (const r of removed) io.out(`Removed pg-ha run ${r.runId}: ${r.containers} containers, ${r.networks} networks, ${r.volumes} volumes.`);
  return 0;
}

/**
 * Runs that own a kept pg-ha container or network of this project and nothing else: a run that
 * also holds other containers (app-stack composes pg-ha into its own run) is left to its owner.
 */
async function keptRuns(engine: Engine, io: Output): Promise<string[]> {
  const label = [`${Labels.project}=${PROJECT}`, `${ENVIRONMENT_LABEL}=${ENVIRONMENT}`, `${Labels.keep}=true`];
  const containers = await engine.docker.listContainers({ all: true, filters: { label } });
  const networks = await engine.docker.listNetworks({ filters: { label } });
  const ids = new Set<string>();
  for (const labels of [...containers.map((c) => c.Labels), ...networks.map((n) => n.Labels ?? {})]) {
    if (isProjectOwned(labels)) ids.add(labels[Labels.runId]!);
  }
  const own: string[] = [];
  for (const runId of [...ids].sort()) {
    const others = (await engine.listContainers({ runId })).filter((c) => c.Labels[ENVIRONMENT_LABEL] !== ENVIRONMENT);
    if (others.length) io.err(`Leaving run ${runId}: it also holds ${others.map((c) => c.Names[0]?.replace(/^\//, '')).join(', ')} (remove it with its own 'down').`);
    else own.push(runId);
  }
  return own;
}
