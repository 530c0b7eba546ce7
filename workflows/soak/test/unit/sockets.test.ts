import test from 'ava';
import { describeSockets, parseProcNetTcp } from '../../src/sockets.ts';

// The tcp lines were read from HAProxy 3.0.11's containers after a PostgreSQL node was killed
// (2026-12-07, README "HAProxy 3.0 keeps the clients of a server marked down"), a few of each
// kind, with the local address made one container's (172.19.0.7). The three tcp6 lines are
// written for the test: a listener, an IPv4-mapped client, and ::1.
const PROC_NET_TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 295731 1 000000004cf7c089 100 0 1 10 0',
  '   1: 0100007F:270F 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 295730 1 0000000069720e29 100 0 0 10 0',
  '   3: 00000000:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 295732 1 00000000930070fc 100 0 0 10 0',
  '   5: 070013AC:1388 010013AC:CE6C 08 00000000:00000001 00:00000000 00000000   102        0 297104 1 00000000939f3d74 20 4 28 10 -1',
  '   6: 070013AC:1388 010013AC:C9B2 08 00000000:00000001 00:00000000 00000000   102        0 318255 1 00000000f62e22e4 20 4 28 10 -1',
  '   7: 070013AC:1388 010013AC:CD42 08 00000000:00000001 00:00000000 00000000   102        0 309093 1 000000004e4dcd23 20 4 28 10 -1',
  '   8: 070013AC:1388 010013AC:B4B2 01 00000000:00000000 00:00000000 00000000   102        0 337572 3 000000007b 20 4 28 10 -1',
  '  29: 070013AC:8458 040013AC:1538 08 00000000:00000001 00:00000000 00000000   102        0 297143 1 0000000046 20 4 28 10 -1',
  '  30: 070013AC:845E 040013AC:1538 08 00000000:00000001 00:00000000 00000000   102        0 296826 1 00000000bc 20 4 28 10 -1',
  '  27: 070013AC:9A96 050013AC:1538 02 00000001:00000000 01:00000017 00000000   102        0 344265 2 00000000c1 20 4 28 10 -1',
  '  36: 070013AC:95A4 060013AC:1538 01 00000000:00000000 00:00000000 00000000   102        0 337574 3 0000000070 20 4 28 10 -1',
  '  37: 070013AC:95B0 060013AC:1538 06 00000000:00000000 03:00000F2B 00000000     0        0 0 3 0000000000000000',
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 1 1 0 100 0 0 10 0',
  '   1: 0000000000000000FFFF0000070013AC:1388 0000000000000000FFFF0000010013AC:CF00 08 00000000:00000001 00:00000000 00000000   102        0 2 1 0 20 4 28 10 -1',
  '   2: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:D000 01 00000000:00000000 00:00000000 00000000   102        0 3 1 0 20 4 28 10 -1',
  '',
].join('\n');

const PEERS = new Map([['172.19.0.1', 'the host'], ['172.19.0.4', 'pgha-pg3'], ['172.19.0.5', 'pgha-pg1'], ['172.19.0.6', 'pgha-pg2'], ['127.0.0.1', 'itself'], ['::1', 'itself']]);

test('parseProcNetTcp reads state, ports, peer and unread bytes from tcp and tcp6, IPv4-mapped addresses as IPv4', (t) => {
  const s = parseProcNetTcp(PROC_NET_TCP);
  t.is(s.length, 15);
  t.deepEqual(s[3], { state: 'CLOSE_WAIT', localPort: 5000, remoteAddress: '172.19.0.1', remotePort: 0xce6c, unread: 1 });
  t.deepEqual(s[9], { state: 'SYN_SENT', localPort: 0x9a96, remoteAddress: '172.19.0.5', remotePort: 5432, unread: 0 });
  t.is(s[1]!.remoteAddress, '0.0.0.0');
  t.is(s[11]!.state, 'TIME_WAIT');
  t.is(s[13]!.remoteAddress, '172.19.0.1');
  t.is(s[13]!.state, 'CLOSE_WAIT');
  t.is(s[14]!.remoteAddress, '::1');
  t.is(s[14]!.localPort, 8080);
});

test('describeSockets counts by state and peer, a client\'s connections as one group, TIME_WAIT apart, and says when a FIN was never read', (t) => {
  const { sentence, evidence } = describeSockets('pgha-haproxy', parseProcNetTcp(PROC_NET_TCP), PEERS);
  t.is(sentence, 'At the end of the run pgha-haproxy held 14 TCP socket(s), 4 of them listening: '
    + '4 CLOSE_WAIT from the host on port 5000 (the peer closed and the process has not, each with the peer\'s FIN never read); '
    + '2 CLOSE_WAIT to pgha-pg3:5432 (the peer closed and the process has not, each with the peer\'s FIN never read); '
    + '1 ESTABLISHED from itself on port 8080; 1 ESTABLISHED from the host on port 5000; 1 ESTABLISHED to pgha-pg2:5432; '
    + '1 SYN_SENT to pgha-pg1:5432 (connecting, no answer yet) (and 1 in TIME_WAIT, kept by the kernel).');
  t.is(evidence.text.split('\n').length, 7);
  t.true(evidence.text.startsWith('4 CLOSE_WAIT from the host on port 5000 (FIN never read: 4)\n'));
  t.true(evidence.text.endsWith('4 LISTEN on port(s) 5000, 7000, 8080, 9999'));
});

test('describeSockets: an unknown peer keeps its address; more than six groups leave the rest to the evidence; nothing held says so', (t) => {
  const many = Array.from({ length: 8 }, (_, i) => `   ${i}: 0200000A:${(0x9000 + i).toString(16).toUpperCase()} 0${i + 1}00000A:1538 01 00000000:00000000 00:00000000 00000000 0 0 1 1 0`).join('\n');
  const d = describeSockets('x', parseProcNetTcp(many), new Map());
  t.regex(d.sentence, /^At the end of the run x held 8 TCP socket\(s\): 1 ESTABLISHED to 10\.0\.0\.1:5432; .*; the rest in the evidence\.$/);
  t.is(d.evidence.text.split('\n').length, 8);
  t.is(describeSockets('y', [], new Map()).sentence, 'At the end of the run y held no TCP socket.');
  t.is(describeSockets('y', [{ state: 'TIME_WAIT', localPort: 1, remoteAddress: '10.0.0.1', remotePort: 2, unread: 0 }], new Map()).sentence,
    'At the end of the run y held no TCP socket (1 in TIME_WAIT, kept by the kernel).');
});
