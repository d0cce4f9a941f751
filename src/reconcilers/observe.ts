// Observe: one read of everything the cluster owns plus the external objects its spec names.
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, ownedBy } from '../swarm/labels.js';
import type { IdIndex, Observed } from './types.js';

export async function observe(port: SwarmPort, cluster: BzzzCluster): Promise<Observed> {
  const name = cluster.metadata.name;
  const owned = { labels: ownedBy(name) };
  const spec = cluster.spec;
  const extNets = Object.entries(spec.networks ?? {}).filter(([, n]) => n.external).map(([l, n]) => n.name ?? l);
  const extSecrets = Object.values(spec.secrets ?? {}).map((s) => s.external).filter((x): x is string => !!x);
  const extConfigs = Object.values(spec.configs ?? {}).map((c) => c.external).filter((x): x is string => !!x);
  const [networks, secrets, configs, services, eNets, eSecrets, eConfigs] = await Promise.all([
    port.listNetworks(owned),
    port.listSecrets(owned),
    port.listConfigs(owned),
    port.listServices(owned),
    extNets.length ? port.listNetworks({ names: extNets }) : [],
    extSecrets.length ? port.listSecrets({ names: extSecrets }) : [],
    extConfigs.length ? port.listConfigs({ names: extConfigs }) : [],
  ]);
  return {
    networks,
    secrets,
    // The operator's own state (stored specs, cluster record) is not a config of the cluster's services.
    configs: configs.filter((c) => !c.Spec.Labels?.[L.kind]),
    services,
    external: { networks: eNets, secrets: eSecrets, configs: eConfigs },
  };
}

export function idIndex(observed: Observed): IdIndex {
  return {
    secrets: new Map([...observed.secrets, ...observed.external.secrets].map((s) => [s.Spec.Name, s.ID])),
    configs: new Map([...observed.configs, ...observed.external.configs].map((c) => [c.Spec.Name, c.ID])),
  };
}
