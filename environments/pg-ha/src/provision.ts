// Brings up the cluster fast: etcd first (Patroni needs its DCS), then every Patroni node and
// HAProxy at once; waits for a primary, for every replica streaming with no lag, and for
// HAProxy to route both ports. Each step is timed. A failure removes what was created.
import { performance } from 'node:perf_hooks';
import { Engine, InvalidArgumentError, Labels, SetupError, requireImage, statusOf, waitFor, type ContainerHandle, type ContainerSpec, type NetworkHandle, ENVIRONMENT_LABEL } from '@resilience/fixtures';
import { parseOptions, type PgHaOptionsInput, type PgHaSettings } from './options.ts';
import { PORTS, ROLES, topology, type Topology } from './topology.ts';
import { PATHS, SECRETS_FILE, etcdCommand, etcdctlCommand, renderHaproxyConfig, renderPatroniConfig, renderPostBootstrap, renderSecretsFile, writeAndExec, type BackupExtras } from './config.ts';
import { BACKUP_PATHS, checkArchiveConfig, checkRestoreBootstrap, nodeBackupFiles, type ArchiveConfig, type RestoreBootstrap } from './backup.ts';
import { APP_DATABASE, generateCredentials, postgresUrl, type Credentials } from './secrets.ts';
import { PgHa, type PgNode } from './pg-ha.ts';
import { getJson } from './patroni-api.ts';
import { queryOnce } from './sql.ts';

/** Label on every object of a pg-ha environment, so `down` can find kept ones without a state file. */
export { ENVIRONMENT_LABEL };
export const ENVIRONMENT = 'pg-ha';

export interface ProvisionOptions extends PgHaOptionsInput {
  /** The engine (and so the run) to create objects in; default: a new connection and run. */
  readonly engine?: Engine;
  /** Label everything to stay (`up`): sweeps of dead runs leave it. */
  readonly keep?: boolean;
  /** Longest wait for the cluster to become healthy and routed (default 90 000 ms). */
  readonly timeoutMs?: number;
  /** Ends provisioning (and removes what it started) at once. */
  readonly signal?: AbortSignal;
  /** The run's clock (ms, monotonic): every time the handle returns is on it. Default performance.now(). */
  readonly now?: () => number;
  /** Archive WAL with pgBackRest to a repository host (see startBackupRepo); every node also runs `pgbackrest server`. */
  readonly archive?: ArchiveConfig;
}

export async function provision(options: ProvisionOptions = {}): Promise<PgHa> {
  const { engine: given, keep, timeoutMs = 90_000, signal, now = () => performance.now(), archive, ...rest } = options;
  const settings = parseOptions(rest);
  if (archive !== undefined) checkArchiveConfig(archive);
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new InvalidArgumentError('timeoutMs', timeoutMs, 'a positive number of milliseconds');
  if (keep !== undefined && typeof keep !== 'boolean') throw new InvalidArgumentError('keep', keep, 'true or false');
  if (typeof now !== 'function') throw new InvalidArgumentError('now', now, 'a function returning the run clock in ms');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', signal, 'an AbortSignal');
  signal?.throwIfAborted();

  const timings: Record<string, number> = {};
  const start = now();
  let last = start;
  const mark = (step: string) => {
    const t = now();
    timings[step] = Math.round(t - last);
    last = t;
  };

  const engine = given ?? (await Engine.connect(signal ? { signal } : {}));
  await requireImage(engine, settings.imageTag);
  const existing = settings.network ? await existingNetwork(engine, settings.network) : undefined;
  mark('engine');

  const topo = topology(settings);
  const credentials = generateCredentials();
  const labels = { [ENVIRONMENT_LABEL]: ENVIRONMENT, ...(keep ? { [Labels.keep]: 'true' } : {}) };
  const created: ContainerHandle[] = [];
  let createdNetwork: NetworkHandle | undefined;
  const startTracked = async (spec: ContainerSpec): Promise<ContainerHandle> => {
    const c = await engine.startContainer({ ...spec, labels }, signal);
    created.push(c);
    return c;
  };
  const deadline = performance.now() + timeoutMs;
  const remaining = () => Math.max(1, Math.round(deadline - performance.now()));

  try {
    createdNetwork = existing ? undefined : await engine.createNetwork(topo.networkName, { labels, ...(signal ? { signal } : {}) });
    const network = existing ?? createdNetwork!.name;
    mark('network');

    const token = `${topo.scope}-${engine.run.runId}`;
    const etcd = await allTracked(topo.etcd.map((member) => startTracked({
      image: settings.imageTag,
      name: member.alias,
      role: ROLES.etcd,
      user: 'etcd',
      ports: [PORTS.etcdClient],
      networks: [{ network, aliases: [member.alias] }],
      cmd: etcdCommand(topo, member, token),
    })));
    const etcdPorts = await Promise.all(etcd.map((c) => c.hostPort(PORTS.etcdClient)));
    await waitFor(async () => {
      const answers = await Promise.all(etcdPorts.map((p) => getJson(`http://127.0.0.1:${p}/health`, 500).catch(() => undefined)));
      return answers.every((a) => a?.status === 200 && (a.body as { health?: string }).health === 'true');
    }, { what: 'etcd to report healthy', timeoutMs: Math.min(30_000, remaining()), intervalMs: 50, ...(signal ? { signal } : {}) });
    mark('etcd');

    const [haproxy, ...pgContainers] = await allTracked([
      startTracked(haproxySpec(settings, topo, network)),
      ...topo.nodes.map((n) => startTracked(patroniSpec(settings, topo, n, network, credentials, { archive }))),
    ]);
    mark('containers');

    const nodes = await pgNodes(topo, pgContainers, credentials);
    const ports = {
      primary: await haproxy!.hostPort(PORTS.haproxyPrimary),
      replicas: await haproxy!.hostPort(PORTS.haproxyReplicas),
      stats: await haproxy!.hostPort(PORTS.haproxyStats),
    };
    const cluster = new PgHa({
      engine,
      settings,
      topology: topo,
      network,
      createdNetwork,
      nodes,
      etcd,
      haproxy: haproxy!,
      ports,
      credentials,
      primaryUrl: postgresUrl(credentials.app, '127.0.0.1', ports.primary, APP_DATABASE),
      replicaUrl: postgresUrl(credentials.app, '127.0.0.1', ports.replicas, APP_DATABASE),
      superuserUrl: postgresUrl(credentials.superuser, '127.0.0.1', ports.primary, 'postgres'),
      internal: {
        primaryUrl: postgresUrl(credentials.app, topo.haproxy.alias, PORTS.haproxyPrimary, APP_DATABASE),
        replicaUrl: postgresUrl(credentials.app, topo.haproxy.alias, PORTS.haproxyReplicas, APP_DATABASE),
      },
      timings,
      now,
      ...(archive ? { archive } : {}),
    });
    await cluster.refreshAddresses();

    await waitFor(() => cluster.primary(signal ? { signal } : {}).catch(() => undefined), { what: 'Patroni to elect a primary', timeoutMs: remaining(), intervalMs: 100, ...(signal ? { signal } : {}) });
    mark('primary');
    await cluster.waitHealthy({ timeoutMs: remaining(), ...(signal ? { signal } : {}) });
    mark('replicas');
    // The app user is created by the post-bootstrap script; a query through each HAProxy port
    // proves the user, the routing and the health checks at once.
    await waitRouted(cluster.primaryUrl, false, 'HAProxy to route the primary port', remaining(), signal);
    await waitRouted(cluster.replicaUrl, true, 'HAProxy to route the replica port', remaining(), signal);
    mark('haproxy');
    timings['total'] = Math.round(now() - start);
    return cluster;
  } catch (cause) {
    // Aborted: no logs to read, only what was started to remove.
    const logs = signal?.aborted ? '' : await diagnostics(created, credentials);
    await Promise.allSettled(created.map((c) => c.remove()));
    await createdNetwork?.remove().catch(() => undefined);
    if (signal?.aborted) throw signal.reason;
    if (cause instanceof InvalidArgumentError || cause instanceof SetupError) throw cause;
    throw new SetupError(`pg-ha did not come up: ${(cause as Error)?.message ?? String(cause)}`, { cause, ...(logs ? { hint: logs } : {}) });
  }
}

async function pgNodes(topo: Topology, containers: readonly ContainerHandle[], credentials: Credentials): Promise<PgNode[]> {
  return Promise.all(topo.nodes.map(async (n, i): Promise<PgNode> => {
    const container = containers[i]!;
    const [port, apiPort] = await Promise.all([container.hostPort(PORTS.postgres), container.hostPort(PORTS.patroniApi)]);
    return {
      name: n.member,
      alias: n.alias,
      container,
      port,
      apiPort,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      url: postgresUrl(credentials.app, '127.0.0.1', port, APP_DATABASE),
      superuserUrl: postgresUrl(credentials.superuser, '127.0.0.1', port, 'postgres'),
    };
  }));
}

/** What Patroni logs when a bootstrap (a restore, here) failed. */
const BOOTSTRAP_FAILED = /removing initialize key after failed attempt to bootstrap the cluster|custom bootstrap failed|Exception during custom bootstrap/;

export interface RestoreNodesOptions {
  /** How the new cluster's first node gets its data: pgBackRest's restore of the latest state or of a point in time. */
  readonly restore: RestoreBootstrap;
  /** Longest wait for the restored cluster to be healthy and routed (default 600 000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called as each step ends: `dcs` (old cluster state removed), `containers`, `primary` (restore and recovery done), `replicas`, `haproxy`. */
  readonly onStep?: (step: string, at: number) => void;
}

/**
 * A new cluster in place of `cluster`, whose PostgreSQL nodes are gone (removed by a disaster):
 * the cluster's state is removed from etcd (Patroni's `remove`), new nodes with the same names
 * and aliases start, the first to bootstrap restores from the pgBackRest repository, the others
 * copy it, and HAProxy (which resolves the aliases) routes to them. Returns a handle on the
 * same etcd, HAProxy and network; credentials are the old ones (the restored roles' own).
 */
export async function restoreNodes(cluster: PgHa, options: RestoreNodesOptions): Promise<PgHa> {
  const { restore, timeoutMs = 600_000, signal, onStep } = options;
  const archive = cluster.archive;
  if (!archive) throw new InvalidArgumentError('cluster', cluster.topology.scope, 'a cluster provisioned with `archive` (the restore reads its repository)');
  checkRestoreBootstrap(restore);
  const { engine, settings, topology: topo, credentials } = cluster;
  const deadline = performance.now() + timeoutMs;
  const remaining = () => Math.max(1, Math.round(deadline - performance.now()));
  const step = (name: string) => onStep?.(name, cluster.now());
  for (const n of cluster.nodes) {
    const state = await n.container.inspect().then((i) => i.State?.Status ?? 'unknown', (e: unknown) => (statusOf(e) === 404 ? undefined : 'unknown'));
    if (state !== undefined) throw new InvalidArgumentError('cluster', n.container.name, 'a cluster whose PostgreSQL containers were removed (restoreNodes makes new ones)');
  }
  const wipe = await cluster.etcd[0]!.exec(etcdctlCommand(['del', '--prefix', `/service/${topo.scope}/`]));
  if (wipe.exitCode !== 0) throw new SetupError(`removing the old cluster's state from etcd failed: ${wipe.stderr.trim()}`);
  step('dcs');
  const labels = { [ENVIRONMENT_LABEL]: ENVIRONMENT };
  const created: ContainerHandle[] = [];
  try {
    const containers = await allTracked(topo.nodes.map((n) => engine.startContainer({ ...patroniSpec(settings, topo, n, cluster.network, credentials, { archive, restore }), labels }, signal).then((c) => (created.push(c), c))));
    step('containers');
    const restored = cluster.withNodes(await pgNodes(topo, containers, credentials));
    await restored.refreshAddresses();
    // Patroni retries a failed bootstrap for ever (it removes the data and tries again): the
    // first failure ends the wait, with the logs that say why.
    const bootstrapFailed = new AbortController();
    const watch = setInterval(() => {
      void Promise.all(containers.map((c) => c.logs().catch(() => ''))).then((logs) => {
        const hit = logs.findIndex((l) => BOOTSTRAP_FAILED.test(l));
        if (hit >= 0 && !bootstrapFailed.signal.aborted) bootstrapFailed.abort(new SetupError(`${containers[hit]!.name}: the restore bootstrap failed (${BOOTSTRAP_FAILED.exec(logs[hit]!)?.[0]})`));
      });
    }, 1_000);
    try {
      const either = signal ? AbortSignal.any([signal, bootstrapFailed.signal]) : bootstrapFailed.signal;
      await waitFor(() => restored.primary({ signal: either }).catch(() => undefined), { what: 'the restored cluster to elect a primary', timeoutMs: remaining(), intervalMs: 200, signal: either });
    } catch (e) {
      if (bootstrapFailed.signal.aborted) throw bootstrapFailed.signal.reason;
      throw e;
    } finally {
      clearInterval(watch);
    }
    step('primary');
    await restored.waitHealthy({ timeoutMs: remaining(), ...(signal ? { signal } : {}) });
    step('replicas');
    await waitRouted(restored.primaryUrl, false, 'HAProxy to route the primary port to the restored cluster', remaining(), signal);
    step('haproxy');
    return restored;
  } catch (cause) {
    const logs = signal?.aborted ? '' : await diagnostics(created, credentials, [BACKUP_PATHS.restoreLog]);
    await Promise.allSettled(created.map((c) => c.remove()));
    if (signal?.aborted) throw signal.reason;
    if (cause instanceof InvalidArgumentError) throw cause;
    if (cause instanceof SetupError && !cause.hint && logs) throw new SetupError(cause.message, { cause, hint: logs });
    throw new SetupError(`the restored cluster did not come up: ${(cause as Error)?.message ?? String(cause)}`, { cause, ...(logs ? { hint: logs } : {}) });
  }
}

function patroniSpec(settings: PgHaSettings, topo: Topology, node: Topology['nodes'][number], network: string, credentials: Credentials, extras: BackupExtras = {}): ContainerSpec {
  const backup = extras.archive ? nodeBackupFiles(extras.archive, extras.restore) : undefined;
  return {
    image: settings.imageTag,
    name: node.alias,
    role: ROLES.postgres,
    user: 'postgres',
    hostname: node.alias,
    ports: [PORTS.postgres, PORTS.patroniApi],
    networks: [{ network, aliases: [node.alias] }],
    // Patroni gets a moment to stop PostgreSQL cleanly on `docker stop`.
    stopTimeoutSeconds: 10,
    env: {
      PGHA_PATRONI_YML: renderPatroniConfig(settings, topo, node, extras),
      PGHA_POST_BOOTSTRAP: renderPostBootstrap(),
      PATRONI_SUPERUSER_USERNAME: credentials.superuser.user,
      PATRONI_REPLICATION_USERNAME: credentials.replication.user,
      PGHOST: PATHS.socketDir,
    },
    // Passwords and pgBackRest's files (its TLS key) are in a file, not the environment `docker inspect` shows.
    files: [{
      path: SECRETS_FILE,
      content: renderSecretsFile({
        ...backup?.env,
        PGHA_APP_PASSWORD: credentials.app.password,
        PATRONI_SUPERUSER_PASSWORD: credentials.superuser.password,
        PATRONI_REPLICATION_PASSWORD: credentials.replication.password,
      }),
    }],
    cmd: writeAndExec([
      { path: PATHS.patroniConfig, envVar: 'PGHA_PATRONI_YML' },
      { path: PATHS.postBootstrap, envVar: 'PGHA_POST_BOOTSTRAP', mode: '700' },
      ...(backup?.files ?? []),
    ], ['patroni', PATHS.patroniConfig], backup?.before ?? [], backup ? ['pgbackrest server'] : [], true),
  };
}

function haproxySpec(settings: PgHaSettings, topo: Topology, network: string): ContainerSpec {
  return {
    image: settings.imageTag,
    name: topo.haproxy.alias,
    role: ROLES.haproxy,
    user: 'haproxy',
    ports: [PORTS.haproxyPrimary, PORTS.haproxyReplicas, PORTS.haproxyStats],
    networks: [{ network, aliases: [topo.haproxy.alias] }],
    env: { PGHA_HAPROXY_CFG: renderHaproxyConfig(settings, topo) },
    cmd: writeAndExec([{ path: PATHS.haproxyConfig, envVar: 'PGHA_HAPROXY_CFG' }], ['haproxy', '-W', '-db', '-f', PATHS.haproxyConfig]),
  };
}

/** The full name of an existing network; InvalidArgumentError when there is none by that name. */
async function existingNetwork(engine: Engine, name: string): Promise<string> {
  try {
    const info = (await engine.docker.getNetwork(name).inspect()) as { Name: string };
    return info.Name;
  } catch (cause) {
    if (statusOf(cause) === 404) throw new InvalidArgumentError('network', name, 'the name of an existing Docker network');
    throw cause;
  }
}

/** Waits until a query through `url` (an HAProxy port) lands on a node that is (`inRecovery`) or is not a replica. */
function waitRouted(url: string, inRecovery: boolean, what: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<true> {
  return waitFor(async () => {
    const rows = await queryOnce<{ ro: boolean }>(url, 'select pg_is_in_recovery() as ro', [], 1_000);
    return rows[0]?.ro === inRecovery;
  }, { what, timeoutMs, intervalMs: 100, ...(signal ? { signal } : {}) });
}

/** Awaits every start, so all created containers are tracked, then rethrows the first failure. */
async function allTracked<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The last lines of each container's log, for a setup error, with every password masked. */
async function diagnostics(containers: readonly ContainerHandle[], credentials: Credentials, files: readonly string[] = []): Promise<string> {
  const secrets = [credentials.superuser.password, credentials.replication.password, credentials.app.password];
  const parts = await Promise.all(containers.map(async (c) => {
    try {
      // A Python traceback says less than the log lines before it: they are left out.
      let text = (await c.logs()).split('\n').filter((l) => !/^(Traceback |\s{2,}|\S+Error: |\S+Exception: |patroni\.exceptions\.)/.test(l)).join('\n');
      for (const f of files) {
        // Read through the archive API: a container whose Patroni gave up has stopped, and exec needs it running.
        const content = await readContainerFile(c, f).catch(() => undefined);
        if (content?.trim()) text += `\n[${f}]\n${content.trimEnd().split('\n').filter((l) => !/INFO: (restore file|write )/.test(l)).slice(-12).join('\n')}`;
      }
      for (const s of secrets) text = text.replaceAll(s, '***');
      const lines = text.trimEnd().split('\n').slice(files.length ? -30 : -12);
      return `--- ${c.name} ---\n${lines.join('\n')}`;
    } catch {
      return '';
    }
  }));
  return parts.filter(Boolean).join('\n');
}

/** One file of a container (running or stopped), through Docker's archive API (a tar of one entry). */
async function readContainerFile(c: ContainerHandle, path: string): Promise<string> {
  const stream = (await c.api.getArchive({ path })) as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  const tar = Buffer.concat(chunks);
  const size = parseInt(tar.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim(), 8);
  return tar.subarray(512, 512 + (Number.isFinite(size) ? size : 0)).toString('utf8');
}
