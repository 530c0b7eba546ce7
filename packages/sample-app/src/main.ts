// The reference app's entry point: reads its settings from the environment, serves HTTP and
// shuts down gracefully on SIGTERM.
import { createServer } from 'node:http';
import { log } from './log.ts';
import { loadConfig } from './config.ts';
import { createApp } from './app.ts';

const config = loadConfig(process.env);
const app = await createApp(config);
const server = createServer(app.handle);
server.keepAliveTimeout = 5_000;
server.listen(config.port, config.host, () => {
  log('info', 'listening', { host: config.host, port: config.port, mode: config.mode });
});

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  log('info', 'shutting down', { signal });
  server.close();
  server.closeIdleConnections();
  const force = setTimeout(() => {
    log('warn', 'forced exit after 10 s', {});
    process.exit(1);
  }, 10_000);
  force.unref();
  await app.close();
  log('info', 'stopped', {});
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
