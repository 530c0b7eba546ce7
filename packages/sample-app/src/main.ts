// The reference app's entry point: reads its settings from the environment (exit 2 on a bad
// one), serves HTTP, and shuts down gracefully on SIGTERM or SIGINT.
import { createLogger } from './log.ts';
import { isConfigError, loadConfig, type Config } from './config.ts';
import { createApp } from './app.ts';
import { serve } from './server.ts';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (e) {
  if (!isConfigError(e)) throw e;
  createLogger()('error', 'invalid configuration', { variable: e.variable, value: e.shown, error: e.message });
  process.exit(e.exitCode);
}

const log = createLogger({ level: config.logLevel });
process.on('unhandledRejection', (reason) => {
  log('error', 'unhandled rejection', { error: reason });
  process.exit(1);
});

const app = await createApp(config, { log });
let served: Awaited<ReturnType<typeof serve>>;
try {
  served = await serve(app, { host: config.host, port: config.port, log });
} catch (e) {
  log('error', 'cannot listen', { host: config.host, port: config.port, error: e });
  await app.close(1_000);
  process.exit(2);
}

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  log('info', 'shutting down', { signal });
  // Backstop: whatever hangs, the process is gone shortly after the budget.
  const backstop = setTimeout(() => {
    log('error', 'shutdown overran its budget; exiting', { budgetMs: config.shutdownTimeoutMs });
    process.exit(1);
  }, config.shutdownTimeoutMs + 1_500);
  backstop.unref();
  served.close().then(
    () => process.exit(0),
    (e: unknown) => {
      log('error', 'shutdown failed', { error: e });
      process.exit(1);
    },
  );
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
