// A second Docker engine on this machine, on its own socket and on TCP with mutual TLS
// (127.0.0.1 only), for the tests that run a workflow against DOCKER_HOST: its own data and exec roots, its own default bridge and address pool
// (10.213.0.0/16, which the first engine's default pools never use), no iptables rules of its
// own (the first engine's stay as they are). It has none of the first engine's images: the
// ones a test needs are copied over (`docker save | docker load`, about 15 s for the infra image).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { waitFor } from '@resilience/fixtures';

export interface SecondEngine {
  /** DOCKER_HOST of the engine: `unix:///tmp/rz-engine2-…/docker.sock`. */
  readonly host: string;
  /** The same engine over TCP with mutual TLS on 127.0.0.1: the environment a client needs (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). */
  readonly tls: { readonly DOCKER_HOST: string; readonly DOCKER_TLS_VERIFY: '1'; readonly DOCKER_CERT_PATH: string };
  /** The docker CLI against this engine. */
  docker(args: readonly string[]): Promise<string>;
  /** Stops the engine and removes its folders and bridge (its containers with it). */
  stop(): Promise<void>;
}

const SUBNET_GATEWAY = '10.213.255.1/24';
const FORWARD_RULE = ['-s', '10.213.0.0/16', '-d', '10.213.0.0/16', '-j', 'ACCEPT'];

async function removeBridgesHolding(address: string): Promise<void> {
  const { stdout } = await execa('ip', ['-o', '-4', 'addr', 'show']);
  for (const line of stdout.split('\n')) {
    const [, name, , cidr] = line.split(/\s+/);
    if (name?.startsWith('rz2br') && cidr === address) await execa('ip', ['link', 'del', name]);
  }
}

export async function startSecondEngine(images: readonly string[]): Promise<SecondEngine> {
  const dir = mkdtempSync('/tmp/rz-engine2-');
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const bridge = `rz2br${process.pid % 100_000}`;
  // A bridge left by a test that was killed holds the address: it is this helper's, remove it.
  await removeBridgesHolding(SUBNET_GATEWAY);
  await execa('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await execa('ip', ['addr', 'add', SUBNET_GATEWAY, 'dev', bridge]);
  await execa('ip', ['link', 'set', bridge, 'up']);
  // The first engine set the host's FORWARD policy to DROP and bridged traffic passes through it
  // (br_netfilter): without this rule, containers of the second engine cannot reach each other.
  // Scoped to the second engine's own pool, removed at stop.
  await execa('iptables', ['-D', 'FORWARD', ...FORWARD_RULE]).catch(() => undefined);
  await execa('iptables', ['-I', 'FORWARD', ...FORWARD_RULE]);
  const certs = await makeCertificates(join(dir, 'tls'));
  const tcp = `tcp://127.0.0.1:${await freePort()}`;
  const daemon = spawn('dockerd', [
    '--host', host, '--host', tcp, '--tlsverify', '--tlscacert', certs.ca, '--tlscert', certs.serverCert, '--tlskey', certs.serverKey,
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
    '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--default-address-pool', 'base=10.213.0.0/16,size=24',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const docker = async (args: readonly string[]) => (await execa('docker', ['-H', host, ...args])).stdout;
  const stop = async () => {
    await docker(['ps', '-aq']).then((ids) => ids.trim() && docker(['rm', '-f', ...ids.trim().split('\n')])).catch(() => undefined);
    const pid = (() => {
      try {
        return Number(readFileSync(join(dir, 'docker.pid'), 'utf8'));
      } catch {
        return daemon.pid;
      }
    })();
    if (pid) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch { /* already gone */ }
    }
    if (daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
    await execa('ip', ['link', 'del', bridge]).catch(() => undefined);
    await execa('iptables', ['-D', 'FORWARD', ...FORWARD_RULE]).catch(() => undefined);
  };
  try {
    await waitFor(async () => (await execa('docker', ['-H', host, 'version'], { reject: false })).exitCode === 0, { what: `a second dockerd on ${sock}`, timeoutMs: 30_000, intervalMs: 200 });
    // Not through execa's buffers: an image is hundreds of MB.
    for (const image of images) await execa('bash', ['-c', 'set -o pipefail; docker save "$1" | docker -H "$2" load', 'copy', image, host]);
  } catch (e) {
    await stop();
    throw new Error(`the second engine did not start: ${(e as Error).message}\n${log}`);
  }
  return { host, tls: { DOCKER_HOST: tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.clientDir }, docker, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate (openssl), for mutual TLS. */
async function makeCertificates(dir: string): Promise<{ ca: string; serverCert: string; serverKey: string; clientDir: string }> {
  const clientDir = join(dir, 'client');
  mkdirSync(clientDir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ossl = (args: string[]) => execa('openssl', args);
  await ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=rz-test-ca', '-keyout', f('ca-key.pem'), '-out', f('ca.pem')]);
  const sign = async (name: string, subject: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    await ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`)]);
    await ossl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-days', '1', '-extfile', f(`${name}.ext`), '-out', f(`${name}-cert.pem`)]);
  };
  await sign('server', '/CN=127.0.0.1', 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  await sign('client', '/CN=rz-test-client', 'extendedKeyUsage = clientAuth\n');
  // DOCKER_CERT_PATH holds ca.pem, cert.pem and key.pem.
  writeFileSync(join(clientDir, 'ca.pem'), readFileSync(f('ca.pem')));
  writeFileSync(join(clientDir, 'cert.pem'), readFileSync(f('client-cert.pem')));
  writeFileSync(join(clientDir, 'key.pem'), readFileSync(f('client-key.pem')), { mode: 0o600 });
  return { ca: f('ca.pem'), serverCert: f('server-cert.pem'), serverKey: f('server-key.pem'), clientDir };
}
