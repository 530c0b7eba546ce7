// The reference app's containers: started on the stack's network against a provisioned pg-ha
// (through HAProxy's primary port) and redis-sentinel (through the Sentinels), and waited on
// until each one's /health says both dependencies are up. Exported so the provisioning
// benchmark starts the app exactly as provision() does.
import { request } from 'undici';
import { Images, waitFor, type ContainerFile, type ContainerHandle, type Engine, ENVIRONMENT_LABEL } from '@resilience/fixtures';
import type { PgHa } from '@resilience/pg-ha';
import type { RedisSentinel } from '@resilience/redis-sentinel';
import type { AppSettings } from './options.ts';

/** Label on the app containers and the network of an app-stack, so `down` finds kept ones. */
export { ENVIRONMENT_LABEL };
export const ENVIRONMENT = 'app-stack';
export const APP_PORT = 8080;

/** One app container to start: its name (also its network alias) and mode. */
export interface AppSpec {
  readonly name: string;
  readonly mode: 'hardened' | 'naive';
}

export interface AppInstance {
  readonly name: string;
  readonly mode: 'hardened' | 'naive';
  readonly container: ContainerHandle;
  /** http://127.0.0.1:<port> */
  readonly url: string;
}

export interface AppHealth {
  readonly httpStatus: number;
  readonly status?: string;
  readonly mode?: string;
  readonly dependencies?: { readonly database?: string; readonly cache?: string };
}

/** GET /health of one app instance (2 s deadline). */
export async function appHealth(url: string, timeoutMs = 2_000): Promise<AppHealth> {
  const res = await request(`${url}/health`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const body = (await res.body.json()) as Omit<AppHealth, 'httpStatus'>;
  return { httpStatus: res.statusCode, ...body };
}

/** Where the app finds its secrets (the Docker secrets convention: `NAME_FILE`), owned by its user, mode 600. */
export const APP_SECRETS_DIR = '/run/secrets';

/**
 * The app's environment: where the database and the Sentinels are, in the stack's network.
 * Secrets are not in it: `DATABASE_URL_FILE` and `REDIS_*PASSWORD_FILE` name files that
 * appSecretFiles() puts into the container before it starts, so `docker inspect` shows none.
 */
export function appEnv(settings: Pick<AppSettings, 'mode'>, redis: RedisSentinel, via?: AppLinks): Record<string, string> {
  return {
    APP_MODE: settings.mode,
    PORT: String(APP_PORT),
    DATABASE_URL_FILE: `${APP_SECRETS_DIR}/database-url`,
    // Through a link the app talks to one Redis address (the master when the link was made):
    // the link is the fault point, and Sentinel's discovery would route around it.
    ...(via?.cache
      ? { REDIS_URL: `redis://${via.cache.host}:${via.cache.port}` }
      : { REDIS_SENTINELS: redis.sentinels.map((s) => s.address).join(','), REDIS_MASTER_NAME: redis.masterName, REDIS_SENTINEL_PASSWORD_FILE: `${APP_SECRETS_DIR}/redis-password` }),
    REDIS_PASSWORD_FILE: `${APP_SECRETS_DIR}/redis-password`,
  };
}

/** Where the apps reach a dependency instead of its own address: a sidecar fault proxy on the link. */
export interface AppLinks {
  readonly database?: { readonly host: string; readonly port: number };
  readonly cache?: { readonly host: string; readonly port: number };
}

/** `url` with its host and port replaced (the credentials and database kept). */
export function throughLink(url: string, link: { readonly host: string; readonly port: number }): string {
  const u = new URL(url);
  u.hostname = link.host;
  u.port = String(link.port);
  return u.toString();
}

/** The files appEnv() names: the database URL (with its password) and the Redis password. */
export function appSecretFiles(pg: PgHa, redis: RedisSentinel, via?: AppLinks): ContainerFile[] {
  return [
    { path: `${APP_SECRETS_DIR}/database-url`, content: via?.database ? throughLink(pg.internal.primaryUrl, via.database) : pg.internal.primaryUrl },
    { path: `${APP_SECRETS_DIR}/redis-password`, content: redis.password },
  ];
}

export interface StartAppsOptions {
  readonly engine: Engine;
  readonly network: string;
  readonly pg: PgHa;
  readonly redis: RedisSentinel;
  readonly settings: AppSettings;
  /** Named apps, each in its own mode (default: `settings.instances` apps `app-1`... in `settings.mode`). */
  readonly apps?: readonly AppSpec[];
  /** Reach the dependencies through these links (sidecar fault proxies) instead of directly. */
  readonly via?: AppLinks;
  /** Extra labels (the keep label for `up`). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with each container as soon as it exists, so a caller can remove it if a later step fails. */
  readonly onStarted?: (container: ContainerHandle) => void;
}

/**
 * Starts `settings.instances` app containers in parallel (`app-1`, `app-2`, ...), or the named
 * `apps`, and waits until
 * every one answers /health 200 with database and cache up.
 */
export async function startApps(options: StartAppsOptions): Promise<AppInstance[]> {
  const { engine, network, settings, signal } = options;
  const files = appSecretFiles(options.pg, options.redis, options.via);
  const labels = { [ENVIRONMENT_LABEL]: ENVIRONMENT, ...options.labels };
  const specs = options.apps ?? Array.from({ length: settings.instances }, (_, i): AppSpec => ({ name: `app-${i + 1}`, mode: settings.mode }));
  const results = await Promise.allSettled(specs.map(async ({ name, mode }): Promise<AppInstance> => {
    const env = { ...settings.env, ...appEnv({ mode }, options.redis, options.via) };
    const container = await engine.startContainer({
      image: Images.app,
      name,
      role: 'app',
      hostname: name,
      ports: [APP_PORT],
      networks: [{ network, aliases: [name] }],
      labels,
      env,
      files,
      // The app drains and closes its pools on SIGTERM within its 8 s budget.
      stopTimeoutSeconds: 10,
    }, signal);
    options.onStarted?.(container);
    return { name, mode, container, url: `http://127.0.0.1:${await container.hostPort(APP_PORT)}` };
  }));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const apps = results.map((r) => (r as PromiseFulfilledResult<AppInstance>).value);
  await Promise.all(apps.map((a) => waitFor(async () => {
    const h = await appHealth(a.url);
    return h.httpStatus === 200 && h.dependencies?.database === 'up' && h.dependencies.cache === 'up';
  }, { what: `${a.name} (${a.url}) to answer /health with database and cache up`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, ...(signal ? { signal } : {}) })));
  return apps;
}
