// Bundles the app and its dependencies into one ES module for the app image (no npm install
// and no registry at image build time).
import { build } from 'esbuild';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..', '..');
await build({
  entryPoints: [resolve(import.meta.dirname, '..', 'src', 'main.ts')],
  outfile: resolve(root, 'dist', 'sample-app', 'main.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  sourcemap: 'inline',
  // pg's optional native binding is never used; CommonJS dependencies need `require`.
  external: ['pg-native'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
console.log('bundled dist/sample-app/main.mjs');
