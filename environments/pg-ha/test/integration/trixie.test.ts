// pg-ha on the Debian trixie image (`image: 'trixie'`): the versions inside are PostgreSQL 17,
// Patroni 4.0, etcd 3.5 and HAProxy 3.0; Patroni runs with exactly the timings pg-ha reports
// (it adjusted none: Patroni 4 raises a ttl below 20); a killed primary is replaced, HAProxy
// follows, and the old primary rejoins with pg_rewind. Two nodes keep it light.
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Chaos, waitFor } from '@resilience/fixtures';
import { provision, queryOnce, type PgHa } from '../../src/index.ts';
import { getJson } from '../../src/patroni-api.ts';

const origin = performance.now() - 3_600_000;
const clock = (): number => performance.now() - origin;

let pg: PgHa;

test.before(async (t) => {
  const started = performance.now();
  pg = await provision({ image: 'trixie', nodes: 2, now: clock });
  t.log(`trixie: provisioned in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(pg.timings)}`);
});

test.after.always(async () => {
  await pg?.teardown();
});

const run = async (c: { exec(cmd: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> }, cmd: string[]): Promise<string> => {
  const r = await c.exec(cmd);
  return `${r.stdout}${r.stderr}`.trim();
};

test.serial('the trixie image runs PostgreSQL 17, Patroni 4.0, etcd 3.5 and HAProxy 3.0', async (t) => {
  t.like(pg.settings, { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', postgresMajor: 17, ttl: 20, loopWait: 2, retryTimeout: 4 });
  const node = pg.nodes[0]!.container;
  const [postgres, patroni, etcd, haproxy] = await Promise.all([
    run(node, ['postgres', '--version']),
    run(node, ['patroni', '--version']),
    run(pg.etcd[0]!, ['etcd', '--version']),
    run(pg.haproxy, ['haproxy', '-v']),
  ]);
  t.log(`versions: ${postgres} | ${patroni} | ${etcd.split('\n')[0]} | ${haproxy.split('\n')[0]}`);
  t.regex(postgres, /^postgres \(PostgreSQL\) 17\./);
  t.regex(patroni, /^patroni 4\.0\.\d+$/);
  t.regex(etcd, /^etcd Version: 3\.5\./);
  t.regex(haproxy, /^HAProxy version 3\.0\./);
  const [row] = await queryOnce<{ v: string }>(pg.primaryUrl, 'select version() as v');
  t.regex(row?.v ?? '', /^PostgreSQL 17\./);
});

test.serial('Patroni 4 runs with the timings pg-ha reports: its /config says ttl 20, loop_wait 2, retry_timeout 4, and no node adjusted them', async (t) => {
  const config = await getJson(`${pg.nodes[0]!.apiUrl}/config`, 2_000);
  t.is(config.status, 200);
  t.like(config.body as object, { ttl: 20, loop_wait: 2, retry_timeout: 4 });
  for (const node of pg.nodes) {
    const log = await node.container.logs();
    t.false(/can't be smaller than|Violated the rule/.test(log), `${node.name} logged an adjustment`);
  }
});

test.serial('killing the primary promotes the replica; HAProxy follows; the old primary rejoins with pg_rewind', async (t) => {
  const old = await pg.primary();
  await queryOnce(pg.primaryUrl, 'create table if not exists events (id bigint primary key, note text not null)');
  await queryOnce(pg.primaryUrl, "insert into events values (1, 'before')");
  const members = await pg.waitHealthy({ timeoutMs: 30_000 });
  // Patroni 4 reports a replica `streaming` once its WAL receiver streams; waitHealthy waits for it.
  t.true(members.filter((m) => m.role !== 'leader').every((m) => m.state === 'streaming'), JSON.stringify(members.map((m) => [m.name, m.state])));
  // Asynchronous replication: the row is on the replica before the kill, so the new primary has it.
  const replica = pg.nodes.find((n) => n.name !== old.name)!;
  await waitFor(async () => (await queryOnce(replica.url, 'select 1 from events where id = 1')).length > 0, { what: 'row 1 on the replica', timeoutMs: 10_000, intervalMs: 50 });
  const fault = await new Chaos(pg.engine, { now: clock }).kill(old.container);
  t.teardown(() => fault.heal());
  const promotion = await pg.waitForPromotion(old, { timeoutMs: 90_000 });
  const afterKill = promotion.at - fault.injectedAt;
  t.log(`trixie failover: ${promotion.primary.name} primary ${Math.round(afterKill)} ms after the kill (ttl ${pg.settings.ttl} s, loop_wait ${pg.settings.loopWait} s)`);
  t.not(promotion.primary.name, old.name);
  t.is(promotion.previous, old.name);
  // The lock lapses between ttl - loop_wait and ttl after its last renewal.
  t.true(afterKill >= (pg.settings.ttl - pg.settings.loopWait) * 1000 - 1_000, `${afterKill} ms: too soon for the lock to lapse`);
  t.true(afterKill <= (pg.settings.ttl + pg.settings.loopWait) * 1000 + 5_000, `${afterKill} ms`);

  const routed = await waitFor(async () => {
    const rows = await queryOnce<{ addr: string }>(pg.primaryUrl, "insert into events values (2, 'after') returning inet_server_addr()::text as addr", [], 1_000);
    return rows[0]?.addr;
  }, { what: 'a write through HAProxy after failover', timeoutMs: 60_000, intervalMs: 100 });
  t.log(`writes through HAProxy ${Math.round(clock() - fault.injectedAt)} ms after the kill`);
  t.is(pg.nodeOfAddress(routed), promotion.primary.name);

  const healStart = performance.now();
  await fault.heal();
  const healthy = await pg.waitHealthy({ timeoutMs: 90_000 });
  t.log(`old primary ${old.name} rejoined ${Math.round(performance.now() - healStart)} ms after start`);
  const primary = healthy.find((m) => m.role === 'leader')!;
  t.is(primary.name, promotion.primary.name);
  t.is(healthy.find((m) => m.name === old.name)?.timeline, primary.timeline);
  t.is(healthy.find((m) => m.name === old.name)?.state, 'streaming');
  const rows = await waitFor(async () => {
    const found = await queryOnce<{ note: string }>(old.url, 'select note from events where id = 2');
    return found.length ? found : undefined;
  }, { what: `the post-failover row on ${old.name}`, timeoutMs: 10_000, intervalMs: 100 });
  t.deepEqual(rows, [{ note: 'after' }]);
  await sleep(100);
  const rewind = (await old.container.logs()).split('\n').filter((l: string) => /pg_rewind/.test(l));
  t.log(`rewind:\n${rewind.slice(0, 4).join('\n')}`);
  t.true(rewind.some((l: string) => /pg_rewind exit code=0/.test(l)), 'the old primary ran pg_rewind successfully');
});

test.serial('teardown removes every container and the network of the run', async (t) => {
  const runId = pg.runId;
  await pg.teardown();
  t.deepEqual(await pg.engine.listContainers({ runId }), []);
});
