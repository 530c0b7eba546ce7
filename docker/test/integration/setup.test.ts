// Bad setup is explained, not crashed: one clear message and a non-zero exit, nothing built.
import test from 'ava';
import { resolve } from 'node:path';
import { execa } from 'execa';

const root = resolve(import.meta.dirname, '..', '..', '..');

test('a disk too full to build stops the image build with one message and exit 2', async (t) => {
  const r = await execa(process.execPath, [resolve(root, 'docker', 'src', 'build-images.ts'), '--force'], { reject: false, env: { RESILIENCE_MIN_FREE_GIB: '1000000' } });
  t.is(r.exitCode, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /Not enough free disk to build images: [\d.]+ GiB free at \S+, 1000000 GiB needed/);
  t.notRegex(r.stdout, /building/);
});

test('an engine that does not answer is reported, not touched, with exit 2', async (t) => {
  const r = await execa('bash', [resolve(root, 'scripts', 'setup.sh'), '--no-images'], { reject: false, env: { DOCKER_HOST: 'tcp://127.0.0.1:9' } });
  t.is(r.exitCode, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /DOCKER_HOST=tcp:\/\/127\.0\.0\.1:9 is set but no Docker engine answers there/);
});

test('an unknown setup option is refused with exit 2', async (t) => {
  const r = await execa('bash', [resolve(root, 'scripts', 'setup.sh'), '--bogus'], { reject: false });
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /unknown option '--bogus'; accepted: --no-images/);
});

test('the image build refuses an unknown option and a bad base-image policy', async (t) => {
  const a = await execa(process.execPath, [resolve(root, 'docker', 'src', 'build-images.ts'), '--frobnicate'], { reject: false });
  t.is(a.exitCode, 2);
  t.regex(a.stderr, /`--frobnicate`/);
  const b = await execa(process.execPath, [resolve(root, 'docker', 'src', 'build-images.ts')], { reject: false, env: { RESILIENCE_BASE_IMAGES: 'maybe' } });
  t.is(b.exitCode, 2);
  t.regex(b.stderr, /RESILIENCE_BASE_IMAGES.*`maybe`/);
});
