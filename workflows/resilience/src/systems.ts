// pg-ha and redis-sentinel as the runner's System: one handle shape for promotion, rejoin,
// redundancy and evidence, so the schedule's conditions read the same for both.
import { waitFor, type ContainerHandle, type Evidence } from '@resilience/fixtures';
import type { NodeRef, System } from '@resilience/runner';
import type { PgHa } from '@resilience/pg-ha';
import type { RedisSentinel } from '@resilience/redis-sentinel';
import { createRequire } from 'node:module';
import { logExcerpt } from './log-excerpt.ts';
import { pgRoleSources, redisRoleSources } from './roles.ts';

/** The ioredis the probes use, for findings about it. */
const IOREDIS_VERSION = (createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version;

/** Log lines of a container since an epoch time, with Docker's timestamps. */
async function logsSince(container: ContainerHandle, sinceEpochMs: number): Promise<string[]> {
  return (await container.logs({ sinceEpochMs, timestamps: true })).split('\n').map((l) => l.trimEnd()).filter(Boolean);
}

const INTERESTING = /lock|demot|promot|leader|timeline|rewind|acquired|failover|Lock owner|fail|fatal|error|start/i;

/** Patroni 3.0.0-3.0.2: before the fixes of 3.0.3 the findings name (the etcd3 leader-key overwrite, the sync key left as another leader wrote it). */
const beforePatroni303 = (version: string): boolean => /\b3\.0\.[0-2]\b/.test(version);

/** Patroni 3.0.0-3.0.2 can overwrite a newer leader key after a freeze (etcd3); fixed in 3.0.3. */
export const PATRONI_ETCD3_OVERWRITE: Evidence = {
  label: 'known upstream issue (Patroni < 3.0.3, etcd3)',
  text: 'Patroni 3.0.2 renews its etcd3 lease inside Etcd3._update_leader; when the lease expired while the process was frozen it silently takes a new lease and writes the leader key with an unconditional put, so a node working from a stale cluster view overwrites the key the new primary holds. Fixed in 3.0.3 by patroni PR #2689 (create-only write) and PR #2693 (compare-value-or-create transaction): https://github.com/patroni/patroni/pull/2689, https://github.com/patroni/patroni/pull/2693. Neither is in the 3.0.3 release notes. Related stale-state fixes in 3.1.0: #2783, #2787.',
};

/** A node of either environment as a fault target. */
const ref = (m: { readonly name: string; readonly container: ContainerHandle }): NodeRef => ({ name: m.name, container: m.container });

export function patroniSystem(pg: PgHa, version: string): System {
  const stableMs = (pg.settings.loopWait + 1) * 1000;
  return {
    scope: 'postgres',
    title: `PostgreSQL/${version || 'Patroni'}`,
    network: pg.network,
    primary: async () => ref(await pg.primary()),
    waitForPromotion: async (previous, o) => {
      const p = await pg.waitForPromotion(previous, o);
      return { primary: ref(p.primary), at: p.at };
    },
    // A node that was frozen or cut off reports from a stale view for a loop or two: its state
    // counts once it has held for loop_wait + 1 s; the rejoin time is when it first held.
    waitRejoined: async (node, o) => {
      let since: { at: number; role: string } | undefined;
      return waitFor(async () => {
        const members = await pg.members({ signal: o.signal });
        const m = members.find((x) => x.name === node);
        // Patroni's /cluster comes from the DCS and can be stale (no etcd quorum): the nodes are asked directly too.
        const ok = m && (m.state === 'streaming' || m.state === 'running') && members.filter((x) => x.role === 'leader').length === 1 && !(await pg.staleView(members));
        if (!ok || since?.role !== m.role) since = ok ? { at: pg.now(), role: m.role } : undefined;
        if (!ok || !since || pg.now() - since.at < stableMs) return undefined;
        return { at: since.at, role: m.role === 'leader' ? 'primary' as const : 'replica' as const, detail: m.role === 'leader' ? `timeline ${m.timeline ?? '?'}` : 'pg_rewind if needed' };
      }, { what: `${node} to rejoin the cluster`, timeoutMs: o.timeoutMs, intervalMs: 200, signal: o.signal });
    },
    waitHealthy: async (o) => {
      await pg.waitHealthy(o);
    },
    // Patroni prints this right after it renewed the leader lock: the loop then sleeps for
    // loop_wait, which is where a freeze lands on a real machine. Lining the fault up with it
    // makes a pause hit the same moment of Patroni's cycle every iteration.
    beforeFault: async (node, o) => {
      await node.container.nextLogLine(/no action\. *I am \(.*\),? the leader with the lock/, { timeoutMs: Math.min(o.timeoutMs, (pg.settings.loopWait + 5) * 1000), signal: o.signal }).catch(() => undefined);
    },
    electionBound: `ttl ${pg.settings.ttl} s + loop_wait ${pg.settings.loopWait} s`,
    electionBoundMs: (pg.settings.ttl + pg.settings.loopWait) * 1000,
    roles: () => pgRoleSources(pg),
    demotionBound: `loop_wait ${pg.settings.loopWait} s + retry_timeout ${pg.settings.retryTimeout} s = ${pg.settings.loopWait + pg.settings.retryTimeout} s (the leader demotes itself when it cannot renew its lock${pg.settings.failsafeMode ? '; with failsafe_mode it stays primary while it reaches every member' : ''})`,
    explain: async (kind, nodes, sinceEpochMs) => {
      const evidence: Evidence[] = [{ label: 'version', text: version }];
      const members = await pg.members().catch(() => []);
      if (members.length) evidence.push({ label: "Patroni's /cluster now", text: members.map((m) => `${m.name}  ${m.role}  ${m.state}  timeline ${m.timeline ?? '?'}  lag ${m.lagBytes ?? '?'}`).join('\n') });
      // Each node's log from the fault, read once: the Patroni excerpt and the synchronous-mode lines both come from it.
      const logs: { name: string; lines: string[] }[] = [];
      for (const name of nodes.length ? nodes : pg.nodes.map((x) => x.name)) {
        const n = pg.nodes.find((x) => x.name === name);
        if (!n) continue;
        const lines = await logsSince(n.container, sinceEpochMs - 2000);
        logs.push({ name, lines });
        evidence.push({ label: `${name} Patroni log from the fault (lock, role and start changes; each heartbeat once)`, text: logExcerpt(lines.filter((l) => INTERESTING.test(l))).join('\n') || '(nothing matching)' });
      }
      // etcd's own view: raft elections that never end mean the DCS had no quorum (nothing can be written, no lease expires).
      for (const e of pg.etcd) {
        const raft = (await logsSince(e, sinceEpochMs - 2000)).filter((l) => /became candidate|elected leader|lost leader|became leader|became follower/i.test(l));
        const candidacies = raft.filter((l) => /became candidate/i.test(l)).length;
        if (raft.length) evidence.push({ label: `${e.name.replace(/^rz-[^-]+-[^-]+-/, '')} raft log (${candidacies} candidacies since the fault)`, text: raft.slice(-8).join('\n') });
      }
      // The leader-key overwrite is about a node that comes back from a freeze with a stale view.
      const old = beforePatroni303(version) && ['failover-not-held', 'split-brain', 'not-recovered'].includes(kind);
      if (old) evidence.push(PATRONI_ETCD3_OVERWRITE);
      const sync = pg.settings.sync && ['failover-not-held', 'not-recovered', 'lost-writes'].includes(kind) ? await syncState(pg, logs, version) : undefined;
      if (sync) evidence.push(...sync.evidence);
      const details = [
        ...(sync?.detail ? [sync.detail] : []),
        ...(kind === 'lost-writes' && !pg.settings.sync ? ['Replication is asynchronous (Patroni synchronous_mode off): a commit is acknowledged before any replica has it, so what a primary acknowledged in its last moments as primary (cut off, frozen or killed) is gone once another node is promoted; --sync makes a commit wait for a synchronous standby.'] : []),
        ...(old ? [`${version} has a known etcd3 leader-key overwrite after a freeze (fixed in Patroni 3.0.3, PR #2689 / #2693); trixie's Patroni 4.0.x has the fix.`] : []),
      ];
      return { evidence, ...(details.length ? { detail: details.join(' ') } : {}) };
    },
  };
}

/** What Patroni's synchronous mode says now, the keys in etcd and each node's synchronous-mode lines. */
async function syncState(pg: PgHa, logs: readonly { name: string; lines: readonly string[] }[], version: string): Promise<{ evidence: Evidence[]; detail?: string }> {
  const evidence: Evidence[] = [];
  const keys = await pg.dcsKeys(['leader', 'sync']).catch(() => undefined);
  if (keys) evidence.push({ label: "Patroni's keys in etcd now (the leader lock, synchronous mode's state)", text: `leader  ${keys.leader ?? '(none)'}\nsync    ${keys.sync ?? '(none)'}` });
  for (const { name, lines } of logs) {
    const sync = lines.filter((l) => SYNC_LINE.test(l));
    if (sync.length) evidence.push({ label: `${name} synchronous-mode log lines from the fault (each repeated line once)`, text: logExcerpt(sync, 25, SYNC_REPEAT).join('\n') });
  }
  const detail = syncKeyDetail(keys, version);
  return detail ? { evidence, detail } : { evidence };
}

/**
 * Why synchronous mode cannot settle, read from Patroni's `leader` and `sync` keys: the sync key
 * names another leader than the one holding the lock. undefined when they agree or cannot be read.
 */
export function syncKeyDetail(keys: Readonly<Record<string, string | null>> | undefined, version: string): string | undefined {
  const leader = keys?.leader;
  let syncLeader: unknown;
  try {
    syncLeader = keys?.sync ? (JSON.parse(keys.sync) as { leader?: unknown }).leader : undefined;
  } catch {
    return undefined;
  }
  if (!leader || typeof syncLeader !== 'string' || syncLeader === leader) return undefined;
  const old = beforePatroni303(version);
  return `etcd's sync key names ${syncLeader} as the leader of synchronous mode while ${leader} holds the leader lock, so no replica is recorded as ${leader}'s synchronous standby (Patroni's /cluster shows none), and the failover candidates synchronous mode allows are read from a key that describes a leadership that ended.${old ? ` ${version} leaves a sync key another leader wrote as it is: a primary that takes the lock back while still running as primary only runs process_sync_replication() (patroni/ha.py), which returns with "Synchronous replication key updated by someone else" while the key's leader is not itself; that check went in Patroni 3.0.3 (PR #2669, https://github.com/patroni/patroni/pull/2669).` : ''}`;
}

/** Patroni's synchronous-mode lines (and PostgreSQL's about synchronous_standby_names). */
const SYNC_LINE = /synchron/i;
/** Those Patroni repeats every loop while synchronous mode cannot settle. */
const SYNC_REPEAT = /Synchronous replication key updated by someone else|Assigning synchronous standby status|Updating synchronous privilege temporarily/;

export function sentinelSystem(redis: RedisSentinel, version: string): System {
  return {
    scope: 'redis',
    title: `Redis Sentinel (${version || 'redis'})`,
    network: redis.network,
    clientIncidents: () => redis.clientRevivals.map((r) => ({
      at: r.at,
      title: `a probe's Redis client (ioredis ${IOREDIS_VERSION}) ended by itself during the failover and would not have reconnected`,
      detail: `After ${r.endedAfter === 'ready' ? 'a connection' : 'a reconnect attempt'}, ioredis set the client's status to \`end\`: every command then fails with "Connection is closed." and it never reconnects. Its failover detector (\`failoverDetector: true\`) disconnects on \`+switch-master\`; when that message comes while the client is between reconnects (the old master just died), the pending connect fails and ioredis treats a failed connect as final. The runner connected the probe's client again 50 ms later, so the probes measure Redis; an application with this client would have stayed without Redis until restarted.`,
      evidence: [{ label: 'ioredis', text: `ioredis ${IOREDIS_VERSION}: Redis#_connect sets status "end" when connector.connect rejects; SentinelConnector.connect rejects with "Connection is closed." when FailoverDetector.disconnect() cleared its \`connecting\` flag during the resolve. The same symptom reported upstream: https://github.com/redis/ioredis/issues/1683` }],
    })),
    primary: async () => ref(await redis.primary()),
    waitForPromotion: async (previous, o) => {
      const p = await redis.waitForPromotion(previous, o);
      return { primary: ref(p.primary), at: p.at };
    },
    waitRejoined: async (node, o) => {
      await redis.waitHealthy(o);
      const primary = await redis.primary();
      return { at: redis.now(), role: primary.name === node ? 'primary' : 'replica', detail: 'every replica linked to the primary and caught up' };
    },
    waitHealthy: async (o) => {
      await redis.waitHealthy(o);
    },
    electionBound: `down-after-milliseconds ${redis.settings.downAfterMs} ms + the Sentinel election`,
    electionBoundMs: redis.settings.downAfterMs + 5000,
    roles: () => redisRoleSources(redis),
    demotionBound: redis.settings.minReplicasToWrite > 0
      ? `min-replicas-max-lag ${redis.settings.minReplicasMaxLagSeconds} s + 1 s (a master refuses writes once fewer than ${redis.settings.minReplicasToWrite} replica(s) acknowledged within the lag)`
      : 'none: without min-replicas-to-write a cut-off master accepts writes until the Sentinels turn it into a replica after the heal',
    explain: async (kind, nodes, sinceEpochMs) => {
      const evidence: Evidence[] = [{ label: 'version', text: version }];
      for (const s of redis.sentinels.slice(0, 1)) {
        const lines = (await logsSince(s.container, sinceEpochMs - 2000)).filter((l) => /switch-master|odown|sdown|failover|\+vote/i.test(l));
        evidence.push({ label: `${s.name} log from the fault`, text: logExcerpt(lines).join('\n') || '(nothing matching)' });
      }
      void nodes;
      const min = redis.settings.minReplicasToWrite;
      return {
        evidence,
        ...(kind === 'lost-writes' ? { detail: min > 0
          ? `Redis replication is asynchronous; with min-replicas-to-write ${min} / min-replicas-max-lag ${redis.settings.minReplicasMaxLagSeconds} a master that lost its replicas still acknowledges writes until the lag is over ${redis.settings.minReplicasMaxLagSeconds} s, and those are lost when it is turned into a replica.`
          : 'Redis replication is asynchronous and, without min-replicas-to-write, a master cut off from its replicas acknowledges writes until the Sentinels turn it into a replica after the heal: all of them are lost (Jepsen found the same in 2013).' } : {}),
      };
    },
  };
}
