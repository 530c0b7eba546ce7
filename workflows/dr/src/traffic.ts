// The drill's traffic for its whole length: SQL writes through HAProxy, HTTP writes through the
// app (the app serving again is the end of the RTO), and a marker row every second; each
// acknowledged write is kept in the drill's ledger with its wall-clock times.
import { readWrittenIds, sqlWriteProbe } from '@resilience/fixtures';
import { orderWriteProbe, readOrderIds } from '@resilience/app-stack';
import type { Traffic, TrafficContext } from '@resilience/runner';
import type { DrillEnv } from './environment.ts';
import type { DrillOptionsT } from './options.ts';
import { AckLedger } from './ledger.ts';

export const MARKER_TABLE = 'dr_markers';

/** Ids present now in the table a write probe writes to (`orders` for the app's). */
export function readIds(url: string, table: string): Promise<Set<string>> {
  return table === 'orders' ? readOrderIds(url) : readWrittenIds({ connectionString: url }, table);
}

/** Which table each probe writes to, by the probe's base name. */
export const PROBE_TABLES: Readonly<Record<string, string>> = { 'sql-write': 'resilience_writes', marker: MARKER_TABLE, 'http-write': 'orders' };

/** The RPO target, which judges every write probe's lost writes in place of `lostWrites == 0`. */
export function rpoHypothesis(o: Pick<DrillOptionsT, 'rpo'>): { text: string; description: string } {
  return { text: `rpo <= ${o.rpo}ms`, description: 'acknowledged data lost, in time: the oldest lost write to the last write acknowledged before the disaster or the point-in-time target (--rpo)' };
}

export function drillTraffic(env: DrillEnv, o: DrillOptionsT, t: TrafficContext): Traffic[] {
  const ledger = new AckLedger(t.now);
  env.ledger = ledger;
  // HAProxy's port: the same before and after the restore.
  const url = env.stack.pg.primaryUrl;
  const common = { timeoutMs: 1000, now: t.now };
  const loss = rpoHypothesis(o);
  const sql = sqlWriteProbe({ ...common, intervalMs: o.interval, name: t.name('sql-write'), connection: { connectionString: url }, nodeOf: (a) => env.pg.nodeOfAddress(a) });
  const marker = sqlWriteProbe({ ...common, intervalMs: 1000, name: t.name('marker'), table: MARKER_TABLE, op: 'sql.marker', connection: { connectionString: url }, nodeOf: (a) => env.pg.nodeOfAddress(a) });
  const http = orderWriteProbe(env.stack, { ...common, intervalMs: Math.max(o.interval, 200), name: t.name('http-write'), item: 'drill', nodeOf: (a) => env.pg.nodeOfAddress(a) });
  const unfollow = [sql, marker, http].map((p) => ledger.follow(p));
  return [
    { probe: sql, scopes: ['postgres'], lossHypothesis: loss, verify: { store: 'table resilience_writes', readBack: () => readIds(url, PROBE_TABLES['sql-write']!) } },
    { probe: marker, scopes: ['postgres'], lossHypothesis: loss, verify: { store: `table ${MARKER_TABLE}`, readBack: () => readIds(url, MARKER_TABLE) } },
    { probe: http, scopes: ['postgres'], lossHypothesis: loss, verify: { store: 'table orders (the app)', readBack: () => readIds(url, 'orders') }, close: () => unfollow.forEach((u) => u()) },
  ];
}
