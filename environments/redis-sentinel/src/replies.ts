// Parsing of what Redis and Sentinel answer (INFO text, SENTINEL field lists) and the majority
// rule over the Sentinels' answers: pure functions, tested without Docker.

export interface ReplicaLink {
  /** The replica's announced address (its network alias here). */
  readonly ip: string;
  readonly port: number;
  readonly state: string;
  /** The replication offset the replica last acknowledged. */
  readonly offset: number;
  readonly lag: number;
}

export interface ReplicationInfo {
  readonly role: string;
  readonly masterReplOffset: number;
  /** On a master: its replicas. */
  readonly replicas: readonly ReplicaLink[];
  /** On a replica: its master and whether the link is up. */
  readonly masterHost: string | undefined;
  readonly masterLinkStatus: string | undefined;
}

/** `INFO` text as key/value pairs (section headers and blank lines dropped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** `INFO replication`, with the `slaveN:ip=...,port=...` lines split into fields. */
export function parseReplicationInfo(text: string): ReplicationInfo {
  const info = parseInfo(text);
  const replicas: ReplicaLink[] = [];
  for (const [key, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(key)) continue;
    const f: Record<string, string> = {};
    for (const part of value.split(',')) {
      const i = part.indexOf('=');
      if (i > 0) f[part.slice(0, i)] = part.slice(i + 1);
    }
    replicas.push({ ip: f['ip'] ?? '', port: Number(f['port']), state: f['state'] ?? '', offset: Number(f['offset']), lag: Number(f['lag']) });
  }
  return {
    role: info['role'] ?? '',
    masterReplOffset: Number(info['master_repl_offset'] ?? 0),
    replicas,
    masterHost: info['master_host'],
    masterLinkStatus: info['master_link_status'],
  };
}

/** A SENTINEL reply given as a flat `[field, value, field, value, ...]` list, as an object. */
export function fields(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

/** The flags of a SENTINEL entry (`master`, `slave,s_down,disconnected`, ...). */
export function flags(entry: Record<string, string>): string[] {
  return (entry['flags'] ?? '').split(',').filter((f) => f !== '');
}

/** `host:port` from a `get-master-addr-by-name` reply, or undefined when the reply is not an address. */
export function masterAddress(reply: unknown): string | undefined {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined;
  const [host, port] = reply as unknown[];
  if (typeof host !== 'string' || host === '' || !/^\d+$/.test(String(port))) return undefined;
  return `${host}:${String(port)}`;
}

/**
 * The answer given by at least `needed` voters (undefined votes are voters that did not answer),
 * or undefined when no answer has that many. With `needed` above half the voters, at most one
 * answer can qualify.
 */
export function agreed(answers: readonly (string | undefined)[], needed: number): string | undefined {
  const tally = new Map<string, number>();
  for (const a of answers) {
    if (a === undefined) continue;
    const n = (tally.get(a) ?? 0) + 1;
    if (n >= needed) return a;
    tally.set(a, n);
  }
  return undefined;
}
