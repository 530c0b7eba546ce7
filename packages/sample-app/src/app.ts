// The HTTP surface of the reference app. Dependencies are optional so the image can be smoke
// tested alone; /health reports each dependency's state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import pg from 'pg';
import type { Config } from './config.ts';
import { log } from './log.ts';

export interface App {
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly close: () => Promise<void>;
}

type DependencyState = 'up' | 'down' | 'not configured';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function createApp(config: Config): Promise<App> {
  const pool = config.databaseUrl
    ? new pg.Pool({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: 2_000, query_timeout: 2_000 })
    : undefined;
  pool?.on('error', (e) => log('warn', 'database pool error', { error: e.message }));

  async function database(): Promise<DependencyState> {
    if (!pool) return 'not configured';
    try {
      await pool.query('select 1');
      return 'up';
    } catch {
      return 'down';
    }
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (req.method === 'GET' && url.pathname === '/health') {
      void database().then((db) => {
        const ok = db !== 'down';
        send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', mode: config.mode, dependencies: { database: db } });
      });
      return;
    }
    send(res, 404, { error: 'not found', path: url.pathname });
  };

  return {
    handle,
    close: async () => {
      await pool?.end();
    },
  };
}
