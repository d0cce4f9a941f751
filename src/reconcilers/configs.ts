// Configs: immutable like secrets, so each content version is `<cluster>_<logical>-<hash8>`.
// Contents come from the stored spec (apply resolved files and inline content), so the
// controller can recreate a config removed by hand.
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { configHash8, L, ownerLabels, versionedName } from '../swarm/labels.js';
import type { Change, IdIndex, Observed, Problem } from './types.js';
import { failures } from './problems.js';
import { compareStrings } from '../util/compare.js';

export interface ConfigPlan {
  names: Map<string, string>;
  create: Array<{ logical: string; name: string; hash8: string; content: string }>;
  changes: Change[];
  problems: Problem[];
}

export function planConfigs(cluster: BzzzCluster, contents: Record<string, string>, observed: Observed): ConfigPlan {
  const name = cluster.metadata.name;
  const names = new Map<string, string>();
  const create: ConfigPlan['create'] = [];
  const changes: Change[] = [];
  const problems: Problem[] = [];
  const owned = new Set(observed.configs.map((c) => c.Spec.Name));
  const external = new Set(observed.external.configs.map((c) => c.Spec.Name));
  for (const [logical, c] of Object.entries(cluster.spec.configs ?? {}).sort(([a], [b]) => compareStrings(a, b))) {
    if (c.external) {
      names.set(logical, c.external);
      if (!external.has(c.external)) {
        problems.push({
          object: `config ${c.external}`,
          reason: 'ExternalConfigMissing',
          message: `config ${c.external} (spec.configs.${logical}.external) does not exist: create it with docker config create ${c.external} FILE`,
        });
      }
      continue;
    }
    const content = contents[logical];
    if (content === undefined) {
      problems.push({
        object: `config ${logical}`,
        reason: 'ConfigContentMissing',
        message: `config ${logical}: the stored spec has no content for it; re-run bzzzctl apply -f FILE`,
      });
      continue;
    }
    const hash8 = configHash8(content);
    const n = versionedName(name, logical, hash8);
    names.set(logical, n);
    if (!owned.has(n)) {
      create.push({ logical, name: n, hash8, content });
      changes.push({ action: 'create', kind: 'config', name: n });
    }
  }
  return { names, create, changes, problems };
}

export async function createConfigs(port: SwarmPort, cluster: string, plan: ConfigPlan, ids: IdIndex): Promise<Problem[]> {
  const results = await Promise.allSettled(
    plan.create.map(async (c) => {
      const id = await port.createConfig({
        Name: c.name,
        Labels: { ...ownerLabels(cluster, `config-${c.logical}`), [L.logical]: c.logical, [L.contentHash]: c.hash8 },
        Data: Buffer.from(c.content).toString('base64'),
      });
      ids.configs.set(c.name, id);
    }),
  );
  return failures(
    results,
    plan.create.map((c) => `config ${c.name}`),
    'ConfigCreateFailed',
  );
}

export function planConfigPrune(
  observed: Observed,
  wanted: Set<string>,
  stillReferenced: Set<string>,
): Array<{ id: string; name: string; change: Change }> {
  return observed.configs
    .filter((c) => !wanted.has(c.Spec.Name) && !stillReferenced.has(c.Spec.Name))
    .map((c) => ({
      id: c.ID,
      name: c.Spec.Name,
      change: { action: 'remove', kind: 'config', name: c.Spec.Name, reason: 'old version, no longer used' } as Change,
    }));
}
