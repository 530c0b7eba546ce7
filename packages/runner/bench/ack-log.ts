// The write check's memory during a run: N acknowledged writes of each id shape pushed through a
// WriteCollector kept in memory (AckStore) and one spilled to disk (AckLog), retained heap plus
// array buffers after a full GC while the run goes on; the log's bytes on disk per write, the
// cost of a push, and the check at the end (the log read back into a ledger and compared with
// every id present). A 24 h soak at its default rate acknowledges about 4.3 M writes per probe.
//
// Usage: scripts/node --expose-gc packages/runner/bench/ack-log.ts [--writes N]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WriteCollector } from '../src/writes.ts';

const i = process.argv.indexOf('--writes');
const writes = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
if (!Number.isInteger(writes) || writes < 1000) {
  console.error(`--writes: expected an integer of at least 1000, got ${process.argv[i + 1]}`);
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc');
  process.exit(2);
}
const nodes = ['pg1', 'pg2', 'pg3'];
const shapes: [string, (k: number) => string][] = [
  ['probe-made <prefix><seq>', (k) => `sql-write-1a2b3c4d-${k}`],
  // Version-4-shaped and distinct, made from k so that no array of ids sits in the measurement.
  ['UUIDs (the app\'s order ids)', (k) => `${k.toString(16).padStart(8, '0')}-${(k % 65536).toString(16).padStart(4, '0')}-4abc-8def-${(k * 7919).toString(16).padStart(12, '0')}`],
];

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const settle = async () => {
  // Array buffers are freed after the GC that finds them dead: collect until the numbers settle.
  for (let k = 0; k < 4; k++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
};
const rowAt = process.argv.indexOf('--row');
if (rowAt < 0) {
  // Each row in a process of its own, so that no row measures another's garbage.
  console.log(`${writes.toLocaleString('en-US')} acknowledged writes per row (1 in 20 failed), retained heap + array buffers after a full GC, before the check`);
  for (let row = 0; row < shapes.length * 2; row++) {
    const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--writes', String(writes), '--row', String(row)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) process.exit(r.status ?? 1);
    process.stdout.write(r.stdout);
  }
  process.exit(0);
}
const row = Number(process.argv[rowAt + 1]);
const [shape, id] = shapes[Math.floor(row / 2)]!;
const spill = row % 2 === 1;
const dir = mkdtempSync(join(tmpdir(), 'ack-log-bench-'));
try {
  await settle();
  const before = process.memoryUsage();
  const c = new WriteCollector('w', spill ? { spillDir: dir } : {});
  const t0 = performance.now();
  for (let k = 0; k < writes; k++) c.push({ type: 'sample', probe: 'w', op: 'w', intended: k * 20, completed: k * 20 + 3, ok: k % 20 !== 0, writeId: id(k), node: nodes[k % 3]! });
  const pushMs = performance.now() - t0;
  await settle();
  const after = process.memoryUsage();
  const retained = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  const logs = join(dir, '.acks');
  const disk = existsSync(logs) ? readdirSync(logs).reduce((a, f) => a + statSync(join(logs, f)).size, 0) : 0;
  const t1 = performance.now();
  const check = c.check((function* () {
    for (let k = 0; k < writes; k++) yield id(k);
  })(), { store: 'bench', intervalMs: 20, faults: [], at: writes * 20 });
  const checkMs = performance.now() - t1;
  if (check.lost !== 0 || check.acked !== writes - Math.ceil(writes / 20)) throw new Error(`check: ${check.lost} lost, ${check.acked} acked`);
  c.close();
  console.log(`  ${shape.padEnd(28)} ${spill ? 'on disk  ' : 'in memory'}  retained ${(retained / writes).toFixed(1).padStart(5)} bytes/write (${mib(retained)})  disk ${(disk / writes).toFixed(1).padStart(5)} bytes/write  push ${(pushMs * 1e6 / writes).toFixed(0).padStart(4)} ns  check ${(checkMs / 1000).toFixed(2)} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
