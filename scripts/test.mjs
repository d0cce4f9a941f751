#!/usr/bin/env node
// `npm test`: everything the suite needs, then the whole suite.
//   1. the command-line tools the tests run (b3sum, age, psql, busybox; Debian's packages)
//   2. a Docker Engine in swarm mode (installs and starts one on Debian when missing)
//   3. the small offline test images
//   4. a fresh build of the CLI (integration tests run `node bin/bzzzctl.js` as a user would)
//   5. type-check, format + lint (biome), layer rules (dependency-cruiser), then vitest: unit,
//      integration (real swarm), hosts (v1 hosts: real systemd, sshd, HAProxy), agent (real libp2p
//      on loopback), security (attacks on real agents); the integration project in its own lane
//      beside the others (see lanes() below)
// Extra arguments go to vitest, e.g. `npm test -- --project unit` (steps 1–3 skipped: unit tests
// need neither the tools nor the engine).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
if (extra.length > 0) step('tests', 'npx', ['vitest', 'run', ...extra]);
else await lanes();

// vitest runs its projects one after another on this 2-CPU machine (one worker), so the suite
// took the sum of all of them (~30 min). The integration project (real swarm, one controller
// lease, mostly waiting on the engine) runs in its own vitest process beside the others, which
// take no lease and were built to run beside it (DESIGN.md). Each line is prefixed with its lane.
async function lanes() {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const run = (name, projects) =>
    new Promise((resolve) => {
      const started = Date.now();
      const args = ['vitest', 'run', ...projects.flatMap((p) => ['--project', p])];
      process.stderr.write(`\n== tests, lane ${name}: npx ${args.join(' ')}\n`);
      const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], env: plainEnv() });
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
      }
      child.on('close', (code, signal) => resolve({ name, code: code ?? 1, signal, seconds: Math.round((Date.now() - started) / 1000) }));
    });
  const results = await Promise.all([run('integration', ['integration']), run('others', otherProjects())]);
  for (const r of results)
    process.stderr.write(`lane ${r.name}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.signal ?? r.code})`} in ${r.seconds} s\n`);
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) {
    process.stderr.write(
      `\ntests failed in lane(s) ${failed.map((r) => r.name).join(', ')}: search the output for "[${failed[0].name}]" and FAIL\n`,
    );
    process.exit(1);
  }
}

/** Every project of vitest.config.ts but integration, so a project added there runs here too. */
function otherProjects() {
  const text = readFileSync('vitest.config.ts', 'utf8');
  const names = [...text.matchAll(/\bname: '([a-z0-9-]+)'/g)].map((m) => m[1]).filter((n) => n !== 'integration');
  if (names.length === 0) throw new Error("vitest.config.ts: no project names found (`name: '…'`); scripts/test.mjs lanes() reads them");
  return names;
}

/** The environment without colours: lines of two lanes interleave, escape codes would too. */
function plainEnv() {
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return env;
}
