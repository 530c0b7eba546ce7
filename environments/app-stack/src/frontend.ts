// The frontend: an HAProxy in front of the app replicas, the load balancer a rolling deploy
// goes through. Its HTTP port is published on 127.0.0.1; it checks each replica's /health and
// takes a replica out while that answers 503 (the app says `stopping` while it drains). Replicas
// are swapped through HAProxy's runtime API (drain, maintenance, a new address, ready) rather
// than by rewriting the configuration and reloading: a reload starts a new process with fresh
// health-check state, and the old one lingers on the connections it had, which would blur
// exactly what a deploy measures. The API listens on a TCP port published on 127.0.0.1 only.
import { connect } from 'node:net';
import { InvalidArgumentError, waitFor, type ContainerHandle, type Engine } from '@resilience/fixtures';
import { writeAndExec } from '@resilience/pg-ha';

/** Ports inside the HAProxy container: HTTP to the apps, and the runtime API. */
export const FRONTEND_PORTS = { http: 8080, runtime: 9999 } as const;
/** The backend every replica is a server of (`apps/app-1`). */
export const FRONTEND_BACKEND = 'apps';
const CONFIG_PATH = '/tmp/haproxy.cfg';

/** One replica behind the frontend: its server name (the slot it fills) and where it listens on the network. */
export interface FrontendServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** HAProxy's health checks of each replica: every `interMs`, DOWN after `fall` failures, UP after `rise` successes. */
export interface FrontendChecks {
  readonly interMs: number;
  readonly fall: number;
  readonly rise: number;
}

/** Checks twice a second; a replica is out after two failed checks (about 1 s) and back after two good ones. */
export const FRONTEND_CHECKS: FrontendChecks = { interMs: 500, fall: 2, rise: 2 };

const SERVER_NAME_RE = /^[a-z][a-z0-9-]{0,40}$/;
const HOST_RE = /^[A-Za-z0-9.:-]+$/;

function checkServer(s: FrontendServer): void {
  if (!SERVER_NAME_RE.test(s.name)) throw new InvalidArgumentError('server name', s.name, 'lower-case letters, digits and `-`, starting with a letter');
  if (!HOST_RE.test(s.host)) throw new InvalidArgumentError('server host', s.host, 'an address or host name');
  if (!(Number.isInteger(s.port) && s.port > 0 && s.port < 65536)) throw new InvalidArgumentError('server port', s.port, 'a TCP port from 1 to 65535');
}

/**
 * HAProxy's configuration: HTTP on FRONTEND_PORTS.http, round robin over the servers, each
 * checked with GET /health (200 = in rotation). A connection refused or timed out is retried,
 * on another server at the last retry (`option redispatch`): nothing had reached the app, so a
 * retry cannot repeat a write. An answer that never came is not retried. Sessions of a server
 * that goes DOWN are left to finish (no `on-marked-down shutdown-sessions`): a draining app
 * answers /health 503 while it finishes its requests.
 */
export function renderFrontendConfig(servers: readonly FrontendServer[], checks: FrontendChecks = FRONTEND_CHECKS): string {
  if (servers.length === 0) throw new InvalidArgumentError('servers', servers, 'at least one server');
  servers.forEach(checkServer);
  if (new Set(servers.map((s) => s.name)).size !== servers.length) throw new InvalidArgumentError('servers', servers.map((s) => s.name).join(', '), 'distinct server names');
  for (const [k, v] of Object.entries(checks)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new InvalidArgumentError(`checks.${k}`, v, 'a whole number, 1 or more');
  }
  return [
    'global',
    '  maxconn 4000',
    // The runtime API: drain, maintenance, a server's new address, its state. Level admin.
    `  stats socket ipv4@0.0.0.0:${FRONTEND_PORTS.runtime} level admin`,
    '',
    'defaults',
    '  mode http',
    '  retries 3',
    '  option redispatch',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 5s',
    '  timeout check 2s',
    `  default-server inter ${checks.interMs}ms fall ${checks.fall} rise ${checks.rise}`,
    '',
    'frontend web',
    `  bind :${FRONTEND_PORTS.http}`,
    `  default_backend ${FRONTEND_BACKEND}`,
    '',
    `backend ${FRONTEND_BACKEND}`,
    '  balance roundrobin',
    '  option httpchk GET /health',
    '  http-check expect status 200',
    ...servers.map((s) => `  server ${s.name} ${s.host}:${s.port} check`),
    '',
  ].join('\n');
}

/** A server's state as HAProxy's `show stat` tells it. */
export interface ServerStat {
  readonly name: string;
  /** `UP`, `DOWN`, `DRAIN`, `MAINT`, `NOLB`, or a transition such as `UP 1/2` (going down) or `DOWN 1/2` (going up). */
  readonly status: string;
  /** Requests being served by it now (HAProxy's current sessions on the server). */
  readonly current: number;
  /** The last check's result (`L7OK`, `L7STS`, `L4CON`...), empty when it is not checked. */
  readonly checkStatus: string;
  /** Its address as HAProxy has it (`172.18.0.5:8080`). */
  readonly address: string;
}

/** The servers of `backend` in a `show stat` CSV answer. */
export function parseShowStat(csv: string, backend = FRONTEND_BACKEND): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '').split(',');
  if (!header || !header.includes('svname')) throw new Error(`not a show stat answer: ${JSON.stringify(csv.slice(0, 200))}`);
  const col = (name: string) => header.indexOf(name);
  const [px, sv, scur, status, check, addr] = ['pxname', 'svname', 'scur', 'status', 'check_status', 'addr'].map(col) as [number, number, number, number, number, number];
  return lines.slice(1).map((l) => l.split(',')).filter((f) => f[px] === backend && f[sv] !== 'BACKEND' && f[sv] !== 'FRONTEND').map((f) => ({
    name: f[sv]!,
    status: f[status] ?? '',
    current: Number(f[scur] ?? 0),
    checkStatus: check >= 0 ? (f[check] ?? '').replace(/^\* ?/, '') : '',
    address: addr >= 0 ? (f[addr] ?? '') : '',
  }));
}

/** An answer of the runtime API that says the command failed. */
const REFUSED = /^(No such|Unknown command|Require|Invalid|Permission denied|'set server' expects|Can't|Unable|Unknown)/im;

export class FrontendCommandError extends Error {
  readonly command: string;
  readonly answer: string;
  constructor(command: string, answer: string) {
    super(`HAProxy refused \`${command}\`: ${answer.trim()}`);
    this.name = 'FrontendCommandError';
    this.command = command;
    this.answer = answer;
  }
}

export class Frontend {
  readonly container: ContainerHandle;
  /** http://127.0.0.1:<port>: the apps through the load balancer. */
  readonly url: string;
  /** The runtime API on 127.0.0.1. */
  readonly runtimePort: number;

  constructor(container: ContainerHandle, httpPort: number, runtimePort: number) {
    this.container = container;
    this.url = `http://127.0.0.1:${httpPort}`;
    this.runtimePort = runtimePort;
  }

  /** One runtime API command, its answer as text (HAProxy answers and closes). Throws FrontendCommandError when it is refused. */
  command(cmd: string, timeoutMs = 2_000): Promise<string> {
    if (/[\n;]/.test(cmd)) throw new InvalidArgumentError('command', cmd, 'one runtime API command (no newline or `;`)');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: this.runtimePort });
      const chunks: Buffer[] = [];
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`HAProxy's runtime API did not answer \`${cmd}\` within ${timeoutMs} ms`)));
      socket.on('data', (b: Buffer) => chunks.push(b));
      socket.on('error', reject);
      socket.on('close', (hadError) => {
        if (hadError) return;
        const answer = Buffer.concat(chunks).toString('utf8');
        if (REFUSED.test(answer)) reject(new FrontendCommandError(cmd, answer));
        else resolve(answer);
      });
      socket.end(`${cmd}\n`);
    });
  }

  /** Every replica's state now. */
  async servers(): Promise<ServerStat[]> {
    return parseShowStat(await this.command('show stat'));
  }

  async server(name: string): Promise<ServerStat> {
    const s = (await this.servers()).find((x) => x.name === name);
    if (!s) throw new InvalidArgumentError('server', name, `a server of the frontend (${(await this.servers()).map((x) => x.name).join(', ')})`);
    return s;
  }

  /** No new requests to `name`; those it serves go on, and it stays checked. */
  async drain(name: string): Promise<void> {
    await this.command(`set server ${FRONTEND_BACKEND}/${name} state drain`);
  }

  /** `name` out of rotation and unchecked (while its replica is being replaced). */
  async maintenance(name: string): Promise<void> {
    await this.command(`set server ${FRONTEND_BACKEND}/${name} state maint`);
  }

  /** `name` back in rotation, as far as its health checks allow. */
  async ready(name: string): Promise<void> {
    await this.command(`set server ${FRONTEND_BACKEND}/${name} state ready`);
  }

  /** Points `name` at another replica (a new container's address). */
  async setAddress(name: string, host: string, port: number): Promise<void> {
    checkServer({ name, host, port });
    await this.command(`set server ${FRONTEND_BACKEND}/${name} addr ${host} port ${port}`);
  }

  /** Waits until `name`'s state satisfies `ok`; its last state. */
  waitServer(name: string, ok: (s: ServerStat) => boolean, options: { readonly what: string; readonly timeoutMs?: number; readonly intervalMs?: number; readonly signal?: AbortSignal }): Promise<ServerStat> {
    return waitFor(async () => {
      const s = await this.server(name);
      return ok(s) ? s : undefined;
    }, { what: options.what, timeoutMs: options.timeoutMs ?? 30_000, intervalMs: options.intervalMs ?? 20, ...(options.signal ? { signal: options.signal } : {}) });
  }

  /** Removes the HAProxy container; gone already is success. */
  remove(): Promise<void> {
    return this.container.remove();
  }
}

export interface StartFrontendOptions {
  /** An image with HAProxy in it (the infra image). */
  readonly image: string;
  readonly network: string;
  readonly servers: readonly FrontendServer[];
  readonly checks?: FrontendChecks;
  readonly labels?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with the container as soon as it exists, so a caller can remove it if a later step fails. */
  readonly onStarted?: (container: ContainerHandle) => void;
}

/** Starts the HAProxy and waits until every server is UP. */
export async function startFrontend(engine: Engine, options: StartFrontendOptions): Promise<Frontend> {
  const config = renderFrontendConfig(options.servers, options.checks);
  const { signal } = options;
  const container = await engine.startContainer({
    image: options.image,
    name: 'frontend',
    role: 'frontend',
    user: 'haproxy',
    ports: [FRONTEND_PORTS.http, FRONTEND_PORTS.runtime],
    networks: [{ network: options.network, aliases: ['frontend'] }],
    ...(options.labels ? { labels: options.labels } : {}),
    env: { FRONTEND_HAPROXY_CFG: config },
    cmd: writeAndExec([{ path: CONFIG_PATH, envVar: 'FRONTEND_HAPROXY_CFG' }], ['haproxy', '-W', '-db', '-f', CONFIG_PATH]),
  }, signal);
  options.onStarted?.(container);
  try {
    const frontend = new Frontend(container, await container.hostPort(FRONTEND_PORTS.http), await container.hostPort(FRONTEND_PORTS.runtime));
    await waitFor(async () => {
      const servers = await frontend.servers();
      return servers.length === options.servers.length && servers.every((s) => s.status === 'UP');
    }, { what: `the frontend to have ${options.servers.map((s) => s.name).join(', ')} UP`, timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 100, ...(signal ? { signal } : {}) });
    return frontend;
  } catch (e) {
    await container.remove().catch(() => undefined);
    throw e;
  }
}
