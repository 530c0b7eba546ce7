// Configuration rendering: what each Redis and Sentinel process is told, checked as text.
import test from 'ava';
import { InvalidArgumentError } from '@resilience/fixtures';
import { parseOptions, renderRedisConfig, renderSentinelConfig, startCommand, topology } from '../../src/index.ts';

const password = 'p'.repeat(32);
const settings = parseOptions({ minReplicasToWrite: 1, minReplicasMaxLagSeconds: 5, downAfterMs: 1500, failoverTimeoutMs: 7000, masterName: 'cache' });
const lines = (text: string): string[] => text.split('\n');

test('topology names nodes and Sentinels after the prefix; the first node starts as master', (t) => {
  t.deepEqual(topology({ namePrefix: 'cache', replicas: 2, sentinels: 3 }), {
    nodes: ['cache-1', 'cache-2', 'cache-3'],
    sentinels: ['cache-sentinel-1', 'cache-sentinel-2', 'cache-sentinel-3'],
    initialMaster: 'cache-1',
  });
  t.deepEqual(topology({ namePrefix: 'r', replicas: 0, sentinels: 1 }).nodes, ['r-1']);
});

test('every node requires the password, authenticates to its master with it and announces its name', (t) => {
  const conf = lines(renderRedisConfig({ name: 'cache-2', password, replicaOf: 'cache-1', settings }));
  t.true(conf.includes(`requirepass ${password}`));
  t.true(conf.includes(`masterauth ${password}`));
  t.true(conf.includes('replica-announce-ip cache-2'));
  t.true(conf.includes('replicaof cache-1 6379'));
  t.true(conf.includes('min-replicas-to-write 1'));
  t.true(conf.includes('min-replicas-max-lag 5'));
  t.true(conf.includes('repl-diskless-sync-delay 0'));
});

test('the initial master has no replicaof line', (t) => {
  const conf = renderRedisConfig({ name: 'cache-1', password, settings });
  t.false(conf.includes('replicaof'));
  t.true(conf.includes(`masterauth ${password}`));
});

test('a Sentinel monitors the master by name with the quorum and timings, and knows its peers and replicas', (t) => {
  const conf = lines(renderSentinelConfig({
    name: 'cache-sentinel-1', password, myid: 'a'.repeat(40), master: 'cache-1', replicas: ['cache-2', 'cache-3'],
    peers: [{ name: 'cache-sentinel-2', myid: 'b'.repeat(40) }], settings,
  }));
  const at = (line: string): number => conf.indexOf(line);
  t.true(at('sentinel resolve-hostnames yes') >= 0);
  t.true(at('sentinel resolve-hostnames yes') < at('sentinel monitor cache cache-1 6379 2'), 'hostnames are allowed before the monitor line names one');
  t.true(conf.includes('sentinel announce-hostnames yes'));
  t.true(conf.includes('sentinel announce-ip cache-sentinel-1'));
  t.true(conf.includes(`sentinel auth-pass cache ${password}`));
  t.true(conf.includes(`requirepass ${password}`));
  t.true(conf.includes('sentinel down-after-milliseconds cache 1500'));
  t.true(conf.includes('sentinel failover-timeout cache 7000'));
  t.true(conf.includes(`sentinel myid ${'a'.repeat(40)}`));
  t.true(conf.includes('sentinel known-replica cache cache-2 6379'));
  t.true(conf.includes('sentinel known-replica cache cache-3 6379'));
  t.true(conf.includes(`sentinel known-sentinel cache cache-sentinel-2 26379 ${'b'.repeat(40)}`));
});

test('rendering refuses a password that could break the file, without showing it', (t) => {
  const error = t.throws(() => renderRedisConfig({ name: 'r-1', password: 'short pass\nreplicaof evil 1', settings }), { instanceOf: InvalidArgumentError });
  t.false(error.message.includes('evil'));
  t.throws(() => renderSentinelConfig({ name: 's', password, myid: 'nope', master: 'r-1', replicas: [], peers: [], settings }), { instanceOf: InvalidArgumentError });
});

test('the container waits for its configuration file, then execs the server on it', (t) => {
  const [shell, flag, script] = startCommand('redis-sentinel', '/var/lib/redis/sentinel.conf');
  t.is(shell, 'bash');
  t.is(flag, '-c');
  t.regex(script ?? '', /until \[ -s \/var\/lib\/redis\/sentinel.conf \]/);
  t.regex(script ?? '', /exec redis-sentinel \/var\/lib\/redis\/sentinel.conf$/);
});
