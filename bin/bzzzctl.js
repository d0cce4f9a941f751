#!/usr/bin/env node
// Entry point. The CLI is bundled into dist/ by scripts/build.mjs (`npm ci` runs it through the
// prepare script). Short commands are mostly start-up, so:
//   - `bzzzctl agent …` and `bzzzctl keys …` run the ES module build (dist/cli.js): libp2p and the
//     agent's other packages are ES modules only;
//   - every other command runs dist/core.cjs, compiled with a V8 code cache per command kept in
//     dist/code-cache/ (written after the first successful run; a new bundle gets new cache
//     files, and V8 rejects one made by another Node or with other flags, which is then
//     rewritten). Node 20 has no compile cache for ES modules; this saves most of the parse and
//     compile time of yaml, dockerode, commander and the validator.
// This file is CommonJS (bin/package.json says so): Node starts an ES module entry ~4 ms slower.
// A V8 start-up snapshot of core.cjs (`node --snapshot-blob … --build-snapshot`) was measured
// against this code cache (BENCHMARKS.md, apply section): no faster for apply (Node 20 cannot put
// `http` in a user snapshot, so dockerode still loads at run time; a 6.5–7 MB blob costs as much to
// deserialize as the cache saves), 3 ms faster for validate, and it would need a launcher that
// starts node with the blob's path and the very node binary that built it. Not used.
'use strict';
require('../dist/polyfill.cjs');
const { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const dist = join(__dirname, '..', 'dist');
const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '';

async function run() {
  if (command === 'agent' || command === 'keys') {
    const { main } = await import(pathToFileURL(join(dist, 'cli.js')).href);
    return main(process.argv);
  }
  const file = join(dist, 'core.cjs');
  // V8 checks a cache against the source's length, not its content: the name carries the
  // bundle's size and mtime, so a core.cjs replaced in place never runs with an old cache.
  const { size, mtimeMs } = statSync(file);
  const key = `${/^[a-z-]+$/.test(command) ? command : 'other'}-${size}-${Math.floor(mtimeMs)}`;
  const core = loadCore(file, join(dist, 'code-cache', `${key}.bin`));
  const code = await core.exports.main(process.argv);
  if (code === 0) core.saveCache?.();
  return code;
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bzzzctl: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);

/** Runs core.cjs as CommonJS, compiled with the code cache when there is a usable one. */
function loadCore(file, cacheFile) {
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const source = readFileSync(file, 'utf8');
  // Node's CommonJS wrapper, on the first line so that line numbers in stack traces stay right,
  // plus __bzzzImport: core.cjs imports the agent's ES modules through it (a vm script's own
  // import() needs an experimental loader).
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __bzzzImport) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  const importFromDist = (specifier) => import(new URL(specifier, pathToFileURL(`${dist}/`)).href);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dist, importFromDist);
  module.loaded = true;
  const fresh = cachedData === undefined || script.cachedDataRejected === true;
  return {
    exports: module.exports,
    // After a run, the cache holds every function that run compiled. Best effort: a read-only
    // install simply runs without one. Written to a temporary name first: runs may race.
    saveCache: fresh
      ? () => {
          try {
            mkdirSync(join(dist, 'code-cache'), { recursive: true });
            const tmp = `${cacheFile}.${process.pid}`;
            writeFileSync(tmp, script.createCachedData());
            renameSync(tmp, cacheFile);
          } catch {
            // not writable: no cache
          }
        }
      : undefined,
  };
}
