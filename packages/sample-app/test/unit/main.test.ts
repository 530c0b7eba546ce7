// The entry point as a process: starts with no environment and answers /health, stops on
// SIGTERM with exit 0, and refuses a bad setting with exit 2 and a JSON line naming it.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { call, answered } from '../support/http.ts';

const MAIN = resolve(import.meta.dirname, '..', '..', 'src', 'main.ts');

interface Proc {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function run(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let text = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, lines, exited, output: () => text };
}

async function listening(p: Proc): Promise<number> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const line = p.lines.find((l) => l['msg'] === 'listening');
    if (line) return line['port'] as number;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never listened:\n${p.output()}`);
}

test('with no environment it serves /health, then stops on SIGTERM with exit 0', async (t) => {
  const p = run({ PORT: '0', HOST: '127.0.0.1' });
  t.teardown(() => void p.child.kill('SIGKILL'));
  const port = await listening(p);
  const res = answered(await call(`http://127.0.0.1:${port}/health`));
  t.is(res.status, 200);
  t.like(res.body, { status: 'ok', mode: 'hardened', dependencies: { database: 'not configured', cache: 'not configured' } });
  const started = performance.now();
  p.child.kill('SIGTERM');
  const { code } = await p.exited;
  t.is(code, 0);
  t.true(performance.now() - started < 10_000);
  t.deepEqual(p.lines.map((l) => l['msg']).slice(-2), ['shutting down', 'stopped']);
  for (const l of p.lines) t.truthy(l['time'] && l['level'] && l['msg'], JSON.stringify(l));
});

test('a bad setting: exit 2, one JSON error line naming the variable, no secret', async (t) => {
  const p = run({ DATABASE_URL: 'mysql://app:hunter2@db/x', REDIS_PASSWORD: 'hunter2' });
  const { code } = await p.exited;
  t.is(code, 2);
  t.is(p.lines.length, 1);
  t.like(p.lines[0], { level: 'error', msg: 'invalid configuration', variable: 'DATABASE_URL' });
  t.false(p.output().includes('hunter2'));
});

test('a port in use: exit 2 with the reason', async (t) => {
  const first = run({ PORT: '0', HOST: '127.0.0.1' });
  t.teardown(() => void first.child.kill('SIGKILL'));
  const port = await listening(first);
  const second = run({ PORT: String(port), HOST: '127.0.0.1' });
  const { code } = await second.exited;
  t.is(code, 2);
  t.truthy(second.lines.find((l) => l['msg'] === 'cannot listen'));
});
