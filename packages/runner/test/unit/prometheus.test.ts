// The Prometheus exporter over real HTTP on 127.0.0.1: events pushed in, /metrics scraped and
// parsed, values asserted; and the Grafana dashboard checked against the metrics it queries.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError, type JournalEvent } from '@resilience/fixtures';
import { MetricsExporter, type MetricsServer } from '../../src/prometheus.ts';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The text exposition format, minimally: `name{a="b",...} value` lines, comments skipped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!match) throw new Error(`Unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = match[3]!;
    samples.push({ name: match[1]!, labels, value: value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value) });
  }
  return samples;
}

/** A scrape: `value(name, labels)` is the one sample with that name and those labels (others ignored), undefined when absent. */
async function scrape(server: MetricsServer) {
  const response = await fetch(server.url);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const samples = parseExposition(await response.text());
  const matching = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    matching,
    value(name: string, labels: Record<string, string> = {}): number | undefined {
      const found = matching(name, labels);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
  };
}

/** An exporter listening on a free port, closed after the test. */
async function started(t: { teardown(fn: () => Promise<void>): void }, events: readonly JournalEvent[] = []) {
  const exporter = new MetricsExporter({ workflow: 'failover', runId: 'run-1' });
  for (const e of events) exporter.observe(e);
  const server = await exporter.listen(0);
  t.teardown(() => server.close());
  return { exporter, server };
}

const sample = (probe: string, intended: number, latencyMs: number, ok: boolean): JournalEvent =>
  ({ type: 'sample', probe, op: 'op', intended, completed: intended + latencyMs, ok, ...(ok ? {} : { error: 'boom' }) });

const inject = (id: string, kind: string, scope?: string): JournalEvent =>
  ({ type: 'fault-injected', id, kind, targets: ['pg1'], params: {}, at: 1000, ...(scope === undefined ? {} : { scope }) });

/** A plain TCP server on 127.0.0.1, to occupy or free a port. */
function tcpListen(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

function tcpClose(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

test('the run is identified, and only the current phase is 1', async (t) => {
  const { exporter, server } = await started(t);
  let m = await scrape(server);
  t.is(m.value('resilience_run_info', { workflow: 'failover', run_id: 'run-1' }), 1);
  t.deepEqual(m.matching('resilience_run_phase_info'), []);

  exporter.observe({ type: 'phase', name: 'steady', at: 0 });
  m = await scrape(server);
  t.deepEqual(m.matching('resilience_run_phase_info').map((s) => [s.labels.phase, s.value]), [['steady', 1]]);

  exporter.observe({ type: 'phase', name: 'fault', at: 10_000 });
  m = await scrape(server);
  t.deepEqual(m.matching('resilience_run_phase_info').map((s) => [s.labels.phase, s.value]), [['fault', 1]]);
});

test('the run status appears when the run ends', async (t) => {
  const { exporter, server } = await started(t);
  t.deepEqual((await scrape(server)).matching('resilience_run_status'), []);
  exporter.observe({ type: 'run-end', status: 'failed', at: 60_000 });
  const m = await scrape(server);
  t.deepEqual(m.matching('resilience_run_status').map((s) => [s.labels.status, s.value]), [['failed', 1]]);
});

test('samples count by result, feed the latency histogram in seconds and set probe up from the last one', async (t) => {
  const { exporter, server } = await started(t, [
    { type: 'probe', name: 'sql-write', op: 'insert', scopes: ['postgres'], intervalMs: 10, writes: true, at: 0 },
  ]);
  let m = await scrape(server);
  t.is(m.value('resilience_probe_operations_total', { probe: 'sql-write', result: 'ok' }), 0, 'both results exist from the probe start');
  t.is(m.value('resilience_probe_operations_total', { probe: 'sql-write', result: 'error' }), 0);
  t.is(m.value('resilience_probe_up', { probe: 'sql-write' }), undefined, 'up is unknown before a sample');

  exporter.observe(sample('sql-write', 0, 3, true));
  exporter.observe(sample('sql-write', 10, 30, true));
  exporter.observe(sample('sql-write', 20, 300, true));
  exporter.observe(sample('sql-write', 30, 1500, false));
  m = await scrape(server);
  t.is(m.value('resilience_probe_operations_total', { probe: 'sql-write', result: 'ok' }), 3);
  t.is(m.value('resilience_probe_operations_total', { probe: 'sql-write', result: 'error' }), 1);
  t.is(m.value('resilience_probe_latency_seconds_count', { probe: 'sql-write' }), 4);
  t.true(Math.abs(m.value('resilience_probe_latency_seconds_sum', { probe: 'sql-write' })! - 1.833) < 1e-9);
  const bucket = (le: string) => m.value('resilience_probe_latency_seconds_bucket', { probe: 'sql-write', le });
  t.is(bucket('0.001'), 0);
  t.is(bucket('0.005'), 1);
  t.is(bucket('0.05'), 2);
  t.is(bucket('0.5'), 3);
  t.is(bucket('1'), 3);
  t.is(bucket('2'), 4);
  t.is(bucket('10'), 4);
  t.is(bucket('+Inf'), 4);
  t.is(m.value('resilience_probe_up', { probe: 'sql-write' }), 0);

  exporter.observe(sample('sql-write', 40, 2, true));
  m = await scrape(server);
  t.is(m.value('resilience_probe_up', { probe: 'sql-write' }), 1);
});

test('active faults go up on injection and down on heal by id, never below zero', async (t) => {
  const { exporter, server } = await started(t);
  const active = async () => (await scrape(server)).value('resilience_faults_active', { kind: 'kill', scope: 'postgres' });

  exporter.observe(inject('f1', 'kill', 'postgres'));
  t.is(await active(), 1);
  t.is((await scrape(server)).value('resilience_faults_injected_total', { kind: 'kill', scope: 'postgres' }), 1);

  exporter.observe({ type: 'fault-healed', id: 'f1', at: 5000 });
  t.is(await active(), 0);

  exporter.observe({ type: 'fault-healed', id: 'f1', at: 5001 });
  exporter.observe({ type: 'fault-healed', id: 'never-injected', at: 5002 });
  t.is(await active(), 0, 'a repeated or stray heal changes nothing');

  exporter.observe(inject('f2', 'kill', 'postgres'));
  exporter.observe(inject('f2', 'kill', 'postgres'));
  t.is(await active(), 1, 'an id announced twice is one fault in effect');
  const m = await scrape(server);
  t.is(m.value('resilience_faults_injected_total', { kind: 'kill', scope: 'postgres' }), 3);
  t.is(m.value('resilience_fault_heal_errors_total'), 0);
});

test('a heal that failed counts as a heal error and ends the fault, as the fault controller does', async (t) => {
  const { exporter, server } = await started(t, [inject('f1', 'pause', 'redis')]);
  exporter.observe({ type: 'fault-healed', id: 'f1', at: 2000, error: 'unpause redis1: no such container' });
  const m = await scrape(server);
  t.is(m.value('resilience_fault_heal_errors_total'), 1);
  t.is(m.value('resilience_faults_active', { kind: 'pause', scope: 'redis' }), 0);
});

test('a fault without a scope has an empty scope label', async (t) => {
  const { server } = await started(t, [inject('f1', 'netem')]);
  t.is((await scrape(server)).value('resilience_faults_active', { kind: 'netem', scope: '' }), 1);
});

test('resource readings set the container gauges, and each named value its own series', async (t) => {
  const { exporter, server } = await started(t, [
    { type: 'resource', container: 'pg1', at: 1000, memoryBytes: 100, cpuPercent: 12.5, pids: 30, fds: 70, connections: 4 },
  ]);
  const withValues = { type: 'resource', container: 'pg1', at: 2000, memoryBytes: 200, values: { pgConnections: 12, dbSizeBytes: 8_000_000, bogus: Number.NaN } };
  exporter.observe(withValues as JournalEvent);
  exporter.observe({ type: 'resource', container: 'runner', at: 2000, values: { rssBytes: 5e7, eventLoopDelayP99Ms: 3.5 } } as JournalEvent);
  const m = await scrape(server);
  t.is(m.value('resilience_container_memory_bytes', { container: 'pg1' }), 200, 'the last reading');
  t.is(m.value('resilience_container_cpu_percent', { container: 'pg1' }), 12.5, 'a field a later event omits keeps its value');
  t.is(m.value('resilience_container_pids', { container: 'pg1' }), 30);
  t.is(m.value('resilience_container_open_files', { container: 'pg1' }), 70);
  t.is(m.value('resilience_container_connections', { container: 'pg1' }), 4);
  t.is(m.value('resilience_resource', { container: 'pg1', metric: 'pgConnections' }), 12);
  t.is(m.value('resilience_resource', { container: 'pg1', metric: 'dbSizeBytes' }), 8_000_000);
  t.is(m.value('resilience_resource', { container: 'pg1', metric: 'bogus' }), undefined, 'not a number: left out');
  t.is(m.value('resilience_resource', { container: 'runner', metric: 'eventLoopDelayP99Ms' }), 3.5);
  t.is(m.value('resilience_container_memory_bytes', { container: 'runner' }), undefined);
});

test('findings count by severity and kind; measurements keep their last value and skip null', async (t) => {
  const finding = (id: string, severity: 'critical' | 'warning'): JournalEvent =>
    ({ type: 'finding', id, kind: 'lost-writes', severity, title: 't', detail: 'd', at: 1, evidence: [] });
  const measurement = (value: number | null): JournalEvent =>
    ({ type: 'measurement', at: 1, name: 'election', value, unit: 'ms', description: 'd', scope: 'postgres' });
  const { server } = await started(t, [
    finding('a', 'critical'), finding('b', 'critical'), finding('c', 'warning'),
    measurement(1200), measurement(900), measurement(null),
    { type: 'measurement', at: 1, name: 'lostWrites', value: null, unit: 'count', description: 'd' },
  ]);
  const m = await scrape(server);
  t.is(m.value('resilience_findings_total', { severity: 'critical', kind: 'lost-writes' }), 2);
  t.is(m.value('resilience_findings_total', { severity: 'warning', kind: 'lost-writes' }), 1);
  t.is(m.value('resilience_measurement', { name: 'election', scope: 'postgres', unit: 'ms' }), 900);
  t.is(m.value('resilience_measurement', { name: 'lostWrites' }), undefined);
});

test('unknown events and events missing fields are ignored without throwing', async (t) => {
  const { exporter, server } = await started(t);
  const odd = [{ type: 'telemetry', at: 1 }, { type: 'sample' }, { type: 'note', at: 1, message: 'hi' }, { type: 'resource', container: 'x', at: 1 }] as unknown as JournalEvent[];
  for (const e of odd) t.notThrows(() => exporter.observe(e));
  const m = await scrape(server);
  t.deepEqual(m.matching('resilience_probe_operations_total'), []);
  t.deepEqual(m.matching('resilience_container_memory_bytes'), []);
});

test('the runner process metrics are there under the resilience_runner_ prefix', async (t) => {
  const { server } = await started(t);
  const m = await scrape(server);
  t.true(m.value('resilience_runner_process_resident_memory_bytes')! > 0);
  t.true(m.value('resilience_runner_nodejs_heap_size_used_bytes')! > 0);
  t.not(m.value('resilience_runner_nodejs_eventloop_lag_p99_seconds'), undefined);
});

test('each exporter has its own registry', async (t) => {
  const { exporter: a, server: sa } = await started(t);
  const { server: sb } = await started(t);
  a.observe(sample('p', 0, 1, true));
  t.is((await scrape(sa)).value('resilience_probe_operations_total', { probe: 'p', result: 'ok' }), 1);
  t.deepEqual((await scrape(sb)).matching('resilience_probe_operations_total'), []);
});

test('observe is cheap: 100 000 samples of 4 probes well within a second', (t) => {
  const exporter = new MetricsExporter({ workflow: 'w', runId: 'r' });
  const start = performance.now();
  for (let i = 0; i < 100_000; i++) exporter.observe(sample(`probe-${i % 4}`, i, (i % 50) + 0.5, i % 10 !== 0));
  const elapsed = performance.now() - start;
  t.log(`${(elapsed / 100).toFixed(2)} µs per sample`);
  t.true(elapsed < 1000, `${elapsed} ms`);
});

test('/ points to /metrics, other paths are 404 and other methods 405', async (t) => {
  const { server } = await started(t);
  const base = `http://127.0.0.1:${server.port}`;
  const root = await fetch(`${base}/`);
  t.is(root.status, 200);
  t.regex(await root.text(), /run-1 \(failover\).*\/metrics/);
  const metrics = await fetch(`${base}/metrics?x=1`);
  t.is(metrics.status, 200);
  t.regex(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  t.regex(await metrics.text(), /# HELP resilience_probe_latency_seconds \S/);
  for (const path of ['/metrics/', '/favicon.ico', '/metricsx']) {
    const response = await fetch(`${base}${path}`);
    t.is(response.status, 404, path);
    await response.body?.cancel();
  }
  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  await post.body?.cancel();
});

test('it binds 127.0.0.1 only', async (t) => {
  const { server } = await started(t);
  t.is(server.host, '127.0.0.1');
  t.is(new URL(server.url).hostname, '127.0.0.1');
  t.true(await accepts('127.0.0.1', server.port));
  const external = Object.values(networkInterfaces()).flat().filter((i) => i && !i.internal && i.family === 'IPv4');
  if (external.length === 0) t.log('no non-loopback IPv4 interface to try');
  for (const i of external) t.false(await accepts(i!.address, server.port), `reachable on ${i!.address}`);
});

test('a port in use is rejected, naming the port', async (t) => {
  const occupied = await tcpListen(0);
  t.teardown(() => tcpClose(occupied));
  const port = (occupied.address() as { port: number }).port;
  const exporter = new MetricsExporter({ workflow: 'w', runId: 'r' });
  const error = await t.throwsAsync(exporter.listen(port), { instanceOf: InvalidArgumentError });
  t.is(error.argument, '--metrics-port');
  t.is(error.value, port);
  t.true(error.message.includes(`\`${port}\``), error.message);
  t.is(error.exitCode, 2);
});

const badPort = test.macro(async (t, port: number) => {
  const error = await t.throwsAsync(new MetricsExporter({ workflow: 'w', runId: 'r' }).listen(port), { instanceOf: InvalidArgumentError });
  t.is(error.value, port);
  t.regex(error.message, /--metrics-port.*free TCP port on 127\.0\.0\.1/);
});
for (const port of [-1, 65_536, 1.5, Number.NaN]) test(`port ${port} is rejected`, badPort, port);

test('close() frees the port, even with a kept-alive scraper and one mid-request, and is idempotent', async (t) => {
  const exporter = new MetricsExporter({ workflow: 'w', runId: 'r' });
  const server = await exporter.listen(0);
  await scrape(server);
  const midRequest = connect({ host: '127.0.0.1', port: server.port });
  midRequest.on('error', () => undefined);
  await new Promise((resolve) => midRequest.once('connect', resolve));
  midRequest.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    server.close().then(() => true),
    new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), 3000); }),
  ]);
  clearTimeout(timer);
  midRequest.destroy();
  t.true(closed, 'close() waited for the open connections');
  await server.close();
  t.false(await accepts('127.0.0.1', server.port));
  const reuse = await tcpListen(server.port);
  await tcpClose(reuse);
  const again = await exporter.listen(server.port);
  t.is(again.port, server.port);
  await again.close();
});

test('the Grafana dashboard queries only metrics the exporter registers', async (t) => {
  const dashboard = JSON.parse(readFileSync(new URL('../../../../docs/grafana/resilience.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const registered = new Set((await new MetricsExporter({ workflow: 'w', runId: 'r' }).registry.getMetricsAsJSON()).map((m) => m.name));
  const known = (name: string) => registered.has(name) || registered.has(name.replace(/_(bucket|sum|count)$/, ''));

  // Every PromQL string: panel and annotation `expr`s, and the template variables' queries.
  const queries: { where: string; promql: string }[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}[${i}]`));
    else if (typeof node === 'object' && node !== null) {
      const o = node as Record<string, unknown>;
      const name = typeof o.title === 'string' ? `${where} "${o.title}"` : typeof o.name === 'string' ? `${where} ${o.name}` : where;
      if (typeof o.expr === 'string') queries.push({ where: name, promql: o.expr });
      if (o.type === 'query' && typeof o.definition === 'string') queries.push({ where: name, promql: o.definition });
      for (const [k, v] of Object.entries(o)) walk(v, `${where}.${k}`);
    }
  };
  walk(dashboard, 'dashboard');

  const panels = (dashboard.panels as { type: string; targets?: { expr?: string }[] }[]).filter((p) => p.type !== 'row');
  t.true(panels.length >= 10);
  for (const p of panels) t.true((p.targets ?? []).length > 0 && p.targets!.every((x) => typeof x.expr === 'string'), JSON.stringify(p).slice(0, 80));
  for (const { where, promql } of queries) {
    const withoutStrings = promql.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    const metrics = withoutStrings.match(/\bresilience_[a-zA-Z0-9_:]*/g) ?? [];
    t.true(metrics.length > 0, `${where}: ${promql} queries no resilience metric`);
    for (const metric of metrics) t.true(known(metric), `${where}: ${metric} is not registered`);
  }
  for (const name of ['resilience_probe_operations_total', 'resilience_probe_latency_seconds', 'resilience_probe_up', 'resilience_faults_active', 'resilience_resource']) {
    t.true(queries.some((q) => q.promql.includes(name)), `the dashboard shows ${name}`);
  }
  const templating = (dashboard.templating as { list: { name: string; type: string; query: unknown }[] }).list;
  t.is(templating.find((v) => v.name === 'datasource')?.type, 'datasource');
  t.is(templating.find((v) => v.name === 'workflow')?.type, 'query');
});
