// The redis-sentinel environment's handle: one primary (Redis' master), its replicas and the
// Sentinels watching them, with typed ways to ask which node is primary, wait for health or a
// promotion, make host-side clients that follow failovers (and probe-grade ones that never
// queue or resend), and tell which node a client's connection goes to. `provision()` makes one.
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { InvalidArgumentError, SetupError, untilAborted, waitFor, type ContainerHandle, type Engine, ENVIRONMENT_LABEL } from '@resilience/fixtures';
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

/** A new primary, seen by waitForPromotion. */
export interface Promotion {
  /** The node a majority of the Sentinels now report as master. */
  readonly primary: RedisNode;
  /** Name of the primary it replaced (the `previous` passed in). */
  readonly previous: string;
  /** When a majority was first seen naming it (within one poll interval), on the run clock (the `now` of provision). */
  readonly at: number;
  /** From the call to `at`. */
  readonly elapsedMs: number;
}

/** What to show a person (and what `up` records): passwords redacted unless asked. */
export interface RedisSentinelDescription {
  readonly runId: string;
  readonly network: string;
  readonly masterName: string;
  /** Shown only with showSecrets; `***` otherwise. */
  readonly password: string;
  readonly nodes: readonly MemberDescription[];
  readonly sentinels: readonly MemberDescription[];
  readonly settings: Readonly<Record<string, unknown>>;
  readonly timings: Readonly<Record<string, number>>;
}

export interface MemberDescription {
  readonly name: string;
  readonly container: string;
  /** In-network `host:port`. */
  readonly address: string;
  readonly hostPort: number;
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
  /** Ends the wait at once, rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
}

const noop = (): void => undefined;

/** What probeClient() sets over clientOptions(). */
export function probeClientOptions(): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    commandTimeout: 1_000,
    connectTimeout: 1_000,
    // On +switch-master ioredis ends the old connection and reconnects only once it closed; a
    // frozen or cut-off primary never answers the FIN, so by default that takes 2 s.
    disconnectTimeout: 100,
    retryStrategy: (times: number) => Math.min(times * 10, 100),
    sentinelRetryStrategy: (times: number) => Math.min(times * 10, 100),
    // Reconnect through the Sentinels on READONLY (a demoted primary), but do not resend.
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 1 : false),
  };
}

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
  /** The run clock (ms) every returned time is on: provision's `now`, default performance.now(). */
  readonly now: () => number;
  readonly #password: string;
  readonly #resources: Resources;
  readonly #sentinelAdmin = new Map<string, AdminConnection>();
  readonly #nodeAdmin = new Map<string, AdminConnection>();
  readonly #clients = new Set<Redis>();
  #tearingDown: Promise<void> | undefined;

  /** Use `provision()`. */
  constructor(init: {
    engine: Engine; settings: RedisSentinelSettings; network: string; nodes: RedisNode[]; sentinels: SentinelNode[];
    timings: ProvisionTimings; password: string; resources: Resources; now: () => number;
  }) {
    this.engine = init.engine;
    this.settings = init.settings;
    this.network = init.network;
    this.nodes = init.nodes;
    this.sentinels = init.sentinels;
    this.timings = init.timings;
    this.#password = init.password;
    this.#resources = init.resources;
    this.now = init.now;
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

  get runId(): string {
    return this.engine.run.runId;
  }

  /**
   * The primary: the node a majority of the Sentinels report as master (`SENTINEL
   * get-master-addr-by-name`), polled until they agree (up to `timeoutMs`, default 10 s).
   */
  async primary(options: WaitOptions = {}): Promise<RedisNode> {
    const n = this.sentinels.length;
    return this.#wait(async () => {
      const answers = await this.#masterAddresses();
      const a = agreed(answers, majority(n));
      if (a === undefined) throw new Error(`no ${majority(n)} of the ${n} Sentinels agree on a master (answers: ${answers.map((x) => x ?? 'none').join(', ')})`);
      return this.#nodeAt(a);
    }, `a majority of the Sentinels to report the master of ${this.masterName}`, options, { timeoutMs: 10_000, intervalMs: 50 });
  }

  /** The replicas of the current primary that the Sentinels consider usable (not down or disconnected). */
  async replicas(options: WaitOptions = {}): Promise<RedisNode[]> {
    const master = await this.primary(options);
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
    return this.#wait(async () => {
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
    }, `redis-sentinel ${this.settings.namePrefix} to be healthy`, options, { timeoutMs: this.settings.healthyTimeoutMs, intervalMs: 100 });
  }

  /**
   * Waits until a majority of the Sentinels report a master other than `previous` (a node or its
   * name), polling every `intervalMs` (default 25); `at` is when that was first seen, on the run
   * clock. Aborting `signal` rejects at once with its reason.
   */
  async waitForPromotion(previous: RedisNode | string, options: WaitOptions = {}): Promise<Promotion> {
    const before = typeof previous === 'string' ? this.node(previous, 'previous') : previous;
    const n = this.sentinels.length;
    const start = this.now();
    return this.#wait(async () => {
      const answers = await this.#masterAddresses();
      const a = agreed(answers, majority(n));
      // Thrown, not returned: the last reason becomes the cause of a timeout.
      if (a === undefined || a === before.address) throw new Error(`no majority of the ${n} Sentinels reports a new master (answers: ${answers.map((x) => x ?? 'none').join(', ')})`);
      const at = this.now();
      return { primary: this.#nodeAt(a), previous: before.name, at, elapsedMs: at - start };
    }, `the Sentinels to promote a replica in place of ${before.name}`, options, { timeoutMs: 30_000, intervalMs: 25 });
  }

  /** The Redis node with this name (`redis-1`, ...). */
  node(name: string, argument = 'node'): RedisNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new InvalidArgumentError(argument, name, `one of ${this.nodes.map((n) => n.name).join(', ')}`);
    return node;
  }

  /**
   * The node the client's current connection goes to (`redis-2`), from its socket's remote
   * address: 127.0.0.1 and a node's published port (what the natMap dials). Undefined while it
   * has no open connection, or one to anything else. For attributing acknowledged writes.
   */
  nodeOf(client: Redis): string | undefined {
    const stream = (client as { stream?: { remoteAddress?: string; remotePort?: number; destroyed?: boolean } }).stream;
    if (!stream || stream.destroyed || stream.remotePort === undefined) return undefined;
    const host = stream.remoteAddress ?? '';
    if (host !== '127.0.0.1' && host !== '::ffff:127.0.0.1') return undefined;
    return this.nodes.find((n) => n.hostPort === stream.remotePort)?.name;
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

  /**
   * A probe-grade client through the Sentinels (closed by teardown()): a command while it is
   * not connected fails at once (no offline queue), a command is never retried or resent after
   * a reconnect (`maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false`, and a
   * READONLY reply reconnects without resending), nothing is resubscribed, a command without a
   * reply fails after `commandTimeout` (default 1000 ms, the probes' default timeout), and it
   * reconnects within 10-100 ms (also away from a frozen primary: `disconnectTimeout` 100 ms). So what a probe sees is what happened: a write that failed was
   * not sent again behind its back, and an outage shows as failures when it starts.
   */
  probeClient(options: RedisOptions = {}): Redis {
    const client = this.#track(new Redis({ ...this.clientOptions(), ...probeClientOptions(), ...options }));
    this.#revive(client);
    return client;
  }

  /**
   * Times a probe client ended by itself and was connected again (see #revive), on the run
   * clock: what ioredis did, not Redis. A workflow shows each as a finding.
   */
  readonly clientRevivals: { readonly at: number; readonly endedAfter: string }[] = [];

  /**
   * ioredis 5 ends a Sentinel client for good ("Connection is closed." to every command, no
   * reconnect) when its failover detector sees `+switch-master` while the client is between
   * reconnects: the detector's disconnect makes the pending connect fail, and a failed connect
   * sets the status to `end`. A probe client in that state measures ioredis, not Redis: it is
   * connected again 50 ms later and the time recorded. A client we close ourselves stays closed.
   */
  #revive(client: Redis): void {
    let closedByUs = false;
    const disconnect = client.disconnect.bind(client);
    client.disconnect = (reconnect = false) => {
      if (!reconnect) closedByUs = true;
      disconnect(reconnect);
    };
    const quit = client.quit.bind(client);
    client.quit = ((...args: Parameters<Redis['quit']>) => {
      closedByUs = true;
      return quit(...args);
    }) as Redis['quit'];
    let last = 'connecting';
    client.on('reconnecting', () => (last = 'reconnecting'));
    client.on('ready', () => (last = 'ready'));
    client.on('end', () => {
      if (closedByUs || this.#tearingDown) return;
      this.clientRevivals.push({ at: this.now(), endedAfter: last });
      this.#clients.add(client);
      setTimeout(() => {
        if (!closedByUs && !this.#tearingDown && client.status === 'end') client.connect().catch(noop);
      }, 50).unref();
    });
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

  /** Processes, addresses and settings as plain data; the password shows only with showSecrets. */
  describe(options: { showSecrets?: boolean } = {}): RedisSentinelDescription {
    const member = (m: Member): MemberDescription => ({ name: m.name, container: m.container.name, address: m.address, hostPort: m.hostPort });
    const { labels: _labels, ...settings } = this.settings;
    return {
      runId: this.runId,
      network: this.network,
      masterName: this.masterName,
      password: options.showSecrets ? this.#password : '***',
      nodes: this.nodes.map(member),
      sentinels: this.sentinels.map(member),
      settings,
      timings: { ...this.timings },
    };
  }

  /** waitFor that ends at once (with the signal's reason) when `signal` aborts. */
  #wait<T>(fn: () => Promise<T>, what: string, options: WaitOptions, defaults: { timeoutMs: number; intervalMs: number }): Promise<T> {
    const { signal } = options;
    return untilAborted(waitFor(fn, { what, timeoutMs: options.timeoutMs ?? defaults.timeoutMs, intervalMs: options.intervalMs ?? defaults.intervalMs, ...(signal ? { signal } : {}) }), signal);
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
