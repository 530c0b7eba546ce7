// What the containers run from: Patroni's YAML carries the settings and no secret, HAProxy
// routes by Patroni's health endpoints, etcd members know each other.
import test from 'ava';
import { execa } from 'execa';
import { parseOptions, topology, renderPatroniConfig, renderHaproxyConfig, renderPostBootstrap, renderSecretsFile, writeAndExec, SECRETS_FILE, etcdCommand, renderNodeBackupConfig, renderRepoBackupConfig, renderRestoreScript, checkArchiveConfig, checkRestoreBootstrap } from '../../src/index.ts';

const lines = (text: string) => text.split('\n').map((l) => l.trim());

test('Patroni config carries the lab-fast timings, pg_rewind, checksums and etcd v3', (t) => {
  const settings = parseOptions();
  const topo = topology(settings);
  const yml = renderPatroniConfig(settings, topo, topo.nodes[1]!);
  const l = lines(yml);
  for (const want of ['ttl: 10', 'loop_wait: 2', 'retry_timeout: 4', 'use_pg_rewind: true', '- data-checksums', 'synchronous_mode: false', 'synchronous_mode_strict: false', 'etcd3:', 'hosts: "pgha-etcd1:2379"', 'name: "pg2"', 'scope: "pgha"']) {
    t.true(l.includes(want), `missing ${want}\n${yml}`);
  }
  t.true(l.includes('connect_address: "pgha-pg2:5432"'));
  t.true(l.includes('connect_address: "pgha-pg2:8008"'));
  t.true(l.includes('- host all all all scram-sha-256'));
  t.true(l.includes('- host replication all all scram-sha-256'));
  t.true(l.includes('- checkpoint: fast'));
  t.true(l.includes('wal_retrieve_retry_interval: "1s"'));
  // Data on the writable layer (not tmpfs), so a killed and restarted container keeps it.
  t.true(l.includes('data_dir: "/var/lib/postgresql/data"'));
  t.false(/password\s*:/i.test(yml), 'passwords reach Patroni through the environment, never the file');
  t.false(yml.includes('\t'));
});

test('Patroni config: synchronous and strict modes, three etcd members, another prefix', (t) => {
  const settings = parseOptions({ sync: 'strict', etcdNodes: 3, namePrefix: 'db', ttl: 20, loopWait: 4, retryTimeout: 8 });
  const topo = topology(settings);
  const l = lines(renderPatroniConfig(settings, topo, topo.nodes[0]!));
  t.true(l.includes('synchronous_mode: true'));
  t.true(l.includes('synchronous_mode_strict: true'));
  t.true(l.includes('hosts: "db-etcd1:2379,db-etcd2:2379,db-etcd3:2379"'));
  t.true(l.includes('ttl: 20'));
  t.true(l.includes('loop_wait: 4'));
  t.true(l.includes('retry_timeout: 8'));
  t.true(l.includes('scope: "db"'));
});

test('topology names nodes, etcd members and HAProxy after the prefix', (t) => {
  const topo = topology(parseOptions({ nodes: 4, etcdNodes: 5, namePrefix: 'x' }));
  t.deepEqual(topo.nodes.map((n) => [n.member, n.alias]), [['pg1', 'x-pg1'], ['pg2', 'x-pg2'], ['pg3', 'x-pg3'], ['pg4', 'x-pg4']]);
  t.deepEqual(topo.etcd.map((n) => n.alias), ['x-etcd1', 'x-etcd2', 'x-etcd3', 'x-etcd4', 'x-etcd5']);
  t.is(topo.haproxy.alias, 'x-haproxy');
});

test('HAProxy routes the leader port by Patroni /primary and the replica port by /replica', (t) => {
  const settings = parseOptions();
  const cfg = renderHaproxyConfig(settings, topology(settings));
  const primary = cfg.slice(cfg.indexOf('listen primary'), cfg.indexOf('listen replicas'));
  const replicas = cfg.slice(cfg.indexOf('listen replicas'));
  t.regex(primary, /bind :5000\n/);
  t.regex(primary, /option httpchk OPTIONS \/primary\n\s+http-check expect status 200/);
  t.regex(replicas, /bind :5001\n/);
  t.regex(replicas, /option httpchk OPTIONS \/replica\n/);
  for (const block of [primary, replicas]) {
    for (const n of ['pg1', 'pg2', 'pg3']) t.regex(block, new RegExp(`server ${n} pgha-${n}:5432 check port 8008 resolvers docker`));
  }
  t.regex(cfg, /default-server inter 1000ms fall 2 rise 1 on-marked-down shutdown-sessions/);
  t.regex(cfg, /nameserver dns 127\.0\.0\.11:53/);
  t.regex(cfg, /bind :7000\n\s+stats enable/);
});

test('etcd members list the whole initial cluster and advertise their alias', (t) => {
  const topo = topology(parseOptions({ etcdNodes: 3 }));
  const cmd = etcdCommand(topo, topo.etcd[2]!, 'tok');
  const arg = (flag: string) => cmd[cmd.indexOf(flag) + 1];
  t.is(arg('--name'), 'etcd3');
  t.is(arg('--initial-cluster'), 'etcd1=http://pgha-etcd1:2380,etcd2=http://pgha-etcd2:2380,etcd3=http://pgha-etcd3:2380');
  t.is(arg('--advertise-client-urls'), 'http://pgha-etcd3:2379');
  t.is(arg('--initial-cluster-token'), 'tok');
});

test('the post-bootstrap script takes the app password from the environment, and works on a restored cluster that has the app user', (t) => {
  const script = renderPostBootstrap();
  t.true(script.startsWith('#!/bin/sh\n'));
  t.regex(script, /ELSE CREATE ROLE app LOGIN PASSWORD '\$PGHA_APP_PASSWORD'; END IF;/);
  t.regex(script, /IF EXISTS \(SELECT FROM pg_roles WHERE rolname = 'app'\) THEN ALTER ROLE app LOGIN PASSWORD '\$PGHA_APP_PASSWORD';/);
  t.regex(script, /SELECT 'CREATE DATABASE app OWNER app' WHERE NOT EXISTS \(SELECT FROM pg_database WHERE datname = 'app'\) \\gexec/);
  // The recovery settings a restore wrote are reset before any replica copies them.
  for (const k of ['restore_command', 'recovery_target_time', 'recovery_target_action']) t.true(script.includes(`ALTER SYSTEM RESET ${k};`), k);
});

test('with archive, every node archives WAL with pgBackRest; with a restore, the cluster bootstraps from it', (t) => {
  const settings = parseOptions();
  const topo = topology(settings);
  const archive = { repoHost: 'pgha-backup', tls: { ca: '-----BEGIN CERTIFICATE-----\n', cert: '-----BEGIN CERTIFICATE-----\n', key: '-----BEGIN PRIVATE KEY-----\n' }, archiveTimeoutS: 7, processMax: 2 };
  const plain = renderPatroniConfig(settings, topo, topo.nodes[0]!);
  t.false(plain.includes('archive_mode'));
  const l = lines(renderPatroniConfig(settings, topo, topo.nodes[0]!, { archive }));
  t.true(l.includes('archive_mode: "on"'));
  t.true(l.includes('archive_command: "pgbackrest --stanza=main archive-push %p"'));
  t.true(l.includes('archive_timeout: "7s"'));
  t.false(l.includes('method: pgbackrest'));
  const r = lines(renderPatroniConfig(settings, topo, topo.nodes[0]!, { archive, restore: { type: 'latest' } }));
  t.true(r.includes('method: pgbackrest'));
  t.true(r.includes('keep_existing_recovery_conf: true'));
  const node = lines(renderNodeBackupConfig(archive));
  t.true(node.includes('repo1-host=pgha-backup') && node.includes('repo1-host-type=tls') && node.includes('tls-server-auth=pgbackrest=main'));
  const repo = lines(renderRepoBackupConfig(archive, topo));
  t.deepEqual(repo.filter((x) => /^pg\d-host=/.test(x)), ['pg1-host=pgha-pg1', 'pg2-host=pgha-pg2', 'pg3-host=pgha-pg3']);
  t.true(repo.includes('repo1-path=/var/lib/pgbackrest') && repo.includes('process-max=2'));
  t.false(repo.includes('repo1-block=y'), 'whole-file incrementals unless asked (pgBackRest 2.45 has no block incremental)');
  t.true(lines(renderRepoBackupConfig({ ...archive, blockIncremental: true }, topo)).includes('repo1-block=y'));
  const pitr = renderRestoreScript({ type: 'time', target: '2026-12-02 05:00:00.123456+00' }, archive);
  t.regex(pitr, /--type=time '--target=2026-12-02 05:00:00\.123456\+00' --target-action=promote restore/);
  t.notRegex(renderRestoreScript({ type: 'latest' }, archive), /--type/);
});

test('bad archive and restore settings are refused, naming the value', (t) => {
  const archive = { repoHost: 'pgha-backup', tls: { ca: '-----BEGIN', cert: '-----BEGIN', key: '-----BEGIN' }, archiveTimeoutS: 5, processMax: 2 };
  t.throws(() => checkArchiveConfig({ ...archive, archiveTimeoutS: 0 }), { message: /archive\.archiveTimeoutS.*0/s });
  t.throws(() => checkArchiveConfig({ ...archive, processMax: 1.5 }), { message: /archive\.processMax/ });
  t.throws(() => checkArchiveConfig({ ...archive, tls: { ...archive.tls, key: 'nope' } }), { message: /archive\.tls\.key/ });
  t.throws(() => checkRestoreBootstrap({ type: 'time', target: 'yesterday' }), { message: /restore\.target.*yesterday/s });
  t.throws(() => checkRestoreBootstrap({ type: 'sometime' as 'latest' }), { message: /restore\.type/ });
  t.notThrows(() => checkRestoreBootstrap({ type: 'time', target: '2026-12-02 05:00:00+00' }));
});

test('the Patroni config points at the image\'s PostgreSQL: 15 on bookworm, 17 on trixie', (t) => {
  const bookworm = parseOptions();
  const trixie = parseOptions({ image: 'trixie' });
  const b = lines(renderPatroniConfig(bookworm, topology(bookworm), topology(bookworm).nodes[0]!));
  const x = lines(renderPatroniConfig(trixie, topology(trixie), topology(trixie).nodes[0]!));
  t.true(b.includes('bin_dir: "/usr/lib/postgresql/15/bin"'));
  t.true(x.includes('bin_dir: "/usr/lib/postgresql/17/bin"'));
  // Patroni 4 runs with no ttl below 20: trixie's file says 20, not a value Patroni would change.
  t.true(b.includes('ttl: 10'));
  t.true(x.includes('ttl: 20'));
  t.true(x.includes('loop_wait: 2'));
  t.true(x.includes('retry_timeout: 4'));
  // Everything else is the same on both: PostgreSQL 17 and Patroni 4 take the same settings.
  const rest = (l: string[]) => l.filter((s) => !s.startsWith('bin_dir:') && !s.startsWith('ttl:'));
  t.deepEqual(rest(x), rest(b));
});

test('HAProxy and etcd take the same configuration on both images (HAProxy 3.0 and etcd 3.5 accept it)', (t) => {
  const bookworm = parseOptions();
  const trixie = parseOptions({ image: 'trixie' });
  t.is(renderHaproxyConfig(trixie, topology(trixie)), renderHaproxyConfig(bookworm, topology(bookworm)));
  t.deepEqual(etcdCommand(topology(trixie), topology(trixie).etcd[0]!, 'tok'), etcdCommand(topology(bookworm), topology(bookworm).etcd[0]!, 'tok'));
});

test('secrets reach a container through its secrets file, quoted for sh, never through its environment', async (t) => {
  const content = renderSecretsFile({ PATRONI_SUPERUSER_PASSWORD: 'a1b2', PGHA_PGBACKREST_KEY: "-----BEGIN PRIVATE KEY-----\nab'c\n" });
  t.is(content, "export PATRONI_SUPERUSER_PASSWORD='a1b2'\nexport PGHA_PGBACKREST_KEY='-----BEGIN PRIVATE KEY-----\nab'\\''c\n'\n");
  // sh reads back exactly what was written (the quote and the newlines included).
  const { stdout } = await execa('sh', ['-c', `${content}printf '%s|%s' "$PATRONI_SUPERUSER_PASSWORD" "$PGHA_PGBACKREST_KEY"`], { stripFinalNewline: false });
  t.is(stdout, "a1b2|-----BEGIN PRIVATE KEY-----\nab'c\n");
  t.throws(() => renderSecretsFile({ 'bad-name': 'x' }), { message: /bad-name/ });
  const [, , script] = writeAndExec([{ path: '/tmp/x', envVar: 'X' }], ['server'], [], [], true);
  t.true(script!.split('\n').indexOf(`. ${SECRETS_FILE}`) === 2, 'the secrets file is read before any file is written');
});
