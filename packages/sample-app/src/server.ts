// Serves an App over node:http and stops it gracefully: stop accepting, let in-flight requests
// finish, then close the pools, all within one time budget; connections still busy at the
// drain deadline are cut so the process can exit.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from './app.ts';
import type { Logger } from './log.ts';

export interface Served {
  readonly server: Server;
  readonly port: number;
  /** `http://host:port` (127.0.0.1 when listening on every address). */
  readonly url: string;
  /** Graceful stop within the budget; `forced` says whether busy connections had to be cut. */
  close(): Promise<{ readonly forced: boolean }>;
}

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /** Whole stop budget: drain, then close the pools (default the app's shutdownTimeoutMs). */
  readonly shutdownTimeoutMs?: number;
}

export async function serve(app: App, options: ServeOptions): Promise<Served> {
  const server = createServer(app.handle);
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  options.log('info', 'listening', { host: options.host, port, mode: app.config.mode });

  let closing: Promise<{ forced: boolean }> | undefined;
  async function close(): Promise<{ forced: boolean }> {
    const budget = options.shutdownTimeoutMs ?? app.config.shutdownTimeoutMs;
    const started = performance.now();
    app.drain();
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections become idle once their last response is out: close them as they do.
    server.closeIdleConnections();
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    let timer: NodeJS.Timeout | undefined;
    const drainBudget = Math.max(budget - 2_000, budget / 2);
    const outcome = await Promise.race([
      drained.then(() => 'drained' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), drainBudget);
      }),
    ]);
    clearInterval(sweep);
    clearTimeout(timer);
    const forced = outcome === 'timeout';
    if (forced) {
      options.log('warn', 'requests still in flight at the drain deadline; closing their connections', { drainMs: Math.round(drainBudget) });
      server.closeAllConnections();
    }
    await app.close(Math.max(budget - (performance.now() - started), 100));
    options.log('info', 'stopped', { forced, ms: Math.round(performance.now() - started) });
    return { forced };
  }

  return {
    server,
    port,
    url,
    close: () => (closing ??= close()),
  };
}
