// The layers of DESIGN.md, checked in `npm test` (npm run lint:deps). Arrows point down only:
//   cli → ops, controller, images → reconcilers → convert, store, hosts, backup, analysis → swarm → spec, crypto → util
// analysis (metric analysis of rollouts) needs neither Docker nor the store: only spec and util.
// The agent runtime imports only spec, crypto and util. Only src/swarm talks to Docker.
/** Folders under src/ a layer may import, besides itself. */
const allowed = {
  util: [],
  spec: ['util'],
  crypto: ['util'],
  swarm: ['spec', 'util'],
  convert: ['swarm', 'spec', 'crypto', 'util'],
  store: ['swarm', 'analysis', 'spec', 'util'],
  hosts: ['swarm', 'spec', 'crypto', 'util'],
  // The backup repository (chunks, packs, index, snapshots, lock): files and crypto only.
  backup: ['crypto', 'util'],
  analysis: ['spec', 'util'],
  reconcilers: ['convert', 'backup', 'store', 'hosts', 'analysis', 'swarm', 'spec', 'crypto', 'util'],
  images: ['swarm', 'spec', 'util'],
  ops: ['reconcilers', 'backup', 'convert', 'store', 'hosts', 'analysis', 'images', 'swarm', 'spec', 'crypto', 'util'],
  controller: ['reconcilers', 'backup', 'ops', 'convert', 'store', 'hosts', 'analysis', 'swarm', 'spec', 'crypto', 'util'],
  agent: ['spec', 'crypto', 'util'],
};
const layers = Object.keys(allowed);
const others = (layer) => layers.filter((l) => l !== layer && !allowed[layer].includes(l));

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'An import cycle ties modules that should be layered.', from: {}, to: { circular: true } },
    ...layers.map((layer) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer} may import only ${allowed[layer].length ? allowed[layer].map((l) => `src/${l}`).join(', ') : 'itself'} (DESIGN.md, Layout): move the shared code down a layer, or pass it in.`,
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${others(layer).join('|')}|cli)/` },
    })),
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      comment: 'Nothing below the CLI imports it (exit codes live in src/util/exit-codes.ts).',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-swarm-talks-to-docker',
      severity: 'error',
      comment: 'src/swarm is the only code that talks to the Docker Engine.',
      from: { path: '^src/', pathNot: '^src/swarm/' },
      to: { path: 'node_modules/(dockerode|docker-modem)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'convert-is-pure',
      severity: 'error',
      comment: 'Spec → Swarm objects is pure and deterministic: no I/O, no clock, no Docker adapter.',
      from: { path: '^src/convert/' },
      to: { path: '^(fs|net|http|https|child_process|dgram|node:(fs|net|http|https|child_process|dgram).*)$|^src/swarm/(docker-port|event-stream|images|engine)\\.ts$' },
    },
    {
      name: 'agent-runtime-only',
      severity: 'error',
      comment: 'The agent image carries no operator code: the agent imports only spec, crypto and util.',
      from: { path: '^src/agent/' },
      to: { path: '^src/(?!agent/|spec/|crypto/|util/)' },
    },
    {
      name: 'operator-imports-no-agent',
      severity: 'error',
      comment: 'The operator image carries no agent code (shared crypto lives in src/crypto).',
      from: { path: '^src/(?!agent/|cli/)' },
      to: { path: '^src/agent/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'src/spec/generated' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
