// The app's own write probe: `POST /orders` through the app, acknowledged by a 201 with the
// order's id once the app has committed it, attributed to the PostgreSQL node that committed it;
// and the read-back of the orders table for the write check.
import { httpProbe, type HttpProbeOptions, type Probe, type ProbeOptions } from '@resilience/fixtures';
import pg from 'pg';
import type { AppStack } from './app-stack.ts';

export interface OrderWriteProbeOptions extends ProbeOptions {
  readonly name: string;
  /** Prefix of each order's item (default `probe`). */
  readonly item?: string;
  /** The node behind a server address (default: the stack's pg-ha `nodeOfAddress` now). */
  readonly nodeOf?: (address: string) => string | undefined;
  /** Sees every answer, whatever its status (a contract check: fixtures/probes/contract's withContract). */
  readonly inspect?: HttpProbeOptions['inspect'];
}

export function orderWriteProbe(stack: Pick<AppStack, 'url' | 'pg'>, options: OrderWriteProbeOptions): Probe {
  const { item = 'probe', nodeOf = (a: string) => stack.pg.nodeOfAddress(a), ...rest } = options;
  let seq = 0;
  return httpProbe({
    ...rest, url: `${stack.url}/orders`, method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: () => JSON.stringify({ item: `${item}-${++seq}`, quantity: 1 }),
    // 201 with an order id: the app answers after COMMIT; `server` is the PostgreSQL node that committed it.
    acknowledge: (res, ctx) => {
      if (res.status !== 201) throw new Error(`HTTP ${res.status}`);
      const body = JSON.parse(res.body) as { id: string; server?: string };
      ctx.writeId = String(body.id);
      if (body.server) ctx.node = nodeOf(body.server) ?? body.server;
    },
  });
}

/** The ids in the orders table, as text. */
export async function readOrderIds(url: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return new Set((await client.query<{ id: string }>('select id::text as id from orders')).rows.map((r) => r.id));
  } finally {
    await client.end();
  }
}
