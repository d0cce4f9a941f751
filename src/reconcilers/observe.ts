// Observe: one read of everything the cluster owns plus the external objects its spec names.
// "Owns" is proven (src/swarm/ownership.ts): labels alone select candidates, the proof decides.
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, ownedBy } from '../swarm/labels.js';
import type { IdIndex, Observed } from './types.js';
import { ownershipCheck } from '../swarm/ownership.js';
import { stateFromConfigs } from '../store/cluster-store.js';

/** Everything the cluster owns, found by its labels: one parallel read of each kind. */
export async function observeOwned(port: SwarmPort, name: string): Promise<Omit<Observed, 'external'>> {
  const owned = { labels: ownedBy(name) };
  const [networks, secrets, configs, services] = await Promise.all([
    port.listNetworks(owned),
    port.listSecrets(owned),
    port.listConfigs(owned),
    port.listServices(owned),
  ]);
  // The record (found by its exact name) holds the ownership key; everything else must prove it
  // was made with that key, or it is a look-alike: reported, never adopted, changed or removed.
  const record = stateFromConfigs(name, configs).record;
  const check = ownershipCheck(record ? record.ownerKey : null);
  const ownedConfigs = configs.filter((c) => c.ID === record?.id || check.ours('config', c.Spec.Name, c.Spec.Labels));
  return {
    networks: networks.filter((n) => check.ours('network', n.Name, n.Labels)),
    secrets: secrets.filter((x) => check.ours('secret', x.Spec.Name, x.Spec.Labels)),
    // The operator's own state (stored specs, cluster record) is not a config of the cluster's
    // services; it is kept apart so that a pass reads its record from the same list.
    configs: ownedConfigs.filter((c) => !c.Spec.Labels?.[L.kind]),
    state: ownedConfigs.filter((c) => c.Spec.Labels?.[L.kind]),
    services: services.filter((x) => check.ours('service', x.Spec.Name, x.Spec.Labels)),
    lookAlikes: check.lookAlikes(),
  };
}

/** The external networks, secrets and configs the spec names (none read when it names none). */
export async function observeExternal(port: SwarmPort, cluster: BzzzCluster): Promise<Observed['external']> {
  const spec = cluster.spec;
  const extNets = Object.entries(spec.networks ?? {})
    .filter(([, n]) => n.external)
    .map(([l, n]) => n.name ?? l);
  const extSecrets = Object.values(spec.secrets ?? {})
    .map((s) => s.external)
    .filter((x): x is string => !!x);
  const extConfigs = Object.values(spec.configs ?? {})
    .map((c) => c.external)
    .filter((x): x is string => !!x);
  const [networks, secrets, configs] = await Promise.all([
    extNets.length ? port.listNetworks({ names: extNets }) : [],
    extSecrets.length ? port.listSecrets({ names: extSecrets }) : [],
    extConfigs.length ? port.listConfigs({ names: extConfigs }) : [],
  ]);
  return { networks, secrets, configs };
}

/** One read of everything the cluster owns plus the external objects its spec names. */
export async function observe(port: SwarmPort, cluster: BzzzCluster): Promise<Observed> {
  const [owned, external] = await Promise.all([observeOwned(port, cluster.metadata.name), observeExternal(port, cluster)]);
  return { ...owned, external };
}

export function idIndex(observed: Observed): IdIndex {
  return {
    secrets: new Map([...observed.secrets, ...observed.external.secrets].map((s) => [s.Spec.Name, s.ID])),
    configs: new Map([...observed.configs, ...observed.external.configs].map((c) => [c.Spec.Name, c.ID])),
  };
}
