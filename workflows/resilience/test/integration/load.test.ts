// `resilience:load` end to end on a real app-stack: bad input exits 2 with nothing started; a
// short steady profile ends with a verdict and the per-stage numbers in the report, and every
// request the schedule offered is accounted for.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const main = resolve(import.meta.dirname, '..', '..', 'src', 'load-main.ts');

interface ReportJson {
  run: { id: string; exitCode: number };
  verdict: { passed: boolean; hypotheses: { name: string; ok: boolean; observed: number | null }[] };
  measurements: { name: string; scope: string | null; value: number | null; description: string }[];
}

test.serial('bad input exits 2, names the value and what is accepted, and starts nothing', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--profile=nope'], /--profile.*nope/],
    [['--rate', '0'], /--rate/],
    [['--profile', 'ramp', '--fault', 'pause'], /--fault.*not with --profile ramp/],
  ];
  for (const [args, message] of cases) {
    const r = await execa(process.execPath, [main, ...args], { reject: false, env: { CI: 'true' } });
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}`);
    t.regex(r.stdout, message);
    t.regex(r.stdout, /Nothing was started/);
  }
});

test.serial('a short steady load ends with a verdict and per-stage throughput, latency, error rate and app CPU', async (t) => {
  const reports = mkdtempSync(join(tmpdir(), 'rz-load-'));
  const r = await execa(process.execPath, [main, '--no-png', '--duration', '15s', '--rate', '60'], { reject: false, env: { CI: 'true', RESILIENCE_REPORTS_DIR: reports } });
  t.log(r.stdout.split('\n').filter((l) => /PASS|FAIL|steady:|load:/.test(l)).join('\n'));
  t.true(r.exitCode === 0 || r.exitCode === 1, r.stdout + r.stderr);
  t.regex(r.stdout, /load: (PASSED|FAILED)/);
  const dir = /report: (\S+)/.exec(r.stdout)![1]!;
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
  const value = (name: string) => report.measurements.find((m) => m.name === name && m.scope === 'steady')?.value ?? null;
  t.is(value('offeredRate'), 60, '15 s at 60/s: exactly 900 requests offered');
  t.true(value('throughput')! > 50 && value('throughput')! <= 60, `throughput ${value('throughput')}`);
  t.true(value('latencyP50')! > 0 && value('latencyP50')! <= value('latencyP99')!);
  t.true(value('errorRate')! >= 0 && value('errorRate')! <= 1);
  t.is(value('dropped'), 0);
  t.true(value('appCpu')! > 0, 'the app worked');
  t.true(value('appMemory')! > 10 * 1024 * 1024, 'the app holds more than 10 MiB');
  const names = report.verdict.hypotheses.map((h) => h.name);
  t.deepEqual(names, ['latencyP50 < 1s', 'latencyP95 < 3s', 'latencyP99 < 5s', 'errorRate < 1%', 'throughput >= 50', 'appCpu < 80%', 'appMemory < 1073741824']);
  t.true(report.verdict.hypotheses.every((h) => h.observed !== null), 'every hypothesis was measured');
  t.is(report.run.exitCode, r.exitCode ?? -1);
});
