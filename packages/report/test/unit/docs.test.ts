import test from 'ava';
import { readFile } from 'node:fs/promises';
import { FIELDS_END, FIELDS_START, README_URL, SCHEMA_FILE_URL, fieldsTable, reportFields, schemaFileText } from '../../src/docs.ts';
import { buildReport } from '../../src/index.ts';
import { tempDir, writeFailoverJournal } from '../support/journals.ts';

const REGENERATE = 'run `scripts/node packages/report/src/docs.ts --write`';

test('report.schema.json is the JSON Schema generated from the zod schema', async (t) => {
  t.is(await readFile(SCHEMA_FILE_URL, 'utf8'), schemaFileText(), `report.schema.json is stale: ${REGENERATE}`);
});

test('the README documents every report.json field (its table is generated from the schema)', async (t) => {
  const readme = await readFile(README_URL, 'utf8');
  const region = readme.slice(readme.indexOf(FIELDS_START), readme.indexOf(FIELDS_END) + FIELDS_END.length);
  t.is(region, fieldsTable(), `README field table is stale: ${REGENERATE}`);
  for (const field of reportFields()) t.not(field.description, '', `${field.path} has no description in src/schema.ts`);
});

test('every field of a real report is in the documented field list', async (t) => {
  const report = await buildReport({ journalPath: await writeFailoverJournal(await tempDir(t)) });
  const documented = new Set(reportFields().map((f) => f.path));
  const free = ['settings', 'environment', 'faults[].params', 'journal.eventCounts'];
  const seen = new Set<string>();
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, `${path}[]`);
    } else if (typeof value === 'object' && value !== null && !free.includes(path)) {
      for (const [key, child] of Object.entries(value)) {
        const childPath = path ? `${path}.${key}` : key;
        seen.add(childPath);
        walk(child, childPath);
      }
    }
  };
  walk(report, '');
  t.deepEqual([...seen].filter((p) => !documented.has(p)), []);
});
