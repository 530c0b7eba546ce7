// Test helpers: run an app in-process on 127.0.0.1:0, and time an HTTP call that may hang.
import { createApp, type App } from '../../src/app.ts';
import type { Config } from '../../src/config.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { serve, type Served } from '../../src/server.ts';

export interface Running {
  readonly app: App;
  readonly served: Served;
  readonly url: string;
}

export async function start(config: Config, log: Logger = silentLogger): Promise<Running> {
  const app = await createApp(config, { log });
  const served = await serve(app, { host: '127.0.0.1', port: 0, log });
  return { app, served, url: served.url };
}

export type Outcome =
  | { readonly kind: 'answered'; readonly status: number; readonly body: unknown; readonly headers: Headers; readonly ms: number }
  | { readonly kind: 'timed out'; readonly ms: number }
  | { readonly kind: 'failed'; readonly error: string; readonly ms: number };

/** One request with a client-side timeout: says whether it was answered, hung, or failed. */
export async function call(url: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body), headers: { 'content-type': 'application/json' } } : {}),
      signal: AbortSignal.timeout(init.timeoutMs ?? 5_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { kind: 'answered', status: res.status, body, headers: res.headers, ms: performance.now() - started };
  } catch (e) {
    const ms = performance.now() - started;
    if (e instanceof Error && e.name === 'TimeoutError') return { kind: 'timed out', ms };
    return { kind: 'failed', error: e instanceof Error ? `${e.message} ${String((e.cause as Error | undefined)?.message ?? '')}` : String(e), ms };
  }
}

export function answered(o: Outcome): Extract<Outcome, { kind: 'answered' }> {
  if (o.kind !== 'answered') throw new Error(`Expected an answer, the request ${o.kind === 'failed' ? `failed: ${o.error}` : 'timed out'} after ${Math.round(o.ms)} ms`);
  return o;
}
