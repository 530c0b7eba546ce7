// app-stack: pg-ha and redis-sentinel on one network with the reference app in front, its
// port published on 127.0.0.1. pg-ha and redis-sentinel come up in parallel, then the app.
import { performance } from 'node:perf_hooks';
import { Engine, Images, Labels, requireImage, startSidecarProxy, type NetworkHandle, type SidecarProxy } from '@resilience/fixtures';
import { provision as provisionPg, redact, type ArchiveConfig, type PgHa, type PgHaDescription } from '@resilience/pg-ha';
import { provision as provisionRedis, type RedisSentinel, type RedisSentinelDescription } from '@resilience/redis-sentinel';
import { parseStackOptions, type AppSettings, type AppStackOptionsInput } from './options.ts';
import { APP_PORT, ENVIRONMENT, ENVIRONMENT_LABEL, startApps, type AppInstance, type AppLinks } from './app.ts';
import { startFrontend, type Frontend } from './frontend.ts';

/** The sidecar fault proxies on the apps' links (provision's `links`). */
export interface StackLinks {
  /** app -> HAProxy's primary port. */
  readonly database: SidecarProxy;
  /** app -> the Redis master at provisioning time. */
  readonly cache: SidecarProxy;
}

export interface AppStackProvisionOptions extends AppStackOptionsInput {
  /** The engine (and so the run) to create everything in; default: a new connection and run. */
  readonly engine?: Engine;
  /** Label everything to stay (`up`): sweeps of dead runs leave it. */
  readonly keep?: boolean;
  /** Longest wait for each part to become healthy (default 120 000 ms). */
  readonly timeoutMs?: number;
  /** Ends provisioning at once (passed to pg-ha, redis-sentinel and the app wait); what was started is removed. */
  readonly signal?: AbortSignal;
  /** The run's clock (ms), passed to pg-ha and redis-sentinel: every time their handles return is on it. Default performance.now(). */
  readonly now?: () => number;
  /** pg-ha's `archive`: WAL archived with pgBackRest to a repository host (a DR drill's). */
  readonly pgArchive?: ArchiveConfig;
}

/** What to show a person; passwords redacted unless asked. */
export interface AppStackDescription {
  readonly environment: typeof ENVIRONMENT;
  readonly runId: string;
  readonly network: string;
  readonly settings: AppSettings;
  readonly apps: readonly { readonly name: string; readonly container: string; readonly url: string }[];
  readonly url: string;
  readonly pg: PgHaDescription;
  readonly redis: RedisSentinelDescription;
  /** The app container's DATABASE_URL (redacted unless showSecrets). */
  readonly appDatabaseUrl: string;
  readonly timings: Readonly<Record<string, number>>;
}

export class AppStack implements AsyncDisposable {
  readonly engine: Engine;
  /** Full name of the Docker network every part is on. */
  readonly network: string;
  readonly pg: PgHa;
  readonly redis: RedisSentinel;
  readonly apps: readonly AppInstance[];
  /** The sidecar fault proxies between the apps and their dependencies, with `links`. */
  readonly links: StackLinks | undefined;
  /** The HAProxy in front of the apps, with `frontend`. */
  readonly frontend: Frontend | undefined;
  readonly settings: AppSettings;
  /**
   * Milliseconds per provisioning step: `engine` (connect, images), `network`, then `pg-ha` and
   * `redis-sentinel` (in parallel, each from its start), `app` (start to healthy), `total`.
   */
  readonly timings: Record<string, number>;
  /** The run clock the parts report their times on (provision's `now`). */
  readonly now: () => number;
  readonly #network: NetworkHandle;
  #teardown: Promise<void> | undefined;

  constructor(init: { engine: Engine; network: NetworkHandle; pg: PgHa; redis: RedisSentinel; apps: AppInstance[]; links?: StackLinks; frontend?: Frontend; settings: AppSettings; timings: Record<string, number>; now: () => number }) {
    this.engine = init.engine;
    this.#network = init.network;
    this.network = init.network.name;
    this.pg = init.pg;
    this.redis = init.redis;
    this.apps = init.apps;
    this.links = init.links;
    this.frontend = init.frontend;
    this.settings = init.settings;
    this.timings = init.timings;
    this.now = init.now;
  }

  get runId(): string {
    return this.engine.run.runId;
  }

  /** The first app instance's URL. */
  get url(): string {
    return this.apps[0]!.url;
  }

  describe(options: { showSecrets?: boolean } = {}): AppStackDescription {
    return {
      environment: ENVIRONMENT,
      runId: this.runId,
      network: this.network,
      settings: this.settings,
      apps: this.apps.map((a) => ({ name: a.name, container: a.container.name, url: a.url })),
      url: this.url,
      pg: this.pg.describe(options),
      redis: this.redis.describe(options),
      appDatabaseUrl: options.showSecrets ? this.pg.internal.primaryUrl : redact(this.pg.internal.primaryUrl),
      timings: this.timings,
    };
  }

  /** Removes every container and the network; idempotent. Host-side Redis clients are closed. */
  teardown(): Promise<void> {
    this.#teardown ??= (async () => {
      const results = await Promise.allSettled([
        ...this.apps.map((a) => a.container.remove()),
        ...(this.links ? [this.links.database.remove(), this.links.cache.remove()] : []),
        ...(this.frontend ? [this.frontend.remove()] : []),
        this.pg.teardown(),
        this.redis.teardown(),
      ]);
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      await this.#network.remove().catch((e: unknown) => errors.push(e));
      if (errors.length) throw new AggregateError(errors, `app-stack teardown left ${errors.length} error(s)`);
    })();
    return this.#teardown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }
}

export async function provision(options: AppStackProvisionOptions = {}): Promise<AppStack> {
  // Every option, the parts' included, is checked before the engine is touched.
  const resolved = parseStackOptions(options);
  const { timeoutMs, keep } = resolved;
  const signal = options.signal;
  const now = options.now ?? (() => performance.now());
  signal?.throwIfAborted();
  const timings: Record<string, number> = {};
  const t0 = now();
  let last = t0;
  const lap = (step: string): void => {
    const t = now();
    timings[step] = Math.round(t - last);
    last = t;
  };

  const engine = options.engine ?? (await Engine.connect(signal ? { signal } : {}));
  const infraTags = [...new Set([resolved.pg.imageTag, resolved.redis.imageTag])];
  await Promise.all([...infraTags.map((tag) => requireImage(engine, tag)), requireImage(engine, Images.app)]);
  lap('engine');
  const keepLabels: Record<string, string> = keep ? { [Labels.keep]: 'true' } : {};
  const network = await engine.createNetwork(ENVIRONMENT, { labels: { [ENVIRONMENT_LABEL]: ENVIRONMENT, ...keepLabels }, ...(signal ? { signal } : {}) });
  lap('network');

  let pg: PgHa | undefined;
  let redis: RedisSentinel | undefined;
  const appContainers: { remove(): Promise<void> }[] = [];
  const sidecars: SidecarProxy[] = [];
  try {
    const partStart = now();
    const since = (): number => Math.round(now() - partStart);
    const [pgResult, redisResult] = await Promise.allSettled([
      provisionPg({ ...options.pg, ...(options.sync !== undefined ? { sync: options.sync } : {}), ...(options.image !== undefined ? { image: options.image } : {}), engine, network: network.name, keep, timeoutMs, now, ...(signal ? { signal } : {}), ...(options.pgArchive ? { archive: options.pgArchive } : {}) })
        .then((x) => ((timings['pg-ha'] = since()), x)),
      provisionRedis({ ...options.redis, ...(options.image !== undefined ? { image: options.image } : {}), engine, network: network.name, labels: { ...options.redis?.labels, ...keepLabels }, now, ...(signal ? { signal } : {}) })
        .then((x) => ((timings['redis-sentinel'] = since()), x)),
    ]);
    if (pgResult.status === 'fulfilled') pg = pgResult.value;
    if (redisResult.status === 'fulfilled') redis = redisResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (redisResult.status === 'rejected') throw redisResult.reason;
    last = now();
    let links: StackLinks | undefined;
    if (resolved.app.links) {
      links = await startLinks(engine, network.name, pg!, redis!, sidecars, signal);
      lap('links');
    }
    const via: AppLinks | undefined = links ? { database: links.database, cache: links.cache } : undefined;
    const apps = await startApps({
      engine, network: network.name, pg: pg!, redis: redis!, settings: resolved.app, labels: keepLabels, timeoutMs,
      onStarted: (c) => appContainers.push(c),
      ...(resolved.app.apps ? { apps: resolved.app.apps } : {}),
      ...(via ? { via } : {}),
      ...(signal ? { signal } : {}),
    });
    lap('app');
    let frontend: Frontend | undefined;
    if (resolved.app.frontend) {
      const servers = await Promise.all(apps.map(async (a) => ({ name: a.name, host: await a.container.ipOn(network.name), port: APP_PORT })));
      frontend = await startFrontend(engine, {
        image: resolved.pg.imageTag, network: network.name, servers, labels: { [ENVIRONMENT_LABEL]: ENVIRONMENT, ...keepLabels }, timeoutMs,
        onStarted: (c) => appContainers.push(c), ...(signal ? { signal } : {}),
      });
      lap('frontend');
    }
    timings['total'] = Math.round(now() - t0);
    return new AppStack({ engine, network, pg: pg!, redis: redis!, apps, ...(links ? { links } : {}), ...(frontend ? { frontend } : {}), settings: resolved.app, timings, now });
  } catch (e) {
    await Promise.allSettled([...appContainers.map((c) => c.remove()), ...sidecars.map((x) => x.remove()), pg?.teardown(), redis?.teardown()]);
    await network.remove().catch(() => undefined);
    throw signal?.aborted ? signal.reason : e;
  }
}

/**
 * The two links: HAProxy's primary port as the apps' database, the Redis master (asked of the
 * Sentinels now) as their cache. Each sidecar is pushed to `started` as soon as it exists.
 */
async function startLinks(engine: Engine, network: string, pg: PgHa, redis: RedisSentinel, started: SidecarProxy[], signal: AbortSignal | undefined): Promise<StackLinks> {
  const haproxy = new URL(pg.internal.primaryUrl);
  const master = await redis.primary(signal ? { signal } : {});
  const start = async (name: string, host: string, port: number): Promise<SidecarProxy> => {
    signal?.throwIfAborted();
    const sidecar = await startSidecarProxy(engine, { alias: name, name, network, upstream: { host, port } });
    started.push(sidecar);
    return sidecar;
  };
  const [database, cache] = await Promise.all([
    start('link-database', haproxy.hostname, Number(haproxy.port || 5432)),
    start('link-cache', master.host, master.port),
  ]);
  return { database, cache };
}
