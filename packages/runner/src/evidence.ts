// What a run leaves as proof besides its report: the workflow's evidence (StepContext.evidence)
// as `evidence` events, evidence.json (the verdict, hypotheses, measurements and evidence data
// in one redacted file, for an audit trail such as a DR drill's) and SHA256SUMS over the whole
// report folder, checkable with `sha256sum -c SHA256SUMS`.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { InvalidArgumentError, evidenceKey, type EvidenceEvent, type EvidenceTable, type MetricUnit } from '@resilience/fixtures';
import type { Measurement } from './metrics.ts';

export const EVIDENCE_FILE = 'evidence.json';
export const CHECKSUMS_FILE = 'SHA256SUMS';

/**
 * An `evidence` event, checked: a name without `@` (a variant's is keyed `name@variant`), data
 * that is a JSON value (copied, so changing it afterwards changes nothing), and tables whose
 * rows have one text cell per header column. Throws InvalidArgumentError naming the bad part.
 */
export function evidenceEvent(name: string, data: unknown, tables: readonly EvidenceTable[], at: number, variant?: string): EvidenceEvent {
  if (typeof name !== 'string' || name.trim() === '' || name.includes('@')) {
    throw new InvalidArgumentError('evidence name', name, 'a non-empty name without `@` (a variant\'s evidence is keyed `name@variant`)');
  }
  const arg = `evidence(${name})`;
  let copy: unknown;
  try {
    const json = JSON.stringify(data);
    if (json === undefined) throw new Error('not a JSON value');
    copy = JSON.parse(json);
  } catch {
    throw new InvalidArgumentError(`${arg} data`, data, 'a JSON value (no undefined, function, BigInt or cycle)');
  }
  if (!Array.isArray(tables)) throw new InvalidArgumentError(`${arg} tables`, tables, 'an array of { title, header, rows }');
  const checked = tables.map((t: EvidenceTable, i): EvidenceTable => {
    const where = `${arg} tables[${i}]`;
    if (typeof t !== 'object' || t === null) throw new InvalidArgumentError(where, t, 'a table { title, header, rows }');
    if (typeof t.title !== 'string' || t.title.trim() === '') throw new InvalidArgumentError(`${where}.title`, t.title, 'a non-empty string');
    if (!isTextRow(t.header) || t.header.length === 0) throw new InvalidArgumentError(`${where}.header`, t.header, 'a non-empty array of strings');
    if (!Array.isArray(t.rows)) throw new InvalidArgumentError(`${where}.rows`, t.rows, 'an array of rows');
    t.rows.forEach((row, j) => {
      if (!isTextRow(row) || row.length !== t.header.length) throw new InvalidArgumentError(`${where}.rows[${j}]`, row, `an array of ${t.header.length} strings (one per header column)`);
    });
    return { title: t.title, header: [...t.header], rows: t.rows.map((row) => [...row]) };
  });
  return { type: 'evidence', at, name, data: copy, tables: checked, ...(variant ? { variant } : {}) };
}

function isTextRow(row: unknown): row is readonly string[] {
  return Array.isArray(row) && row.every((c) => typeof c === 'string');
}

/** A checked hypothesis as evidence.json lists it. */
export interface EvidenceHypothesis {
  readonly name: string;
  readonly ok: boolean;
  /** null: not measured (which failed it). */
  readonly observed: number | null;
  readonly threshold: number;
  readonly unit: MetricUnit;
  readonly variant?: string;
}

/** evidence.json: the run's verdict and what it rests on, in one file. */
export interface EvidenceFile {
  readonly workflow: string;
  readonly runId: string;
  /** Wall-clock ISO 8601 times of the run's start and end. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly exitCode: number;
  /** As the console prints it: `PASSED`, `FAILED`, `INTERRUPTED`, `HEAL FAILED`, `ABORTED`, `NO VERDICT (...)`. */
  readonly verdict: string;
  readonly hypotheses: readonly EvidenceHypothesis[];
  readonly measurements: readonly Measurement[];
  /** Each evidence's data by name (`name@variant` for a variant's); the last of a name wins. */
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** The `evidence` part of evidence.json: each event's data under evidenceKey (name, or name@variant). */
export function evidenceData(events: readonly EvidenceEvent[]): Record<string, unknown> {
  // fromEntries: a name such as `__proto__` stays a plain key.
  return Object.fromEntries(events.map((e) => [evidenceKey(e), e.data]));
}

/** Writes `<dir>/evidence.json`, redacted with the report's `redact` (no secret in it); returns its path. */
export async function writeEvidenceFile(dir: string, content: EvidenceFile): Promise<string> {
  const { redact } = await import('@resilience/report');
  const path = join(dir, EVIDENCE_FILE);
  await writeFile(path, `${JSON.stringify(redact(content), null, 2)}\n`);
  return path;
}

/**
 * Writes `<dir>/SHA256SUMS` in `sha256sum` format (`<64 hex>  <path>`), one line per regular
 * file under `dir` (subfolders too) but SHA256SUMS itself, sorted by path, relative with `/`.
 * A path with a backslash or line break is escaped as GNU sha256sum does (the line starts with
 * `\`). Files are hashed as streams, so a long run's journal is never read into memory.
 */
export async function writeChecksums(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((p) => p !== CHECKSUMS_FILE)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lines: string[] = [];
  for (const p of files) lines.push(checksumLine(await sha256(join(dir, p)), p));
  const path = join(dir, CHECKSUMS_FILE);
  await writeFile(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

/** One line of a SHA256SUMS file. */
export function checksumLine(hex: string, path: string): string {
  if (!/[\\\n\r]/.test(path)) return `${hex}  ${path}`;
  return `\\${hex}  ${path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}`;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
