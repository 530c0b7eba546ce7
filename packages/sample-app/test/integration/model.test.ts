// The app's HTTP API against a model (fast-check stateful tests) while APP_FAULTS injects
// exceptions, delays and corrupted cache reads into its own database and cache calls, and fuzzed
// requests to every endpoint: never a 500, never a crash, never a wrong or lost order.
import fc from 'fast-check';
import { connect } from 'node:net';
import { test, tagged } from '@resilience/fixtures/ava';
import { ChaosRun, startPostgres, startRedis } from '@resilience/fixtures';
import { loadConfig } from '../../src/config.ts';
import { start, type Running } from '../support/http.ts';

let run: ChaosRun | undefined;
let faulty: Running;
let plain: Running;
const SEED = 20261202;

test.before(async () => {
  run = await ChaosRun.start({ workflow: 'sample-app model' });
  const [pgServer, redisServer] = await Promise.all([startPostgres(run.engine, { name: 'model-pg' }), startRedis(run.engine, { name: 'model-redis' })]);
  const deps = { DATABASE_URL: pgServer.url, REDIS_URL: `redis://127.0.0.1:${redisServer.port}`, DB_TIMEOUT_MS: '1000', BREAKER_THRESHOLD: '1000' };
  faulty = await start(loadConfig({ ...deps, APP_MODE: 'hardened', APP_FAULTS: 'exception,delay,corrupt', APP_FAULT_PROBABILITY: '0.2', APP_FAULT_SEED: String(SEED), APP_FAULT_DELAY_MS: '20' }));
  plain = await start(loadConfig({ ...deps, APP_MODE: 'naive' }));
});

test.after.always(async () => {
  await Promise.all([faulty?.served.close(), plain?.served.close()]);
  await run?.close();
});

interface Reply { status: number; body: Record<string, unknown> }

async function http(url: string, method = 'GET', body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body } : {}), headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { text }; }
  return { status: res.status, body: parsed };
}

interface Model { orders: Map<string, { item: string; quantity: number }> }
interface Real { url: string }
const fail = (what: string, r: Reply) => new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);

class PlaceOrder implements fc.AsyncCommand<Model, Real> {
  readonly item: string;
  readonly quantity: number;
  constructor(item: string, quantity: number) {
    this.item = item;
    this.quantity = quantity;
  }
  check = () => true;
  async run(m: Model, r: Real) {
    const res = await http(`${r.url}/orders`, 'POST', JSON.stringify({ item: this.item, quantity: this.quantity }), { 'content-type': 'application/json' });
    if (res.status === 503 && res.body['error'] === 'database unavailable') return; // a fault; nothing acknowledged
    if (res.status !== 201) throw fail('POST /orders', res);
    if (res.body['item'] !== this.item.trim() || res.body['quantity'] !== this.quantity) throw fail('POST /orders answered another order', res);
    m.orders.set(String(res.body['id']), { item: this.item.trim(), quantity: this.quantity });
  }
  toString = () => `place(${JSON.stringify(this.item)}, ${this.quantity})`;
}

class ReadKnown implements fc.AsyncCommand<Model, Real> {
  readonly pick: number;
  constructor(pick: number) {
    this.pick = pick;
  }
  check = (m: Readonly<Model>) => m.orders.size > 0;
  async run(m: Model, r: Real) {
    const ids = [...m.orders.keys()];
    const id = ids[this.pick % ids.length]!;
    const res = await http(`${r.url}/orders/${id}`);
    if (res.status === 503) return; // database unavailable and not (intact) in the cache
    if (res.status === 404) throw fail(`acknowledged order ${id} is lost`, res);
    if (res.status !== 200) throw fail(`GET /orders/${id}`, res);
    const want = m.orders.get(id)!;
    if (res.body['id'] !== id || res.body['item'] !== want.item || res.body['quantity'] !== want.quantity) throw fail(`GET /orders/${id} answered a wrong order (want ${JSON.stringify(want)})`, res);
  }
  toString = () => `readKnown(${this.pick})`;
}

class ReadUnknown implements fc.AsyncCommand<Model, Real> {
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
  check = (m: Readonly<Model>) => !m.orders.has(this.id);
  async run(_m: Model, r: Real) {
    const res = await http(`${r.url}/orders/${this.id}`);
    if (res.status !== 404 && res.status !== 503) throw fail(`GET of an order never placed (${this.id})`, res);
  }
  toString = () => `readUnknown(${this.id})`;
}

class ReadInvalid implements fc.AsyncCommand<Model, Real> {
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
  check = () => true;
  async run(_m: Model, r: Real) {
    const res = await http(`${r.url}/orders/${encodeURIComponent(this.id)}`);
    if (res.status !== 400 || res.body['field'] !== 'id') throw fail(`GET /orders/${this.id}`, res);
  }
  toString = () => `readInvalid(${JSON.stringify(this.id)})`;
}

class Health implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_m: Model, r: Real) {
    const res = await http(`${r.url}/health`);
    if (res.status !== 200) throw fail('GET /health (the injected faults are in the app, its dependencies are up)', res);
  }
  toString = () => 'health';
}

/** fast-check's failure with the error of the failing command (its `cause`), which ava does not print. */
async function explained(assertion: Promise<void>): Promise<void> {
  try {
    await assertion;
  } catch (e) {
    const cause = (e as Error).cause;
    throw new Error(`${(e as Error).message}\nfailing command: ${cause instanceof Error ? cause.message : String(cause)}`, { cause: e });
  }
}

const commands = [
  fc.tuple(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0), fc.integer({ min: 1, max: 1_000_000 })).map(([i, q]) => new PlaceOrder(i, q)),
  fc.nat().map((n) => new ReadKnown(n)),
  fc.nat().map((n) => new ReadKnown(n)), // reads twice as often: the second read of an order is a cache hit
  fc.uuid().map((id) => new ReadUnknown(id)),
  // Not a UUID, and not `.` or `..` (fetch resolves dot segments before sending).
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/^[0-9a-f-]{36}$/i.test(s) && s !== '.' && s !== '..').map((s) => new ReadInvalid(s)),
  fc.constant(new Health()),
];

test.serial(tagged('the hardened app matches the model while its own calls throw, stall and read corrupted cache entries', 'chaos'), async (t) => {
  // #region app-model
  // APP_FAULTS=exception,delay,corrupt APP_FAULT_PROBABILITY=0.2: every acknowledged order reads back
  // exactly (200) or the app says it is unavailable (503); never a 404, a wrong order, or a 500.
  await explained(fc.assert(fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: '+1' }), (cmds) =>
    fc.asyncModelRun(() => ({ model: { orders: new Map() }, real: { url: faulty.url } }), cmds)), { numRuns: 60, seed: SEED }));
  const health = await http(`${faulty.url}/health`);
  const faults = health.body['faults'] as Record<string, { exception: number; delay: number; corrupt: number }>;
  // #endregion app-model
  t.log(JSON.stringify(faults));
  t.true(faults['db.insertOrder']!.exception > 0 && faults['db.findOrder']!.exception > 0, 'database exceptions were injected');
  t.true(faults['cache.get']!.corrupt > 0, 'corrupted cache reads were injected');
  t.true(Object.values(faults).some((f) => f.delay > 0), 'delays were injected');
});

const anyRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  path: fc.oneof(
    fc.constantFrom('/', '/health', '/metrics', '/orders', '/orders/', '/orders//x', '/%', '/orders/%E0%A4%A'),
    fc.webPath(),
    fc.string({ maxLength: 60 }).map((s) => `/orders/${encodeURIComponent(s)}`),
    fc.webQueryParameters().map((q) => `/orders?${q}`),
  ),
  body: fc.option(fc.oneof(
    fc.json(),
    fc.string({ maxLength: 200 }),
    fc.record({ item: fc.anything(), quantity: fc.anything() }).map((o) => { try { return JSON.stringify(o); } catch { return '{}'; } }),
    fc.record({ item: fc.string({ maxLength: 300 }), quantity: fc.oneof(fc.integer(), fc.double(), fc.string()) }).map((o) => JSON.stringify(o)),
  ), { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
});
// Half the requests are POST /orders with a fuzzed JSON body, so the write path is exercised too.
const orderBody = fc.oneof(
  fc.record({ item: fc.string({ maxLength: 250 }), quantity: fc.integer({ min: -10, max: 2_000_000 }) }),
  fc.record({ item: fc.oneof(fc.string({ maxLength: 250 }), fc.anything()), quantity: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.anything()) }, { requiredKeys: [] }),
  fc.anything(),
).map((v) => { try { return JSON.stringify(v) ?? 'null'; } catch { return '{}'; } });
const postOrder = fc.record({ method: fc.constant('POST'), path: fc.constant('/orders'), body: orderBody, contentType: fc.constantFrom('application/json', '') });
const fuzzRequest = fc.oneof(anyRequest, postOrder);

for (const [name, app] of [['hardened with faults', () => faulty], ['naive without faults', () => plain]] as const) {
  test.serial(`fuzzed requests to every endpoint never get a 500 and never crash the app (${name})`, async (t) => {
    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(fuzzRequest, async (req) => {
      const hasBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD';
      const res = await fetch(`${app().url}${req.path}`, {
        method: req.method,
        ...(hasBody ? { body: req.body } : {}),
        headers: req.contentType ? { 'content-type': req.contentType } : {},
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      return res.status !== 500 && res.status < 600;
    }), { numRuns: 300, seed: SEED });
    t.log(JSON.stringify(Object.fromEntries(statuses)));
    t.is((await http(`${app().url}/health`)).status, 200);
  });
}

test.serial('malformed HTTP on a raw socket is answered 400 and the app keeps serving', async (t) => {
  const { port } = new URL(plain.url);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write('GARBAGE /orders HTTP/9.9\r\nX: \u0000\r\n\r\n'));
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => { socket.destroy(); resolve(data); });
  });
  t.regex(answer, /^HTTP\/1\.1 400/);
  t.is((await http(`${plain.url}/health`)).status, 200);
});
