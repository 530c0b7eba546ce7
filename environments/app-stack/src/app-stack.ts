// app-stack: pg-ha and redis-sentinel on one network with the reference app in front, its
// port published on 127.0.0.1. pg-ha and redis-sentinel come up in parallel, then the app.
import { request } from 'undici';
import { Engine, Images, Labels, requireImage, waitFor, type ContainerHandle, type NetworkHandle } from '@resilience/fixtures';
import { provision as provisionPg, type PgHa } from '@resilience/pg-ha';
import { provision as provisionRedis, type RedisSentinel } from '@resilience/redis-sentinel';
import { parseAppOptions, type AppSettings, type AppStackOptionsInput } from './options.ts';

export const ENVIRONMENT = 'app-stack';

export interface AppInstance {
  readonly name: string;
  readonly container: ContainerHandle;
  /** http://127.0.0.1:<port> */
  readonly url: string;
}

export interface AppStackProvisionOptions extends AppStackOptionsInput {
  readonly engine?: Engine;
  /** Label everything to stay (`up`). */
  readonly keep?: boolean;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export class AppStack implements AsyncDisposable {
  readonly engine: Engine;
  readonly network: string;
  readonly pg: PgHa;
  readonly redis: RedisSentinel;
  readonly apps: readonly AppInstance[];
  readonly settings: AppSettings;
  readonly timings: Record<string, number>;
  readonly #network: NetworkHandle;
  #teardown: Promise<void> | undefined;

  constructor(init: { engine: Engine; network: NetworkHandle; pg: PgHa; redis: RedisSentinel; apps: AppInstance[]; settings: AppSettings; timings: Record<string, number> }) {
    this.engine = init.engine;
    this.#network = init.network;
    this.network = init.network.name;
    this.pg = init.pg;
    this.redis = init.redis;
    this.apps = init.apps;
    this.settings = init.settings;
    this.timings = init.timings;
  }

  /** The first app instance's URL. */
  get url(): string {
    return this.apps[0]!.url;
  }

  /** Removes every container and the network; idempotent. */
  teardown(): Promise<void> {
    this.#teardown ??= (async () => {
      const results = await Promise.allSettled([
        ...this.apps.map((a) => a.container.remove()),
        this.pg.teardown(),
        this.redis.teardown(),
      ]);
      await this.#network.remove().catch(() => undefined);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed.length) throw new AggregateError(failed.map((f) => f.reason), 'app-stack teardown failed');
    })();
    return this.#teardown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }
}

async function health(url: string): Promise<{ status: number; body: { status?: string; dependencies?: Record<string, string> } }> {
  const res = await request(`${url}/health`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
  return { status: res.statusCode, body: (await res.body.json()) as { status?: string; dependencies?: Record<string, string> } };
}

export async function provision(options: AppStackProvisionOptions = {}): Promise<AppStack> {
  const settings = parseAppOptions(options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const engine = options.engine ?? (await Engine.connect());
  await requireImage(engine, Images.infra);
  await requireImage(engine, Images.app);
  const keepLabels: Record<string, string> = options.keep ? { [Labels.keep]: 'true' } : {};
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  const network = await engine.createNetwork('app-stack', { labels: keepLabels });
  timings['network'] = performance.now() - t0;
  let pg: PgHa | undefined;
  let redis: RedisSentinel | undefined;
  const apps: AppInstance[] = [];
  try {
    const [pgResult, redisResult] = await Promise.allSettled([
      provisionPg({ ...options.pg, engine, network: network.name, ...(options.keep ? { keep: true } : {}), timeoutMs, ...(options.signal ? { signal: options.signal } : {}) })
        .then((x) => ((timings['pg-ha'] = performance.now() - t0), x)),
      provisionRedis({ ...options.redis, engine, network: network.name, ...(options.keep ? { labels: keepLabels } : {}) })
        .then((x) => ((timings['redis-sentinel'] = performance.now() - t0), x)),
    ]);
    if (pgResult.status === 'fulfilled') pg = pgResult.value;
    if (redisResult.status === 'fulfilled') redis = redisResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (redisResult.status === 'rejected') throw redisResult.reason;
    const pgHa = pg!;
    const rs = redis!;
    const sentinels = rs.sentinels.map((s) => s.address).join(',');
    for (let i = 1; i <= settings.instances; i++) {
      const container = await engine.startContainer({
        image: Images.app,
        name: `app-${i}`,
        role: 'app',
        ports: [8080],
        networks: [{ network: network.name, aliases: [`app-${i}`] }],
        labels: keepLabels,
        env: {
          APP_MODE: settings.mode,
          PORT: '8080',
          DATABASE_URL: pgHa.internal.leaderUrl,
          REDIS_SENTINELS: sentinels,
          REDIS_MASTER_NAME: rs.masterName,
          REDIS_PASSWORD: rs.password,
          REDIS_SENTINEL_PASSWORD: rs.password,
        },
        stopTimeoutSeconds: 10,
      });
      apps.push({ name: `app-${i}`, container, url: `http://127.0.0.1:${await container.hostPort(8080)}` });
    }
    await Promise.all(apps.map((a) => waitFor(async () => {
      const h = await health(a.url);
      return h.status === 200 && h.body.dependencies?.['database'] === 'up' && h.body.dependencies?.['cache'] === 'up';
    }, { what: `${a.name} healthy with database and cache up`, timeoutMs, intervalMs: 200, ...(options.signal ? { signal: options.signal } : {}) })));
    timings['app'] = performance.now() - t0;
    timings['total'] = performance.now() - t0;
    return new AppStack({ engine, network, pg: pgHa, redis: rs, apps, settings, timings });
  } catch (e) {
    await Promise.allSettled([...apps.map((a) => a.container.remove()), pg?.teardown(), redis?.teardown()]);
    await network.remove().catch(() => undefined);
    throw e;
  }
}
