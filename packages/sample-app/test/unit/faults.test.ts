// The APP_FAULTS flag: its settings, the corruption it applies to cache reads, and the checksum
// that lets the hardened app refuse a corrupted cache entry (a miss instead of a wrong answer).
import test from 'ava';
import fc from 'fast-check';
import { seededRandom } from '@resilience/fixtures/faulty';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { cachedOrder, encodeCachedOrder } from '../../src/app.ts';
import { corruptText, withFaults } from '../../src/faults.ts';
import { silentLogger } from '../../src/log.ts';
import type { Database } from '../../src/db.ts';

test('APP_FAULTS is off by default and parses kinds, probability, seed and delay', (t) => {
  t.is(loadConfig({}).faults, undefined);
  t.is(loadConfig({ APP_FAULTS: 'off' }).faults, undefined);
  t.deepEqual(loadConfig({ APP_FAULTS: 'exception,corrupt', APP_FAULT_PROBABILITY: '0.25', APP_FAULT_SEED: '7', APP_FAULT_DELAY_MS: '30' }).faults,
    { kinds: ['exception', 'corrupt'], probability: 0.25, seed: 7, delayMs: 30 });
});

const bad: [Record<string, string>, string, RegExp][] = [
  [{ APP_FAULTS: 'explode' }, 'APP_FAULTS', /`off` or a comma-separated list of `exception`, `delay`, `corrupt`, got `explode`/],
  [{ APP_FAULTS: 'delay,delay' }, 'APP_FAULTS', /got `delay,delay`/],
  [{ APP_FAULTS: 'delay', APP_FAULT_PROBABILITY: '1.5' }, 'APP_FAULT_PROBABILITY', /a number from 0 to 1, got `1.5`/],
  [{ APP_FAULTS: 'delay', APP_FAULT_SEED: '-1' }, 'APP_FAULT_SEED', /whole number/],
];
for (const [env, variable, message] of bad) {
  test(`refused: ${JSON.stringify(env)}`, (t) => {
    const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.is(error!.variable, variable);
    t.regex(error!.message, message);
  });
}

const order = fc.record({
  id: fc.uuid(), item: fc.string({ minLength: 1, maxLength: 40 }), quantity: fc.integer({ min: 1, max: 1_000_000 }),
  createdAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
});

test('an intact cache entry reads back as the order; any corruption is refused (property)', (t) => {
  fc.assert(fc.property(order, fc.integer(), (o, seed) => {
    const text = encodeCachedOrder(o);
    if (JSON.stringify(cachedOrder(text, o.id)) !== JSON.stringify(o)) return false;
    const corrupted = corruptText(text, seededRandom(seed))!;
    return corrupted !== text && cachedOrder(corrupted, o.id) === undefined;
  }), { numRuns: 500 });
  t.pass();
});

test('another order\'s entry is refused', (t) => {
  const o = { id: '0b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11', item: 'x', quantity: 1, createdAt: new Date(0).toISOString() };
  t.is(cachedOrder(encodeCachedOrder(o), '1b8e4a4e-5a36-4f61-9a3e-0c2f0b1f9d11'), undefined);
  t.is(cachedOrder(JSON.stringify(o), o.id), undefined); // no checksum
});

test('withFaults wraps the database calls with the seeded monkey; the same seed draws the same faults', async (t) => {
  const fake = (): Database => ({
    target: 'db', ensureSchema: async () => undefined, ping: async () => undefined, close: async () => undefined,
    insertOrder: async () => ({ createdAt: 'now', server: null }), findOrder: async () => undefined, listOrders: async () => [], updateQuantity: async () => undefined,
  });
  const config = { kinds: ['exception'] as const, probability: 0.5, seed: 3, delayMs: 1 };
  const draw = async () => {
    const { db, stats } = withFaults(fake(), undefined, config, silentLogger);
    const out: boolean[] = [];
    for (let i = 0; i < 30; i++) out.push(await db!.findOrder('x', AbortSignal.timeout(1000)).then(() => true, () => false));
    return { out, stats: stats()['db.findOrder']! };
  };
  const a = await draw();
  t.deepEqual(a.out, (await draw()).out);
  t.is(a.stats.exception, a.out.filter((ok) => !ok).length);
  t.true(a.stats.exception > 5 && a.stats.exception < 25);
  t.is(withFaults(fake(), undefined, undefined, silentLogger).stats()['db.findOrder'], undefined);
  // The list is a database call like the others: it draws faults too.
  const { db, stats } = withFaults(fake(), undefined, config, silentLogger);
  const listed = await Promise.all(Array.from({ length: 30 }, () => db!.listOrders(20, AbortSignal.timeout(1000)).then(() => true, () => false)));
  t.is(stats()['db.listOrders']!.calls, 30);
  t.is(stats()['db.listOrders']!.exception, listed.filter((ok) => !ok).length);
  t.true(stats()['db.listOrders']!.exception > 0);
});
