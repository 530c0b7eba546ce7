// The failover workflow: app-stack under live traffic; the Patroni leader and/or the Redis
// master fail; measured: time to detect, leader election, client-visible RTO, availability and
// latency per phase, lost and ghost writes, rejoin of the old leader and full redundancy.
import { readJournal, readWrittenIds, readRedisIds, WriteLedger, waitFor, type Injected, type ContainerHandle, type RunSummary } from '@resilience/fixtures';
import { provision, type AppStack } from '@resilience/app-stack';
import { parseHypothesis, type Hypothesis, type WorkflowContext, type WorkflowDefinition } from '@resilience/runner';
import pg from 'pg';
import { FailoverOptions, USAGE, type FailoverOptionsT } from './options.ts';
import { seedOrder, traffic } from './traffic.ts';

type Ctx = WorkflowContext<FailoverOptionsT>;

/** The faults this run injected, to tie analysis results back to targets and iterations. */
const injected: { id: string; target: 'postgres' | 'redis'; iteration: number }[] = [];
const DEPENDS_ON = { postgres: ['http-write', 'sql-write'], redis: ['redis-write', 'redis-read'] } as const;

function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** RTO per failover (worst dependent probe) and its distribution over iterations. */
function afterAnalysis(ctx: Ctx, summary: RunSummary): void {
  const byTarget = new Map<string, number[]>();
  for (const f of injected) {
    const rtos = DEPENDS_ON[f.target].map((p) => summary.probes[p]?.faults.find((x) => x.faultId === f.id)?.rtoMs).filter((x): x is number => typeof x === 'number');
    const rto = rtos.length ? Math.max(...rtos) : null;
    ctx.measure({ name: 'failoverRto', scope: f.target, iteration: f.iteration, value: rto, unit: 'ms', description: `client-visible RTO of this failover: the worst of ${DEPENDS_ON[f.target].join(', ')} (fault start to the first of 1 s of consecutive successes)` });
    if (rto !== null) byTarget.set(f.target, [...(byTarget.get(f.target) ?? []), rto]);
  }
  for (const [target, values] of byTarget) {
    const sorted = [...values].sort((a, b) => a - b);
    const over = `over ${sorted.length} iteration(s), nearest rank`;
    ctx.measure({ name: 'rtoP50', scope: target, value: nearestRank(sorted, 50), unit: 'ms', description: `median failover RTO ${over}` });
    ctx.measure({ name: 'rtoP95', scope: target, value: nearestRank(sorted, 95), unit: 'ms', description: `95th percentile failover RTO ${over}` });
    ctx.measure({ name: 'rtoMax', scope: target, value: sorted[sorted.length - 1]!, unit: 'ms', description: `worst failover RTO ${over}` });
  }
}

function hypotheses(o: FailoverOptionsT): Hypothesis[] {
  const h = [
    parseHypothesis('rto <= 30s', 'client-visible recovery time of every probe after every failover'),
    parseHypothesis('availability(steady) >= 99.9%', 'successful / attempted operations of all probes in steady state'),
  ];
  if (o.sync) h.push(parseHypothesis('lostWrites == 0', 'acknowledged SQL and HTTP writes missing after recovery (synchronous mode)'));
  return h;
}

async function inject(ctx: Ctx, container: ContainerHandle, network: string): Promise<Injected> {
  const chaos = ctx.run.chaos;
  switch (ctx.options.fault) {
    case 'kill': return chaos.kill(container);
    case 'stop': return chaos.stop(container, { timeoutSeconds: 10 });
    case 'pause': return chaos.pause(container);
    case 'disconnect': return chaos.disconnect(container, { network });
  }
}

/** Waits until every probe in `names` had a full second of successes (what users feel as "back"). */
async function clientsRecovered(ctx: Ctx, names: readonly string[], probes: readonly { name: string; snapshot(): { lastSecond: { attempts: number; availability: number | null } } }[]): Promise<void> {
  const watched = probes.filter((p) => names.includes(p.name));
  await waitFor(() => watched.every((p) => {
    const s = p.snapshot().lastSecond;
    return s.attempts > 0 && s.availability === 1;
  }), { what: `${names.join(', ')} to succeed for a full second`, timeoutMs: ctx.options.timeout, intervalMs: 100, signal: ctx.signal });
}

/** performance.now() value -> run clock. */
function onRunClock(ctx: Ctx, perfNow: number): number {
  return perfNow - (performance.now() - ctx.run.now());
}

async function failPostgres(ctx: Ctx, stack: AppStack, iteration: number, t: ReturnType<typeof traffic>): Promise<void> {
  const o = ctx.options;
  const before = await stack.pg.leader();
  ctx.note(`iteration ${iteration}: failing the Patroni leader ${before.name} (${o.fault})`);
  ctx.phase('fault');
  const fault = await inject(ctx, before.container, stack.network);
  injected.push({ id: fault.id, target: 'postgres', iteration });
  const change = await stack.pg.waitForLeaderChange(before, { timeoutMs: o.timeout, signal: ctx.signal });
  const electedAt = onRunClock(ctx, change.seenAt);
  ctx.measure({ name: 'election', scope: 'postgres', iteration, value: Math.max(0, electedAt - fault.injectedAt), unit: 'ms', description: `fault start to Patroni's /cluster first naming a new leader (${change.leader.name}); polled every 100-250 ms. Bound: ttl ${stack.pg.settings.ttl} s + loop_wait ${stack.pg.settings.loopWait} s` });
  await clientsRecovered(ctx, t.dependsOn.postgres, t.probes);
  ctx.phase('recovery');
  await fault.heal();
  const healedAt = ctx.run.now();
  // Usually the old leader comes back as a replica (after pg_rewind). A leader that was only
  // frozen or cut off can also take the lock back if the promotion did not complete: report it.
  // A node that was frozen or cut off reports from a stale view for a loop or two: the state
  // counts once it has held for loop_wait + 1 s; rejoin is when it first held.
  const stableMs = (stack.pg.settings.loopWait + 1) * 1000;
  let since: { at: number; role: string } | undefined;
  const back = await waitFor(async () => {
    const members = await stack.pg.members();
    const m = members.find((x) => x.name === before.name);
    const ok = m && (m.state === 'streaming' || m.state === 'running') && members.filter((x) => x.role === 'leader').length === 1;
    if (!ok || since?.role !== m.role) since = ok ? { at: ctx.run.now(), role: m.role } : undefined;
    return ok && since && ctx.run.now() - since.at >= stableMs ? { member: m, at: since.at } : undefined;
  }, { what: `${before.name} to rejoin the cluster`, timeoutMs: o.timeout, intervalMs: 200, signal: ctx.signal });
  if (back.member.role === 'leader') ctx.note(`${before.name} is the leader again after the heal: the failover to ${change.leader.name} did not hold`);
  ctx.measure({ name: 'rejoin', scope: 'postgres', iteration, value: back.at - healedAt, unit: 'ms', description: `heal (${o.fault === 'pause' ? 'unpause' : o.fault === 'disconnect' ? 'reconnect' : 'start'}) of the old leader to Patroni listing it as running, steadily for loop_wait + 1 s, as ${back.member.role === 'leader' ? 'the leader (it took the lock back)' : 'a replica (pg_rewind if needed)'}` });
  await stack.pg.waitHealthy({ timeoutMs: o.timeout, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  ctx.measure({ name: 'redundancy', scope: 'postgres', iteration, value: ctx.run.now() - fault.injectedAt, unit: 'ms', description: 'fault start to one leader and every replica streaming with lag 0 again' });
}

async function failRedis(ctx: Ctx, stack: AppStack, iteration: number, t: ReturnType<typeof traffic>): Promise<void> {
  const o = ctx.options;
  const before = await stack.redis.master();
  ctx.note(`iteration ${iteration}: failing the Redis master ${before.name} (${o.fault})`);
  ctx.phase('fault');
  const fault = await inject(ctx, before.container, stack.network);
  injected.push({ id: fault.id, target: 'redis', iteration });
  const change = await stack.redis.waitForFailover(before, { timeoutMs: o.timeout });
  ctx.measure({ name: 'election', scope: 'redis', iteration, value: Math.max(0, onRunClock(ctx, change.switchedAt) - fault.injectedAt), unit: 'ms', description: `fault start to a majority of Sentinels naming a new master (${change.master.name}); polled. Bound: down-after-milliseconds ${stack.redis.settings.downAfterMs} ms + the Sentinel election` });
  await clientsRecovered(ctx, t.dependsOn.redis, t.probes);
  ctx.phase('recovery');
  await fault.heal();
  const healedAt = ctx.run.now();
  await stack.redis.waitHealthy({ timeoutMs: o.timeout });
  ctx.measure({ name: 'rejoin', scope: 'redis', iteration, value: ctx.run.now() - healedAt, unit: 'ms', description: 'heal of the old master to every replica (it included) linked to the new master and caught up' });
  ctx.measure({ name: 'redundancy', scope: 'redis', iteration, value: ctx.run.now() - fault.injectedAt, unit: 'ms', description: 'fault start to full redundancy again' });
}

async function verifyWrites(ctx: Ctx, stack: AppStack): Promise<void> {
  const journal = ctx.run.journal!;
  await journal.flush();
  const ledgers = new Map<string, WriteLedger>();
  for await (const e of readJournal(journal.path)) {
    if (e.type !== 'sample' || !e.writeId) continue;
    let l = ledgers.get(e.probe);
    if (!l) ledgers.set(e.probe, (l = new WriteLedger()));
    l.push(e);
  }
  const interval = ctx.options.interval;
  const sql = ledgers.get('sql-write');
  if (sql) {
    const r = sql.check(await readWrittenIds({ connectionString: stack.pg.leaderUrl }, 'resilience_writes'), { intervalMs: interval });
    ctx.measure({ name: 'lostWrites', scope: 'sql-write', value: r.lost.length, unit: 'count', description: `SQL inserts acknowledged by COMMIT through HAProxy, missing from the leader after recovery (of ${r.acked} acknowledged)` });
    ctx.measure({ name: 'ghostWrites', scope: 'sql-write', value: r.ghost.length, unit: 'count', description: 'SQL inserts that failed or timed out for the client but are in the table' });
    ctx.measure({ name: 'rpoSeconds', scope: 'sql-write', value: r.rpoSeconds, unit: 's', description: 'span of the lost acknowledged writes (last - first ack + interval); 0 when none' });
  }
  const http = ledgers.get('http-write');
  if (http) {
    const client = new pg.Client({ connectionString: stack.pg.leaderUrl });
    await client.connect();
    const ids = new Set((await client.query<{ id: string }>('select id from orders')).rows.map((r) => r.id));
    await client.end();
    const r = http.check(ids, { intervalMs: interval });
    ctx.measure({ name: 'lostWrites', scope: 'http-write', value: r.lost.length, unit: 'count', description: `orders answered 201 by the app, missing from the database after recovery (of ${r.acked} acknowledged)` });
  }
  const redis = ledgers.get('redis-write');
  if (redis) {
    const client = stack.redis.client();
    try {
      const r = redis.check(await readRedisIds(client), { intervalMs: interval });
      ctx.measure({ name: 'redisLostWrites', scope: 'redis-write', value: r.lost.length, unit: 'count', description: `Redis SETs acknowledged by the master, missing on the master after failover (asynchronous replication; of ${r.acked} acknowledged)` });
    } finally {
      client.disconnect();
    }
  }
}

export const failover: WorkflowDefinition<FailoverOptionsT> = {
  name: 'failover',
  description: 'kills the PostgreSQL leader and/or the Redis master under live traffic and measures detection, election, RTO, availability, latency and lost writes',
  options: FailoverOptions,
  usage: USAGE,
  hypotheses,
  afterAnalysis,
  run: async (ctx) => {
    const o = ctx.options;
    injected.length = 0;
    ctx.setting('options', o);
    ctx.note('provisioning app-stack (pg-ha, redis-sentinel, app)');
    const stack = await provision({ engine: ctx.run.engine, mode: o.appMode, pg: { synchronous: o.sync }, signal: ctx.signal });
    ctx.defer(() => stack.teardown());
    ctx.note(`app-stack healthy in ${(stack.timings['total']! / 1000).toFixed(1)} s`);
    ctx.setting('pg-ha', stack.pg.settings);
    ctx.setting('redis-sentinel', stack.redis.settings);
    ctx.setting('app', stack.settings);
    ctx.setting('provisioning', stack.timings);
    const versions = await Promise.all([
      stack.pg.nodes[0]!.container.exec(['postgres', '--version']),
      stack.pg.nodes[0]!.container.exec(['patroni', '--version']),
      stack.redis.nodes[0]!.container.exec(['redis-server', '--version']),
      stack.pg.haproxy.exec(['haproxy', '-v']),
    ]);
    ctx.environment('postgres', versions[0]!.stdout.trim());
    ctx.environment('patroni', versions[1]!.stdout.trim());
    ctx.environment('redis', versions[2]!.stdout.trim().split(' ').slice(0, 3).join(' '));
    ctx.environment('haproxy', versions[3]!.stdout.split('\n')[0]?.trim());

    const orderId = await seedOrder(stack.url);
    const t = traffic(stack, orderId, { intervalMs: o.interval, timeoutMs: 1000, now: () => ctx.run.now() });
    ctx.defer(() => t.redisClients.forEach((c) => c.disconnect()));
    for (const p of t.probes) await ctx.startProbe(p);

    const targets = o.target === 'both' ? (['postgres', 'redis'] as const) : ([o.target] as const);
    for (let i = 1; i <= o.iterations; i++) {
      for (const target of targets) {
        ctx.phase('steady');
        await ctx.sleep(o.steady);
        if (target === 'postgres') await failPostgres(ctx, stack, i, t);
        else await failRedis(ctx, stack, i, t);
        ctx.phase('after');
        await ctx.sleep(o.after);
      }
    }
    ctx.phase('steady');
    await ctx.sleep(Math.min(o.steady, 5000));
    await ctx.stopProbes();
    await verifyWrites(ctx, stack);
  },
};
