// What a container's open files are, when the soak judges their number a leak: its TCP sockets
// by state and peer, read from /proc/net/tcp and /proc/net/tcp6 in the container's own network
// namespace at the end of the run (before the stack is torn down).
//
// Found this way (README, "HAProxy 3.0 keeps the clients of a server marked down"): on
// trixie, HAProxy's open files grew 36 → 236 in an hour, and its sockets read as client
// connections in CLOSE_WAIT with the client's FIN never read, next to connections to the killed
// PostgreSQL nodes. A number of files says that something grows; the states say what.
import type { ContainerHandle, Evidence } from '@resilience/fixtures';
import { shortName } from '@resilience/runner';

/** Linux's TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h). */
const STATES: Readonly<Record<number, string>> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT',
  7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV',
};

/** What some states mean for the process holding the socket, said once beside the counts. */
const MEANING: Readonly<Record<string, string>> = {
  CLOSE_WAIT: 'the peer closed and the process has not',
  SYN_SENT: 'connecting, no answer yet',
};

export interface TcpSocket {
  readonly state: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes received and not read by the process; a peer's FIN counts 1, so 1 in CLOSE_WAIT is a FIN never read. */
  readonly unread: number;
}

/** An address of /proc/net/tcp{,6} (hex, the kernel's byte order), as text; an IPv4-mapped IPv6 address as its IPv4. */
function address(hex: string): string {
  if (hex.length === 8) return ipv4(hex);
  if (/^0{16}FFFF0{4}/i.test(hex)) return ipv4(hex.slice(24));
  const words = hex.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(''));
  const full = words.join('').match(/.{4}/g)!.join(':');
  // The URL parser writes an IPv6 address in its canonical short form (::1).
  return new URL(`http://[${full}]`).hostname.slice(1, -1);
}

function ipv4(hex: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

/** The sockets listed by /proc/net/tcp and /proc/net/tcp6 (their text, one after the other). */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d+:$/.test(f[0]!)) continue;
    const [, localPort] = f[1]!.split(':');
    const [remote, remotePort] = f[2]!.split(':');
    const rx = f[4]!.split(':')[1];
    out.push({
      state: STATES[parseInt(f[3]!, 16)] ?? `state ${f[3]}`,
      localPort: parseInt(localPort!, 16),
      remoteAddress: address(remote!),
      remotePort: parseInt(remotePort!, 16),
      unread: parseInt(rx ?? '0', 16),
    });
  }
  return out;
}

/**
 * The sockets of `who`, counted by state and peer: a sentence for the finding and a table for its
 * evidence. `peers` names addresses (the run's containers, the networks' gateways). TIME_WAIT
 * sockets are left out of the count (the kernel keeps them, no process holds them) and said apart;
 * listening sockets are counted without a peer.
 */
export function describeSockets(who: string, sockets: readonly TcpSocket[], peers: ReadonlyMap<string, string>): { sentence: string; evidence: Evidence } {
  const held = sockets.filter((s) => s.state !== 'TIME_WAIT');
  const listening = new Set(held.filter((s) => s.state === 'LISTEN').map((s) => s.localPort));
  const groups = new Map<string, { state: string; peer: string; count: number; finUnread: number }>();
  for (const s of held) {
    if (s.state === 'LISTEN') continue;
    const name = peers.get(s.remoteAddress) ?? s.remoteAddress;
    // Accepted on a listening port: a client's, whose own port is ephemeral (one group per client).
    const peer = listening.has(s.localPort) ? `from ${name} on port ${s.localPort}` : `to ${name}:${s.remotePort}`;
    const key = `${s.state} ${peer}`;
    const g = groups.get(key) ?? { state: s.state, peer, count: 0, finUnread: 0 };
    g.count += 1;
    if (s.state === 'CLOSE_WAIT' && s.unread === 1) g.finUnread += 1;
    groups.set(key, g);
  }
  const rows = [...groups.values()].sort((a, b) => b.count - a.count || a.state.localeCompare(b.state) || a.peer.localeCompare(b.peer));
  const waits = sockets.length - held.length;
  const said = rows.slice(0, 6).map((r) => {
    const meaning = MEANING[r.state];
    const unread = r.finUnread ? `${meaning ? ', ' : ''}${r.finUnread === r.count ? 'each' : `${r.finUnread} of them`} with the peer's FIN never read` : '';
    return `${r.count} ${r.state} ${r.peer}${meaning || unread ? ` (${meaning ?? ''}${unread})` : ''}`;
  });
  const listeners = held.filter((s) => s.state === 'LISTEN').length;
  const sentence = held.length === 0
    ? `At the end of the run ${who} held no TCP socket${waits ? ` (${waits} in TIME_WAIT, kept by the kernel)` : ''}.`
    : `At the end of the run ${who} held ${held.length} TCP socket(s)${listeners ? `, ${listeners} of them listening` : ''}${said.length ? `: ${said.join('; ')}` : ''}${rows.length > said.length ? '; the rest in the evidence' : ''}${waits ? ` (and ${waits} in TIME_WAIT, kept by the kernel)` : ''}.`;
  const evidence = {
    label: `${who} TCP sockets at the end of the run (count, state, peer; /proc/net/tcp and tcp6)`,
    text: [...rows.map((r) => `${r.count} ${r.state} ${r.peer}${r.finUnread ? ` (FIN never read: ${r.finUnread})` : ''}`), ...(listeners ? [`${listeners} LISTEN on port(s) ${[...listening].sort((a, b) => a - b).join(', ')}`] : [])].join('\n') || '(none)',
  };
  return { sentence, evidence };
}

/** Reads a container's TCP sockets (its network namespace's: every process in the container). */
export async function readSockets(container: ContainerHandle): Promise<TcpSocket[]> {
  const r = await container.exec(['cat', '/proc/net/tcp', '/proc/net/tcp6']);
  if (r.exitCode !== 0 && !r.stdout.trim()) throw new Error(`reading /proc/net/tcp in ${container.name} exited ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}`);
  return parseProcNetTcp(r.stdout);
}

/**
 * Names for the addresses a run's containers have on their networks, and the networks'
 * gateways ("the host": connections through a published port, such as the runner's probes).
 */
export async function peerNames(containers: readonly ContainerHandle[], runId: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(containers.map(async (c) => {
    const info = await c.inspect().catch(() => undefined);
    for (const n of Object.values(info?.NetworkSettings?.Networks ?? {})) {
      if (n.IPAddress) names.set(n.IPAddress, shortName(c.name, runId));
      if (n.Gateway) names.set(n.Gateway, 'the host');
    }
  }));
  names.set('127.0.0.1', 'itself');
  names.set('::1', 'itself');
  return names;
}
