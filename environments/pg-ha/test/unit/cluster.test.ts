// Reading Patroni's /cluster answer and judging health from it; redacting connection strings.
import test from 'ava';
import { parseCluster, unhealthyReason, redact, type ClusterMember } from '../../src/index.ts';

// The shape Patroni 3.0.2 answers (patroni/utils.py cluster_as_json).
const body = {
  members: [
    { name: 'pg1', role: 'leader', state: 'running', api_url: 'http://pgha-pg1:8008/patroni', host: 'pgha-pg1', port: 5432, timeline: 2 },
    { name: 'pg2', role: 'sync_standby', state: 'running', api_url: 'http://pgha-pg2:8008/patroni', host: 'pgha-pg2', port: 5432, timeline: 2, lag: 0 },
    { name: 'pg3', role: 'replica', state: 'streaming', api_url: 'http://pgha-pg3:8008/patroni', host: 'pgha-pg3', port: 5432, timeline: 2, lag: 'unknown' },
  ],
  scope: 'pgha',
};

test('parseCluster reads name, role, state, timeline and lag', (t) => {
  t.deepEqual(parseCluster(body), [
    { name: 'pg1', role: 'leader', state: 'running', timeline: 2, lagBytes: 0, host: 'pgha-pg1' },
    { name: 'pg2', role: 'sync_standby', state: 'running', timeline: 2, lagBytes: 0, host: 'pgha-pg2' },
    { name: 'pg3', role: 'replica', state: 'streaming', timeline: 2, lagBytes: undefined, host: 'pgha-pg3' },
  ]);
});

test('parseCluster refuses an answer without members', (t) => {
  t.throws(() => parseCluster({ error: 'x' }), { instanceOf: TypeError });
});

const m = (name: string, role: ClusterMember['role'], state = 'running', lagBytes: number | null = 0, timeline = 1): ClusterMember =>
  ({ name, role, state, lagBytes: lagBytes ?? undefined, timeline, host: `pgha-${name}` });
const healthy = [m('pg1', 'leader'), m('pg2', 'replica'), m('pg3', 'replica')];
const async3 = { nodes: 3, sync: false };

const judged = test.macro({
  exec(t, members: ClusterMember[], settings: { nodes: number; sync: boolean; image?: 'bookworm' | 'trixie' }, reason: RegExp | undefined) {
    const got = unhealthyReason(members, settings);
    if (reason) t.regex(got ?? '', reason);
    else t.is(got, undefined);
  },
  title: (provided = '') => `unhealthyReason: ${provided}`,
});

test('one running leader, caught-up replicas', judged, healthy, async3, undefined);
test('no leader', judged, [m('pg2', 'replica'), m('pg3', 'replica')], { nodes: 2, sync: false }, /0 leaders/);
test('a leader still starting', judged, [m('pg1', 'leader', 'starting'), m('pg2', 'replica'), m('pg3', 'replica')], async3, /pg1 is starting/);
test('a member missing', judged, healthy.slice(0, 2), async3, /2 of 3 members/);
test('a replica being created', judged, [m('pg1', 'leader'), m('pg2', 'replica', 'creating replica'), m('pg3', 'replica')], async3, /pg2 is creating replica/);
test('a lagging replica', judged, [m('pg1', 'leader'), m('pg2', 'replica', 'running', 4096), m('pg3', 'replica')], async3, /pg2 lags by 4096 bytes/);
test('a replica with unknown lag', judged, [m('pg1', 'leader'), m('pg2', 'replica', 'running', null), m('pg3', 'replica')], async3, /lags by unknown/);
test('a replica on an old timeline', judged, [m('pg1', 'leader', 'running', 0, 2), m('pg2', 'replica', 'running', 0, 1), m('pg3', 'replica', 'streaming', 0, 2)], async3, /pg2 is on timeline 1/);
test('synchronous mode without a sync standby', judged, healthy, { nodes: 3, sync: true }, /no sync_standby/);
test('synchronous mode with a sync standby', judged, [m('pg1', 'leader'), m('pg2', 'sync_standby'), m('pg3', 'replica')], { nodes: 3, sync: true }, undefined);

// Patroni 4 (trixie) reports `streaming` for a replica whose WAL receiver streams and `running`
// before it does; Patroni 3.0.2 (bookworm) reports `running` for both.
const trixie3 = { nodes: 3, sync: false, image: 'trixie' as const };
const streaming = [m('pg1', 'leader'), m('pg2', 'replica', 'streaming'), m('pg3', 'replica', 'streaming')];
test('trixie: replicas streaming', judged, streaming, trixie3, undefined);
test('trixie: a replica running but not streaming yet', judged, [m('pg1', 'leader'), m('pg2', 'replica', 'running'), m('pg3', 'replica', 'streaming')], trixie3, /pg2 is running/);
test('trixie: a sync standby streaming', judged, [m('pg1', 'leader'), m('pg2', 'sync_standby', 'streaming'), m('pg3', 'replica', 'streaming')], { ...trixie3, sync: true }, undefined);
test('bookworm: running replicas count (Patroni 3.0.2 never says streaming)', judged, healthy, { ...async3, image: 'bookworm' }, undefined);

test('redact hides the password and keeps the rest', (t) => {
  t.is(redact('postgresql://app:s3cr3t@127.0.0.1:5000/app'), 'postgresql://app:***@127.0.0.1:5000/app');
  t.is(redact('postgresql://app@127.0.0.1:5000/app'), 'postgresql://app@127.0.0.1:5000/app');
  t.is(redact('postgresql://app:a%2Fb@pgha-haproxy:5001/app'), 'postgresql://app:***@pgha-haproxy:5001/app');
});
