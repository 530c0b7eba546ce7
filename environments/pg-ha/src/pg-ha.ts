// The handle of a provisioned cluster: which node is primary now (from Patroni's REST API),
// connection strings through HAProxy and to each node, waits for health and for a promotion,
// the node behind a server address, and a teardown that removes exactly what provision created.
import { InvalidArgumentError, ResilienceError, WaitTimeoutError, isWaitTimeoutError, untilAborted, waitFor, type ContainerHandle, type Engine, type NetworkHandle } from '@resilience/fixtures';
import type { PgHaSettings } from './options.ts';
import type { Topology } from './topology.ts';
import { etcdctlCommand } from './config.ts';
import { fetchCluster, type ClusterMember } from './patroni-api.ts';
import { redact, type Credentials } from './secrets.ts';
import { queryOnce } from './sql.ts';
import { DEFAULT_IMAGE, PG_IMAGES, type ImageName } from './image.ts';
import type { ArchiveConfig } from './backup.ts';

/** One PostgreSQL node: fixed for the cluster's life (host ports survive restarts). */
export interface PgNode {
  /** Patroni member name, e.g. `pg1`. */
  readonly name: string;
  /** Host name on the Docker network. */
  readonly alias: string;
  /** The container, for faults (`chaos.kill(node.container)`). */
  readonly container: ContainerHandle;
  /** PostgreSQL port published on 127.0.0.1. */
  readonly port: number;
  /** Patroni REST API port published on 127.0.0.1. */
  readonly apiPort: number;
  /** `http://127.0.0.1:<apiPort>`. */
  readonly apiUrl: string;
  /** Direct connection to this node as the app user, database `app`. */
  readonly url: string;
  /** Direct connection to this node as the superuser, database `postgres`. */
  readonly superuserUrl: string;
}

/** A member as Patroni reports it now, joined with its node. */
export interface Member extends ClusterMember {
  readonly node: PgNode;
  readonly container: ContainerHandle;
  /** Direct connection string (app user). */
  readonly url: string;
}

/** A new primary, seen by waitForPromotion. */
export interface Promotion {
  /** The new running primary (Patroni's leader). */
  readonly primary: Member;
  /** Name of the primary it replaced (the `previous` passed in). */
  readonly previous: string;
  /** When the new primary was first seen running, on the run clock (the `now` of provision). */
  readonly at: number;
  /** From the call to `at`. */
  readonly elapsedMs: number;
}

/** Options of every wait: the longest wait, and a signal that ends it at once. */
export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface WaitHealthyOptions extends WaitOptions {
  /** Replicas may lag the primary by at most this many bytes (default 0). */
  readonly maxLagBytes?: number;
}

export class NoLeaderError extends ResilienceError {
  readonly members: readonly ClusterMember[];
  constructor(members: readonly ClusterMember[], reason?: string) {
    super(`The cluster has no running leader (${members.map((m) => `${m.name}: ${m.role}/${m.state}`).join(', ') || 'no members'})${reason ? `: ${reason}` : ''}`);
    this.members = members;
  }
}

export interface PgHaParts {
  readonly engine: Engine;
  readonly settings: PgHaSettings;
  readonly topology: Topology;
  readonly network: string;
  /** Set when provision created the network (and teardown removes it). */
  readonly createdNetwork: NetworkHandle | undefined;
  readonly nodes: readonly PgNode[];
  readonly etcd: readonly ContainerHandle[];
  readonly haproxy: ContainerHandle;
  readonly ports: { readonly primary: number; readonly replicas: number; readonly stats: number };
  readonly credentials: Credentials;
  readonly primaryUrl: string;
  readonly replicaUrl: string;
  readonly superuserUrl: string;
  readonly internal: { readonly primaryUrl: string; readonly replicaUrl: string };
  readonly timings: Record<string, number>;
  /** The run clock (ms); every time the handle returns comes from it. */
  readonly now: () => number;
  /** Asks a node's PostgreSQL whether it is in recovery (default: `pg_is_in_recovery()` on its own port). */
  readonly inRecovery?: (node: PgNode) => Promise<boolean>;
  /** Set when the nodes archive WAL with pgBackRest. */
  readonly archive?: ArchiveConfig;
}

const HEALTHY_STATES = new Set(['running', 'streaming']);

/**
 * Why a /cluster snapshot is not healthy, or undefined when it is. With `image` trixie a replica
 * must be `streaming` (Patroni 4 says `running` until its WAL receiver streams); Patroni 3.0.2
 * (bookworm) says `running` for a streaming replica too, so there either state counts.
 */
export function unhealthyReason(members: readonly ClusterMember[], settings: Pick<PgHaSettings, 'nodes' | 'sync'> & { readonly image?: ImageName }, maxLagBytes = 0): string | undefined {
  const streamingOnly = PG_IMAGES[settings.image ?? DEFAULT_IMAGE].streamingState === 'streaming';
  const leaders = members.filter((m) => m.role === 'leader');
  if (leaders.length !== 1) return `${leaders.length} leaders`;
  const leader = leaders[0]!;
  if (leader.state !== 'running') return `leader ${leader.name} is ${leader.state}`;
  if (members.length !== settings.nodes) return `${members.length} of ${settings.nodes} members registered`;
  for (const m of members) {
    if (m === leader) continue;
    if (!HEALTHY_STATES.has(m.state) || (streamingOnly && m.state !== 'streaming')) return `${m.name} is ${m.state}`;
    if (m.lagBytes === undefined || m.lagBytes > maxLagBytes) return `${m.name} lags by ${m.lagBytes ?? 'unknown'} bytes`;
    if (m.timeline !== undefined && leader.timeline !== undefined && m.timeline !== leader.timeline) return `${m.name} is on timeline ${m.timeline}, the leader on ${leader.timeline}`;
  }
  if (settings.sync && !members.some((m) => m.role === 'sync_standby')) return 'no sync_standby yet';
  return undefined;
}

export class PgHa implements AsyncDisposable {
  readonly engine: Engine;
  readonly settings: PgHaSettings;
  readonly topology: Topology;
  /** Full Docker network name the cluster is on. */
  readonly network: string;
  readonly nodes: readonly PgNode[];
  readonly etcd: readonly ContainerHandle[];
  readonly haproxy: ContainerHandle;
  /** Every container of the cluster: etcd, PostgreSQL nodes, HAProxy. */
  readonly containers: readonly ContainerHandle[];
  /** HAProxy ports on 127.0.0.1: read-write (primary), read-only (replicas), stats page. */
  readonly ports: PgHaParts['ports'];
  readonly credentials: Credentials;
  /** Read-write through HAProxy (to the primary), as the app user (contains the password; show `redact(url)`). */
  readonly primaryUrl: string;
  /** Read-only, balanced over healthy replicas through HAProxy, as the app user. */
  readonly replicaUrl: string;
  /** Read-write through HAProxy as the superuser, database `postgres`. */
  readonly superuserUrl: string;
  /** The same through HAProxy's network alias, for containers on `network`. */
  readonly internal: PgHaParts['internal'];
  /** Milliseconds per provisioning step, and `total`. */
  readonly timings: Readonly<Record<string, number>>;
  /** The run clock (ms) every returned time is on: provision's `now`, default performance.now(). */
  readonly now: () => number;
  /** pgBackRest archiving of the nodes, when provisioned with it (holds the TLS key: never show it). */
  readonly archive: ArchiveConfig | undefined;
  readonly #parts: PgHaParts;
  readonly #createdNetwork: NetworkHandle | undefined;
  readonly #inRecovery: (node: PgNode) => Promise<boolean>;
  /** Container address on `network` to node name; every address a node had stays known. */
  readonly #addresses = new Map<string, string>();
  #teardown: Promise<void> | undefined;

  constructor(parts: PgHaParts) {
    this.#parts = parts;
    this.archive = parts.archive;
    this.engine = parts.engine;
    this.settings = parts.settings;
    this.topology = parts.topology;
    this.network = parts.network;
    this.#createdNetwork = parts.createdNetwork;
    this.nodes = parts.nodes;
    this.etcd = parts.etcd;
    this.haproxy = parts.haproxy;
    this.containers = [...parts.etcd, ...parts.nodes.map((n) => n.container), parts.haproxy];
    this.ports = parts.ports;
    this.credentials = parts.credentials;
    this.primaryUrl = parts.primaryUrl;
    this.replicaUrl = parts.replicaUrl;
    this.superuserUrl = parts.superuserUrl;
    this.internal = parts.internal;
    this.timings = parts.timings;
    this.now = parts.now;
    this.#inRecovery = parts.inRecovery ?? (async (n) => (await queryOnce<{ r: boolean }>(n.superuserUrl, 'select pg_is_in_recovery() as r', [], 1_000))[0]?.r === true);
  }

  get runId(): string {
    return this.engine.run.runId;
  }

  /** The same cluster (etcd, HAProxy, network, credentials) with other PostgreSQL nodes, e.g. restored ones; its teardown removes them too. */
  withNodes(nodes: readonly PgNode[]): PgHa {
    if (nodes.length !== this.nodes.length) throw new InvalidArgumentError('nodes', nodes.length, `${this.nodes.length} nodes, one per member of the topology`);
    return new PgHa({ ...this.#parts, nodes });
  }

  /** The node with this Patroni member name. */
  node(name: string): PgNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new InvalidArgumentError('node', name, `one of ${this.nodes.map((x) => x.name).join(', ')}`);
    return n;
  }

  /** Members as Patroni reports them (`GET /cluster` on the first node that answers). */
  async members(options: WaitOptions = {}): Promise<Member[]> {
    const raw = await fetchCluster(this.nodes.map((n) => n.apiUrl), options.timeoutMs ?? 1_000, options.signal);
    return this.#join(raw);
  }

  /**
   * The running primary (Patroni's leader, its PostgreSQL asked directly that it accepts
   * writes) now; NoLeaderError when there is none.
   */
  async primary(options: { signal?: AbortSignal } = {}): Promise<Member> {
    const members = await this.members(options);
    const primary = members.find((m) => m.role === 'leader' && m.state === 'running');
    if (!primary) throw new NoLeaderError(members);
    const stale = await this.staleView([primary]);
    if (stale) throw new NoLeaderError(members, stale);
    return primary;
  }

  /**
   * Why Patroni's view of these members is not what their PostgreSQL says, asked directly
   * (`pg_is_in_recovery()` on each node's own port), or undefined when it agrees: the leader
   * accepts writes, every other member is in recovery. /cluster is read from the DCS, so
   * while the DCS makes no progress (no etcd quorum) it can show a leader whose PostgreSQL is
   * down or read-only.
   */
  async staleView(members: readonly Member[]): Promise<string | undefined> {
    const answers = await Promise.all(members.map(async (m) => {
      try {
        return { m, inRecovery: await this.#inRecovery(m.node), error: undefined };
      } catch (e) {
        return { m, inRecovery: undefined, error: e instanceof Error ? e.message : String(e) };
      }
    }));
    for (const a of answers) {
      if (a.error !== undefined) return `${a.m.name} is ${a.m.role}/${a.m.state} in Patroni's /cluster but its PostgreSQL does not answer (${a.error})`;
      if (a.m.role === 'leader' && a.inRecovery) return `${a.m.name} is the leader in Patroni's /cluster but its PostgreSQL is in recovery (read-only)`;
      if (a.m.role !== 'leader' && !a.inRecovery) return `${a.m.name} is a ${a.m.role} in Patroni's /cluster but its PostgreSQL accepts writes`;
    }
    return undefined;
  }

  /**
   * Patroni's own keys in etcd now (`/service/<scope>/<key>`, read with etcdctl inside the etcd
   * containers, the first that answers): e.g. `leader` (the member holding the lock) and `sync`
   * (synchronous mode's state, `{"leader":"pg1","sync_standby":"pg2"}`: the members synchronous
   * mode lets Patroni promote). A key that is not there reads null; undefined when no etcd answered.
   */
  async dcsKeys(keys: readonly string[] = ['leader', 'sync']): Promise<Record<string, string | null> | undefined> {
    const bad = keys.find((key) => !/^[a-z_]+$/.test(key));
    if (bad !== undefined) throw new InvalidArgumentError('keys', bad, 'a Patroni key name such as `leader` or `sync`');
    for (const e of this.etcd) {
      try {
        const out: Record<string, string | null> = {};
        for (const key of keys) {
          const r = await e.exec(etcdctlCommand(['--command-timeout=2s', 'get', '--print-value-only', `/service/${this.topology.scope}/${key}`]));
          if (r.exitCode !== 0) throw new Error(r.stderr.trim());
          out[key] = r.stdout.trim() === '' ? null : r.stdout.trim();
        }
        return out;
      } catch {
        // the next etcd member
      }
    }
    return undefined;
  }

  /** Every member that is not the primary (replicas and sync standbys), whatever their state. */
  async replicas(options: { signal?: AbortSignal } = {}): Promise<Member[]> {
    return (await this.members(options)).filter((m) => m.role !== 'leader');
  }

  /**
   * The node (`pg1`, ...) whose PostgreSQL container has this address on the cluster's network,
   * e.g. what `inet_server_addr()` returns (with or without its `/32`). Addresses are read at
   * provision and after every `waitHealthy()`, so a node restarted with a new address is known
   * once the cluster was healthy again; an address a node had before stays its own.
   */
  nodeOfAddress(ip: string): string | undefined {
    if (typeof ip !== 'string') return undefined;
    return this.#addresses.get(bareAddress(ip));
  }

  /** Reads every running node's address on the network (for nodeOfAddress). */
  async refreshAddresses(): Promise<void> {
    const found = await Promise.all(this.nodes.map(async (n) => [await n.container.ipOn(this.network).catch(() => undefined), n.name] as const));
    for (const [ip, name] of found) if (ip) this.#addresses.set(ip, name);
  }

  /**
   * Resolves when there is one running primary and every other node is running, on its
   * timeline, with no lag, and each node's PostgreSQL, asked directly, agrees (see staleView).
   */
  async waitHealthy(options: WaitHealthyOptions = {}): Promise<Member[]> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const signal = options.signal;
    let last = 'no answer yet';
    let members: Member[];
    try {
      members = await untilAborted(waitFor(async () => {
        const seen = await this.members({ ...(signal ? { signal } : {}) });
        const reason = unhealthyReason(seen, this.settings, options.maxLagBytes ?? 0) ?? (await this.staleView(seen));
        if (reason) last = reason;
        return reason ? undefined : seen;
      }, { what: 'a healthy pg-ha cluster', timeoutMs, intervalMs: 100, ...(signal ? { signal } : {}) }), signal);
    } catch (e) {
      if (isWaitTimeoutError(e)) throw new WaitTimeoutError(`a healthy pg-ha cluster (last seen: ${last})`, timeoutMs, e.cause);
      throw e;
    }
    await this.refreshAddresses();
    return members;
  }

  /**
   * Waits until a running primary other than `previous` (a member or its name) is seen, polling
   * Patroni every 100 ms; `at` is when it was first seen, on the run clock. Aborting `signal`
   * rejects at once with its reason.
   */
  async waitForPromotion(previous: Member | string, options: WaitOptions = {}): Promise<Promotion> {
    const before = typeof previous === 'string' ? previous : previous.name;
    const signal = options.signal;
    const start = this.now();
    const primary = await untilAborted(waitFor(async () => {
      const members = await this.members({ timeoutMs: 500, ...(signal ? { signal } : {}) });
      const next = members.find((m) => m.role === 'leader' && m.state === 'running' && m.name !== before);
      // Promoted once its PostgreSQL accepts writes, not when Patroni's DCS view says so.
      return next && !(await this.staleView([next])) ? next : undefined;
    }, { what: `a primary other than ${before}`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, ...(signal ? { signal } : {}) }), signal);
    const at = this.now();
    return { primary, previous: before, at, elapsedMs: at - start };
  }

  /**
   * Patroni's reinitialise of a replica (POST /reinitialize with force, as `patronictl reinit
   * --force` does): it stops the node's PostgreSQL, empties its data directory and takes a new
   * base backup from the leader. The operator's way out for a replica Patroni will not recover by
   * itself, such as one stuck starting (patroni/patroni#3650). Resolves when Patroni accepted it.
   */
  async reinitialize(name: string): Promise<void> {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new InvalidArgumentError('node', name, `one of ${this.nodes.map((n) => n.name).join(', ')}`);
    const res = await fetch(`${node.apiUrl}/reinitialize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ force: true }), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status >= 300) throw new ResilienceError(`Patroni on ${name} refused to reinitialise it: HTTP ${res.status} ${text.trim()}`);
  }

  /** What to show a person: ports and connection strings, passwords redacted unless asked. */
  describe(options: { showSecrets?: boolean } = {}): PgHaDescription {
    const show = (url: string) => (options.showSecrets ? url : redact(url));
    return {
      runId: this.runId,
      network: this.network,
      primary: { port: this.ports.primary, url: show(this.primaryUrl) },
      replicas: { port: this.ports.replicas, url: show(this.replicaUrl) },
      superuser: { url: show(this.superuserUrl) },
      stats: `http://127.0.0.1:${this.ports.stats}/`,
      internal: { primaryUrl: show(this.internal.primaryUrl), replicaUrl: show(this.internal.replicaUrl) },
      nodes: this.nodes.map((n) => ({ name: n.name, container: n.container.name, port: n.port, apiUrl: n.apiUrl, url: show(n.url) })),
      etcd: this.etcd.map((c) => c.name),
      haproxy: this.haproxy.name,
      settings: this.settings,
      timings: this.timings,
    };
  }

  /** Removes every container provision created, then its network; idempotent. */
  teardown(): Promise<void> {
    this.#teardown ??= (async () => {
      const results = await Promise.allSettled(this.containers.map((c) => c.remove()));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      try {
        await this.#createdNetwork?.remove();
      } catch (e) {
        errors.push(e);
      }
      if (errors.length) throw new AggregateError(errors, `pg-ha teardown left ${errors.length} error(s)`);
    })();
    return this.#teardown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }

  #join(raw: readonly ClusterMember[]): Member[] {
    const out: Member[] = [];
    for (const m of raw) {
      const node = this.nodes.find((n) => n.name === m.name);
      if (node) out.push({ ...m, node, container: node.container, url: node.url });
    }
    return out;
  }
}

export interface PgHaDescription {
  readonly runId: string;
  readonly network: string;
  readonly primary: { readonly port: number; readonly url: string };
  readonly replicas: { readonly port: number; readonly url: string };
  readonly superuser: { readonly url: string };
  readonly stats: string;
  readonly internal: { readonly primaryUrl: string; readonly replicaUrl: string };
  readonly nodes: readonly { readonly name: string; readonly container: string; readonly port: number; readonly apiUrl: string; readonly url: string }[];
  readonly etcd: readonly string[];
  readonly haproxy: string;
  readonly settings: PgHaSettings;
  readonly timings: Readonly<Record<string, number>>;
}

/** `10.0.0.5` from `10.0.0.5`, `10.0.0.5/32` (`inet::text`) or `::ffff:10.0.0.5`. */
export function bareAddress(ip: string): string {
  return ip.trim().replace(/\/\d+$/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
}
