// Builds the CLI into dist/ with esbuild. Start-up time matters: `bzzzctl apply` is compared with
// `docker stack deploy` (~0.08 s, about a bare `node -e ''`), see test/bench/apply-vs-stack.mjs.
//
//   dist/core.cjs  every command except the agent runtime's (validate, apply, diff, status,
//                  delete, controller, up, down), as one CommonJS file: bin/bzzzctl.js compiles it
//                  with a V8 code cache kept in dist/code-cache/, which Node 20 cannot do for ES
//                  modules (its module compile cache arrives in Node 22).
//   dist/cli.js    the same CLI as ES modules with lazily loaded chunks: `bzzzctl agent` and
//                  `bzzzctl keys` run from it (libp2p and its friends are ES modules only), and
//                  dist/agent-*.js are the agent modules core.cjs imports lazily (role keys).
//   dist/polyfill.cjs  Promise.withResolvers for libp2p on Node 20 (bin/bzzzctl.js loads it first).
//
// What goes into the bundles, and why:
//   - The packages of the controller-side commands (BUNDLED below) and everything they pull in.
//     From node_modules they cost ~300 CommonJS files to resolve and read at every start
//     (dockerode alone ~210); bundled they are part of one file.
//   - dockerode's dependencies that no bzzzctl command uses are replaced by stubs (UNUSED) where
//     dockerode and its dependencies import them: ssh2 (ssh:// DOCKER_HOST; src/hosts' own import
//     of ssh2 stays external), @grpc/grpc-js + @grpc/proto-loader + protobufjs (BuildKit
//     sessions of `buildImage`), tar-fs (image build contexts). A stub loads for free and throws
//     a clear error if it is ever called. readable-stream (docker-modem's hijacked streams) is
//     Node's own stream module under another name.
//   - Everything else (libp2p and the agent runtime's packages, prom-client, ...) stays external
//     and loads from node_modules, only on the commands that use it.
// The build goes to a fresh directory that then replaces dist/ at once, so a `bzzzctl` started
// while another build runs never sees a half-written dist/.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, relative, resolve, sep } from 'node:path';

const BUNDLED = new Set(['commander', 'yaml', 'dockerode']);

const UNUSED = {
  ssh2: 'ssh:// Docker hosts',
  '@grpc/grpc-js': 'BuildKit sessions of image builds',
  '@grpc/proto-loader': 'BuildKit sessions of image builds',
  protobufjs: 'BuildKit sessions of image builds',
  'tar-fs': 'image build contexts',
};

/** Agent and crypto modules core.cjs may import lazily (dynamic import()), served as ES modules from dist/. */
const AGENT_ENTRIES = {
  'esm-crypto': 'src/crypto/index.ts',
  'esm-peer-identity': 'src/crypto/peer-identity.ts',
  'esm-membership': 'src/crypto/membership.ts',
  'agent-run': 'src/agent/cli/run.ts',
  'agent-keys': 'src/agent/cli/keys.ts',
};

const packageName = (spec) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const nodeModules = `${sep}node_modules${sep}`;

/** A module whose every property is another such module and which throws when called or constructed. */
function stubSource(name, why) {
  return `const message = (path) => ${JSON.stringify(name)} + ' is not included in the bzzzctl bundle (used only for ${why}; called: ' + path + '). ' +
  'bzzzctl talks to the Docker engine over a unix socket or a tcp:// DOCKER_HOST: set DOCKER_HOST to one of those ' +
  '(a remote engine over SSH: ssh -NL /tmp/docker.sock:/var/run/docker.sock HOST, then DOCKER_HOST=unix:///tmp/docker.sock).';
function unavailable(path) {
  const fail = () => { throw new Error(message(path)); };
  return new Proxy(function unavailableModule() {}, {
    get: (target, prop) => (typeof prop === 'symbol' || prop === 'then' || prop === '__esModule' ? undefined : unavailable(path + '.' + prop)),
    apply: fail,
    construct: fail,
  });
}
module.exports = unavailable(${JSON.stringify(name)});
`;
}

/** Bundles BUNDLED packages (and, transitively, what they import), stubs UNUSED, leaves the rest external. */
const dependencyPolicy = {
  name: 'bzzzctl-dependencies',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isAbsolute(args.path) || args.path.startsWith('node:')) return undefined;
      const name = packageName(args.path);
      const fromDependency = args.importer.includes(nodeModules);
      // Stubbed where dockerode & co. import them; src/hosts uses ssh2 itself (from node_modules).
      if (UNUSED[name] && fromDependency) return { path: name, namespace: 'unused-stub' };
      if (fromDependency || BUNDLED.has(name)) return undefined; // bundled: esbuild resolves it
      return { path: args.path, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'unused-stub' }, (args) => ({ contents: stubSource(args.path, UNUSED[args.path]), loader: 'js' }));
  },
};

/**
 * Node built-ins that a bundled package loads at start but uses only on paths bzzzctl never or
 * rarely takes: commander spawns executable subcommands (bzzzctl has none), docker-modem talks
 * https only to a TLS DOCKER_HOST, dockerode gzips image build contexts. Each is replaced for that
 * package by a module that loads the real one on first use: 4–5 ms less start-up per command.
 */
const LAZY_BUILTINS = { commander: ['child_process'], 'docker-modem': ['https'], dockerode: ['zlib'] };

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const names = [...new Set(Object.values(LAZY_BUILTINS).flat())];
    const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
    b.onResolve({ filter }, (args) => {
      const builtin = args.path.replace(/^node:/, '');
      const inPackage = (pkg) => args.importer.includes(`${nodeModules}${pkg}${sep}`);
      if (!Object.entries(LAZY_BUILTINS).some(([pkg, list]) => list.includes(builtin) && inPackage(pkg))) return undefined;
      return { path: builtin, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `let real;
const load = () => (real ??= require('node:${args.path}'));
module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });
`,
      loader: 'js',
    }));
  },
};

/**
 * docker-modem formats every request with util.inspect(options, { showHidden: true, depth: null })
 * for a debug line, even when that debug namespace is off: 2–8 ms per request in a short command
 * (more with a custom http agent in the options). The bundle guards the call with debug.enabled.
 */
const quietModem = {
  name: 'quiet-docker-modem',
  setup(b) {
    b.onLoad({ filter: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const call = "debug('Sending: %s', util.inspect(options, {";
      if (!source.includes(call)) {
        return {
          errors: [
            {
              text: `${args.path}: the debug line quiet-docker-modem guards is gone (docker-modem changed): check whether it still formats every request, then update or drop this plugin in scripts/build.mjs`,
            },
          ],
        };
      }
      return { contents: source.replace(call, `if (debug.enabled) ${call}`), loader: 'js' };
    });
  },
};

/** In core.cjs, a lazy import of an agent module loads its ES module build (AGENT_ENTRIES) instead. */
const agentModulesFromEsm = {
  name: 'agent-modules-from-esm',
  setup(b) {
    const entryOf = new Map(Object.entries(AGENT_ENTRIES).map(([entry, src]) => [resolve(src), entry]));
    b.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const target = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      if (![resolve('src/agent'), resolve('src/crypto')].some((dir) => target.startsWith(dir + sep))) return undefined;
      const entry = entryOf.get(target);
      if (!entry) {
        return {
          errors: [
            {
              text: `${relative('.', args.importer)} imports ${relative('.', target)} lazily: add it to AGENT_ENTRIES in scripts/build.mjs (agent modules load as ES modules)`,
            },
          ],
        };
      }
      return { path: `./${entry}.js`, external: true };
    });
  },
};

/**
 * core.cjs runs inside a vm script (for the code cache), where import() would need an
 * experimental loader: its lazy imports of the agent's ES modules go through __bzzzImport, which
 * bin/bzzzctl.js passes in. Its other external packages must load with require().
 */
function checkCore(file) {
  const source = readFileSync(file, 'utf8');
  const rewritten = source.replace(/\bimport\("(\.\/(?:agent|esm)-[a-z-]+\.js)"\)/g, '__bzzzImport("$1")');
  const left = rewritten.match(/\bimport\(\s*["'`][^"'`]*["'`]\s*\)/g);
  if (left) throw new Error(`core.cjs: dynamic import left that cannot run in the code-cached core: ${left.join(', ')}`);
  writeFileSync(file, rewritten);
  const req = createRequire(import.meta.url);
  for (const m of source.matchAll(/\brequire\("([^"]+)"\)/g)) {
    const spec = m[1];
    if (spec.startsWith('node:') || spec.startsWith('.') || req('node:module').isBuiltin(spec)) continue;
    try {
      req.resolve(spec);
    } catch (err) {
      throw new Error(
        `core.cjs requires ${spec}, which cannot be loaded with require() (${err.code}): bundle it (BUNDLED in scripts/build.mjs) or import it lazily from an agent module`,
      );
    }
  }
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  alias: { 'readable-stream': 'node:stream' },
  sourcemap: true,
  logLevel: 'warning',
};

const out = resolve('dist');
const staging = resolve(`.dist-build-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
try {
  await build({
    ...common,
    entryPoints: { cli: 'src/cli/main.ts', ...AGENT_ENTRIES },
    outdir: staging,
    splitting: true,
    format: 'esm',
    plugins: [lazyBuiltins, dependencyPolicy, quietModem],
    // CommonJS packages inside an ESM bundle: `require` of Node built-ins needs a real require.
    banner: {
      js: "import { createRequire as __bzzzCreateRequire } from 'node:module'; const require = __bzzzCreateRequire(import.meta.url);",
    },
    chunkNames: 'chunks/[name]-[hash]',
  });
  // bin/bzzzctl.js is CommonJS (bin/package.json): an ES module entry costs Node ~4 ms more to start.
  await build({
    ...common,
    entryPoints: { polyfill: 'src/util/polyfill.ts' },
    outdir: staging,
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
  });
  await build({
    ...common,
    entryPoints: { core: 'src/cli/main.ts' },
    outdir: staging,
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    plugins: [agentModulesFromEsm, lazyBuiltins, dependencyPolicy, quietModem],
    // Modules that locate the package from their own file keep working from core.cjs.
    define: { 'import.meta.url': '__bzzzImportMetaUrl' },
    banner: { js: "var __bzzzImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  checkCore(resolve(staging, 'core.cjs'));
  mkdirSync(resolve(staging, 'code-cache'));
  const old = resolve(`.dist-old-${process.pid}`);
  try {
    renameSync(out, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  renameSync(staging, out);
  rmSync(old, { recursive: true, force: true });
} finally {
  rmSync(staging, { recursive: true, force: true });
}
