// The parts of evidence.ts on their own: an evidence event is checked and copied, evidence.json
// keys its data by name (and variant), and SHA256SUMS is what `sha256sum -c` accepts, also for
// subfolders and names that GNU sha256sum escapes.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInvalidArgumentError, type EvidenceTable } from '@resilience/fixtures';
import { checksumLine, evidenceData, evidenceEvent, writeChecksums, writeEvidenceFile } from '../../src/evidence.ts';

const table: EvidenceTable = { title: 'Backups', header: ['label', 'size'], rows: [['20261202-044500F', '41 MB']] };

test('an evidence event carries the name, a copy of the data, the tables, the time and the variant', (t) => {
  const data = { backups: ['full'] };
  const e = evidenceEvent('backups', data, [table], 12.5, 'trixie');
  t.deepEqual(e, { type: 'evidence', at: 12.5, name: 'backups', data: { backups: ['full'] }, tables: [table], variant: 'trixie' });
  data.backups.push('diff');
  t.deepEqual(e.data, { backups: ['full'] }, 'changing the data afterwards changes nothing');
  t.false('variant' in evidenceEvent('backups', null, [], 1), 'no variant outside a variant');
});

test('bad evidence is an InvalidArgumentError naming what is wrong', (t) => {
  const cases: [() => unknown, string][] = [
    [() => evidenceEvent('', 1, [], 0), 'evidence name'],
    [() => evidenceEvent('restore@a', 1, [], 0), 'evidence name'],
    [() => evidenceEvent('x', undefined, [], 0), 'evidence(x) data'],
    [() => evidenceEvent('x', 10n, [], 0), 'evidence(x) data'],
    [() => { const a: Record<string, unknown> = {}; a['self'] = a; return evidenceEvent('x', a, [], 0); }, 'evidence(x) data'],
    [() => evidenceEvent('x', 1, 'rows' as unknown as EvidenceTable[], 0), 'evidence(x) tables'],
    [() => evidenceEvent('x', 1, [null as unknown as EvidenceTable], 0), 'evidence(x) tables[0]'],
    [() => evidenceEvent('x', 1, [{ ...table, title: '' }], 0), 'evidence(x) tables[0].title'],
    [() => evidenceEvent('x', 1, [{ ...table, header: [] }], 0), 'evidence(x) tables[0].header'],
    [() => evidenceEvent('x', 1, [{ ...table, rows: [['only one cell']] }], 0), 'evidence(x) tables[0].rows[0]'],
    [() => evidenceEvent('x', 1, [{ ...table, rows: [['a', 41 as unknown as string]] }], 0), 'evidence(x) tables[0].rows[0]'],
  ];
  for (const [call, argument] of cases) {
    const error = t.throws(call);
    t.true(isInvalidArgumentError(error), String(error));
    t.is((error as { argument?: string }).argument, argument);
  }
});

test('evidence.json keys the data by name, name@variant for a variant\'s, and is redacted', async (t) => {
  const events = [evidenceEvent('backups', [1], [], 1), evidenceEvent('restore', { rows: 3 }, [], 2, 'a'), evidenceEvent('__proto__', 'kept', [], 3)];
  const data = evidenceData(events);
  t.deepEqual(Object.keys(data), ['backups', 'restore@a', '__proto__']);
  t.is(data['__proto__'], 'kept');
  const dir = mkdtempSync(join(tmpdir(), 'rz-evidence-'));
  const path = await writeEvidenceFile(dir, {
    workflow: 'dr', runId: 'r1', startedAt: '2026-12-02T04:00:00.000Z', endedAt: '2026-12-02T04:10:00.000Z', exitCode: 0, verdict: 'PASSED',
    hypotheses: [], measurements: [], evidence: { restore: { pgPassword: 'hunter2', dsn: 'postgres://app:s3cret@db/app' } },
  });
  t.deepEqual(JSON.parse(readFileSync(path, 'utf8')).evidence, { restore: { pgPassword: '***', dsn: 'postgres://app:***@db/app' } });
});

test('a checksum line is `<hex>  <path>`, escaped like GNU sha256sum for a backslash or a line break', (t) => {
  const hex = 'a'.repeat(64);
  t.is(checksumLine(hex, 'report.json'), `${hex}  report.json`);
  t.is(checksumLine(hex, 'a\\b\nc'), `\\${hex}  a\\\\b\\nc`);
});

test('SHA256SUMS lists every file under the folder but itself, sorted, and sha256sum -c accepts it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rz-sums-'));
  mkdirSync(join(dir, 'logs', 'pg1'), { recursive: true });
  const files: Record<string, string> = { 'report.json': '{}\n', 'b.txt': 'b', 'logs/pg1/postgresql.log': 'LOG: ready\n', 'odd\\name': 'x', 'SHA256SUMS': 'stale' };
  for (const [p, content] of Object.entries(files)) writeFileSync(join(dir, p), content);
  const path = await writeChecksums(dir);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  t.is(readFileSync(path, 'utf8'), [
    `${sha('b')}  b.txt`,
    `${sha('LOG: ready\n')}  logs/pg1/postgresql.log`,
    `\\${sha('x')}  odd\\\\name`,
    `${sha('{}\n')}  report.json`,
    '',
  ].join('\n'));
  let sha256sum = true;
  try {
    execFileSync('sha256sum', ['--version'], { stdio: 'ignore' });
  } catch {
    sha256sum = false;
  }
  if (!sha256sum) return void t.log('no sha256sum here: the format is checked above');
  t.is(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' }), 'b.txt: OK\nlogs/pg1/postgresql.log: OK\nodd\\name: OK\nreport.json: OK\n');
  writeFileSync(join(dir, 'b.txt'), 'changed');
  t.throws(() => execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: dir, stdio: 'pipe' }));
});
