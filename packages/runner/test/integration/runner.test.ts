// The runner end to end on a real Redis container: verdicts and exit codes, bad options that
// start nothing, and Ctrl-C that heals, tears down and still writes a partial report.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { readJournal, type JournalEvent } from '@resilience/fixtures';
import { pauseTruth } from './support/pause-truth.ts';

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
  t.regex(r.stdout, /availability\(steady\) >= 99%\s+\S+ %\s+>= 99\.00 %\s+PASS/);
  t.deepEqual(await containersOfProject(), []);
  // A pause of 1 s is measured as what the clients saw, within one probe interval (10 ms). The
  // outage began somewhere inside the freeze call and ended somewhere inside the thaw call, and
  // those calls take from a few to a few hundred ms on a busy host: the journal has both, so the
  // truth is known to lie between the pause's inner span (freeze returned → thaw called) and its
  // outer span (freeze called → thaw returned).
  const dir = /report: (\S+)/.exec(r.stdout)?.[1];
  const { inner, outer, freezeCallMs, thawCallMs, rtoMs } = await pauseTruth(dir!);
  const rto = rtoMs.get('redis-get')!;
  t.true(inner >= 999, `the pause held the container frozen for ${inner} ms`);
  const span = `pause ${inner.toFixed(0)}..${outer.toFixed(0)} ms (freeze call ${freezeCallMs} ms, thaw call ${thawCallMs} ms)`;
  t.true(rto >= inner - 10 && rto <= outer + 10, `rto ${rto} ms for a ${span}`);
  t.log(`rto ${rto} ms for a ${span}`);
});

test.serial('a kill of a Redis without persistence loses acknowledged writes: exit 1, and the finding leads the report', async (t) => {
  const r = await runScript(['--kind', 'kill', '--pause', '500ms']);
  t.is(r.exitCode, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /FINDINGS \(\d+\)/);
  t.regex(r.stdout, /lostWrites\(redis-set\) == 0\s+[\d,]+\s+== 0\s+FAIL/);
  const dir = /report: (\S+)/.exec(r.stdout)?.[1];
  const report = JSON.parse(readFileSync(join(dir!, 'report.json'), 'utf8')) as { verdict: { passed: boolean }; findings?: { kind: string }[] };
  t.false(report.verdict.passed);
  t.true((report.findings ?? []).some((f) => f.kind === 'lost-writes'));
  t.true(readFileSync(join(dir!, 'summary.md'), 'utf8').indexOf('Findings') < readFileSync(join(dir!, 'summary.md'), 'utf8').indexOf('Hypotheses'));
  t.deepEqual(await containersOfProject(), []);
});

test.serial('an impossible SLO fails with exit 1 and names the hypothesis', async (t) => {
  const r = await runScript(['--pause', '1s', '--slo', 'rto<=1ms']);
  t.is(r.exitCode, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /rto<=1ms\s+\d[\d.]* (ms|s)\s+<= 1 ms\s+FAIL/);
  t.regex(r.stdout, /FAILED \(exit 1\)/);
});

test.serial('a safeguard (--abort-if) that holds during a real pause thaws the container at once and ends the run FAILED with a finding', async (t) => {
  const started = Date.now();
  const r = await runScript(['--pause', '30s', '--abort-if', 'availability(fault, redis) < 50%', '--abort-window', '1s']);
  t.is(r.exitCode, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /SAFEGUARD: safeguard tripped: availability\(fault, redis\) < 50%/);
  t.regex(r.stdout, /pause-demo: FAILED \(exit 1\).*safeguard tripped/);
  t.true(Date.now() - started < 25_000, 'the 30 s pause was not held');
  const dir = /report: (\S+)/.exec(r.stdout)?.[1];
  const events: JournalEvent[] = [];
  for await (const e of readJournal(join(dir!, 'journal.ndjson'))) events.push(e);
  const injected = events.find((e) => e.type === 'fault-injected');
  const healed = events.find((e) => e.type === 'fault-healed');
  if (injected?.type !== 'fault-injected' || healed?.type !== 'fault-healed') return t.fail('the journal has the pause and its heal');
  // Judged once the 1 s window of the fault phase is observed, every 250 ms; then thawed at once.
  const held = healed.at - injected.at;
  t.true(held >= 1000 && held <= 2500, `the pause was held ${held.toFixed(0)} ms`);
  t.true(events.some((e) => e.type === 'finding' && e.kind === 'safeguard-tripped' && e.severity === 'critical'));
  t.regex(r.stdout, /lostWrites\(redis-set\) == 0\s+0\s+== 0\s+PASS/, 'the writes were still checked');
  t.deepEqual(await containersOfProject(), []);
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

test.serial('an image that is not built: exit 2, the flag and how to build it named, no report folder, no container', async (t) => {
  const r = await runScript(['--image-tag', 'resilience/not-built:0.0.0']);
  t.is(r.exitCode, 2, r.stdout + r.stderr);
  t.regex(r.stdout, /--image-tag.*resilience\/not-built:0\.0\.0.*npx nx run docker:images/);
  t.regex(r.stdout, /Nothing was started/);
  t.deepEqual(readdirSync(r.reports), []);
  t.deepEqual(await containersOfProject(), []);
});

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
  const events: JournalEvent[] = [];
  for await (const e of readJournal(join(dir!, 'journal.ndjson'))) events.push(e);
  t.like(events.at(-1), { type: 'run-end', status: 'interrupted' });
  t.true(existsSync(join(dir!, 'report.json')), 'the partial report exists');
  t.true(existsSync(join(dir!, 'summary.md')));
  const report = JSON.parse(readFileSync(join(dir!, 'report.json'), 'utf8')) as { run: { status: string; partial: boolean } };
  t.is(report.run.status, 'interrupted');
  t.true(report.run.partial);
});

const stopCli = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'src', 'cli', 'stop.ts');
const cleanupCli = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'src', 'cli', 'cleanup.ts');

/** Starts the pause workflow with a long pause and its own state folder; resolves once the fault is in effect. */
async function runningMidFault(state: string) {
  const reports = mkdtempSync(join(tmpdir(), 'rz-reports-'));
  const child = spawn(process.execPath, [script, '--pause', '120s'], { env: { ...process.env, REPORTS_ROOT: reports, RESILIENCE_STATE_DIR: state, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout.on('data', (b: Buffer) => (output.text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output.text += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.text.includes('READY-FAULT')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    void exited.then(() => reject(new Error(`exited early: ${output.text}`)));
  });
  const runId = readdirSync(join(state, 'runs'))[0]!;
  return { child, output, exited, runId };
}

async function redisState(): Promise<{ paused: boolean; running: boolean }[]> {
  const ids = await containersOfProject();
  if (ids.length === 0) return [];
  const { stdout } = await execa('docker', ['inspect', '-f', '{{.State.Paused}} {{.State.Running}}', ...ids]);
  return stdout.split('\n').map((l) => ({ paused: l.startsWith('true'), running: l.endsWith('true') }));
}

test.serial('npm run stop mid-fault heals at once, the runner ends with a partial report, the containers stay for inspection; a container the project did not create is not touched', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'rz-state-'));
  // Not the project's: paused before the stop, still paused after it.
  const foreign = (await execa('docker', ['run', '-d', '--label', 'io.example.owner=someone-else', '--entrypoint', 'sleep', 'resilience/infra:0.1.0', '600'])).stdout.trim();
  t.teardown(() => execa('docker', ['rm', '-f', foreign], { reject: false }));
  await execa('docker', ['pause', foreign]);
  const { child, output, exited, runId } = await runningMidFault(state);
  t.deepEqual(await redisState(), [{ paused: true, running: true }], 'the fault is in effect before the stop');

  const stop = await execa(process.execPath, [stopCli, `--run=${runId}`], { reject: false, env: { RESILIENCE_STATE_DIR: state } });
  t.is(stop.exitCode, 0, stop.stdout + stop.stderr);
  t.regex(stop.stdout, new RegExp(`healed pause pause-[0-9a-f]+ of ${runId} on \\S+redis`));
  t.regex(stop.stdout, /healed 1 fault\(s\), the ones open at the stop within \d+ ms/);
  t.regex(stop.stdout, new RegExp(`${runId}: its runner ended; its containers are left for inspection`));
  t.log(stop.stdout.split('\n').find((l) => l.includes('within')));
  t.is(child.exitCode ?? (await exited), 130, output.text);
  t.regex(output.text, /STOPPED: emergency stop \(`npm run stop`, pid \d+\)/);
  t.regex(output.text, /INTERRUPTED \(exit 130\)/);
  t.deepEqual(await redisState(), [{ paused: false, running: true }], 'healed, and left running for inspection');
  const dir = /report: (\S+)/.exec(output.text)?.[1];
  const report = JSON.parse(readFileSync(join(dir!, 'report.json'), 'utf8')) as { run: { status: string; partial: boolean } };
  t.like(report.run, { status: 'interrupted', partial: true });
  const events: JournalEvent[] = [];
  for await (const e of readJournal(join(dir!, 'journal.ndjson'))) events.push(e);
  t.true(events.some((e) => e.type === 'note' && /emergency stop/.test(e.message)), 'the journal says why the run ended');
  const foreignState = (await execa('docker', ['inspect', '-f', '{{.State.Paused}}', foreign])).stdout.trim();
  t.is(foreignState, 'true', 'a container the project did not create stays as it was');

  // The next run's sweep and a plain cleanup leave the stopped run; cleanup --all removes it.
  const plain = await execa(process.execPath, [cleanupCli], { reject: false, env: { RESILIENCE_STATE_DIR: state } });
  t.regex(plain.stdout, new RegExp(`keep\\s+${runId}: .*stopped for inspection`));
  t.is((await redisState()).length, 1);
  const all = await execa(process.execPath, [cleanupCli, '--all'], { reject: false, env: { RESILIENCE_STATE_DIR: state } });
  t.is(all.exitCode, 0, all.stdout + all.stderr);
  t.deepEqual(await containersOfProject(), []);
  t.deepEqual(readdirSync(join(state, 'runs')), [], 'the run folder went with it');
});

test.serial('npm run stop --remove heals and removes the run once its runner ended', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'rz-state-'));
  const { exited, output, runId } = await runningMidFault(state);
  const stop = await execa(process.execPath, [stopCli, '--remove', '--run', runId], { reject: false, env: { RESILIENCE_STATE_DIR: state } });
  t.is(stop.exitCode, 0, stop.stdout + stop.stderr);
  t.regex(stop.stdout, new RegExp(`${runId}: its runner ended; its containers, networks and volumes were removed`));
  t.is(await exited, 130, output.text);
  t.deepEqual(await containersOfProject(), []);
  t.deepEqual(readdirSync(join(state, 'runs')), []);
});

test.serial('npm run stop refuses a run id it does not know and an unknown option, with exit 2, changing nothing', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'rz-state-'));
  const unknown = await execa(process.execPath, [stopCli, '--run=rz-nope'], { reject: false, env: { RESILIENCE_STATE_DIR: state } });
  t.is(unknown.exitCode, 2, unknown.stdout + unknown.stderr);
  t.regex(unknown.stderr, /`--run` to be .*, got "rz-nope"|--run.*rz-nope/);
  const bad = await execa(process.execPath, [stopCli, '--now'], { reject: false });
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /unknown option `--now`; accepted: --run=ID, --remove, --dry-run, --help/);
});
