// The orders table in PostgreSQL. Every call takes a signal: when it aborts, the checked-out
// connection is destroyed (a query stuck on a dead server would otherwise hold it for good).
// Naive mode passes a signal that never aborts and builds the pool with pg's defaults (no
// connect or query timeout).
import pg from 'pg';
import { abortable } from './abort.ts';
import { describeTarget, type Mode } from './config.ts';
import type { Logger } from './log.ts';
import type { Order, OrderBody } from './orders.ts';

export interface Database {
  /** `host:port/db`, for logs. */
  readonly target: string;
  ensureSchema(signal: AbortSignal): Promise<void>;
  /**
   * Inserts and commits; inserting the same id again (a retry) changes nothing and answers the
   * same. Returns when the order was created and the address of the server that committed the
   * statement (`inet_server_addr()`, without its `/32`; null over a Unix socket).
   */
  insertOrder(id: string, body: OrderBody, signal: AbortSignal): Promise<InsertedOrder>;
  findOrder(id: string, signal: AbortSignal): Promise<Order | undefined>;
  /** Sets an order's quantity and commits; the order as it is now, undefined when there is no such order. */
  updateQuantity(id: string, quantity: number, signal: AbortSignal): Promise<Order | undefined>;
  /** The newest `limit` orders, newest first (ties in `created_at`, one transaction's, by id). */
  listOrders(limit: number, signal: AbortSignal): Promise<Order[]>;
  ping(signal: AbortSignal): Promise<void>;
  /** Ends the pool; gives up waiting after `timeoutMs` (a naive query may never return). */
  close(timeoutMs: number): Promise<void>;
}

export interface InsertedOrder {
  readonly createdAt: string;
  /** The PostgreSQL server that committed the INSERT, e.g. `172.19.0.3`. */
  readonly server: string | null;
}

export interface DatabaseOptions {
  readonly mode: Mode;
  readonly timeoutMs: number;
  readonly poolMax: number;
  readonly log: Logger;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS orders (
  id uuid PRIMARY KEY,
  item text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The list reads the newest rows by this index (scanned backwards) instead of sorting the whole
-- table: a soak writes millions of orders.
CREATE INDEX IF NOT EXISTS orders_created_at_id ON orders (created_at, id)`;

interface OrderRow {
  id: string;
  item: string;
  quantity: number;
  created_at: Date;
}

export function createDatabase(url: string, options: DatabaseOptions): Database {
  const target = describeTarget(url);
  const pool = new pg.Pool(options.mode === 'hardened'
    ? {
      connectionString: url,
      max: options.poolMax,
      application_name: 'sample-app',
      connectionTimeoutMillis: options.timeoutMs,
      idleTimeoutMillis: 10_000,
      keepAlive: true,
      // The server gives up too, so an abandoned statement does not run on.
      statement_timeout: options.timeoutMs,
    }
    : { connectionString: url, max: options.poolMax, application_name: 'sample-app' });
  // An idle client whose server went away: pg-pool drops it; without a listener the process dies.
  pool.on('error', (e) => options.log('warn', 'database idle connection lost', { target, error: e }));
  // A checked-out client whose server goes away (a failover) emits 'error' too, and pg-pool only
  // listens while the client is idle: without this the process dies mid-request.
  pool.on('connect', (client) => {
    client.on('error', (e) => options.log('warn', 'database connection lost', { target, error: e }));
  });

  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[], signal: AbortSignal): Promise<R[]> {
    signal.throwIfAborted();
    const client = await abortable(pool.connect(), signal, (late) => late.release());
    let released = false;
    const release = (error?: Error): void => {
      if (released) return;
      released = true;
      client.release(error);
    };
    const onAbort = (): void => release(new Error('aborted: connection discarded'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await abortable(client.query<R>(text, values), signal)).rows;
    } finally {
      signal.removeEventListener('abort', onAbort);
      release();
    }
  }

  return {
    target,
    async ensureSchema(signal) {
      try {
        await query(SCHEMA, [], signal);
      } catch (e) {
        // Two instances creating the table at once: one loses the race on the catalog; the table exists.
        const code = (e as { code?: string }).code;
        if (code !== '23505' && code !== '42P07') throw e;
      }
    },
    async insertOrder(id, body, signal) {
      // A retry whose first attempt committed finds the row: the no-op update makes the INSERT
      // return it all the same, from (and committed on) the server that answers now.
      const rows = await query<{ created_at: Date; server: string | null }>(
        'INSERT INTO orders (id, item, quantity) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING created_at, inet_server_addr()::text AS server',
        [id, body.item, body.quantity], signal);
      const row = rows[0];
      if (!row) throw new Error(`INSERT of order ${id} returned no row`);
      return { createdAt: row.created_at.toISOString(), server: row.server === null ? null : row.server.replace(/\/(32|128)$/, '') };
    },
    async findOrder(id, signal) {
      const rows = await query<OrderRow>('SELECT id, item, quantity, created_at FROM orders WHERE id = $1', [id], signal);
      const row = rows[0];
      return row ? { id: row.id, item: row.item, quantity: row.quantity, createdAt: row.created_at.toISOString() } : undefined;
    },
    async updateQuantity(id, quantity, signal) {
      // One statement, so a retry after a lost answer sets the same quantity again (idempotent).
      const rows = await query<OrderRow>('UPDATE orders SET quantity = $2 WHERE id = $1 RETURNING id, item, quantity, created_at', [id, quantity], signal);
      const row = rows[0];
      return row ? { id: row.id, item: row.item, quantity: row.quantity, createdAt: row.created_at.toISOString() } : undefined;
    },
    async listOrders(limit, signal) {
      const rows = await query<OrderRow>('SELECT id, item, quantity, created_at FROM orders ORDER BY created_at DESC, id DESC LIMIT $1', [limit], signal);
      return rows.map((row) => ({ id: row.id, item: row.item, quantity: row.quantity, createdAt: row.created_at.toISOString() }));
    },
    async ping(signal) {
      await query('SELECT 1', [], signal);
    },
    async close(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([pool.end().then(() => 'ended' as const, () => 'ended' as const), gaveUp]);
      clearTimeout(timer);
      if (outcome === 'timeout') options.log('warn', 'database pool did not close in time', { target, timeoutMs });
    },
  };
}

/** SQLSTATE classes that are the caller's doing (bad data, constraint, syntax), not the server's health. */
const CALLER_CLASSES = new Set(['21', '22', '23', '42', '44', '0A']);

/** Whether an error says the database is unwell (counted by the breaker). */
export function isDatabaseFailure(e: Error): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return !CALLER_CLASSES.has(code.slice(0, 2));
  return true;
}

const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '25006', '53300']);
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Worth another attempt at once: the connection was refused or dropped, or a failover is under way. */
export function isDatabaseTransient(e: Error): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_ERRNO.has(code);
  return /Connection terminated/i.test(e.message);
}
