// Names of everything in one cluster, derived from the settings in one place: container names,
// network aliases (how the containers find each other), Patroni member names and ports.
import type { PgHaSettings } from './options.ts';

export const PORTS = {
  postgres: 5432,
  patroniApi: 8008,
  etcdClient: 2379,
  etcdPeer: 2380,
  haproxyPrimary: 5000,
  haproxyReplicas: 5001,
  haproxyStats: 7000,
} as const;

/** Roles on the containers (`{ role }` target selectors for faults). */
export const ROLES = { etcd: 'etcd', postgres: 'postgres', haproxy: 'haproxy' } as const;

export interface NodeName {
  /** Patroni member name, e.g. `pg1`. */
  readonly member: string;
  /** Container name suffix (the engine adds `rz-<run>-`) and network alias, e.g. `pgha-pg1`. */
  readonly alias: string;
}

export interface Topology {
  /** Patroni scope (cluster name). */
  readonly scope: string;
  readonly etcd: readonly NodeName[];
  readonly nodes: readonly NodeName[];
  readonly haproxy: NodeName;
  /** Short network name given to Engine.createNetwork when none is passed in. */
  readonly networkName: string;
}

export function topology(settings: Pick<PgHaSettings, 'namePrefix' | 'nodes' | 'etcdNodes'>): Topology {
  const p = settings.namePrefix;
  const name = (member: string): NodeName => ({ member, alias: `${p}-${member}` });
  return {
    scope: p,
    etcd: Array.from({ length: settings.etcdNodes }, (_, i) => name(`etcd${i + 1}`)),
    nodes: Array.from({ length: settings.nodes }, (_, i) => name(`pg${i + 1}`)),
    haproxy: name('haproxy'),
    networkName: `${p}-net`,
  };
}
