// Per-provision random passwords and the redaction used whenever a connection string is shown,
// so a log or a terminal never carries a password unless the user asks for it.
import { randomBytes } from 'node:crypto';

export interface Credential {
  readonly user: string;
  readonly password: string;
}

export interface Credentials {
  readonly superuser: Credential;
  readonly replication: Credential;
  /** The application's login; owns the `app` database. */
  readonly app: Credential;
}

export const APP_DATABASE = 'app';

/** 24 random bytes as hex: nothing to quote in SQL, YAML, shell or URLs. */
export function randomPassword(): string {
  return randomBytes(24).toString('hex');
}

export function generateCredentials(): Credentials {
  return {
    superuser: { user: 'postgres', password: randomPassword() },
    replication: { user: 'replicator', password: randomPassword() },
    app: { user: 'app', password: randomPassword() },
  };
}

export function postgresUrl(c: Credential, host: string, port: number, database: string): string {
  return `postgresql://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${host}:${port}/${encodeURIComponent(database)}`;
}

/** The same connection string with the password replaced by `***`. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
  }
}
