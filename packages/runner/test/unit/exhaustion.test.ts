// A server out of connection slots, end to end: a TCP server on 127.0.0.1 answers every
// PostgreSQL startup as PostgreSQL does when max_connections is reached (an ErrorResponse,
// SQLSTATE 53300, then close). The real pg client behind the SQL probe gets it; the runner counts
// the failures by cause, and ends with one `resource-exhausted` finding whose count is the
// failures, in the console, the journal and report.json.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { sqlReadProbe } from '@resilience/fixtures';
import { defineWorkflow, observe, steady } from '../../src/index.ts';
import { runOffline } from './support/offline.ts';

/** The ErrorResponse PostgreSQL sends a client it has no slot for (protocol 3.0). */
function tooManyClients(): Buffer {
  const fields = Buffer.concat([
    ...[['S', 'FATAL'], ['V', 'FATAL'], ['C', '53300'], ['M', 'sorry, too many clients already']].map(([k, v]) => Buffer.from(`${k}${v}\0`)),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

test.serial('PostgreSQL out of connection slots: failures by cause, and one resource-exhausted finding with their count', async (t) => {
  let refused = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => {
      refused += 1;
      socket.end(tooManyClients());
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;

  const workflow = defineWorkflow<Record<string, never>, { port: number }>({
    name: 'slots',
    description: 'a PostgreSQL out of connection slots under a steady probe',
    options: z.object({}).strict(),
    usage: '',
    timeoutMs: () => 5000,
    environment: async () => ({ handle: { port }, teardown: async () => undefined }),
    traffic: (env, _o, tr) => [{
      probe: sqlReadProbe({ name: tr.name('sql-read'), connection: { host: '127.0.0.1', port: env.port, user: 'app', database: 'app' }, intervalMs: 25, timeoutMs: 1000, checkOnStart: false, now: tr.now }),
      scopes: ['postgres'],
    }],
    schedule: () => [steady(1000), observe(200)],
    hypotheses: () => [],
  });

  const { result, text } = await runOffline(workflow, ['--no-png']);

  const probe = result.summary!.probes['sql-read']!;
  t.true(probe.failures >= 20, text);
  t.is(probe.failures, probe.attempts, 'every operation was refused');
  t.true(refused >= probe.failures, `the server refused ${refused} startups, one or more per failed operation`);
  t.deepEqual(probe.errors.map((e) => [e.cause, e.count]), [['53300: sorry, too many clients already', probe.failures]]);

  const report = JSON.parse(readFileSync(join(result.reportDir!, 'report.json'), 'utf8')) as { findings: { id: string; kind: string; title: string; data?: Record<string, unknown> }[]; probes: { name: string; errors?: { cause: string; count: number }[] }[] };
  const finding = report.findings.find((f) => f.kind === 'resource-exhausted');
  t.like(finding, { id: 'resource-exhausted:pg-connection-slots' });
  t.true(finding!.title.includes(`${probe.failures} failed operations (sql-read ${probe.failures})`), finding!.title);
  t.like(report.probes.find((p) => p.name === 'sql-read')!.errors?.[0], { cause: '53300: sorry, too many clients already', count: probe.failures });
  const journal = readFileSync(join(result.reportDir!, 'journal.ndjson'), 'utf8');
  const journaled = journal.split('\n').filter((l) => l.includes('"kind":"resource-exhausted"')).map((l) => JSON.parse(l) as { type: string; data: { failures: number } });
  t.deepEqual(journaled.map((e) => [e.type, e.data.failures]), [['finding', probe.failures]], 'journaled once, so a report rebuilt from the journal has it');
  t.regex(text, /PostgreSQL refused connections: every connection slot was taken/);
});
