#!/usr/bin/env node
// `npm test`: everything the suite needs, then the whole suite.
//   1. the command-line tools the tests run (b3sum, age, psql, busybox; Debian's packages)
//   2. a Docker Engine in swarm mode (installs and starts one on Debian when missing)
//   3. the small offline test images
//   4. a fresh build of the CLI (integration tests run `node bin/bzzzctl.js` as a user would)
//   5. type-check, format + lint (biome), layer rules (dependency-cruiser), then vitest: unit,
//      integration (real swarm), hosts (v1 hosts: real systemd, sshd, HAProxy), agent (real libp2p
//      on loopback), security (attacks on real agents)
// Extra arguments go to vitest, e.g. `npm test -- --project unit` (steps 1–3 skipped: unit tests
// need neither the tools nor the engine).
import { spawnSync } from 'node:child_process';

function step(title, cmd, args) {
  process.stderr.write(`\n== ${title}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`\n${title} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}

const extra = process.argv.slice(2);
const unitOnly = extra.join(' ').includes('--project unit');
if (!unitOnly) {
  step('test tools (scripts/install-tools.sh)', 'bash', ['scripts/install-tools.sh']);
  step('Docker Engine in swarm mode', 'bash', ['scripts/swarm-up.sh']);
  step('test images', 'bash', ['scripts/build-test-images.sh']);
}
step('build', process.execPath, ['scripts/build.mjs']);
// dist/ is fresh: tests that build images from it (test/support/agent-image.ts) need not rebuild it.
process.env.BZZZ_DIST_BUILT = '1';
if (!unitOnly) {
  step('v1 host test image (test/support/v1-host-image.ts)', process.execPath, [
    'node_modules/esbuild/bin/esbuild',
    'test/support/v1-host-image-main.ts',
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--packages=external',
    '--outfile=.build/test/v1-host-image.mjs',
    '--log-level=warning',
  ]);
  step('v1 host test image', process.execPath, ['.build/test/v1-host-image.mjs']);
}
step('type-check', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
step('format and lint (biome; `npm run format` fixes what it can)', 'npx', ['biome', 'check', '--error-on-warnings', '.']);
step('layers (dependency-cruiser: .dependency-cruiser.cjs)', 'npx', ['depcruise', 'src', '--config', '.dependency-cruiser.cjs']);
step('tests', 'npx', ['vitest', 'run', ...extra]);
