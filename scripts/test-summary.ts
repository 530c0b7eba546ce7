// Adds up dist/test-results/*.json (written by run-ava.ts) and prints one closing line,
// `N passed, N failed`, that CI reads. Exits 1 when any test failed.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface Result {
  project: string; kind: string; passed: number; failed: number; skipped: number;
  failures?: { title: string; detail: string }[];
}
const dir = resolve(import.meta.dirname, '..', 'dist', 'test-results');
const results: Result[] = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Result)
  : [];
results.sort((a, b) => a.project.localeCompare(b.project) || a.kind.localeCompare(b.kind));
let passed = 0, failed = 0, skipped = 0;
console.log('\nproject              suite         passed  failed  skipped');
for (const r of results) {
  passed += r.passed; failed += r.failed; skipped += r.skipped;
  console.log(`${r.project.padEnd(20)} ${r.kind.padEnd(12)} ${String(r.passed).padStart(7)} ${String(r.failed).padStart(7)} ${String(r.skipped).padStart(8)}`);
}
const failures = results.flatMap((r) => (r.failures ?? []).map((f) => ({ ...r, ...f })));
if (failures.length > 0) {
  // Repeated here, at the end of the log, because CI logs are often read from their tail.
  console.log('\nfailed tests:');
  for (const f of failures) {
    console.log(`\n${f.project} (${f.kind}) › ${f.title}`);
    if (f.detail) console.log(f.detail.trimEnd());
  }
}
console.log('');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || results.length === 0 ? 1 : 0);
