// The handle of a provisioned cluster: who leads now (from Patroni's REST API), connection
// strings through HAProxy and to each node, waits for health and for a new leader, and a
// teardown that removes exactly what provision created.
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, ResilienceError, WaitTimeoutError, isWaitTimeoutError, waitFor, type ContainerHandle, type Engine, type NetworkHandle } from '@resilience/fixtures';
import type { PgHaSettings } from './options.ts';
import type { Topology } from './topology.ts';
import { fetchCluster, type ClusterMember } from './patroni-api.ts';
import { redact, type Credentials } from './secrets.ts';

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

export interface LeaderChange {
  readonly leader: Member;
  /** performance.now() when the new leader was first seen running. */
  readonly seenAt: number;
  /** From the call to the sighting. */
  readonly elapsedMs: number;
}

export interface WaitHealthyOptions {
  readonly timeoutMs?: number;
  /** Replicas may lag the leader by at most this many bytes (default 0). */
  readonly maxLagBytes?: number;
  readonly signal?: AbortSignal;
}

export class NoLeaderError extends ResilienceError {
  readonly members: readonly ClusterMember[];
  constructor(members: readonly ClusterMember[]) {
    super(`The cluster has no running leader (${members.map((m) => `${m.name}: ${m.role}/${m.state}`).join(', ') || 'no members'})`);
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
  readonly leaderUrl: string;
  readonly replicaUrl: string;
  readonly superuserUrl: string;
  readonly internal: { readonly leaderUrl: string; readonly replicaUrl: string };
  readonly timings: Record<string, number>;
}

const HEALTHY_STATES = new Set(['running', 'streaming']);

/** Why a /cluster snapshot is not healthy, or undefined when it is. */
export function unhealthyReason(members: readonly ClusterMember[], settings: Pick<PgHaSettings, 'nodes' | 'synchronous'>, maxLagBytes = 0): string | undefined {
  const leaders = members.filter((m) => m.role === 'leader');
  if (leaders.length !== 1) return `${leaders.length} leaders`;
  const leader = leaders[0]!;
  if (leader.state !== 'running') return `leader ${leader.name} is ${leader.state}`;
  if (members.length !== settings.nodes) return `${members.length} of ${settings.nodes} members registered`;
  for (const m of members) {
    if (m === leader) continue;
    if (!HEALTHY_STATES.has(m.state)) return `${m.name} is ${m.state}`;
    if (m.lagBytes === undefined || m.lagBytes > maxLagBytes) return `${m.name} lags by ${m.lagBytes ?? 'unknown'} bytes`;
    if (m.timeline !== undefined && leader.timeline !== undefined && m.timeline !== leader.timeline) return `${m.name} is on timeline ${m.timeline}, the leader on ${leader.timeline}`;
  }
  if (settings.synchronous && !members.some((m) => m.role === 'sync_standby')) return 'no sync_standby yet';
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
  /** HAProxy ports on 127.0.0.1: read-write (leader), read-only (replicas), stats page. */
  readonly ports: PgHaParts['ports'];
  readonly credentials: Credentials;
  /** Read-write through HAProxy, as the app user (contains the password; show `redact(url)`). */
  readonly leaderUrl: string;
  /** Read-only, balanced over healthy replicas through HAProxy, as the app user. */
  readonly replicaUrl: string;
  /** Read-write through HAProxy as the superuser, database `postgres`. */
  readonly superuserUrl: string;
  /** The same through HAProxy's network alias, for containers on `network`. */
  readonly internal: PgHaParts['internal'];
  /** Milliseconds per provisioning step, and `total`. */
  readonly timings: Readonly<Record<string, number>>;
  readonly #createdNetwork: NetworkHandle | undefined;
  #teardown: Promise<void> | undefined;

  constructor(parts: PgHaParts) {
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
    this.leaderUrl = parts.leaderUrl;
    this.replicaUrl = parts.replicaUrl;
    this.superuserUrl = parts.superuserUrl;
    this.internal = parts.internal;
    this.timings = parts.timings;
  }

  get runId(): string {
    return this.engine.run.runId;
  }

  /** The node with this Patroni member name. */
  node(name: string): PgNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new InvalidArgumentError('node', name, `one of ${this.nodes.map((x) => x.name).join(', ')}`);
    return n;
  }

  /** Members as Patroni reports them (`GET /cluster` on the first node that answers). */
  async members(options: { timeoutMs?: number } = {}): Promise<Member[]> {
    const raw = await fetchCluster(this.nodes.map((n) => n.apiUrl), options.timeoutMs ?? 1_000);
    return this.#join(raw);
  }

  /** The running leader now; NoLeaderError when there is none. */
  async leader(): Promise<Member> {
    const members = await this.members();
    const leader = members.find((m) => m.role === 'leader' && m.state === 'running');
    if (!leader) throw new NoLeaderError(members);
    return leader;
  }

  /** Every member that is not the leader (replicas and sync standbys), whatever their state. */
  async replicas(): Promise<Member[]> {
    return (await this.members()).filter((m) => m.role !== 'leader');
  }

  /** Resolves when there is one running leader and every other node is running, on its timeline, with no lag. */
  async waitHealthy(options: WaitHealthyOptions = {}): Promise<Member[]> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    let last = 'no answer yet';
    try {
      return await waitFor(async () => {
        const members = await this.members();
        const reason = unhealthyReason(members, this.settings, options.maxLagBytes ?? 0);
        if (reason) last = reason;
        return reason ? undefined : members;
      }, { what: 'a healthy pg-ha cluster', timeoutMs, intervalMs: 100, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (e) {
      if (isWaitTimeoutError(e)) throw new WaitTimeoutError(`a healthy pg-ha cluster (last seen: ${last})`, timeoutMs, e.cause);
      throw e;
    }
  }

  /** Waits until a running leader other than `previous` is seen; reports when. */
  async waitForLeaderChange(previous: Member | string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LeaderChange> {
    const before = typeof previous === 'string' ? previous : previous.name;
    const start = performance.now();
    const leader = await waitFor(async () => {
      const members = await this.members({ timeoutMs: 500 });
      return members.find((m) => m.role === 'leader' && m.state === 'running' && m.name !== before);
    }, { what: `a leader other than ${before}`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, ...(options.signal ? { signal: options.signal } : {}) });
    const seenAt = performance.now();
    return { leader, seenAt, elapsedMs: seenAt - start };
  }

  /** What to show a person: ports and connection strings, passwords redacted unless asked. */
  describe(options: { showSecrets?: boolean } = {}): PgHaDescription {
    const show = (url: string) => (options.showSecrets ? url : redact(url));
    return {
      runId: this.runId,
      network: this.network,
      leader: { port: this.ports.primary, url: show(this.leaderUrl) },
      replicas: { port: this.ports.replicas, url: show(this.replicaUrl) },
      superuser: { url: show(this.superuserUrl) },
      stats: `http://127.0.0.1:${this.ports.stats}/`,
      internal: { leaderUrl: show(this.internal.leaderUrl), replicaUrl: show(this.internal.replicaUrl) },
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
  readonly leader: { readonly port: number; readonly url: string };
  readonly replicas: { readonly port: number; readonly url: string };
  readonly superuser: { readonly url: string };
  readonly stats: string;
  readonly internal: { readonly leaderUrl: string; readonly replicaUrl: string };
  readonly nodes: readonly { readonly name: string; readonly container: string; readonly port: number; readonly apiUrl: string; readonly url: string }[];
  readonly etcd: readonly string[];
  readonly haproxy: string;
  readonly settings: PgHaSettings;
  readonly timings: Readonly<Record<string, number>>;
}
