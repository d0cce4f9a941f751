// The objects and desired services of a stored spec against what is observed (pure). The steps
// (steps.ts) are planned from these.
import type { StoredSpec } from '../store/cluster-store.js';
import { buildServices, defaultNetworkRefs, type DesiredService } from '../convert/services.js';
import { planNetworks, type NetworkPlan } from './networks.js';
import { planSecrets, type SecretPlan } from './secrets.js';
import { planConfigs, type ConfigPlan } from './configs.js';
import { planKeys, type KeysPlan } from './keys.js';
import type { Observed } from './types.js';
import { planAccess, type AccessMaterial, type AccessPlan } from './access.js';

export type SpecInput = Pick<StoredSpec, 'cluster' | 'secretVersions' | 'configContents'> & {
  /** Derived identities, member list and callers (access.ts); absent before the cluster is stored. */
  access?: AccessMaterial;
};

export interface ObjectsPlan {
  networks: NetworkPlan;
  secrets: SecretPlan;
  configs: ConfigPlan;
  keys: KeysPlan;
  access: AccessPlan;
}

/** Every secret and config name the cluster uses now (everything else it owns is an old version). */
export function wantedNames(objects: ObjectsPlan): { secrets: Set<string>; configs: Set<string> } {
  return {
    secrets: new Set([...objects.secrets.names.values(), ...objects.keys.secretNames.values(), ...objects.access.secretNames.values()]),
    configs: new Set([...objects.configs.names.values(), ...objects.keys.configNames.values(), ...objects.access.configNames.values()]),
  };
}

export function planObjects(spec: SpecInput, observed: Observed): ObjectsPlan {
  return {
    networks: planNetworks(spec.cluster, observed),
    secrets: planSecrets(spec.cluster, spec.secretVersions, observed),
    configs: planConfigs(spec.cluster, spec.configContents, observed),
    keys: planKeys(spec.cluster, observed),
    access: planAccess(spec.cluster, spec.access, observed),
  };
}

/** Desired services, referring to the secret/config versions and networks the objects plan resolved. */
export function desiredServices(spec: SpecInput, objects: ObjectsPlan): DesiredService[] {
  const networkName = defaultNetworkRefs(spec.cluster);
  const name = spec.cluster.metadata.name;
  return buildServices(spec.cluster, {
    secretName: (l) =>
      objects.secrets.names.get(l) ?? objects.keys.secretNames.get(l) ?? objects.access.secretNames.get(l) ?? `${name}_${l}-?`,
    configName: (l) =>
      objects.configs.names.get(l) ?? objects.keys.configNames.get(l) ?? objects.access.configNames.get(l) ?? `${name}_${l}-?`,
    networkName,
  });
}
