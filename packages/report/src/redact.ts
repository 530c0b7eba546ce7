// Reports are shared (CI artifacts, step summaries): strip secrets from everything that goes in.

/** Keys whose values are removed wherever they appear. */
export const SECRET_KEY = /password|secret|token|passwd|pwd/i;

export const REDACTED = '***';

// scheme://user:password@ or scheme://credential@ (a lone user part may be a token); a
// password may itself contain `@`, so the authority ends at its last `@`.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*)(?::([^\s/?#]*))?@/gi;
// password=..., ?token=..., pwd: ... in connection strings, query strings and messages.
const ASSIGNMENT = /\b([\w-]*(?:password|secret|token|passwd|pwd)[\w-]*)(["']?\s*[=:]\s*)(?!\*\*\*)("[^"]*"|'[^']*'|[^\s&;,"'}]+)/gi;

/** A string with credentials in URLs and `password=...`-style assignments replaced by `***`. */
export function redactString(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_match, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? `${scheme}${REDACTED}@` : `${scheme}${user}:${REDACTED}@`)
    .replace(ASSIGNMENT, (_match, key: string, sep: string) => `${key}${sep}${REDACTED}`);
}

/**
 * A deep copy of `value` safe to publish: the value of every key matching SECRET_KEY
 * (password, secret, token, passwd, pwd; any case, anywhere in the key) becomes `***`, and
 * every string has URL credentials (postgres://user:pass@ → postgres://user:***@) and
 * `password=...` assignments masked. Plain objects and arrays are walked, Maps become
 * objects, Dates ISO strings, Errors `{ name, message }`; cycles become `[circular]`.
 */
export function redact<T>(value: T): T {
  return walk(value, new WeakSet()) as T;
}

function walk(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => walk(v, seen));
    if (value instanceof Error) return { name: value.name, message: redactString(value.message) };
    const entries: [string, unknown][] = value instanceof Map
      ? [...value].map(([k, v]) => [String(k), v])
      : Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
      // defineProperty: a key such as `__proto__` stays a plain key.
      Object.defineProperty(out, key, {
        value: SECRET_KEY.test(key) && v !== null && v !== undefined ? REDACTED : walk(v, seen),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
