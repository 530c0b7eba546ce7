// The quarantine: tests allowed to fail for a while, listed in quarantine.json with a reason and
// an expiry date. `npm test` leaves them out of the main run (`exclude-args`), runs them in a step
// of their own whose failure does not fail CI (`run`), and fails CI once an entry has expired or
// no longer names a test (`check`), so a quarantine always ends: fix the test or delete it.
// Usage: scripts/node scripts/quarantine.ts check | exclude-args | run   [--file F] [--today YYYY-MM-DD]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export interface QuarantineEntry {
  /** The test file, from the workspace root: `<project>/test/(unit|integration)/<name>.test.ts`. */
  readonly file: string;
  /** The test's full title as ava prints it (with its `#tags`), without the file prefix. */
  readonly title: string;
  readonly reason: string;
  /** Last day the test may stay here, `YYYY-MM-DD` (UTC). */
  readonly expires: string;
  readonly issue?: string;
}

/** An entry may not be set to expire further ahead than this. */
export const MAX_DAYS = 60;
const FILE_RE = /^(.+)\/test\/(unit|integration)\/.+\.test\.ts$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export interface Problem {
  readonly index: number;
  readonly title: string;
  readonly message: string;
  readonly expired: boolean;
}

/** Every problem of the quarantine's entries on `today`: bad fields, expired, too far ahead, stale. */
export function validate(raw: unknown, today: string, root: string): { entries: QuarantineEntry[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const list = (raw as { tests?: unknown } | null)?.tests;
  if (!Array.isArray(list)) return { entries: [], problems: [{ index: -1, title: '', message: 'expected an object with a `tests` array', expired: false }] };
  const entries: QuarantineEntry[] = [];
  list.forEach((e: Record<string, unknown>, index) => {
    const title = typeof e?.['title'] === 'string' ? e['title'] : '';
    const bad = (message: string, expired = false) => problems.push({ index, title, message, expired });
    const unknown = Object.keys(e ?? {}).filter((k) => !['file', 'title', 'reason', 'expires', 'issue'].includes(k));
    if (unknown.length) bad(`unknown field(s) ${unknown.join(', ')}`);
    if (!title.trim() || title.includes('*')) bad('`title` must be the test\'s full title, without `*`');
    if (typeof e?.['reason'] !== 'string' || e['reason'].trim().length < 10) bad('`reason` must say why (at least 10 characters)');
    const file = typeof e?.['file'] === 'string' ? e['file'] : '';
    if (!FILE_RE.test(file)) bad(`\`file\` must be <project>/test/(unit|integration)/<name>.test.ts, got \`${file}\``);
    else if (!existsSync(join(root, file))) bad(`\`file\` ${file} does not exist: the test is gone, remove the entry`);
    else if (title && !readFileSync(join(root, file), 'utf8').includes(title.replace(/( #[a-z]+)+$/, ''))) bad(`no test titled \`${title}\` in ${file}: remove or update the entry`);
    const expires = typeof e?.['expires'] === 'string' ? e['expires'] : '';
    if (!DATE_RE.test(expires) || Number.isNaN(Date.parse(`${expires}T00:00:00Z`))) bad(`\`expires\` must be a date YYYY-MM-DD, got \`${expires}\``);
    else if (expires < today) bad(`expired on ${expires}: fix the test and remove the entry, or delete the test`, true);
    else if (days(today, expires) > MAX_DAYS) bad(`\`expires\` ${expires} is more than ${MAX_DAYS} days ahead of ${today}`);
    entries.push(e as unknown as QuarantineEntry);
  });
  return { entries, problems };
}

function days(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
}

/** ava's --match pattern for an exact title (`*` is its only wildcard; `\` escapes). */
export function matchPattern(title: string): string {
  return title.replaceAll('\\', '\\\\').replaceAll('*', '\\*');
}

/** `--match=!<title>` for each entry: the main run leaves quarantined tests out. */
export function excludeArgs(entries: readonly QuarantineEntry[]): string[] {
  return entries.map((e) => `--match=!${matchPattern(e.title)}`);
}

function main(argv: string[]): number {
  const root = resolve(import.meta.dirname, '..');
  const [command] = argv;
  const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const file = resolve(opt('file') ?? join(root, 'quarantine.json'));
  const today = opt('today') ?? new Date().toISOString().slice(0, 10);
  if (!['check', 'exclude-args', 'run'].includes(command ?? '') || !DATE_RE.test(today)) {
    console.error(`quarantine: expected check | exclude-args | run [--file=F] [--today=YYYY-MM-DD], got ${JSON.stringify(argv)}`);
    return 2;
  }
  const raw: unknown = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { tests: [] };
  const { entries, problems } = validate(raw, today, root);
  if (command === 'exclude-args') {
    for (const a of excludeArgs(entries)) console.log(a);
    return 0;
  }
  if (command === 'check') {
    for (const p of problems) console.error(`quarantine: ${relative(root, file)} entry ${p.index}${p.title ? ` (${p.title})` : ''}: ${p.message}`);
    console.log(`quarantine: ${entries.length} test(s) quarantined, ${problems.length} problem(s)`);
    return problems.length ? 1 : 0;
  }
  // run: each quarantined test alone in its project, serially (Docker suites never run two at once).
  let failed = 0;
  for (const e of entries) {
    const m = FILE_RE.exec(e.file);
    if (!m) continue;
    const projectRoot = join(root, m[1]!);
    const args = [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.js'), '--serial', '--concurrency=1', '--timeout=10m', relative(projectRoot, join(root, e.file)), `--match=${matchPattern(e.title)}`];
    console.log(`quarantine: running ${e.file} › ${e.title} (until ${e.expires}: ${e.reason})`);
    const r = spawnSync(process.execPath, args, { cwd: projectRoot, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });
    if (r.status !== 0) failed++;
  }
  console.log(`quarantine: ${entries.length - failed} passed, ${failed} failed (allowed to fail until their expiry)`);
  return failed ? 1 : 0;
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));
