// Smoke tests of the built images: a container of each starts and the server inside answers,
// reached from the host through a port published on 127.0.0.1.
import test from 'ava';
import pg from 'pg';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { Engine, Images, IMAGE_VERSION, startPostgres, startRedis, waitFor, type ContainerHandle } from '@resilience/fixtures';

let engine: Engine;

test.before(async () => {
  engine = await Engine.connect();
});

test.after.always(async () => {
  if (engine) await engine.removeRun();
});

async function start(t: { teardown: (fn: () => Promise<void>) => void }, spec: Parameters<Engine['startContainer']>[0]): Promise<ContainerHandle> {
  const c = await engine.startContainer(spec);
  t.teardown(() => c.remove());
  return c;
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

test('infra image: PostgreSQL 15 answers select 1', async (t) => {
  const server = await startPostgres(engine, { name: 'smoke-pg' });
  t.teardown(() => server.container.remove());
  const client = new pg.Client(server.connection);
  await client.connect();
  t.teardown(() => client.end());
  const row = (await client.query<{ one: number; version: string }>('select 1 as one, version() as version')).rows[0];
  t.is(row?.one, 1);
  t.regex(row?.version ?? '', /^PostgreSQL 15\./);
});

test('infra image: Redis answers PING', async (t) => {
  const server = await startRedis(engine, { name: 'smoke-redis' });
  t.teardown(() => server.container.remove());
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0 });
  t.teardown(() => redis.disconnect());
  t.is(await redis.ping(), 'PONG');
});

test('infra image: etcd reports healthy', async (t) => {
  const c = await start(t, {
    image: Images.infra,
    name: 'smoke-etcd',
    ports: [2379],
    cmd: ['etcd', '--name', 'e1', '--data-dir', '/tmp/etcd', '--listen-client-urls', 'http://0.0.0.0:2379', '--advertise-client-urls', 'http://127.0.0.1:2379'],
  });
  const port = await c.hostPort(2379);
  const health = await waitFor(async () => {
    const res = await httpGet(`http://127.0.0.1:${port}/health`);
    return res.status === 200 ? (JSON.parse(res.body) as { health: string }) : undefined;
  }, { what: 'etcd /health', timeoutMs: 20_000, intervalMs: 200 });
  t.is(health.health, 'true');
});

test('infra image: HAProxy is up and serves its monitor URI', async (t) => {
  const config = ['global', '  log stdout format raw local0', 'defaults', '  mode http', '  timeout connect 1s', '  timeout client 5s', '  timeout server 5s',
    'frontend monitor', '  bind :8404', '  monitor-uri /healthz'].join('\n');
  const c = await start(t, {
    image: Images.infra,
    name: 'smoke-haproxy',
    user: 'haproxy',
    env: { HAPROXY_CFG: config },
    ports: [8404],
    cmd: ['bash', '-c', 'printf "%s\\n" "$HAPROXY_CFG" > /tmp/haproxy.cfg && exec haproxy -W -db -f /tmp/haproxy.cfg'],
  });
  const port = await c.hostPort(8404);
  const res = await waitFor(async () => {
    const r = await httpGet(`http://127.0.0.1:${port}/healthz`);
    return r.status === 200 ? r : undefined;
  }, { what: 'HAProxy monitor URI', timeoutMs: 20_000, intervalMs: 200 });
  t.is(res.status, 200);
});

test('infra image: Patroni, Sentinel, pgBackRest and the fault tools are installed', async (t) => {
  const c = await start(t, { image: Images.infra, name: 'smoke-tools', cmd: ['sleep', 'infinity'] });
  const checks: [string[], RegExp][] = [
    [['patroni', '--version'], /^patroni \d+\.\d+/m],
    [['redis-sentinel', '--version'], /v=7\.\d+/],
    [['pgbackrest', 'version'], /^pgBackRest \d+\.\d+/m],
    [['etcdctl', 'version'], /etcdctl version: 3\./],
    [['haproxy', '-v'], /HAProxy version 2\./],
    [['iptables', '--version'], /iptables v1\./],
    [['tc', '-V'], /tc utility, iproute2/],
    [['stress-ng', '--version'], /stress-ng, version/],
    [['ps', '--version'], /procps/],
  ];
  for (const [cmd, pattern] of checks) {
    const r = await c.exec(cmd);
    t.is(r.exitCode, 0, `${cmd.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
    t.regex(r.stdout + r.stderr, pattern, cmd.join(' '));
  }
});

test('app image: the reference app answers /health', async (t) => {
  const c = await start(t, { image: Images.app, name: 'smoke-app', ports: [8080] });
  const port = await c.hostPort(8080);
  const res = await waitFor(async () => {
    const r = await httpGet(`http://127.0.0.1:${port}/health`);
    return r.status === 200 ? r : undefined;
  }, { what: 'the app /health', timeoutMs: 20_000, intervalMs: 200 });
  const body = JSON.parse(res.body) as { status: string; mode: string };
  t.is(body.status, 'ok');
  t.is(body.mode, 'hardened');
  const node = await c.exec(['node', '--version']);
  t.regex(node.stdout, /^v24\./);
});

/** The Debian trixie infra image (docker/infra-trixie); its name is the environments' `image: 'trixie'`. */
const INFRA_TRIXIE = `resilience/infra-trixie:${IMAGE_VERSION}`;

test('infra-trixie image: PostgreSQL 17, Patroni 4.0, etcd 3.5, HAProxy 3.0, Redis 8.0 and the fault tools', async (t) => {
  const c = await start(t, { image: INFRA_TRIXIE, name: 'smoke-trixie', cmd: ['sleep', 'infinity'] });
  const checks: [string[], RegExp][] = [
    [['postgres', '--version'], /PostgreSQL\) 17\./],
    [['ls', '/usr/lib/postgresql/17/bin/pg_rewind'], /pg_rewind/],
    [['patroni', '--version'], /^patroni 4\.0\.\d+/m],
    [['etcd', '--version'], /etcd Version: 3\.5\./],
    [['etcdctl', 'version'], /etcdctl version: 3\.5\./],
    [['haproxy', '-v'], /HAProxy version 3\.0\./],
    [['redis-server', '--version'], /v=8\.0\./],
    [['redis-sentinel', '--version'], /v=8\.0\./],
    [['pgbackrest', 'version'], /^pgBackRest \d+\.\d+/m],
    [['iptables', '--version'], /iptables v1\./],
    [['tc', '-V'], /tc utility, iproute2/],
    [['stress-ng', '--version'], /stress-ng, version/],
    [['cat', '/etc/debian_version'], /^13\./],
  ];
  for (const [cmd, pattern] of checks) {
    const r = await c.exec(cmd);
    t.is(r.exitCode, 0, `${cmd.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
    t.regex(r.stdout + r.stderr, pattern, cmd.join(' '));
  }
  // The users the environments run as exist, as on bookworm.
  for (const user of ['postgres', 'etcd', 'haproxy', 'redis']) t.is((await c.exec(['id', user])).exitCode, 0, user);
});

test('every image has libfaketime: a process that preloads it sees the clock moved (the clock-skew fault)', async (t) => {
  for (const [i, image] of [Images.infra, INFRA_TRIXIE, Images.app].entries()) {
    const c = await start(t, { image, name: `smoke-faketime-${i}`, entrypoint: ['sleep'], cmd: ['infinity'] });
    // `$LIB` is the loader's, not the shell's: the path clockSkewReady puts in LD_PRELOAD.
    const r = await c.exec(['sh', '-c', 'echo "$(env LD_PRELOAD=\'/usr/$LIB/faketime/libfaketime.so.1\' FAKETIME=+3600 date +%s) $(date +%s)"']);
    t.is(r.stderr, '', `${image}: the loader preloaded it`);
    const [faked, real] = r.stdout.trim().split(' ').map(Number);
    t.true(Math.abs(faked! - real! - 3600) <= 1, `${image}: ${r.stdout}`);
  }
});

test('images carry the project labels', async (t) => {
  for (const image of [Images.infra, INFRA_TRIXIE, Images.app]) {
    const info = await engine.docker.getImage(image).inspect();
    t.is(info.Config.Labels?.['org.opencontainers.image.vendor'], 'resilience', image);
    t.is(info.Config.Labels?.['org.opencontainers.image.version'], IMAGE_VERSION, image);
    // Image labels are inherited by containers: they must never mark a container as a run's own.
    t.is(info.Config.Labels?.['io.resilience.project'], undefined, image);
    t.truthy(info.Config.Labels?.['io.resilience.inputs-hash'], image);
  }
});
