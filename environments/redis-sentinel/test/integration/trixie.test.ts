// redis-sentinel on the Debian trixie image (`image: 'trixie'`): Redis 8.0 and its Sentinel,
// from the same redis.conf and sentinel.conf as Redis 7.0 (neither logs a config error); a
// killed primary is replaced by a majority of Sentinels within down-after + a vote, writes move
// to it, and the old primary rejoins as a replica. One replica and three Sentinels keep it light.
import test from 'ava';
import { Chaos } from '@resilience/fixtures';
import { parseReplicationInfo, provision } from '../../src/index.ts';

const origin = performance.now() - 3_600_000;
const clock = (): number => performance.now() - origin;

test.serial('trixie: Redis 8 with Sentinel; a killed primary is replaced and rejoins as a replica', async (t) => {
  const env = await provision({ image: 'trixie', replicas: 1, now: clock });
  t.teardown(() => env.teardown());
  t.log(`trixie: provisioned in ${env.timings.total} ms (${Object.entries(env.timings).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  t.like(env.settings, { image: 'trixie', imageTag: 'resilience/infra-trixie:0.1.0', redisMajor: 8 });

  const old = await env.primary();
  const version = await old.container.exec(['redis-server', '--version']);
  const sentinelVersion = await env.sentinels[0]!.container.exec(['redis-sentinel', '--version']);
  t.log(`versions: ${version.stdout.trim()} | sentinel: ${sentinelVersion.stdout.trim()}`);
  t.regex(version.stdout, /^Redis server v=8\.0\./);
  t.regex(sentinelVersion.stdout, /^Redis server v=8\.0\./);
  const server = parseReplicationInfo(String(await env.directClient(old).info('replication')));
  t.is(server.role, 'master');
  t.regex(String(await env.directClient(old).info('server')), /redis_version:8\.0\./);
  // Every directive of both files was accepted (Redis exits on a bad one; this checks the log too).
  for (const m of [...env.nodes, ...env.sentinels]) {
    const log = await m.container.logs();
    t.false(/Bad directive|FATAL CONFIG FILE ERROR|Unrecognized/i.test(log), `${m.name}: ${log.slice(-400)}`);
  }

  const client = env.client();
  t.is(await client.set('before', '1'), 'OK');
  t.is(await env.directClient(old).call('WAIT', '1', '5000'), 1);
  const kill = await new Chaos(env.engine, { now: clock }).kill(old.container);
  t.teardown(() => kill.heal());
  const promotion = await env.waitForPromotion(old, { timeoutMs: 30_000 });
  const ms = Math.round(promotion.at - kill.injectedAt);
  t.log(`trixie: kill -> a majority of Sentinels report ${promotion.primary.name} as master: ${ms} ms (down-after-milliseconds ${env.settings.downAfterMs})`);
  t.not(promotion.primary, old);
  t.is(promotion.previous, old.name);
  t.true(ms >= env.settings.downAfterMs - 1_000, `${ms} ms is sooner than down-after-milliseconds allows`);
  t.true(ms <= env.settings.downAfterMs + 8_000, `${ms} ms`);
  t.is(await client.set('after', '2'), 'OK');
  const onNew = env.directClient(promotion.primary);
  t.is(await onNew.get('before'), '1');
  t.is(await onNew.get('after'), '2');

  await kill.heal();
  const primary = await env.waitHealthy({ timeoutMs: 90_000 });
  t.is(primary, promotion.primary);
  const info = parseReplicationInfo(String(await env.directClient(old).info('replication')));
  t.is(info.role, 'slave');
  t.is(info.masterLinkStatus, 'up');
  t.is(await env.directClient(old).get('after'), '2');
});
