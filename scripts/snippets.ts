// Keeps code examples in the READMEs identical to regions of passing tests (as testcontainers
// does): a block between `<!-- snippet: path#region -->` and `<!-- /snippet -->` is replaced by
// the lines between `// #region name` and `// #endregion name` of that file.
// Usage: scripts/node scripts/snippets.ts --check | --write
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
  console.error(`snippets: expected --check or --write, got ${mode ?? 'nothing'}`);
  process.exit(2);
}

function readmes(): string[] {
  const out = [join(root, 'README.md')];
  for (const top of ['packages', 'environments', 'workflows']) {
    const dir = join(root, top);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const f = join(dir, name, 'README.md');
      if (existsSync(f)) out.push(f);
    }
  }
  return out;
}

function region(file: string, name: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === `// #endregion ${name}`);
  if (start < 0 || end < 0) throw new Error(`no region '${name}' in ${relative(root, file)}`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

const SNIPPET = /<!-- snippet: ([^#\s]+)#(\S+) -->\n[\s\S]*?<!-- \/snippet -->/g;
let stale = 0;
for (const readme of readmes()) {
  const text = readFileSync(readme, 'utf8');
  const next = text.replace(SNIPPET, (_, path: string, name: string) =>
    `<!-- snippet: ${path}#${name} -->\n\`\`\`ts\n${region(join(root, path), name)}\n\`\`\`\n<!-- /snippet -->`);
  if (next !== text) {
    stale++;
    if (mode === '--write') writeFileSync(readme, next);
    console.log(`${mode === '--write' ? 'updated' : 'out of date'}: ${relative(root, readme)}`);
  }
}
if (mode === '--check' && stale > 0) {
  console.error("snippets: README examples differ from the tests they come from; run 'scripts/node scripts/snippets.ts --write'");
  process.exit(1);
}
