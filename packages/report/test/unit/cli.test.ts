import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../src/cli.ts';
import { reportSchema } from '../../src/index.ts';
import { tempDir, writeFailoverJournal } from '../support/journals.ts';

const CLI = resolve(import.meta.dirname, '../../src/cli.ts');

function capture(): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

const badArgs = test.macro(async (t, argv: string[], message: RegExp) => {
  const c = capture();
  t.is(await main(argv, c.io), 2);
  t.regex(c.err.join('\n'), message);
  t.deepEqual(c.out, []);
});

test('no journal: exit 2 with usage', badArgs, [], /expected exactly one journal file, got none[\s\S]*usage: report/);
test('two journals: exit 2', badArgs, ['a.ndjson', 'b.ndjson'], /got `a\.ndjson`, `b\.ndjson`/);
test('an unknown flag: exit 2', badArgs, ['j.ndjson', '--pgn'], /Unknown option '--pgn'[\s\S]*usage: report/);
test('--out without a value: exit 2', badArgs, ['j.ndjson', '--out'], /--out/);
test('a bad --bucket-ms: exit 2', badArgs, ['j.ndjson', '--bucket-ms', 'soon'], /`--bucket-ms` to be a duration > 0 ms, got `soon`/);
test('a missing journal file: exit 2', badArgs, ['/nonexistent/journal.ndjson', '--no-png'], /`journalPath` to be the path of an existing journal file, got `\/nonexistent\/journal\.ndjson`/);

test('rebuilds every file from the journal of a crashed run', async (t) => {
  const dir = await tempDir(t);
  const journalPath = await writeFailoverJournal(dir, { crashAt: 6000, tornLine: true });
  const out = join(dir, 'report');
  const c = capture();
  t.is(await main([journalPath, '--out', out, '--no-png'], c.io), 0, c.err.join('\n'));
  t.deepEqual((await readdir(out)).sort(), ['junit.xml', 'report.html', 'report.json', 'summary.md']);
  t.regex(c.out[0]!, /^INTERRUPTED: the run was interrupted/);
  t.is(c.out[1], 'note: partial run (status interrupted, torn last line skipped)');
  const report = reportSchema.parse(JSON.parse(await readFile(join(out, 'report.json'), 'utf8')));
  t.like(report.run, { status: 'interrupted', partial: true, exitCode: null });
  t.like(report.faults[0], { healedAt: 5000 });
});

test('--json-schema prints the JSON Schema', async (t) => {
  const c = capture();
  t.is(await main(['--json-schema'], c.io), 0);
  const schema = JSON.parse(c.out.join('\n')) as { properties: Record<string, unknown> };
  t.truthy(schema.properties.schemaVersion);
});

test('as a process: bad arguments exit 2, a good run exits 0', async (t) => {
  const run = promisify(execFile);
  const error = await t.throwsAsync(run(process.execPath, [CLI, '--frobnicate']));
  t.is((error as { code?: number }).code, 2);
  const dir = await tempDir(t);
  const journalPath = await writeFailoverJournal(dir);
  const { stdout } = await run(process.execPath, [CLI, journalPath, '--no-png', '-o', join(dir, 'r')]);
  t.regex(stdout, /^FAILED: 1 of 3 hypotheses failed \(rto\)\nwrote /);
});
