import test from 'ava';
import { loadConfig, ConfigError } from '../../src/config.ts';

test('defaults: port 8080, hardened, no database', (t) => {
  const c = loadConfig({});
  t.is(c.port, 8080);
  t.is(c.mode, 'hardened');
  t.is(c.databaseUrl, undefined);
});

const rejects = test.macro((t, env: Record<string, string>, pattern: RegExp) => {
  const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
  t.regex(error.message, pattern);
});
test('rejects an unknown mode, naming it', rejects, { APP_MODE: 'yolo' }, /APP_MODE .*`hardened` or `naive`, got `yolo`/);
test('rejects port 0', rejects, { PORT: '0' }, /PORT .*got `0`/);
test('rejects a non-numeric port', rejects, { PORT: 'http' }, /PORT .*got `http`/);
