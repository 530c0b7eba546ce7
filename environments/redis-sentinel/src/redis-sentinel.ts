// The redis-sentinel environment's handle: one master, its replicas and the Sentinels watching
// them, with typed ways to ask who is master, wait for health or a failover, and make host-side
// clients that follow failovers. `provision()` (provision.ts) makes one.
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { SetupError, waitFor, type ContainerHandle, type Engine, ENVIRONMENT_LABEL } from '@resilience/fixtures';
import { AdminConnection } from './admin.ts';
import { address } from './config.ts';
import { majority, type RedisSentinelSettings } from './options.ts';
import { agreed, fields, flags, masterAddress, parseReplicationInfo } from './replies.ts';
import type { Resources } from './resources.ts';

/** Label on every container and network of this environment, so `down` can find them. */
export { ENVIRONMENT_LABEL };
export const ENVIRONMENT = 'redis-sentinel';
/** Roles (the `io.resilience.role` label) of the two kinds of container. */
export const Roles = { redis: 'redis', sentinel: 'redis-sentinel' } as const;

/** One process of the environment: where it is inside the network and on the host. */
export interface Member {
  /** Short name, also its network alias and hostname: `redis-1`, `redis-sentinel-2`. */
  readonly name: string;
  readonly container: ContainerHandle;
  /** Host name inside the Docker network (the alias). */
  readonly host: string;
  /** Port inside the network. */
  readonly port: number;
  /** `host:port` inside the network, exactly as the Sentinels announce it. */
  readonly address: string;
  /** The port published on 127.0.0.1. */
  readonly hostPort: number;
}

/** A Redis server (master or replica; the role changes with failovers, the handle does not). */
export type RedisNode = Member;
export type Node = RedisNode;
export type SentinelNode = Member;

export interface Failover {
  readonly master: RedisNode;
  readonly previous: RedisNode;
  /** performance.now() when a majority of Sentinels was first seen reporting the new master (within one poll interval). */
  readonly switchedAt: number;
  /** The same moment as epoch milliseconds. */
  readonly switchedAtEpochMs: number;
}

export interface ProvisionTimings {
  /** Connecting to the engine and checking the image. */
  readonly engine: number;
  readonly network: number;
  /** Starting the master and replicas (in parallel) and writing their configuration. */
  readonly nodes: number;
  /** Starting the Sentinels (in parallel) and writing their configuration. */
  readonly sentinels: number;
  /** From the Sentinels' start until `waitHealthy()` held. */
  readonly healthy: number;
  readonly total: number;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

const noop = (): void => undefined;

export class RedisSentinel implements AsyncDisposable {
  readonly engine: Engine;
  readonly settings: RedisSentinelSettings;
  /** The full name of the Docker network the processes share. */
  readonly network: string;
  readonly nodes: readonly RedisNode[];
  readonly sentinels: readonly SentinelNode[];
  readonly timings: ProvisionTimings;
  /** In-network `host:port` (as the Sentinels announce it) to the 127.0.0.1 address it is published on. */
  readonly natMap: Readonly<Record<string, { readonly host: string; readonly port: number }>>;
  readonly #password: string;
  readonly #resources: Resources;
  readonly #sentinelAdmin = new Map<string, AdminConnection>();
  readonly #nodeAdmin = new Map<string, AdminConnection>();
  readonly #clients = new Set<Redis>();
  #tearingDown: Promise<void> | undefined;

  /** Use `provision()`. */
  constructor(init: {
    engine: Engine; settings: RedisSentinelSettings; network: string; nodes: RedisNode[]; sentinels: SentinelNode[];
    timings: ProvisionTimings; password: string; resources: Resources;
  }) {
    this.engine = init.engine;
    this.settings = init.settings;
    this.network = init.network;
    this.nodes = init.nodes;
    this.sentinels = init.sentinels;
    this.timings = init.timings;
    this.#password = init.password;
    this.#resources = init.resources;
    const map: Record<string, { host: string; port: number }> = {};
    for (const m of [...init.nodes, ...init.sentinels]) map[m.address] = { host: '127.0.0.1', port: m.hostPort };
    this.natMap = map;
  }

  /** The password of every Redis and Sentinel process (random per provision). Never log it. */
  get password(): string {
    return this.#password;
  }

  get masterName(): string {
    return this.settings.masterName;
  }

  /** The node a majority of the Sentinels report as master (`SENTINEL get-master-addr-by-name`). */
  async master(options: WaitOptions = {}): Promise<RedisNode> {
    const n = this.sentinels.length;
    return waitFor(async () => {
      const answers = await this.#masterAddresses();
      const a = agreed(answers, majority(n));
      if (a === undefined) throw new Error(`no ${majority(n)} of the ${n} Sentinels agree on a master (answers: ${answers.map((x) => x ?? 'none').join(', ')})`);
      return this.#nodeAt(a);
    }, { what: `a majority of the Sentinels to report the master of ${this.masterName}`, timeoutMs: options.timeoutMs ?? 10_000, intervalMs: options.intervalMs ?? 50 });
  }

  /** The replicas of the current master that the Sentinels consider usable (not down or disconnected). */
  async replicas(options: WaitOptions = {}): Promise<RedisNode[]> {
    const master = await this.master(options);
    for (const s of this.sentinels) {
      try {
        if (masterAddress(await this.#sentinel(s).call('SENTINEL', 'get-master-addr-by-name', this.masterName)) !== master.address) continue;
        const entries = (await this.#sentinel(s).call('SENTINEL', 'replicas', this.masterName)) as unknown[];
        return entries.map(fields)
          .filter((e) => !flags(e).some((f) => f === 's_down' || f === 'o_down' || f === 'disconnected'))
          .map((e) => this.nodes.find((node) => node.address === address(e['ip'] ?? '', Number(e['port']))))
          .filter((node): node is RedisNode => node !== undefined && node !== master)
          .sort((a, b) => a.name.localeCompare(b.name));
      } catch {
        // Ask the next Sentinel.
      }
    }
    throw new Error(`No Sentinel that reports ${master.name} as master answered SENTINEL replicas`);
  }

  /**
   * Waits until every Sentinel reports the same master, sees it up and the other Sentinels and
   * every other node as a replica, and every other node is connected to the master with its link
   * up and has acknowledged at least the master's replication offset as of the first check.
   */
  async waitHealthy(options: WaitOptions = {}): Promise<RedisNode> {
    let baseline: { master: string; offset: number } | undefined;
    return waitFor(async () => {
      const answers = await this.#masterAddresses();
      const first = answers[0];
      if (first === undefined || answers.some((a) => a !== first)) throw new Error(`the Sentinels do not all report one master (answers: ${answers.map((x) => x ?? 'none').join(', ')})`);
      const master = this.#nodeAt(first);
      const expected = this.nodes.filter((n) => n !== master);
      const info = parseReplicationInfo(String(await this.#node(master).call('INFO', 'replication')));
      if (info.role !== 'master') throw new Error(`${master.name} reports role ${info.role}, not master`);
      if (baseline?.master !== master.name) baseline = { master: master.name, offset: info.masterReplOffset };
      for (const r of expected) {
        const link = info.replicas.find((l) => l.ip === r.host && l.port === r.port);
        if (!link) throw new Error(`${r.name} is not connected to ${master.name}`);
        if (link.state !== 'online') throw new Error(`${r.name} is in state ${link.state}`);
        if (link.offset < baseline.offset) throw new Error(`${r.name} acknowledged offset ${link.offset} of ${baseline.offset}`);
      }
      await Promise.all(this.sentinels.map(async (s) => {
        const admin = this.#sentinel(s);
        const m = fields(await admin.call('SENTINEL', 'master', this.masterName));
        if (flags(m).join(',') !== 'master') throw new Error(`${s.name} flags the master ${m['flags'] ?? ''}`);
        const peers = ((await admin.call('SENTINEL', 'sentinels', this.masterName)) as unknown[]).map(fields);
        const upPeers = peers.filter((p) => flags(p).join(',') === 'sentinel');
        if (upPeers.length < this.sentinels.length - 1) throw new Error(`${s.name} sees ${upPeers.length} of ${this.sentinels.length - 1} other Sentinels up`);
        const known = ((await admin.call('SENTINEL', 'replicas', this.masterName)) as unknown[]).map(fields);
        for (const r of expected) {
          const e = known.find((k) => k['name'] === r.address);
          if (!e) throw new Error(`${s.name} does not know replica ${r.name}`);
          if (flags(e).join(',') !== 'slave') throw new Error(`${s.name} flags replica ${r.name} ${e['flags'] ?? ''}`);
        }
      }));
      return master;
    }, { what: `redis-sentinel ${this.settings.namePrefix} to be healthy`, timeoutMs: options.timeoutMs ?? this.settings.healthyTimeoutMs, intervalMs: options.intervalMs ?? 100 });
  }

  /** Waits until a majority of the Sentinels report a master other than `previous`. */
  async waitForFailover(previous: RedisNode, options: WaitOptions = {}): Promise<Failover> {
    const n = this.sentinels.length;
    return waitFor(async () => {
      const answers = await this.#masterAddresses();
      const a = agreed(answers, majority(n));
      // Thrown, not returned: the last reason becomes the cause of a timeout.
      if (a === undefined || a === previous.address) throw new Error(`no majority of the ${n} Sentinels reports a new master (answers: ${answers.map((x) => x ?? 'none').join(', ')})`);
      return { master: this.#nodeAt(a), previous, switchedAt: performance.now(), switchedAtEpochMs: Date.now() };
    }, { what: `the Sentinels to promote a replica in place of ${previous.name}`, timeoutMs: options.timeoutMs ?? 30_000, intervalMs: options.intervalMs ?? 25 });
  }

  /**
   * ioredis options for a host-side client in Sentinel mode: the Sentinels' 127.0.0.1 ports and a
   * natMap from every in-network address to its published port, so the client never dials a
   * container address (an address it cannot map is refused, and the next Sentinel is asked).
   */
  clientOptions(): RedisOptions {
    const map = this.natMap;
    return {
      sentinels: this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.hostPort })),
      name: this.masterName,
      role: 'master',
      password: this.#password,
      sentinelPassword: this.#password,
      natMap: (key: string) => {
        const to = map[key];
        if (!to) throw new Error(`refusing to dial ${key}: it is not an address of redis-sentinel ${this.settings.namePrefix}`);
        return { ...to };
      },
      // The Sentinels' own list would name in-network addresses; the published ports are all there is.
      updateSentinels: false,
      // Reconnect on +switch-master instead of waiting for the old connection to fail.
      failoverDetector: true,
      connectTimeout: 2_000,
      sentinelCommandTimeout: 1_000,
      sentinelRetryStrategy: (times: number) => Math.min(times * 50, 500),
      retryStrategy: (times: number) => Math.min(times * 50, 500),
      // A demoted master answers writes with READONLY: reconnect (through the Sentinels) and resend.
      reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
    };
  }

  /** A client that follows failovers (see clientOptions); closed by teardown(). */
  client(options: RedisOptions = {}): Redis {
    return this.#track(new Redis({ ...this.clientOptions(), ...options }));
  }

  /** A client of one node through its published port, whatever its role; closed by teardown(). */
  directClient(node: Member, options: RedisOptions = {}): Redis {
    if (!this.nodes.includes(node) && !this.sentinels.includes(node)) throw new SetupError(`${node.name} is not a member of redis-sentinel ${this.settings.namePrefix}`);
    return this.#track(new Redis({ host: '127.0.0.1', port: node.hostPort, password: this.#password, connectTimeout: 2_000, ...options }));
  }

  /** Closes every host-side client (the environment's and those it made); the containers stay. */
  release(): void {
    for (const c of this.#clients) c.disconnect();
    this.#clients.clear();
    for (const a of [...this.#sentinelAdmin.values(), ...this.#nodeAdmin.values()]) a.close();
    this.#sentinelAdmin.clear();
    this.#nodeAdmin.clear();
  }

  /** Closes the clients and removes every container (and the network, if provision created it). Idempotent. */
  teardown(): Promise<void> {
    this.#tearingDown ??= (async () => {
      this.release();
      await this.#resources.remove();
    })();
    return this.#tearingDown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }

  #track(redis: Redis): Redis {
    // Without a listener ioredis prints every failed reconnect during a failover.
    redis.on('error', noop);
    this.#clients.add(redis);
    redis.once('end', () => this.#clients.delete(redis));
    return redis;
  }

  async #masterAddresses(): Promise<(string | undefined)[]> {
    return Promise.all(this.sentinels.map(async (s) => {
      try {
        return masterAddress(await this.#sentinel(s).call('SENTINEL', 'get-master-addr-by-name', this.masterName));
      } catch {
        return undefined;
      }
    }));
  }

  #nodeAt(addr: string): RedisNode {
    const node = this.nodes.find((n) => n.address === addr);
    if (!node) throw new Error(`the Sentinels report master ${addr}, which is not a node of redis-sentinel ${this.settings.namePrefix}`);
    return node;
  }

  #sentinel(s: SentinelNode): AdminConnection {
    let a = this.#sentinelAdmin.get(s.name);
    if (!a) this.#sentinelAdmin.set(s.name, (a = new AdminConnection(s.hostPort, this.#password)));
    return a;
  }

  #node(n: RedisNode): AdminConnection {
    let a = this.#nodeAdmin.get(n.name);
    if (!a) this.#nodeAdmin.set(n.name, (a = new AdminConnection(n.hostPort, this.#password)));
    return a;
  }
}
