// The handle's waits and lookups against a fake Patroni REST API on 127.0.0.1 (no Docker):
// waitForPromotion reports the new primary on the given clock, every wait ends at once when its
// signal aborts (also while a request hangs), and nodeOfAddress maps addresses to node names.
import test from 'ava';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PgHa, bareAddress, parseOptions, topology } from '../../src/index.ts';
import type { PgHaParts } from '../../src/pg-ha.ts';

interface FakePatroni {
  url: string;
  leader: string;
  /** Requests are left unanswered while true. */
  hang: boolean;
  /** The node whose PostgreSQL really accepts writes, when it is not Patroni's leader (a stale /cluster). */
  direct?: string | undefined;
}

async function fakePatroni(t: { teardown: (fn: () => Promise<void>) => void }): Promise<FakePatroni> {
  const state: FakePatroni = { url: '', leader: 'pg1', hang: false };
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (state.hang) {
      open.add(res);
      return;
    }
    const members = ['pg1', 'pg2', 'pg3'].map((name) => ({ name, role: name === state.leader ? 'leader' : 'replica', state: name === state.leader ? 'running' : 'streaming', timeline: 1, lag: 0, host: `pgha-${name}` }));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ members }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(async () => {
    for (const r of open) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

function handle(api: string, now: () => number, patroni?: FakePatroni): PgHa {
  const settings = parseOptions();
  const nodes = ['pg1', 'pg2', 'pg3'].map((name, i) => ({
    name, alias: `pgha-${name}`, port: 1, apiPort: 1, apiUrl: api, url: `postgresql://app:x@127.0.0.1:1/app`, superuserUrl: '',
    container: { name: `rz-x-pgha-${name}`, ipOn: async () => `10.9.0.${i + 2}` },
  }));
  return new PgHa({
    engine: { run: { runId: 'x' } }, settings, topology: topology(settings), network: 'rz-x-net', createdNetwork: undefined,
    nodes, etcd: [], haproxy: { name: 'haproxy' }, ports: { primary: 1, replicas: 2, stats: 3 },
    credentials: {}, primaryUrl: '', replicaUrl: '', superuserUrl: '', internal: { primaryUrl: '', replicaUrl: '' }, timings: {}, now,
    // Each node's PostgreSQL agrees with the fake Patroni unless `direct` says otherwise.
    inRecovery: async (n: { name: string }) => (patroni?.direct ?? patroni?.leader) !== n.name,
  } as unknown as PgHaParts);
}

test('waitForPromotion returns the new primary with `at` on the given clock', async (t) => {
  const patroni = await fakePatroni(t);
  let offset = 5_000_000;
  const clock = () => performance.now() + offset;
  const pg = handle(patroni.url, clock, patroni);
  t.is((await pg.primary()).name, 'pg1');
  const waiting = pg.waitForPromotion('pg1', { timeoutMs: 5_000 });
  await sleep(300);
  const promotedAt = clock();
  patroni.leader = 'pg2';
  const promotion = await waiting;
  t.is(promotion.primary.name, 'pg2');
  t.is(promotion.previous, 'pg1');
  t.true(promotion.at >= promotedAt && promotion.at - promotedAt < 250, `seen ${promotion.at - promotedAt} ms after the change`);
  t.true(promotion.elapsedMs >= 300 && promotion.elapsedMs < 600, `${promotion.elapsedMs} ms`);
  offset = 0;
  t.true(clock() < promotion.at, 'the time came from the given clock');
});

test('a stale /cluster (its leader read-only when asked directly) is no primary and no promotion', async (t) => {
  const patroni = await fakePatroni(t);
  const pg = handle(patroni.url, () => performance.now(), patroni);
  patroni.direct = 'none';
  const e = await t.throwsAsync(pg.primary());
  t.regex(e.message, /pg1 is the leader in Patroni's \/cluster but its PostgreSQL is in recovery/);
  patroni.leader = 'pg2';
  await t.throwsAsync(pg.waitForPromotion('pg1', { timeoutMs: 400 }), { message: /a primary other than pg1/ });
  patroni.direct = undefined;
  t.is((await pg.waitForPromotion('pg1', { timeoutMs: 2_000 })).primary.name, 'pg2');
});

test('waitForPromotion and waitHealthy reject with the signal\'s reason within 200 ms, also while Patroni hangs', async (t) => {
  const patroni = await fakePatroni(t);
  const pg = handle(patroni.url, () => performance.now());
  for (const hang of [false, true]) {
    patroni.hang = hang;
    for (const [what, wait] of [
      ['waitForPromotion', (signal: AbortSignal) => pg.waitForPromotion('pg1', { timeoutMs: 10_000, signal })],
      ['waitHealthy', (signal: AbortSignal) => pg.waitHealthy({ timeoutMs: 10_000, maxLagBytes: -1, signal })],
    ] as const) {
      const controller = new AbortController();
      const waiting = wait(controller.signal);
      await sleep(250);
      const abortedAt = performance.now();
      const reason = new Error(`stop (${what}, hang ${hang})`);
      controller.abort(reason);
      const error = await t.throwsAsync(waiting);
      const ms = performance.now() - abortedAt;
      t.is(error, reason);
      t.true(ms < 200, `${what} (Patroni hangs: ${hang}): ${ms} ms`);
    }
  }
  const aborted = AbortSignal.abort(new Error('already'));
  await t.throwsAsync(pg.waitForPromotion('pg1', { signal: aborted }), { message: 'already' });
});

test('nodeOfAddress maps each node\'s address, with or without /32, once the addresses were read', async (t) => {
  const patroni = await fakePatroni(t);
  const pg = handle(patroni.url, () => performance.now());
  t.is(pg.nodeOfAddress('10.9.0.2'), undefined, 'nothing read yet');
  await pg.refreshAddresses();
  t.is(pg.nodeOfAddress('10.9.0.2'), 'pg1');
  t.is(pg.nodeOfAddress('10.9.0.3/32'), 'pg2');
  t.is(pg.nodeOfAddress('::ffff:10.9.0.4'), 'pg3');
  t.is(pg.nodeOfAddress('10.9.0.5'), undefined);
  t.is(bareAddress(' 10.0.0.1/32 '), '10.0.0.1');
});
