// Live run metrics for Prometheus: the journal's events, folded into counters, gauges and a
// latency histogram as they happen, served on loopback so a dashboard can watch a long run.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { InvalidArgumentError, type JournalEvent, type ResourceEvent } from '@resilience/fixtures';

/** Published ports are loopback-only (security rule): the exporter never binds anything else. */
export const METRICS_HOST = '127.0.0.1';

/** Probe latency buckets in seconds: 1 ms to 10 s, a 1-2-5 series. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
];

export interface MetricsExporterOptions {
  readonly workflow: string;
  readonly runId: string;
}

/** A listening metrics endpoint; close() (or `await using`) frees the port, and is idempotent. */
export interface MetricsServer {
  /** The scrape URL, `http://127.0.0.1:<port>/metrics`. */
  readonly url: string;
  /** The address the socket is bound to, as the OS reports it: always 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A resource event, with the named extra readings it may carry (`pgConnections`, `rssBytes`, ...). */
type ResourceReadings = ResourceEvent & { readonly values?: Record<string, number> };

/** One probe's series, resolved once so a sample costs a few map lookups. */
interface ProbeSeries {
  readonly ok: Counter.Internal;
  readonly error: Counter.Internal;
  readonly latency: Histogram.Internal<'probe'>;
  readonly up: Gauge.Internal<'probe'>;
}

interface ActiveFault {
  readonly kind: string;
  readonly scope: string;
}

/** Missing labels are empty, which Prometheus reads as "no such label". */
const label = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Folds journal events into Prometheus metrics, one fresh registry per exporter (never the
 * global one), and serves them on 127.0.0.1. Subscribe `observe` to the run's bus.
 */
export class MetricsExporter {
  readonly registry = new Registry();
  readonly #options: MetricsExporterOptions;

  readonly #runInfo: Gauge<'workflow' | 'run_id'>;
  readonly #phase: Gauge<'phase'>;
  readonly #status: Gauge<'status'>;

  readonly #operations: Counter<'probe' | 'result'>;
  readonly #latency: Histogram<'probe'>;
  readonly #up: Gauge<'probe'>;
  readonly #probes = new Map<string, ProbeSeries>();

  readonly #faultsActive: Gauge<'kind' | 'scope'>;
  readonly #faultsInjected: Counter<'kind' | 'scope'>;
  readonly #healErrors: Counter;
  readonly #active = new Map<string, ActiveFault>();

  readonly #memory: Gauge<'container'>;
  readonly #cpu: Gauge<'container'>;
  readonly #pids: Gauge<'container'>;
  readonly #openFiles: Gauge<'container'>;
  readonly #connections: Gauge<'container'>;
  readonly #resource: Gauge<'container' | 'metric'>;

  readonly #findings: Counter<'severity' | 'kind'>;
  readonly #measurement: Gauge<'name' | 'scope' | 'unit'>;

  constructor(options: MetricsExporterOptions) {
    this.#options = options;
    const registers = [this.registry];

    this.#runInfo = new Gauge({ name: 'resilience_run_info', help: 'The run this endpoint reports on; always 1.', labelNames: ['workflow', 'run_id'], registers });
    this.#runInfo.set({ workflow: label(options.workflow), run_id: label(options.runId) }, 1);
    this.#phase = new Gauge({ name: 'resilience_run_phase_info', help: 'The phase the run is in (steady, fault, recovery, ...): 1 for the current phase only.', labelNames: ['phase'], registers });
    this.#status = new Gauge({ name: 'resilience_run_status', help: 'How the run ended (completed, failed, aborted, interrupted): 1 for its status, absent until the run ends.', labelNames: ['status'], registers });

    this.#operations = new Counter({ name: 'resilience_probe_operations_total', help: 'Probe operations completed, by result (ok or error).', labelNames: ['probe', 'result'], registers });
    this.#latency = new Histogram({ name: 'resilience_probe_latency_seconds', help: 'Probe operation latency in seconds, from when the open-loop schedule intended to start it to its completion (so queueing behind a stall counts).', labelNames: ['probe'], buckets: [...LATENCY_BUCKETS_SECONDS], registers });
    this.#up = new Gauge({ name: 'resilience_probe_up', help: 'Whether the last operation of the probe succeeded (1) or failed (0).', labelNames: ['probe'], registers });

    this.#faultsActive = new Gauge({ name: 'resilience_faults_active', help: 'Faults injected and not yet healed.', labelNames: ['kind', 'scope'], registers });
    this.#faultsInjected = new Counter({ name: 'resilience_faults_injected_total', help: 'Faults injected.', labelNames: ['kind', 'scope'], registers });
    this.#healErrors = new Counter({ name: 'resilience_fault_heal_errors_total', help: 'Heals that reported an error: the fault may still be in effect.', registers });

    this.#memory = new Gauge({ name: 'resilience_container_memory_bytes', help: 'Memory used by the container, in bytes (last reading).', labelNames: ['container'], registers });
    this.#cpu = new Gauge({ name: 'resilience_container_cpu_percent', help: 'CPU used by the container, in percent as docker stats reports it (100 = one core; last reading).', labelNames: ['container'], registers });
    this.#pids = new Gauge({ name: 'resilience_container_pids', help: 'Processes and threads in the container (last reading).', labelNames: ['container'], registers });
    this.#openFiles = new Gauge({ name: 'resilience_container_open_files', help: 'Open file descriptors in the container (last reading).', labelNames: ['container'], registers });
    this.#connections = new Gauge({ name: 'resilience_container_connections', help: 'Open network connections of the container (last reading).', labelNames: ['container'], registers });
    this.#resource = new Gauge({ name: 'resilience_resource', help: 'Other named readings of a container or of the runner (pgConnections, dbSizeBytes, redisUsedMemory, diskUsedBytes, ...; the unit is in the name), last value.', labelNames: ['container', 'metric'], registers });

    this.#findings = new Counter({ name: 'resilience_findings_total', help: 'Findings raised (lost writes, split brain, failover not held, ...), by severity and kind.', labelNames: ['severity', 'kind'], registers });
    this.#measurement = new Gauge({ name: 'resilience_measurement', help: 'Last value of each measurement (election time, lost writes, RTO, ...) in its unit; unmeasurable values are left out.', labelNames: ['name', 'scope', 'unit'], registers });

    collectDefaultMetrics({ register: this.registry, prefix: 'resilience_runner_' });
  }

  /** Folds one journal event into the metrics. Cheap (a sample is a few map lookups) and never throws on odd events. */
  observe(event: JournalEvent): void {
    switch (event.type) {
      case 'sample': {
        if (typeof event.probe !== 'string') return;
        const series = this.#series(event.probe);
        if (event.ok === true) {
          series.ok.inc();
          series.up.set(1);
        } else {
          series.error.inc();
          series.up.set(0);
        }
        const latencyMs = event.completed - event.intended;
        if (Number.isFinite(latencyMs)) series.latency.observe(Math.max(0, latencyMs) / 1000);
        return;
      }
      case 'probe':
        // Both results exist from the start, so rate() sees the first error.
        if (typeof event.name === 'string') this.#series(event.name);
        return;
      case 'phase':
        this.#phase.reset();
        this.#phase.set({ phase: label(event.name) }, 1);
        return;
      case 'run-end':
        this.#status.reset();
        this.#status.set({ status: label(event.status) }, 1);
        return;
      case 'fault-injected': {
        const fault = { kind: label(event.kind), scope: label(event.scope) };
        this.#faultsInjected.inc(fault);
        // An id announced twice is still one fault in effect.
        if (!this.#active.has(event.id)) {
          this.#active.set(event.id, fault);
          this.#faultsActive.inc(fault);
        }
        return;
      }
      case 'fault-healed': {
        if (event.error !== undefined) this.#healErrors.inc();
        // The fault controller forgets a fault once its heal ran, errors or not; a heal of an
        // unknown id (a stray or repeated event) changes nothing, so the gauge never goes negative.
        const fault = this.#active.get(event.id);
        if (fault) {
          this.#active.delete(event.id);
          this.#faultsActive.dec(fault);
        }
        return;
      }
      case 'resource':
        this.#resourceReadings(event);
        return;
      case 'finding':
        this.#findings.inc({ severity: label(event.severity), kind: label(event.kind) });
        return;
      case 'measurement':
        if (finite(event.value)) this.#measurement.set({ name: label(event.name), scope: label(event.scope), unit: label(event.unit) }, event.value);
        return;
      default:
        // Other events (notes, roles, evidence, windows, which aggregate journal samples) have no metric.
        return;
    }
  }

  /** Serves GET /metrics (and GET / with a pointer to it) on 127.0.0.1 only; port 0 picks a free one. */
  async listen(port: number): Promise<MetricsServer> {
    const invalid = () => new InvalidArgumentError('--metrics-port', port, `a free TCP port on ${METRICS_HOST} (0 picks one)`);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalid();
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? invalid() : error);
      });
      server.listen({ port, host: METRICS_HOST }, () => resolve());
    });
    server.removeAllListeners('error');
    server.on('error', (error) => process.emitWarning(`Metrics endpoint error: ${error.message}`));
    const { address: host, port: bound } = server.address() as AddressInfo;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive connections close with the server; one mid-request would hold it until its timeout.
        server.closeAllConnections();
      });
      return closing;
    };
    return { url: `http://${METRICS_HOST}:${bound}/metrics`, host, port: bound, close, [Symbol.asyncDispose]: close };
  }

  #series(probe: string): ProbeSeries {
    let series = this.#probes.get(probe);
    if (!series) {
      const ok = this.#operations.labels(probe, 'ok');
      const error = this.#operations.labels(probe, 'error');
      ok.inc(0);
      error.inc(0);
      this.#latency.zero({ probe });
      series = { ok, error, latency: this.#latency.labels(probe), up: this.#up.labels(probe) };
      this.#probes.set(probe, series);
    }
    return series;
  }

  #resourceReadings(event: ResourceReadings): void {
    const container = label(event.container);
    if (finite(event.memoryBytes)) this.#memory.set({ container }, event.memoryBytes);
    if (finite(event.cpuPercent)) this.#cpu.set({ container }, event.cpuPercent);
    if (finite(event.pids)) this.#pids.set({ container }, event.pids);
    if (finite(event.fds)) this.#openFiles.set({ container }, event.fds);
    if (finite(event.connections)) this.#connections.set({ container }, event.connections);
    const values = event.values;
    if (typeof values === 'object' && values !== null) {
      for (const [metric, value] of Object.entries(values)) {
        if (finite(value)) this.#resource.set({ container, metric }, value);
      }
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' && path !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
      return;
    }
    if (path === '/') {
      const { workflow, runId } = this.#options;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : `Resilience run ${runId} (${workflow}): Prometheus metrics at /metrics\n`);
      return;
    }
    try {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`Collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}
