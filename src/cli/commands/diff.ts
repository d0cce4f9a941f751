// bzzzctl diff -f FILE: what apply would create, change or remove, per object and field.
// Writes nothing. Exit 0: no changes; 1: changes; 2: error (kubectl diff's convention).
import { loadSpecFile } from '../../spec/index.js';
import { cliContext } from '../context.js';
import { versionedName } from '../../swarm/labels.js';
import { observe } from '../../reconcilers/observe.js';
import { planCluster } from '../../reconcilers/steps.js';
import { accessMaterial } from '../../reconcilers/access.js';
import { stateFromConfigs } from '../../store/cluster-store.js';
import type { Change, Problem } from '../../reconcilers/types.js';
import { resolveApply } from '../resolve-apply.js';
import { printDocument, printLines, type OutputFormat } from '../output.js';
import { EXIT_INVALID, EXIT_OK } from '../../util/exit-codes.js';

const SIGN = { create: '+', update: '~', remove: '-' } as const;

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function formatChanges(changes: Change[]): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    lines.push(`${SIGN[c.action]} ${c.kind} ${c.name}${c.reason ? `  (${c.reason})` : ''}`);
    for (const f of c.fields ?? []) lines.push(`    ${f.field}: ${show(f.from)} → ${show(f.to)}`);
  }
  return lines;
}

export async function diffCommand(opts: { filename: string; output: OutputFormat }): Promise<number> {
  const loaded = await loadSpecFile(opts.filename);
  const { port } = cliContext();
  // No separate preflight (as in apply): the engine's own refusal reaches the user translated.
  const [resolved, observed] = await Promise.all([resolveApply(loaded), observe(port, loaded.cluster)]);
  const record = stateFromConfigs(loaded.cluster.metadata.name, observed.state).record;
  const access = await accessMaterial(loaded.cluster, record?.ownerKey, resolved.doc.apiTokenHashes);
  const plan = planCluster({ ...resolved.doc, access }, observed, Date.now());

  // Secret versions from files and env vars are written by apply itself, not by the controller.
  const cluster = loaded.cluster.metadata.name;
  const owned = new Set(observed.secrets.map((s) => s.Spec.Name));
  const secretWrites: Change[] = Object.entries(resolved.doc.secretVersions)
    .map(([logical, h]) => versionedName(cluster, logical, h))
    .filter((n) => !owned.has(n))
    .map((name) => ({ action: 'create', kind: 'secret', name, reason: 'new value' }));
  const written = new Set(secretWrites.map((c) => `secret ${c.name}`));
  const problems: Problem[] = plan.problems.filter((p) => !written.has(p.object));
  const changes = [...secretWrites, ...plan.changes];

  if (opts.output !== 'text') printDocument({ cluster, changes, problems }, opts.output);
  else {
    printLines(formatChanges(changes));
    if (problems.length) process.stderr.write(problems.map((p) => `warning: ${p.message}\n`).join(''));
  }
  return changes.length ? EXIT_INVALID : EXIT_OK;
}
