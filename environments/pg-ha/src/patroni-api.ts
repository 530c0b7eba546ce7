// Patroni's REST API as seen from the host: `GET /cluster` from whichever node answers first,
// parsed into typed member records. A node that is killed, paused or partitioned just loses
// the race; only when none answers does the call fail.
import { ResilienceError } from '@resilience/fixtures';

export type MemberRole = 'leader' | 'replica' | 'sync_standby' | 'standby_leader';

/** One member as Patroni reports it in `GET /cluster`. */
export interface ClusterMember {
  readonly name: string;
  readonly role: MemberRole;
  /** `running`, `streaming` (newer Patroni), `starting`, `stopped`, `crashed`, ... */
  readonly state: string;
  readonly timeline: number | undefined;
  /** Bytes behind the leader; 0 for the leader; undefined when Patroni reports `unknown`. */
  readonly lagBytes: number | undefined;
  /** Address on the Docker network (Patroni's connect_address host). */
  readonly host: string | undefined;
}

export class PatroniUnreachableError extends ResilienceError {
  readonly urls: readonly string[];
  constructor(urls: readonly string[], cause: unknown) {
    super(`No Patroni REST API answered GET /cluster (${urls.join(', ')})`, { cause });
    this.urls = urls;
  }
}

const ROLES = new Set<string>(['leader', 'replica', 'sync_standby', 'standby_leader']);

/** Parses the body of `GET /cluster`. Unknown roles are kept as `replica` (Patroni lists only those four). */
export function parseCluster(body: unknown): ClusterMember[] {
  const members = (body as { members?: unknown } | null)?.members;
  if (!Array.isArray(members)) throw new TypeError(`Patroni /cluster answered without a members list: ${JSON.stringify(body).slice(0, 200)}`);
  return members.map((raw: Record<string, unknown>) => {
    const role = String(raw['role'] ?? 'replica');
    const lag = raw['lag'];
    return {
      name: String(raw['name']),
      role: (ROLES.has(role) ? role : 'replica') as MemberRole,
      state: String(raw['state'] ?? ''),
      timeline: typeof raw['timeline'] === 'number' ? raw['timeline'] : undefined,
      lagBytes: role === 'leader' || role === 'standby_leader' ? 0 : typeof lag === 'number' ? lag : undefined,
      host: typeof raw['host'] === 'string' ? raw['host'] : undefined,
    };
  });
}

/** GET a JSON endpoint (Patroni, etcd); returns status and parsed body (Patroni answers JSON even on 503). */
export async function getJson(url: string, timeoutMs: number, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

/** `GET /cluster` on every API URL at once; the first good answer wins. Aborting `signal` ends every request at once. */
export async function fetchCluster(apiUrls: readonly string[], timeoutMs = 1_000, signal?: AbortSignal): Promise<ClusterMember[]> {
  signal?.throwIfAborted();
  try {
    return await Promise.any(apiUrls.map(async (base) => {
      const { status, body } = await getJson(`${base}/cluster`, timeoutMs, signal);
      if (status !== 200) throw new Error(`${base}/cluster answered ${status}`);
      return parseCluster(body);
    }));
  } catch (e) {
    signal?.throwIfAborted();
    throw new PatroniUnreachableError(apiUrls, e instanceof AggregateError ? e.errors[0] : e);
  }
}
