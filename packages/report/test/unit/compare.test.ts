// Comparing runs: reports built from synthetic journals with several iterations (several faults
// each run), compared metric by metric against the noise the runs measured themselves.
import test from 'ava';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FindingEvent, JournalEvent } from '@resilience/fixtures/events';
import { main } from '../../src/compare-cli.ts';
import { comparisonTable, compareReports, parseTolerance, formatDiff, loadReport, renderHtml, renderMarkdown, reportSchema, withBaseline, writeReport } from '../../src/index.ts';
import type { Comparison, Report } from '../../src/index.ts';
import { tempDir } from '../support/journals.ts';
import { reportOf, samples, variantEvents } from '../support/scenarios.ts';

const CLI = resolve(import.meta.dirname, '../../src/compare-cli.ts');
const PERIOD = 12_000;
const FAULT_IN = 3000;

interface RunSpec {
  /** Per iteration: how long sql-write fails after the fault (ms); null: it never recovers. */
  readonly outages: readonly (number | null)[];
  readonly lost?: number;
  readonly workflow?: string;
  readonly findings?: readonly FindingEvent[];
}

/**
 * A failover-like run of `outages.length` iterations of PERIOD ms: steady, a kill of the
 * PostgreSQL primary FAULT_IN ms in, sql-write failing for its outage (its RTO: the outage + 1 ms,
 * the completion of the first good operation), http-read (also postgres) failing half as long;
 * then recovery and after. sql-write's acknowledged writes are checked at the end.
 */
function runEvents(spec: RunSpec): JournalEvent[] {
  const n = spec.outages.length;
  const end = n * PERIOD;
  const events: JournalEvent[] = [
    { type: 'probe', name: 'sql-write', op: 'INSERT', scopes: ['postgres'], intervalMs: 10, writes: true, at: 0 },
    { type: 'probe', name: 'http-read', op: 'GET /orders', scopes: ['postgres'], intervalMs: 10, writes: false, at: 0 },
  ];
  const failing = (share: number) => (t: number) => spec.outages.some((d, i) => {
    const at = i * PERIOD + FAULT_IN;
    return t >= at && (d === null ? true : t < at + Math.round((d * share) / 10) * 10);
  });
  spec.outages.forEach((d, i) => {
    const base = i * PERIOD;
    const at = base + FAULT_IN;
    events.push(
      { type: 'phase', name: 'steady', at: base },
      { type: 'phase', name: 'fault', at },
      { type: 'fault-injected', id: `f${i + 1}`, kind: 'kill', targets: ['pg1'], params: {}, at, scope: 'postgres', iteration: i + 1 },
      { type: 'phase', name: 'recovery', at: at + 5000 },
      { type: 'fault-healed', id: `f${i + 1}`, at: at + 5000 },
      { type: 'phase', name: 'after', at: at + 7000 },
    );
    void d;
  });
  events.push(
    ...samples({ probe: 'sql-write', op: 'INSERT', to: end, fails: failing(1), node: 'pg1' }),
    ...samples({ probe: 'http-read', op: 'GET /orders', to: end, fails: failing(0.5) }),
    {
      type: 'write-check', at: end - 50, probe: 'sql-write', scope: 'postgres', store: 'table resilience_writes', acked: 1000, present: 1000 - (spec.lost ?? 0), lost: spec.lost ?? 0, ghost: 0,
      lostByNode: spec.lost ? { pg1: spec.lost } : {}, lostByWindow: { 'before-fault': 0, fault: spec.lost ?? 0, 'after-election': 0, 'after-heal': 0 }, perFault: [], examples: [],
    },
    ...(spec.findings ?? []),
    { type: 'verdict', at: end - 5, hypotheses: [{ name: 'rto <= 30s', ok: true, observed: 1, threshold: 30_000, unit: 'ms' }] },
    { type: 'run-end', status: 'completed', at: end },
  );
  return events;
}

async function run(t: Parameters<typeof tempDir>[0], spec: RunSpec): Promise<Report> {
  const report = await reportOf(t, runEvents(spec), { exitCode: 0 });
  return spec.workflow ? { ...report, run: { ...report.run, workflow: spec.workflow } } : report;
}

function row(c: Comparison, metric: string, subject: string, phase: string | null = null) {
  const r = c.rows.find((x) => x.metric === metric && x.subject === subject && x.phase === phase);
  if (!r) throw new Error(`no row ${metric}(${phase ?? ''} ${subject}) in ${c.rows.map((x) => `${x.metric}/${x.subject}/${x.phase}`).join(', ')}`);
  return r;
}

test('identical runs: every row the same, no regression', async (t) => {
  const a = await run(t, { outages: [2000, 2300, 2100] });
  const c = compareReports(a, structuredClone(a));
  t.is(c.regressions, 0);
  t.deepEqual(c.hypotheses, []);
  t.true(c.rows.length > 10);
  t.deepEqual([...new Set(c.rows.map((r) => r.verdict))], ['same']);
  t.like(row(c, 'rto', 'sql-write'), { baseline: 2301, current: 2301, diff: 0, noiseBasis: 'measured', noise: 300, samples: { baseline: 3, current: 3 } });
  // Per scope: per fault the worst probe, over the faults the worst.
  t.like(row(c, 'rto', 'postgres'), { kind: 'scope', baseline: 2301, samples: { baseline: 3, current: 3 } });
  t.like(row(c, 'lostWrites', 'sql-write'), { baseline: 0, current: 0, noiseBasis: 'none', verdict: 'same' });
  // Availability's noise per fault window and per phase occurrence (three of each).
  t.like(row(c, 'availability', 'sql-write'), { noiseBasis: 'measured', samples: { baseline: 3, current: 3 } });
  t.like(row(c, 'availability', 'sql-write', 'fault'), { noiseBasis: 'measured', samples: { baseline: 3, current: 3 } });
  t.like(row(c, 'p99', 'sql-write'), { noiseBasis: 'unknown' });
});

test('a worse RTO beyond the noise of several iterations regresses: a failed hypothesis named after it', async (t) => {
  const a = await run(t, { outages: [2000, 2300, 2100] });
  const b = await run(t, { outages: [3400, 3500, 3300] });
  const c = compareReports(a, b);
  const r = row(c, 'rto', 'sql-write');
  // Noise: the larger range of the two runs' three RTOs (300 and 200 ms).
  t.like(r, { baseline: 2301, current: 3501, diff: 1200, noiseBasis: 'measured', noise: 300, allowed: 300, limit: 2601, verdict: 'regressed' });
  t.is(formatDiff(r), '+1.20 s (+52.2 %)');
  const h = c.hypotheses.find((x) => x.name === 'baseline: rto(sql-write)');
  t.like(h, { ok: false, observed: 3501, threshold: '<= 2601', unit: 'ms', variant: null });
  t.regex(h!.description, /worst RTO of sql-write: 3\.50 s, worse than baseline run run-2f \(2\.30 s\) by \+1\.20 s \(\+52\.2 %\), beyond ±300 ms \(range of 3\+3 samples\)/);
  t.true(c.hypotheses.some((x) => x.name === 'baseline: rto(postgres)'), 'the scope regressed too');
  t.is(c.regressions, c.hypotheses.length);
});

test('a worse RTO within the noise is not a regression', async (t) => {
  const a = await run(t, { outages: [2000, 2600, 2100] });
  const b = await run(t, { outages: [2200, 2800, 2500] });
  const c = compareReports(a, b);
  t.like(row(c, 'rto', 'sql-write'), { baseline: 2601, current: 2801, diff: 200, noise: 600, verdict: 'within-noise' });
  t.false(c.hypotheses.some((h) => h.name.startsWith('baseline: rto')));
});

test('one sample per run: the noise is unknown, the tolerance of the baseline is allowed and the row says so', async (t) => {
  const a = await run(t, { outages: [2000] });
  const within = compareReports(a, await run(t, { outages: [2300] }));
  t.like(row(within, 'rto', 'sql-write'), { noiseBasis: 'unknown', noise: null, samples: { baseline: 1, current: 1 }, allowed: 400.2, verdict: 'within-noise' });
  const worse = await run(t, { outages: [2600] });
  const beyond = compareReports(a, worse);
  t.like(row(beyond, 'rto', 'sql-write'), { noiseBasis: 'unknown', diff: 600, verdict: 'regressed' });
  const text = comparisonTable(beyond).rows.find((r) => r[0]!.text === 'rto' && r[1]!.text === 'sql-write')!.map((x) => x.text);
  t.deepEqual(text.slice(2), ['2.00 s', '2.60 s', '+600 ms (+30.0 %)', '±400 ms (noise unknown, 1+1 samples: 20 % of the baseline)', 'regressed']);
  // A looser tolerance lets it pass; it is stored with the comparison.
  const loose = compareReports(a, worse, { tolerance: 0.5 });
  t.like(row(loose, 'rto', 'sql-write'), { verdict: 'within-noise', allowed: 1000.5 });
  t.is(loose.tolerance, 0.5);
  // Several iterations against one: still unknown (the noise must be measured in both runs).
  t.like(row(compareReports(a, await run(t, { outages: [2000, 2100] })), 'rto', 'sql-write'), { noiseBasis: 'unknown', samples: { baseline: 1, current: 2 } });
});

test('a probe that never recovers in this run regresses, however large the noise', async (t) => {
  const a = await run(t, { outages: [1000, 4000] });
  const b = await run(t, { outages: [1000, null] });
  const c = compareReports(a, b);
  t.like(row(c, 'rto', 'sql-write'), { baseline: 4001, current: null, diff: null, verdict: 'regressed' });
  t.like(c.hypotheses.find((h) => h.name === 'baseline: rto(sql-write)'), { observed: null, ok: false });
  t.regex(c.hypotheses.find((h) => h.name === 'baseline: rto(sql-write)')!.description, /4\.00 s in baseline run run-2f, not measured in this run/);
  // The other way round: recovering now is an improvement.
  t.like(row(compareReports(b, a), 'rto', 'sql-write'), { verdict: 'improved' });
});

test('more lost writes regress with no noise at all; fewer improve', async (t) => {
  const a = await run(t, { outages: [2000, 2000] });
  const b = await run(t, { outages: [2000, 2000], lost: 1 });
  const c = compareReports(a, b);
  // The probe and its scope (the sum over its write probes); nothing else changed.
  t.deepEqual(c.hypotheses.map((h) => h.name), ['baseline: lostWrites(sql-write)', 'baseline: lostWrites(postgres)']);
  t.like(row(c, 'lostWrites', 'sql-write'), { baseline: 0, current: 1, noiseBasis: 'none', allowed: 0, verdict: 'regressed' });
  t.like(c.hypotheses[0], { name: 'baseline: lostWrites(sql-write)', observed: 1, threshold: '<= 0', unit: 'count' });
  t.like(row(compareReports(b, a), 'lostWrites', 'sql-write'), { verdict: 'improved' });
});

test('finding kinds the baseline has not are listed as new', async (t) => {
  const split: FindingEvent = { type: 'finding', id: 'split-brain:1', kind: 'split-brain', severity: 'critical', title: 'two primaries for 1.20 s', detail: '', at: 4000, evidence: [] };
  const lag: FindingEvent = { type: 'finding', id: 'runner-lagged', kind: 'runner-lagged', severity: 'warning', title: 'the runner lagged', detail: '', at: 5000, evidence: [] };
  const a = await run(t, { outages: [2000], findings: [lag] });
  const b = await run(t, { outages: [2000], findings: [lag, split, { ...split, id: 'split-brain:2' }] });
  t.deepEqual(compareReports(a, b).newFindings, [{ kind: 'split-brain', severity: 'critical', count: 2, title: 'two primaries for 1.20 s' }]);
  t.deepEqual(compareReports(b, a).newFindings, []);
});

test('variants: probes compared by name, scopes per variant, hypotheses carry the variant', async (t) => {
  const a = await reportOf(t, variantEvents());
  const c = compareReports(a, structuredClone(a));
  t.is(c.regressions, 0);
  t.like(row(c, 'rto', 'app-write@naive'), { variant: 'naive', baseline: 4001 });
  t.deepEqual(c.rows.filter((r) => r.kind === 'scope' && r.metric === 'rto').map((r) => [r.subject, r.variant]), [['postgres', 'hardened'], ['postgres', 'naive']]);
  // The naive variant got worse: its hypothesis is named by the probe's base name, with its variant.
  const worse = structuredClone(a);
  const naive = worse.probes.find((p) => p.name === 'app-write@naive')!;
  naive.rtoMs = naive.worst.rtoMs = naive.recoveries[0]!.rtoMs = 9000;
  const h = compareReports(a, worse).hypotheses.find((x) => x.name === 'baseline: rto(app-write)');
  t.like(h, { variant: 'naive', observed: 9000 });
});

test('probes only one run has are listed, not compared', async (t) => {
  const a = await run(t, { outages: [2000] });
  const b = structuredClone(a);
  b.probes = b.probes.filter((p) => p.name !== 'http-read');
  const c = compareReports(a, b);
  t.deepEqual(c.unmatched, { baselineOnly: ['http-read'], currentOnly: [] });
  t.false(c.rows.some((r) => r.subject === 'http-read'));
});

test('withBaseline: regressions fail the verdict and the exit code; summary.md and report.html show the same numbers', async (t) => {
  const a = await run(t, { outages: [2000, 2300, 2100] });
  const b = await run(t, { outages: [3400, 3500, 3300] });
  t.true(b.verdict.passed);
  const c = compareReports(a, b, { source: '/reports/a/report.json' });
  const judged = withBaseline(b, c);
  t.like(judged.verdict, { passed: false, outcome: 'failed' });
  t.regex(judged.verdict.reason, /hypotheses failed \(rto <= 30s|baseline: rto\(sql-write\)/);
  t.is(judged.run.exitCode, 1);
  t.is(judged.baseline?.regressions, c.regressions);
  t.is(judged.baseline?.source, '/reports/a/report.json');
  reportSchema.parse(judged);
  // Judged again with another comparison: the earlier regressions are replaced, not kept.
  const again = withBaseline(judged, compareReports(b, b));
  t.false(again.verdict.hypotheses.some((h) => h.name.startsWith('baseline: ')));

  const md = renderMarkdown(judged);
  const html = await renderHtml(judged);
  t.regex(md, /### Compared with baseline\n\n❌ \d+ regressions against baseline run run-2f/);
  t.regex(html, /<section id="baseline"><h2>Compared with baseline<\/h2>/);
  t.regex(html, /id="tile-baseline"/);
  for (const cells of comparisonTable(judged.baseline!).rows) {
    const [metric, subject, base, current, diff] = cells.map((x) => x.text);
    t.true(md.includes(`| ${metric} | \`${subject}\` | ${base} | ${current === '3.50 s' ? '**3.50 s**' : current}`) || md.includes(`| ${metric} | \`${subject}\` | ${base} |`), `${metric} ${subject} in summary.md`);
    t.true(html.includes(diff!.replace(/</g, '&lt;')), `${diff} in report.html`);
  }
  // JUnit and the hypotheses table get the failed hypotheses like any other.
  const dir = await tempDir(t);
  const files = await writeReport(judged, dir, { png: false, stepSummary: false });
  t.regex(await readFile(files.junit, 'utf8'), /testcase name="baseline: rto\(sql-write\)"/);
  const back = await loadReport(dir, 'baseline');
  t.is(back.report.baseline?.rows.length, c.rows.length);
});

test('property: a report compared with itself never regresses, whatever its numbers', async (t) => {
  const base = await run(t, { outages: [2000, 2300] });
  const ms = fc.option(fc.double({ min: 0, max: 120_000, noNaN: true }), { nil: null, freq: 4 });
  const ratio = fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null, freq: 6 });
  const probe = fc.record({ rtos: fc.array(ms, { minLength: 2, maxLength: 2 }), ttds: fc.array(ms, { minLength: 2, maxLength: 2 }), availability: ratio, phase: ratio, p99: ms, lost: fc.option(fc.nat(50), { nil: null }) });
  fc.assert(fc.property(fc.array(probe, { minLength: 2, maxLength: 2 }), fc.double({ min: 0, max: 2, noNaN: true }), (specs, tolerance) => {
    const r = structuredClone(base);
    r.probes.forEach((p, i) => {
      const s = specs[i]!;
      p.recoveries.forEach((x, j) => {
        x.rtoMs = s.rtos[j] ?? null;
        x.timeToDetectMs = s.ttds[j] ?? null;
      });
      p.rtoMs = p.worst.rtoMs = s.rtos.some((v) => v === null) ? null : Math.max(...(s.rtos as number[]));
      p.timeToDetectMs = p.worst.timeToDetectMs = s.ttds[0] ?? null;
      p.availability = s.availability;
      p.phases[0]!.availability = s.phase;
      if (p.latency) p.latency.p99Ms = s.p99 ?? 0;
    });
    if (specs[0]!.lost === null) r.writeChecks = [];
    else r.writeChecks[0]!.lost = specs[0]!.lost;
    const c = compareReports(r, structuredClone(r), { tolerance });
    return c.regressions === 0 && c.rows.every((x) => x.verdict === 'same' || x.verdict === 'not-measured');
  }), { numRuns: 200, seed: 14 });
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// The CLI

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

/** Writes the reports as report folders in a temp dir: `<dir>/<name>/report.json`. */
async function folders(t: Parameters<typeof tempDir>[0], reports: Record<string, unknown>): Promise<string> {
  const dir = await tempDir(t);
  for (const [name, report] of Object.entries(reports)) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'report.json'), typeof report === 'string' ? report : JSON.stringify(report));
  }
  return dir;
}

const badInput = test.macro(async (t, argv: (dir: string) => string[], message: RegExp) => {
  const a = await run(t, { outages: [2000, 2100] });
  const dir = await folders(t, { a, other: { ...a, run: { ...a.run, workflow: 'partition' } }, notjson: '{"schemaVersion": 2, ', notreport: { hello: 'world' }, v1: { schemaVersion: 1 }, broken: { ...a, probes: 'none' } });
  await mkdir(join(dir, 'empty'));
  const c = capture();
  const out = join(dir, 'out');
  t.is(await main([...argv(dir), '--out', out], c.io), 2, c.out.join('\n'));
  t.regex(c.err.join('\n'), message);
  t.regex(c.err.join('\n'), /Nothing was written/);
  t.deepEqual(c.out, []);
  t.false((await readdir(dir)).includes('out'), 'nothing is written');
});

test('bad input: a missing file', badInput, (d) => [join(d, 'a'), join(d, 'missing.json')], /Expected `current` to be a report\.json file or a report folder that contains one \(nothing is there\), got `.*missing\.json`/);
test('bad input: a folder without report.json', badInput, (d) => [join(d, 'empty'), join(d, 'a')], /Expected `baseline` to be .* \(the folder has no report\.json\), got `.*empty`/);
test('bad input: not JSON', badInput, (d) => [join(d, 'a'), join(d, 'notjson')], /`current` to be .*\(not JSON: .*\), got `.*notjson`/);
test('bad input: JSON that is not a report', badInput, (d) => [join(d, 'notreport', 'report.json'), join(d, 'a')], /`baseline` to be .*\(this JSON is not a report: it has no schemaVersion\)/);
test('bad input: a report of another schema version', badInput, (d) => [join(d, 'a'), join(d, 'v1')], /`current` to be a report of schema v2 \(this one is v1\), got `.*v1`/);
test('bad input: a report that does not match the schema', badInput, (d) => [join(d, 'a'), join(d, 'broken')], /`current` to be a report matching schema v2 \(at probes: .*\)/);
test('bad input: reports of different workflows', badInput, (d) => [join(d, 'a'), join(d, 'other')], /`current` to be a report of workflow redis-failover like the baseline \(it is a report of partition; --force compares them anyway\)/);
test('bad input: one report', badInput, (d) => [join(d, 'a')], /`reports` to be two reports, the baseline and the current run \(got 1\)/);
test('bad input: a bad tolerance', badInput, (d) => [join(d, 'a'), join(d, 'a'), '--tolerance', 'lots'], /`--tolerance` to be a percentage such as 20% or a fraction from 0 to 1 such as 0\.2, got `lots`/);
test('bad input: an unknown flag', badInput, (d) => [join(d, 'a'), join(d, 'a'), '--tolerence', '5%'], /Unknown option '--tolerence'/);

test('--tolerance takes a percentage or a fraction', (t) => {
  t.is(parseTolerance('20%'), 0.2);
  t.is(parseTolerance('0.35'), 0.35);
  t.is(parseTolerance('150%'), 1.5);
  t.throws(() => parseTolerance('20'), { message: /percentage/ });
});

test('--force compares reports of different workflows', async (t) => {
  const a = await run(t, { outages: [2000, 2100] });
  const dir = await folders(t, { a, other: { ...a, run: { ...a.run, workflow: 'partition' } } });
  const c = capture();
  t.is(await main([join(dir, 'a'), join(dir, 'other'), '--force'], c.io), 0, c.err.join('\n'));
});

test('as a process: exit 0 for identical runs, 1 for a regression with a readable table, --out writes compare.json and compare.md, --json prints JSON', async (t) => {
  const runCli = promisify(execFile);
  const a = await run(t, { outages: [2000, 2300, 2100] });
  const b = await run(t, { outages: [3400, 3500, 3300] });
  const dir = await folders(t, { a, b });
  const same = await runCli(process.execPath, [CLI, join(dir, 'a'), join(dir, 'a', 'report.json')]);
  t.regex(same.stdout, /^baseline: .*a[/]report\.json \(run run-2f, passed\)\ncurrent: .*\n\nno regression against baseline run run-2f \(redis-failover, started 2026-11-22T02:49:00\.000Z, passed\): \d+ metrics compared \(\d+ same\)/);
  t.deepEqual(await readdir(dir), ['a', 'b'], 'nothing written without --out');

  const error = await t.throwsAsync(runCli(process.execPath, [CLI, join(dir, 'a'), join(dir, 'b'), '--out', join(dir, 'cmp')])) as Error & { code: number; stdout: string };
  t.is(error.code, 1);
  const lines = error.stdout.split('\n');
  const header = lines.find((l) => l.startsWith('metric'))!;
  t.regex(header, /^metric\s+probe \/ scope\s+baseline\s+current\s+diff\s+noise \(allowed change\)\s+verdict$/);
  const rto = lines.find((l) => /^rto\s+sql-write\s/.test(l))!;
  t.regex(rto, /^rto\s+sql-write\s+2\.30 s\s+3\.50 s\s+\+1\.20 s \(\+52\.2 %\)\s+±300 ms \(range of 3\+3 samples\)\s+regressed$/);
  // Aligned: every column starts where its header does.
  t.is(rto.indexOf('regressed'), header.indexOf('verdict'));
  t.regex(error.stdout, /\d+ regressions against baseline run run-2f/);
  t.deepEqual((await readdir(join(dir, 'cmp'))).sort(), ['compare.json', 'compare.md']);
  const json = JSON.parse(await readFile(join(dir, 'cmp', 'compare.json'), 'utf8')) as Comparison;
  t.is(json.regressions, json.hypotheses.length);
  t.regex(await readFile(join(dir, 'cmp', 'compare.md'), 'utf8'), /\| rto \| `sql-write` \| 2\.30 s \| \*\*3\.50 s\*\* \| \*\*\+1\.20 s \(\+52\.2 %\)\*\* \| ±300 ms \(range of 3\+3 samples\) \| ❌ regressed \|/);

  const asJson = await t.throwsAsync(runCli(process.execPath, [CLI, join(dir, 'a'), join(dir, 'b'), '--json'])) as Error & { code: number; stdout: string };
  t.is(asJson.code, 1);
  t.is((JSON.parse(asJson.stdout) as Comparison).regressions, json.regressions);

  const bad = await t.throwsAsync(runCli(process.execPath, [CLI, join(dir, 'a'), join(dir, 'nope')])) as Error & { code: number; stderr: string };
  t.is(bad.code, 2);
  t.regex(bad.stderr, /Expected `current` to be a report\.json file or a report folder/);
});
