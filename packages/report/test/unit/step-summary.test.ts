// Alone in its file (its own worker process): it sets GITHUB_STEP_SUMMARY, as GitHub Actions does.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReport, renderMarkdown, writeReport } from '../../src/index.ts';
import { tempDir, writeFailoverJournal } from '../support/journals.ts';

test('writeReport appends summary.md to $GITHUB_STEP_SUMMARY when it is set', async (t) => {
  const dir = await tempDir(t);
  const summaryFile = join(dir, 'step_summary');
  const saved = process.env.GITHUB_STEP_SUMMARY;
  process.env.GITHUB_STEP_SUMMARY = summaryFile;
  t.teardown(() => {
    if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY;
    else process.env.GITHUB_STEP_SUMMARY = saved;
  });
  const report = await buildReport({ journalPath: await writeFailoverJournal(dir) });
  const first = await writeReport(report, join(dir, 'a'), { png: false });
  await writeReport(report, join(dir, 'b'), { png: false });
  t.is(first.stepSummary, summaryFile);
  const md = renderMarkdown(report);
  t.is(await readFile(summaryFile, 'utf8'), `${md}\n${md}\n`);
  const skipped = await writeReport(report, join(dir, 'c'), { png: false, stepSummary: false });
  t.is(skipped.stepSummary, undefined);
  t.is(await readFile(summaryFile, 'utf8'), `${md}\n${md}\n`);
});
