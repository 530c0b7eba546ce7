// Structured JSON logs, one object a line, on stdout. Errors become their message and code only:
// driver errors can carry connection parameters, and logs must never hold a secret.
export type Level = 'debug' | 'info' | 'warn' | 'error';

export type Logger = (level: Level, msg: string, fields?: Readonly<Record<string, unknown>>) => void;

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** Lines below this level are dropped (default `info`). */
  readonly level?: Level;
  /** Where each line goes (default stdout). */
  readonly write?: (line: string) => void;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}) };
  }
  return value;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  return (level, msg, fields = {}) => {
    if (RANK[level] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    for (const [k, v] of Object.entries(fields)) entry[k] = plain(v);
    write(JSON.stringify(entry) + '\n');
  };
}

/** Drops everything (tests that do not look at logs). */
export const silentLogger: Logger = () => undefined;
