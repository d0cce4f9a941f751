// Bundles the CLI with esbuild: one ESM entry with lazily loaded chunks per command, so a
// short command such as `bzzzctl validate` loads only what it uses (start-up time matters:
// see BENCHMARKS.md). npm packages stay external and load from node_modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { cli: 'src/cli/main.ts', polyfill: 'src/util/polyfill.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  chunkNames: 'chunks/[name]-[hash]',
});
