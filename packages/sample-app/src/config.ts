// The app's settings, from environment variables, validated at start.
export type Mode = 'hardened' | 'naive';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly mode: Mode;
  /** PostgreSQL connection string (through HAProxy's leader port); absent: no database. */
  readonly databaseUrl: string | undefined;
}

export class ConfigError extends Error {
  constructor(name: string, value: string, expected: string) {
    super(`Expected ${name} to be ${expected}, got \`${value}\``);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const port = env['PORT'] ?? '8080';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new ConfigError('PORT', port, 'a port number from 1 to 65535');
  const mode = env['APP_MODE'] ?? 'hardened';
  if (mode !== 'hardened' && mode !== 'naive') throw new ConfigError('APP_MODE', mode, '`hardened` or `naive`');
  return {
    host: env['HOST'] ?? '0.0.0.0',
    port: Number(port),
    mode,
    databaseUrl: env['DATABASE_URL'] || undefined,
  };
}
