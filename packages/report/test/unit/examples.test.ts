// The README's code examples, run as tests (scripts/snippets.ts keeps the README equal to these regions).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildReport, writeReport } from '../../src/index.ts';
import { tempDir, writeFailoverJournal } from '../support/journals.ts';

test('README: build and write a report at the end of a workflow', async (t) => {
  const dir = await tempDir(t);
  const journalPath = await writeFailoverJournal(dir);
  const rtoMs = 2002;
  const outDir = join(dir, 'dist', 'reports', 'failover');
  // #region build
  const report = await buildReport({
    journalPath, // the run's journal.ndjson
    exitCode: 1,
    hypotheses: [
      { name: 'rto', description: 'clients recover within 30 s', ok: rtoMs <= 30_000, observed: rtoMs, threshold: '<= 30000', unit: 'ms' },
    ],
    measurements: [
      { name: 'leader-election', value: 8421, unit: 'ms', description: 'from the kill to the first write the new leader accepted' },
      { name: 'lostWrites', value: 0, unit: 'count', description: 'acknowledged ids missing from the new leader (SELECT id FROM probe_writes)', scope: 'sql-write' },
    ],
    settings: { ttl: 10, loopWait: 2, dsn: 'postgres://app:secret@127.0.0.1:5432/app' }, // stored as postgres://app:***@...
    environment: { postgres: '15.8', patroni: '3.0.2' },
  });
  const files = await writeReport(report, outDir, { png: false }); // { json, junit, markdown, html, png? }
  // #endregion build
  t.is(report.verdict.outcome, 'failed'); // the exit code says so, though the hypothesis held
  t.is(report.settings.dsn, 'postgres://app:***@127.0.0.1:5432/app');
  t.regex(await readFile(files.markdown, 'utf8'), /\| `lostWrites\(sql-write\)` \| 0 \|/);
});
