// Parsing Redis and Sentinel replies, and the majority rule over the Sentinels' answers.
import test from 'ava';
import { agreed, fields, flags, majority, masterAddress, parseReplicationInfo } from '../../src/index.ts';

test('INFO replication of a master lists its replicas with state and acknowledged offset', (t) => {
  const info = parseReplicationInfo([
    '# Replication', 'role:master', 'connected_slaves:2',
    'slave0:ip=redis-2,port=6379,state=online,offset=1234,lag=0',
    'slave1:ip=redis-3,port=6379,state=wait_bgsave,offset=0,lag=1',
    'master_failover_state:no-failover', 'master_repl_offset:1300', '',
  ].join('\r\n'));
  t.is(info.role, 'master');
  t.is(info.masterReplOffset, 1300);
  t.deepEqual(info.replicas, [
    { ip: 'redis-2', port: 6379, state: 'online', offset: 1234, lag: 0 },
    { ip: 'redis-3', port: 6379, state: 'wait_bgsave', offset: 0, lag: 1 },
  ]);
});

test('INFO replication of a replica names its master and link', (t) => {
  const info = parseReplicationInfo('# Replication\r\nrole:slave\r\nmaster_host:redis-2\r\nmaster_port:6379\r\nmaster_link_status:up\r\n');
  t.is(info.role, 'slave');
  t.is(info.masterHost, 'redis-2');
  t.is(info.masterLinkStatus, 'up');
  t.deepEqual(info.replicas, []);
});

test('SENTINEL field lists become objects with their flags', (t) => {
  const e = fields(['name', 'redis-2:6379', 'ip', 'redis-2', 'port', '6379', 'flags', 'slave,s_down,disconnected']);
  t.is(e['ip'], 'redis-2');
  t.deepEqual(flags(e), ['slave', 's_down', 'disconnected']);
  t.deepEqual(fields('not a list'), {});
});

test('get-master-addr-by-name replies become host:port', (t) => {
  t.is(masterAddress(['redis-1', '6379']), 'redis-1:6379');
  t.is(masterAddress(null), undefined);
  t.is(masterAddress(['redis-1']), undefined);
  t.is(masterAddress(['', '6379']), undefined);
});

test('an answer counts once a majority gives it; silence and split votes do not', (t) => {
  t.is(majority(3), 2);
  t.is(majority(1), 1);
  t.is(majority(4), 3);
  t.is(agreed(['a', 'b', 'a'], 2), 'a');
  t.is(agreed(['a', 'b', undefined], 2), undefined);
  t.is(agreed([undefined, undefined, 'a'], 2), undefined);
  t.is(agreed(['a'], 1), 'a');
  t.is(agreed([], 1), undefined);
});
