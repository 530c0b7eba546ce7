// Settings from the environment: defaults, accepted forms, and a table of bad values that must
// be refused naming the variable and the value, without ever echoing a secret.
import test from 'ava';
import { loadConfig, ConfigError, redactUrl, describeTarget } from '../../src/config.ts';

test('defaults: port 8080, hardened, no database, no cache, 1 s / 200 ms deadlines', (t) => {
  const c = loadConfig({});
  t.is(c.port, 8080);
  t.is(c.host, '0.0.0.0');
  t.is(c.mode, 'hardened');
  t.is(c.databaseUrl, undefined);
  t.is(c.redis, undefined);
  t.is(c.databaseTimeoutMs, 1_000);
  t.is(c.redisTimeoutMs, 200);
  t.true(c.shutdownTimeoutMs < 10_000);
});

test('empty values count as unset', (t) => {
  const c = loadConfig({ PORT: '', APP_MODE: '', DATABASE_URL: '', REDIS_URL: '' });
  t.is(c.port, 8080);
  t.is(c.mode, 'hardened');
  t.is(c.databaseUrl, undefined);
});

test('a Redis URL with a separate password', (t) => {
  const c = loadConfig({ APP_MODE: 'naive', REDIS_URL: 'redis://cache:6379/0', REDIS_PASSWORD: 'pw' });
  t.is(c.mode, 'naive');
  t.deepEqual(c.redis, { kind: 'url', url: 'redis://cache:6379/0', password: 'pw' });
});

test('Redis through Sentinel', (t) => {
  const c = loadConfig({ REDIS_SENTINELS: 's1:26379, s2:26380', REDIS_MASTER_NAME: 'mymaster', REDIS_PASSWORD: 'pw' });
  t.deepEqual(c.redis, {
    kind: 'sentinel',
    sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }],
    masterName: 'mymaster',
    password: 'pw',
    sentinelPassword: undefined,
  });
});

test('timeouts and breaker settings are read', (t) => {
  const c = loadConfig({ DB_TIMEOUT_MS: '500', REDIS_TIMEOUT_MS: '50', BREAKER_THRESHOLD: '2', BREAKER_HALF_OPEN_MS: '700', PORT: '0' });
  t.is(c.databaseTimeoutMs, 500);
  t.is(c.redisTimeoutMs, 50);
  t.is(c.breakerThreshold, 2);
  t.is(c.breakerHalfOpenMs, 700);
  t.is(c.port, 0);
});

const rejects = test.macro({
  exec(t, env: Record<string, string>, variable: string, pattern: RegExp) {
    const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.is(error.variable, variable);
    t.is(error.exitCode, 2);
    t.regex(error.message, pattern);
    for (const secret of ['hunter2', 's3cret']) t.false(error.message.includes(secret), `message shows a secret: ${error.message}`);
  },
  title: (provided, env: Record<string, string>) => `rejects ${provided ?? JSON.stringify(env)}`,
});

test(rejects, { APP_MODE: 'yolo' }, 'APP_MODE', /APP_MODE .*`hardened` or `naive`, got `yolo`/);
test(rejects, { PORT: '65536' }, 'PORT', /PORT .*got `65536`/);
test(rejects, { PORT: 'http' }, 'PORT', /PORT .*got `http`/);
test(rejects, { PORT: '-1' }, 'PORT', /got `-1`/);
test(rejects, { HOST: 'a b' }, 'HOST', /got `a b`/);
test(rejects, { LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /got `loud`/);
test(rejects, { DB_TIMEOUT_MS: '1s' }, 'DB_TIMEOUT_MS', /whole number from 10 to 60000, got `1s`/);
test(rejects, { REDIS_TIMEOUT_MS: '0' }, 'REDIS_TIMEOUT_MS', /got `0`/);
test(rejects, { BREAKER_THRESHOLD: '0' }, 'BREAKER_THRESHOLD', /got `0`/);
test(rejects, { CACHE_TTL_SECONDS: '1e3' }, 'CACHE_TTL_SECONDS', /got `1e3`/);
test(rejects, { SHUTDOWN_TIMEOUT_MS: '999999' }, 'SHUTDOWN_TIMEOUT_MS', /got `999999`/);
test(rejects, { APP_RATE_LIMIT: '2.5' }, 'APP_RATE_LIMIT', /APP_RATE_LIMIT to be a whole number from 0 to 1000000, got `2.5`/);
test(rejects, { APP_RATE_LIMIT: '-1' }, 'APP_RATE_LIMIT', /got `-1`/);
test(rejects, { APP_RATE_LIMIT: '10', APP_RATE_LIMIT_BURST: '0' }, 'APP_RATE_LIMIT_BURST', /whole number from 1 to 1000000, got `0`/);
test('a burst without a rate', rejects, { APP_RATE_LIMIT_BURST: '5' }, 'APP_RATE_LIMIT_BURST', /unset unless APP_RATE_LIMIT is above 0, got `5`/);
test(rejects, { DB_RETRIES: '11' }, 'DB_RETRIES', /whole number from 0 to 10, got `11`/);
test(rejects, { REDIS_RETRIES: 'x' }, 'REDIS_RETRIES', /got `x`/);

test('rate limit: off by default; the burst defaults to one second of the rate', (t) => {
  t.is(loadConfig({}).rateLimit, undefined);
  t.is(loadConfig({ APP_RATE_LIMIT: '0' }).rateLimit, undefined);
  t.deepEqual(loadConfig({ APP_RATE_LIMIT: '40' }).rateLimit, { perSecond: 40, burst: 40 });
  t.deepEqual(loadConfig({ APP_RATE_LIMIT: '40', APP_RATE_LIMIT_BURST: '5' }).rateLimit, { perSecond: 40, burst: 5 });
});

test('retries: 2 for the database and 1 for Redis unless set', (t) => {
  t.like(loadConfig({}), { databaseRetries: 2, redisRetries: 1 });
  t.like(loadConfig({ DB_RETRIES: '0', REDIS_RETRIES: '3' }), { databaseRetries: 0, redisRetries: 3 });
});
test('a DATABASE_URL of another scheme: the scheme only', rejects, { DATABASE_URL: 'mysql://app:hunter2@db:3306/x' }, 'DATABASE_URL', /postgres:\/\/ or postgresql:\/\/ URL, got a URL with scheme `mysql:`/);
test('a DATABASE_URL that misparses (`user:password@host`), not echoed', rejects, { DATABASE_URL: 'app:hunter2@db' }, 'DATABASE_URL', /scheme `app:` \(rest not shown/);
test('an unparsable DATABASE_URL, not echoed', rejects, { DATABASE_URL: 'hunter2 s3cret' }, 'DATABASE_URL', /not a URL \(not shown/);
test('a DATABASE_URL without a host', rejects, { DATABASE_URL: 'postgres:///orders' }, 'DATABASE_URL', /got `postgres:\/\/\/orders`/);
test('a REDIS_URL of another scheme', rejects, { REDIS_URL: 'http://:s3cret@cache:6379' }, 'REDIS_URL', /redis:\/\/ or rediss:\/\/ URL, got a URL with scheme `http:`/);
test('both REDIS_URL and REDIS_SENTINELS', rejects, { REDIS_URL: 'redis://cache:6379', REDIS_SENTINELS: 's1:26379', REDIS_MASTER_NAME: 'm' }, 'REDIS_SENTINELS', /unset when REDIS_URL is set/);
test('sentinels without a port', rejects, { REDIS_SENTINELS: 's1:26379,s2', REDIS_MASTER_NAME: 'm' }, 'REDIS_SENTINELS', /host:port .*got `s1:26379,s2`/);
test('a sentinel port out of range', rejects, { REDIS_SENTINELS: 's1:99999', REDIS_MASTER_NAME: 'm' }, 'REDIS_SENTINELS', /got `s1:99999`/);
test('sentinels without a master name', rejects, { REDIS_SENTINELS: 's1:26379', REDIS_PASSWORD: 's3cret' }, 'REDIS_MASTER_NAME', /master name .*got nothing/);
test('a master name without sentinels', rejects, { REDIS_MASTER_NAME: 'm' }, 'REDIS_SENTINELS', /host:port when REDIS_MASTER_NAME is set, got nothing/);

test('connection strings are redacted for messages and reduced to host:port/db for logs', (t) => {
  t.is(redactUrl('postgres://app:hunter2@db:5432/orders'), 'postgres://app:***@db:5432/orders');
  t.is(redactUrl('not a url'), undefined);
  t.is(describeTarget('postgres://app:hunter2@db:5432/orders'), 'db:5432/orders');
  t.is(describeTarget('redis://:hunter2@cache:6379'), 'cache:6379');
});
