// The sockets behind a container's open files, read from a real container: a server that accepts
// connections and never reads or closes them, whose clients then close theirs, holds them in
// CLOSE_WAIT with the FIN unread (what HAProxy 3.0 did with the clients of a killed node).
import test from 'ava';
import { connect } from 'node:net';
import { once } from 'node:events';
import { Engine, Images, waitFor, type ContainerHandle } from '@resilience/fixtures';
import { describeSockets, peerNames, readSockets } from '../../src/sockets.ts';

let engine: Engine;
let server: ContainerHandle;

const HOLDER = [
  'import socket',
  's = socket.socket()',
  's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  "s.bind(('0.0.0.0', 7777))",
  's.listen(16)',
  'held = []',
  'while True:',
  '    held.append(s.accept()[0])',
].join('\n');

test.before(async () => {
  engine = await Engine.connect();
  const network = (await engine.createNetwork('sockets')).name;
  server = await engine.startContainer({ image: Images.infra, name: 'holder', role: 'holder', networks: [{ network }], ports: [7777], cmd: ['python3', '-c', HOLDER] });
  await waitFor(async () => (await readSockets(server)).some((s) => s.state === 'LISTEN' && s.localPort === 7777), { what: 'the holder listening', timeoutMs: 20_000 });
});

test.after.always(async () => {
  if (engine) await engine.removeRun();
});

test.serial('three clients that closed their connections to a server that never reads them read as three CLOSE_WAIT with the FIN never read, from the host', async (t) => {
  const port = await server.hostPort(7777);
  for (let i = 0; i < 3; i++) {
    const c = connect({ host: '127.0.0.1', port });
    await once(c, 'connect');
    // Closed for good (a FIN): the server, which never reads, never answers with its own.
    c.destroy();
    await once(c, 'close');
  }
  const peers = await peerNames([server], engine.run.runId);
  let described = { sentence: '', evidence: { label: '', text: '' } };
  await waitFor(async () => {
    const held = (await readSockets(server)).filter((s) => s.state === 'CLOSE_WAIT' && s.localPort === 7777 && s.unread === 1);
    described = describeSockets('holder', await readSockets(server), peers);
    return held.length === 3;
  }, { what: 'three CLOSE_WAIT sockets in the holder', timeoutMs: 10_000 });
  t.regex(described.sentence, /: 3 CLOSE_WAIT from the host on port 7777 \(the peer closed and the process has not, each with the peer's FIN never read\)\.$/);
  // Beside the holder's own listening socket, Docker's DNS listens in every container of a user-defined network.
  t.regex(described.evidence.text, /^3 CLOSE_WAIT from the host on port 7777 \(FIN never read: 3\)\n\d+ LISTEN on port\(s\) (\d+, )*7777\b/);
});
