// Secrets from files (`DATABASE_URL_FILE`, the Docker secrets convention): the app reads the
// real file, a bad path or a doubled setting stops it with the variable named, never the secret.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'app-secrets-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};

test('DATABASE_URL_FILE and REDIS_PASSWORD_FILE are read from their files, without the final newline', (t) => {
  const config = loadConfig({
    DATABASE_URL_FILE: file('db', 'postgres://app:s3cret@pg:5432/app\n'),
    REDIS_SENTINELS: 'sentinel-1:26379',
    REDIS_MASTER_NAME: 'primary',
    REDIS_PASSWORD_FILE: file('redis', 'r3dis'),
    REDIS_SENTINEL_PASSWORD_FILE: file('sentinel', 'r3dis\n'),
  });
  t.is(config.databaseUrl, 'postgres://app:s3cret@pg:5432/app');
  t.like(config.redis, { kind: 'sentinel', password: 'r3dis', sentinelPassword: 'r3dis' });
});

test('a setting given both ways is refused, naming the variable', (t) => {
  const e = t.throws(() => loadConfig({ DATABASE_URL: 'postgres://a@b/c', DATABASE_URL_FILE: file('db2', 'postgres://a@b/c') }), { instanceOf: ConfigError });
  t.is(e?.variable, 'DATABASE_URL_FILE');
  t.regex(e?.message ?? '', /unset when DATABASE_URL is set/);
});

test('an unreadable secret file is refused with its path and the reason, and the secret of a readable one is never shown', (t) => {
  const missing = join(dir, 'nope');
  const e = t.throws(() => loadConfig({ REDIS_PASSWORD_FILE: missing }), { instanceOf: ConfigError });
  t.is(e?.variable, 'REDIS_PASSWORD_FILE');
  t.regex(e?.message ?? '', /ENOENT/);
  t.true(e?.message.includes(missing));
  const bad = t.throws(() => loadConfig({ DATABASE_URL_FILE: file('db3', 'not a url with hunter2') }), { instanceOf: ConfigError });
  t.false(bad?.message.includes('hunter2'));
});
