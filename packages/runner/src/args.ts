// Command-line options for workflows: `--key value`, `--key=value`, `--flag`, `--no-flag`,
// repeatable `--slo` and `--abort-if`. Parsed into a plain object that the workflow's zod schema validates.
import { InvalidArgumentError } from '@resilience/fixtures';

export interface ParsedArgs {
  readonly values: Record<string, string | boolean>;
  readonly slo: string[];
  /** `--abort-if` safeguards (repeatable). */
  readonly abortIf: string[];
  readonly help: boolean;
}

function camel(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const values: Record<string, string | boolean> = {};
  const slo: string[] = [];
  const abortIf: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') throw new InvalidArgumentError('option', arg, 'options of the form --name value or --name=value (see --help)');
    const eq = arg.indexOf('=');
    let key = arg.slice(2, eq > 0 ? eq : undefined);
    let value: string | boolean;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (key.startsWith('no-')) {
      key = key.slice(3);
      value = false;
    } else if (i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('--')) value = argv[++i] ?? '';
    else value = true;
    if (key === 'slo') {
      if (typeof value !== 'string') throw new InvalidArgumentError('--slo', value, 'an expression such as "rto<=30s"');
      slo.push(value);
    } else if (key === 'abort-if') {
      if (typeof value !== 'string') throw new InvalidArgumentError('--abort-if', value, 'an expression such as "availability(fault) < 50%"');
      abortIf.push(value);
    } else values[camel(key)] = value;
  }
  return { values, slo, abortIf, help };
}

/** Parses durations like `30s`, `500ms`, `2m`, `24h` (or a plain number of ms) to milliseconds. */
export function parseDuration(name: string, value: string | number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m?.[2] ?? 'ms'] ?? 1;
  const ms = m ? Number(m[1]) * factor : Number.NaN;
  if (!(ms > 0)) throw new InvalidArgumentError(name, value, 'a positive duration such as 500ms, 30s, 2m or 24h');
  return ms;
}
