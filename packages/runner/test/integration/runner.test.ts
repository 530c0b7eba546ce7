// The runner end to end on a real Redis container: verdicts and exit codes, bad options that
// start nothing, and Ctrl-C that heals, tears down and still writes a partial report.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const script = join(import.meta.dirname, 'support', 'pause-workflow.ts');

async function containersOfProject(): Promise<string[]> {
  const { stdout } = await execa('docker', ['ps', '-aq', '--filter', 'label=io.resilience.project=resilience', '--filter', 'label=io.resilience.role=redis']);
  return stdout.split('\n').filter(Boolean);
}

async function runScript(args: string[]) {
  const reports = mkdtempSync(join(tmpdir(), 'rz-reports-'));
  const r = await execa(process.execPath, [script, ...args], { reject: false, env: { REPORTS_ROOT: reports, CI: 'true' } });
  return { ...r, reports };
}

test.serial('all hypotheses hold: exit 0, a report, nothing left behind', async (t) => {
  const r = await runScript(['--pause', '1s']);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /pause-demo: PASSED \(exit 0\)/);
  t.regex(r.stdout, /availability\(steady\) >= 99%\s+\S+ %\s+PASS/);
  t.deepEqual(await containersOfProject(), []);
});

test.serial('an impossible SLO fails with exit 1 and names the hypothesis', async (t) => {
  const r = await runScript(['--pause', '1s', '--slo', 'rto<=1ms']);
  t.is(r.exitCode, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /rto<=1ms\s+\d[\d.]* (ms|s)\s+FAIL/);
  t.regex(r.stdout, /FAILED \(exit 1\)/);
});

const badOption = test.macro(async (t, args: string[], pattern: RegExp) => {
  const before = await containersOfProject();
  const r = await runScript(args);
  t.is(r.exitCode, 2, r.stdout + r.stderr);
  t.regex(r.stdout, pattern);
  t.regex(r.stdout, /Nothing was started/);
  t.deepEqual(await containersOfProject(), before);
});
test.serial('bad option value: exit 2 before anything starts', badOption, ['--pause', '-5s'], /--pause.*-5s/);
test.serial('unknown option: exit 2', badOption, ['--paws', '1s'], /--paws/);
test.serial('bad SLO: exit 2', badOption, ['--slo', 'uptime>=1'], /uptime>=1/);

test.serial('Ctrl-C mid-fault heals, tears down and writes a partial report marked interrupted', async (t) => {
  const reports = mkdtempSync(join(tmpdir(), 'rz-reports-'));
  const child = spawn(process.execPath, [script, '--pause', '60s'], { env: { ...process.env, REPORTS_ROOT: reports, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('READY-FAULT')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    child.on('exit', () => reject(new Error(`exited early: ${out}`)));
  });
  const paused = await execa('docker', ['ps', '-q', '--filter', 'label=io.resilience.role=redis', '--filter', 'status=paused']);
  t.not(paused.stdout.trim(), '', 'the container is paused before Ctrl-C');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.is(code, 130, out);
  t.regex(out, /INTERRUPTED \(exit 130\)/);
  t.deepEqual(await containersOfProject(), [], 'healed and removed');
  const dir = /report: (\S+)/.exec(out)?.[1];
  t.truthy(dir && existsSync(join(dir, 'journal.ndjson')));
  const journal = readFileSync(join(dir!, 'journal.ndjson'), 'utf8');
  t.regex(journal, /"type":"run-end","status":"interrupted"/);
  if (existsSync(join(dir!, 'report.json'))) {
    t.is((JSON.parse(readFileSync(join(dir!, 'report.json'), 'utf8')) as { run: { status: string } }).run.status, 'interrupted');
  }
});
