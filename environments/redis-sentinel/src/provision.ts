// Provisioning: the network (unless given), the master and replicas in parallel, the Sentinels in
// parallel, then health; options are validated first, and a failure removes what was started.
import { randomBytes } from 'node:crypto';
import {
  Engine, InvalidArgumentError, SetupError, requireImage,
  type ContainerHandle, type ContainerSpec,
} from '@resilience/fixtures';
import {
  PASSWORD_FILE, REDIS_CONFIG, REDIS_PORT, SENTINEL_CONFIG, SENTINEL_PORT,
  address, renderRedisConfig, renderSentinelConfig, startCommand, topology, writeConfigScript,
} from './config.ts';
import { parseOptions, type RedisSentinelProvisionOptions } from './options.ts';
import { ENVIRONMENT, ENVIRONMENT_LABEL, RedisSentinel, Roles, type Member } from './redis-sentinel.ts';
import { Resources } from './resources.ts';

const noop = (): void => undefined;

/**
 * Provisions the environment: the network (unless one is given), the master and replicas in
 * parallel, then the Sentinels in parallel, then waits until it is healthy. Options are
 * validated before anything starts; on any failure what was started is removed.
 */
export async function provision(options: RedisSentinelProvisionOptions = {}): Promise<RedisSentinel> {
  const isObject = typeof options === 'object' && options !== null;
  const { now = () => performance.now(), signal, ...rest } = isObject ? options : {};
  // Not an object: parseOptions names it.
  const { engine: givenEngine, ...settings } = parseOptions(isObject ? rest : options);
  if (typeof now !== 'function') throw new InvalidArgumentError('now', now, 'a function returning the run clock in ms');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError('signal', signal, 'an AbortSignal');
  signal?.throwIfAborted();
  const started = now();
  const engine = givenEngine ?? (await Engine.connect(signal ? { signal } : {}));
  const resources = new Resources(engine, givenEngine === undefined);
  let mark = started;
  const lap = (): number => {
    const t = now();
    const ms = Math.round(t - mark);
    mark = t;
    return ms;
  };
  try {
    await requireImage(engine, settings.imageTag);
    const tEngine = lap();
    const topo = topology(settings);
    const password = randomBytes(24).toString('base64url');
    const labels = { [ENVIRONMENT_LABEL]: ENVIRONMENT, ...settings.labels };

    let network: string;
    if (settings.network) {
      network = await existingNetwork(engine, settings.network);
    } else {
      const created = await engine.createNetwork(settings.namePrefix, { labels, ...(signal ? { signal } : {}) });
      resources.network = { id: created.id, name: created.name };
      network = created.name;
    }
    const tNetwork = lap();

    const spec = (name: string, role: string, port: number, cmd: string[]): ContainerSpec => ({
      image: settings.imageTag, name, role, user: 'redis', hostname: name, cmd, ports: [port], labels,
      networks: [{ network, aliases: [name] }], stopTimeoutSeconds: 2,
    });
    // Every container starts waiting for its configuration; it is written once all of a group
    // run, so every name a file mentions already resolves (Sentinel refuses unresolvable ones).
    const nodes = await startAll(resources, signal, topo.nodes.map((name) => spec(name, Roles.redis, REDIS_PORT, startCommand('redis-server', REDIS_CONFIG))));
    await Promise.all(nodes.map((c, i) => writeConfig(c, REDIS_CONFIG, password, renderRedisConfig({
      name: topo.nodes[i] ?? '', password, settings,
      ...(i > 0 ? { replicaOf: topo.initialMaster } : {}),
    }))));
    const nodeMembers = await Promise.all(nodes.map((c, i) => member(c, topo.nodes[i] ?? '', REDIS_PORT)));
    const tNodes = lap();

    const ids = topo.sentinels.map(() => randomBytes(20).toString('hex'));
    const sentinels = await startAll(resources, signal, topo.sentinels.map((name) => spec(name, Roles.sentinel, SENTINEL_PORT, startCommand('redis-sentinel', SENTINEL_CONFIG))));
    await Promise.all(sentinels.map((c, i) => writeConfig(c, SENTINEL_CONFIG, password, renderSentinelConfig({
      name: topo.sentinels[i] ?? '', password, myid: ids[i] ?? '', master: topo.initialMaster,
      replicas: topo.nodes.slice(1),
      peers: topo.sentinels.flatMap((name, j) => (j === i ? [] : [{ name, myid: ids[j] ?? '' }])),
      settings,
    }))));
    const sentinelMembers = await Promise.all(sentinels.map((c, i) => member(c, topo.sentinels[i] ?? '', SENTINEL_PORT)));
    const tSentinels = lap();

    const timings = { engine: tEngine, network: tNetwork, nodes: tNodes, sentinels: tSentinels, healthy: 0, total: 0 };
    const env = new RedisSentinel({ engine, settings, network, nodes: nodeMembers, sentinels: sentinelMembers, timings, password, resources, now });
    try {
      await env.waitHealthy(signal ? { signal } : {});
    } catch (e) {
      env.release();
      throw e;
    }
    timings.healthy = lap();
    timings.total = Math.round(now() - started);
    return env;
  } catch (e) {
    await resources.remove().catch(noop);
    throw signal?.aborted ? signal.reason : e;
  }
}

async function existingNetwork(engine: Engine, name: string): Promise<string> {
  try {
    const info = (await engine.docker.getNetwork(name).inspect()) as { Name: string };
    return info.Name;
  } catch (cause) {
    throw new SetupError(`The Docker network ${name} (option \`network\`) does not exist`, { cause, hint: 'Pass the full name of a network the engine has, or leave `network` out to create one.' });
  }
}

/** Starts containers in parallel; every one that started is recorded for removal, even if another failed. */
async function startAll(resources: Resources, signal: AbortSignal | undefined, specs: ContainerSpec[]): Promise<ContainerHandle[]> {
  const results = await Promise.allSettled(specs.map(async (s) => {
    const c = await resources.engine.startContainer(s, signal);
    resources.containers.push(c);
    return c;
  }));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<ContainerHandle>).value);
}

async function writeConfig(c: ContainerHandle, path: string, password: string, config: string): Promise<void> {
  const r = await c.exec(['bash', '-c', writeConfigScript(path)], { user: 'redis', env: { RZ_CONFIG: config, RZ_PASSWORD: password } });
  if (r.exitCode !== 0) throw new SetupError(`Writing ${path} (and ${PASSWORD_FILE}) in ${c.name} failed with exit code ${r.exitCode}: ${r.stderr.trim()}`);
}

async function member(c: ContainerHandle, name: string, port: number): Promise<Member> {
  return { name, container: c, host: name, port, address: address(name, port), hostPort: await c.hostPort(port) };
}
