// Runs one project's ava suite (unit or integration) and records its counts in
// dist/test-results/<project>.<kind>.json, so `npm test` can print one total line for CI.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [projectRoot, projectName, kind] = process.argv.slice(2);

/** A failure's diagnostics for the summary: its start and its end (where the cause usually is). */
function clip(detail: string, head = 700, tail = 1300): string {
  if (detail.length <= head + tail) return detail;
  return `${detail.slice(0, head)}\n    … ${detail.length - head - tail} characters left out …\n${detail.slice(-tail)}`;
}
if (!projectRoot || !projectName || (kind !== 'unit' && kind !== 'integration')) {
  console.error(`usage: run-ava.ts <projectRoot> <projectName> unit|integration, got ${JSON.stringify(process.argv.slice(2))}`);
  process.exit(2);
}

const workspace = resolve(import.meta.dirname, '..');
const resultsDir = join(workspace, 'dist', 'test-results');
const resultsFile = join(resultsDir, `${projectName}.${kind}.json`);
mkdirSync(resultsDir, { recursive: true });

const testDir = join(workspace, projectRoot, 'test', kind);
const hasTests = existsSync(testDir) && readdirSync(testDir, { recursive: true }).some((f) => String(f).endsWith('.test.ts'));
if (!hasTests) {
  console.log(`${projectName}: no ${kind} tests`);
  writeFileSync(resultsFile, JSON.stringify({ project: projectName, kind, passed: 0, failed: 0, skipped: 0 }) + '\n');
  process.exit(0);
}

const ava = join(workspace, 'node_modules', 'ava', 'entrypoints', 'cli.js');
// Docker suites run one file and one test at a time: the machine has two cores and the
// environments are heavy.
const modeArgs = kind === 'integration' ? ['--serial', '--concurrency=1', '--timeout=10m'] : ['--timeout=2m'];
const child = spawn(process.execPath, [ava, '--tap', ...modeArgs, `test/${kind}/**/*.test.ts`, ...process.argv.slice(5)], {
  cwd: join(workspace, projectRoot),
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});

const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
let tail = '';
// Each failed test's title and the first lines of its TAP diagnostics (the assertion, values,
// the test file's line), so the closing summary names what failed even when only the end of
// the log survives.
const failures: { title: string; detail: string }[] = [];
let current: { title: string; detail: string } | undefined;
let partial = '';
const onLine = (line: string): void => {
  const failed = /^not ok \d+ - (.*)$/.exec(line);
  if (failed) {
    current = { title: failed[1]!, detail: '' };
    failures.push(current);
    return;
  }
  if (!current) return;
  if (/^ {2}\.\.\.$/.test(line) || /^(ok|not ok) \d+/.test(line)) { current = undefined; return; }
  if (/^ {2}(---|\s)/.test(line) && current.detail.length < 1500) current.detail += `${line}\n`;
};
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  const text = chunk.toString('utf8');
  tail = (tail + text).slice(-4096);
  const lines = (partial + text).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) onLine(line);
  for (const m of text.matchAll(/^# (pass|fail|skip|todo) (\d+)$/gm)) {
    counts[m[1] as keyof typeof counts] = Number(m[2]);
  }
});

child.on('close', (code, signal) => {
  const crashed = code !== 0 && counts.fail === 0;
  const result = {
    project: projectName,
    kind,
    passed: counts.pass,
    // A suite that exits non-zero without a failed test (a crash, a timeout, an uncaught
    // error in a hook) counts as one failure so the total never hides it.
    failed: counts.fail + (crashed ? 1 : 0),
    skipped: counts.skip + counts.todo,
    exitCode: code,
    signal,
    failures: failures.map((f) => ({ title: f.title, detail: clip(f.detail) })),
  };
  writeFileSync(resultsFile, JSON.stringify(result) + '\n');
  if (crashed) console.error(`${projectName}: ava exited with ${code ?? signal} and no failed test reported:\n${tail}`);
  process.exit(code ?? 1);
});
