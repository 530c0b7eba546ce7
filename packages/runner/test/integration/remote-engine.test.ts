// Everything works against DOCKER_HOST: a workflow run against a second Docker engine (over TCP
// with mutual TLS, or on its own socket) puts every container there and none on the default
// engine, measures, judges and cleans up there; with in-network probes it needs no published
// port (probe agents on the environment's network stream their samples back); a runner killed mid-fault is healed and reaped there by its watchdog, which
// follows the same DOCKER_HOST.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Images, waitFor } from '@resilience/fixtures';
import { pauseTruth } from './support/pause-truth.ts';
import { startSecondEngine, type SecondEngine } from './support/second-engine.ts';

const script = join(import.meta.dirname, 'support', 'pause-workflow.ts');
let engine2: SecondEngine;

test.before(async (t) => {
  const started = performance.now();
  engine2 = await startSecondEngine([Images.infra, Images.app]);
  t.log(`second engine at ${engine2.host}, ${Images.infra} and ${Images.app} loaded, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
});

test.after.always(async () => {
  await engine2?.stop();
});

/** The default engine's containers of a run (DOCKER_HOST unset). */
async function onDefaultEngine(runId: string): Promise<string> {
  const env = { ...process.env };
  delete env['DOCKER_HOST'];
  return (await execa('docker', ['ps', '-aq', '--filter', `label=io.resilience.run-id=${runId}`], { env, extendEnv: false })).stdout.trim();
}

function startWorkflow(args: string[], engineEnv: Record<string, string>): { child: ChildProcess; output: { text: string }; exited: Promise<number | null>; ready: Promise<string> } {
  const state = mkdtempSync(join(tmpdir(), 'rz-remote-state-'));
  const reports = mkdtempSync(join(tmpdir(), 'rz-remote-reports-'));
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...engineEnv, RESILIENCE_STATE_DIR: state, REPORTS_ROOT: reports, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  child.stdout!.on('data', (b: Buffer) => (output.text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output.text += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const ready = (async () => {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`exited early: ${output.text}`);
      return output.text.includes('READY-FAULT');
    }, { what: 'the workflow to reach its fault', timeoutMs: 60_000, intervalMs: 50 });
    return readdirSync(join(state, 'runs'))[0]!;
  })();
  return { child, output, exited, ready };
}

test.serial('a workflow against DOCKER_HOST (TCP with mutual TLS) runs on that engine only: its containers there, none on the default engine, PASSED, nothing left', async (t) => {
  const { output, exited, ready } = startWorkflow(['--pause', '1s', '--no-png'], engine2.tls);
  const runId = await ready;
  t.not(await engine2.docker(['ps', '-q', '--filter', `label=io.resilience.run-id=${runId}`, '--filter', 'status=paused']), '', 'the fault paused a container of the run on the second engine');
  t.is(await onDefaultEngine(runId), '', 'the default engine has no container of the run');
  t.is(await exited, 0, output.text);
  t.regex(output.text, /pause-demo: PASSED \(exit 0\)/);
  t.regex(output.text, /rto <= 30s\s+1\.\d+ s\s+<= 30\.00 s\s+PASS/, 'a 1 s pause is measured on the second engine as on the first');
  t.is(await engine2.docker(['ps', '-aq', '--filter', 'label=io.resilience.project=resilience']), '', 'no container of the project is left on the second engine');
  t.is(await engine2.docker(['network', 'ls', '-q', '--filter', 'label=io.resilience.project=resilience']), '', 'no network either');
});

test.serial('in-network probes: with no published port, the probes run in an agent on the environment\'s network and a 1 s pause is measured within one probe interval of its true span', async (t) => {
  const { output, exited, ready } = startWorkflow(['--pause', '1s', '--no-png', '--probes', 'in-network'], engine2.tls);
  const runId = await ready;
  const redis = JSON.parse(await engine2.docker(['inspect', `rz-${runId}-redis`])) as { NetworkSettings: { Ports: Record<string, unknown> } }[];
  t.deepEqual(Object.values(redis[0]!.NetworkSettings.Ports ?? {}).filter(Boolean), [], 'the Redis publishes no port');
  const agents = await engine2.docker(['ps', '-q', '--filter', `label=io.resilience.run-id=${runId}`, '--filter', 'label=io.resilience.role=probe-agent']);
  t.is(agents.split('\n').filter(Boolean).length, 2, `an agent per probe, on the second engine: ${await engine2.docker(['ps', '-a', '--format', '{{.Names}} {{.Labels}} {{.Status}}'])}`);
  t.is(await exited, 0, output.text);
  t.regex(output.text, /lostWrites\(redis-set\) == 0\s+0\s+== 0\s+PASS/, 'the writes were read back inside the network');
  // The truth: the outage lies between the pause's inner and outer spans (support/pause-truth.ts).
  const { inner, outer, rtoMs } = await pauseTruth(/report: (\S+)/.exec(output.text)![1]!);
  for (const name of ['redis-get', 'redis-set']) {
    const rto = rtoMs.get(name)!;
    t.true(rto >= inner - 10 && rto <= outer + 10, `${name}: rto ${rto} ms for a pause of ${inner.toFixed(0)}..${outer.toFixed(0)} ms`);
    t.log(`${name}: rto ${rto} ms for a pause of ${inner.toFixed(0)}..${outer.toFixed(0)} ms`);
  }
  t.is(await engine2.docker(['ps', '-aq', '--filter', 'label=io.resilience.project=resilience']), '', 'the agents are gone with the run');
});

test.serial('a runner killed mid-fault on DOCKER_HOST (another socket): its watchdog heals and removes the run on that engine within 10 s', async (t) => {
  const { child, output, exited, ready } = startWorkflow(['--pause', '30s', '--no-png'], { DOCKER_HOST: engine2.host });
  const runId = await ready;
  t.not(await engine2.docker(['ps', '-q', '--filter', `label=io.resilience.run-id=${runId}`, '--filter', 'status=paused']), '', 'paused before the kill');
  const killedAt = performance.now();
  child.kill('SIGKILL');
  t.is(await exited, null, output.text);
  await waitFor(async () => (await engine2.docker(['ps', '-aq', '--filter', `label=io.resilience.run-id=${runId}`])) === '', { what: 'the watchdog to reap the run on the second engine', timeoutMs: 10_000, intervalMs: 200 });
  t.log(`reaped ${((performance.now() - killedAt) / 1000).toFixed(1)} s after SIGKILL`);
  t.is(await onDefaultEngine(runId), '');
});
