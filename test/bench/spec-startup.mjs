#!/usr/bin/env node
// Start-up cost of spec validation, as whole processes, against a bare `node -e ''` measured in
// the same run (the CLI's budget: `bzzzctl apply` ≤ 1.5× `docker stack deploy` ≈ 0.12 s, and a
// bare node already takes ~0.08 s). Prints each case's mean and its ratio to bare node:
//
//   import-validator     import the ahead-of-time compiled validator only
//   yaml+validator       import yaml + the validator, parse production.yaml, schema-validate it
//   validate-command     the whole `validate` command (parse, schema, defaults, semantic checks,
//                        output), bundled the way scripts/build.mjs bundles the CLI
//   bzzzctl validate     the whole CLI (commander, lazy command import), bundled as above
//   ... yaml bundled     the same command with the `yaml` package bundled into it instead of
//                        loaded from node_modules (its ~70 CommonJS files cost ~40 ms to resolve)
//   ajv-runtime-compile  peer: import ajv and compile the schema at run time instead (what the
//                        generated validator avoids)
//
//   node test/bench/spec-startup.mjs              # needs hyperfine (scripts/install-tools.sh --bench; run when missing)
//   BENCH_RUNS=50 node test/bench/spec-startup.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ensureTools } from './tools.mjs';

const root = resolve(import.meta.dirname, '../..');
const out = join(root, '.build/bench-spec'); // inside the repo so bundles resolve node_modules
const runs = Number(process.env.BENCH_RUNS ?? 30);
const spec = join(root, 'stacks/examples/production.yaml');

ensureTools(['hyperfine']); // Debian's hyperfine, from scripts/install-tools.sh --bench

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'src'), { recursive: true });
const entries = {
  'import-validator': `import { validate } from '${root}/src/spec/generated/validate-schema.js'; if (typeof validate !== 'function') process.exit(1);`,
  'yaml-validator': `import { parse } from 'yaml'; import { readFileSync } from 'node:fs';
import { validate } from '${root}/src/spec/generated/validate-schema.js';
if (!validate(parse(readFileSync(process.argv[2], 'utf8')))) process.exit(1);`,
  'validate-command': `import { validateCommand } from '${root}/src/cli/commands/validate.ts';
process.exitCode = await validateCommand({ filename: process.argv[2], output: 'text' });`,
  'ajv-runtime-compile': `import Ajv from 'ajv'; import { parse } from 'yaml'; import { readFileSync } from 'node:fs';
const schema = JSON.parse(readFileSync('${root}/schemas/bzzzcluster.schema.json', 'utf8'));
const validate = new Ajv({ allErrors: true, allowUnionTypes: true, strictRequired: false }).compile(schema);
if (!validate(parse(readFileSync(process.argv[2], 'utf8')))) process.exit(1);`,
};
for (const [name, code] of Object.entries(entries)) writeFileSync(join(out, 'src', `${name}.ts`), code);
await build({
  entryPoints: Object.keys(entries).map((n) => join(out, 'src', `${n}.ts`)),
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});

// The validate command again, with yaml inside the bundle (createRequire: yaml's CommonJS build
// requires node:process, which an ESM bundle cannot do with a bare require).
const deps = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies ?? {});
await build({
  entryPoints: { 'validate-command-yaml-bundled': join(out, 'src', 'validate-command.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  external: deps.filter((d) => d !== 'yaml'),
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

// The whole CLI, built like scripts/build.mjs builds dist/ (into .build so dist/ is untouched).
let cli;
try {
  await build({
    entryPoints: { cli: join(root, 'src/cli/main.ts'), polyfill: join(root, 'src/util/polyfill.ts') },
    outdir: join(out, 'cli'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    chunkNames: 'chunks/[name]-[hash]',
  });
  writeFileSync(
    join(out, 'cli', 'bzzzctl.mjs'),
    "import './polyfill.js';\nimport { main } from './cli.js';\nmain(process.argv).then((c) => { process.exitCode = c; });\n",
  );
  cli = `node ${join(out, 'cli', 'bzzzctl.mjs')} validate -f ${spec}`;
} catch {
  console.error('(the whole CLI does not build right now: its case is skipped)');
}

const commands = [
  ['bare node', `node -e ''`],
  ['import-validator', `node ${join(out, 'import-validator.js')}`],
  ['yaml+validator', `node ${join(out, 'yaml-validator.js')} ${spec}`],
  ['validate-command', `node ${join(out, 'validate-command.js')} ${spec}`],
  ...(cli ? [['bzzzctl validate', cli]] : []),
  ['... yaml bundled', `node ${join(out, 'validate-command-yaml-bundled.js')} ${spec}`],
  ['ajv-runtime-compile', `node ${join(out, 'ajv-runtime-compile.js')} ${spec}`],
];
const json = join(out, 'hyperfine.json');
const args = ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', json, '--style', 'none'];
for (const [name, cmd] of commands) args.push('-n', name, cmd);
const r = spawnSync('hyperfine', args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);

const results = JSON.parse(readFileSync(json, 'utf8')).results;
const bare = results[0];
console.log(`spec start-up, ${runs} runs each (mean ± σ; user CPU; ratio to bare node by mean and by user CPU)`);
for (const x of results) {
  const mean = (x.mean * 1000).toFixed(1);
  const sd = (x.stddev * 1000).toFixed(1);
  const user = (x.user * 1000).toFixed(1);
  console.log(
    `${x.command.padEnd(20)} ${mean.padStart(7)} ms ± ${sd.padStart(5)}   user ${user.padStart(6)} ms   ×${(x.mean / bare.mean).toFixed(2)}  (user ×${(x.user / bare.user).toFixed(2)})`,
  );
}
