// The whole plan of one pass, pure: what `bzzzctl diff` prints and the reconciler performs.
import type { StoredSpec } from '../store/cluster-store.js';
import { buildServices, defaultNetworkRefs, type DesiredService } from '../convert/services.js';
import { planNetworks, type NetworkPlan } from './networks.js';
import { planSecrets, type SecretPlan } from './secrets.js';
import { planConfigs, type ConfigPlan } from './configs.js';
import { planServices, type ServicePlan } from './services.js';
import { planKeys, type KeysPlan } from './keys.js';
import type { Change, Observed, Problem } from './types.js';

export type SpecInput = Pick<StoredSpec, 'cluster' | 'secretVersions' | 'configContents'>;

export interface ObjectsPlan {
  networks: NetworkPlan;
  secrets: SecretPlan;
  configs: ConfigPlan;
  keys: KeysPlan;
}

/** Every secret and config name the cluster uses now (everything else it owns is an old version). */
export function wantedNames(objects: ObjectsPlan): { secrets: Set<string>; configs: Set<string> } {
  return {
    secrets: new Set([...objects.secrets.names.values(), ...objects.keys.secretNames.values()]),
    configs: new Set([...objects.configs.names.values(), ...objects.keys.configNames.values()]),
  };
}

export function planObjects(spec: SpecInput, observed: Observed): ObjectsPlan {
  return {
    networks: planNetworks(spec.cluster, observed),
    secrets: planSecrets(spec.cluster, spec.secretVersions, observed),
    configs: planConfigs(spec.cluster, spec.configContents, observed),
    keys: planKeys(spec.cluster, observed),
  };
}

/** Desired services, referring to the secret/config versions and networks the objects plan resolved. */
export function desiredServices(spec: SpecInput, objects: ObjectsPlan): DesiredService[] {
  const networkName = defaultNetworkRefs(spec.cluster);
  const name = spec.cluster.metadata.name;
  return buildServices(spec.cluster, {
    secretName: (l) => objects.secrets.names.get(l) ?? objects.keys.secretNames.get(l) ?? `${name}_${l}-?`,
    configName: (l) => objects.configs.names.get(l) ?? objects.keys.configNames.get(l) ?? `${name}_${l}-?`,
    networkName,
  });
}

export interface ClusterPlan {
  objects: ObjectsPlan;
  desired: DesiredService[];
  services: ServicePlan;
  changes: Change[];
  problems: Problem[];
}

/** Full plan against what is observed now (for diff: nothing is written). Prunes of old secret/config versions are listed when nothing would still use them. */
export function planCluster(spec: SpecInput, observed: Observed): ClusterPlan {
  const objects = planObjects(spec, observed);
  const desired = desiredServices(spec, objects);
  const services = planServices(desired, observed);
  const changes = [
    ...objects.networks.changes,
    ...objects.secrets.changes,
    ...objects.configs.changes,
    ...objects.keys.changes,
    ...services.changes,
    ...objects.networks.pruneChanges,
  ];
  const used = wantedNames(objects);
  for (const s of observed.secrets)
    if (!used.secrets.has(s.Spec.Name))
      changes.push({ action: 'remove', kind: 'secret', name: s.Spec.Name, reason: 'old version, no longer used' });
  for (const c of observed.configs)
    if (!used.configs.has(c.Spec.Name))
      changes.push({ action: 'remove', kind: 'config', name: c.Spec.Name, reason: 'old version, no longer used' });
  return {
    objects,
    desired,
    services,
    changes,
    problems: [...objects.networks.problems, ...objects.secrets.problems, ...objects.configs.problems],
  };
}
