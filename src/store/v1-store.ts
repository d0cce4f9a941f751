// The cluster's v1 plan, kept in the swarm like its rollout (register.ts):
//   <cluster>_bzzz-v1   labels: the last switch between v2 and the v1 systemd services (JSON)
// Its journal is what a controller killed mid-plan reads to go on, and its `parked` flag is what
// the cluster reconciler reads to hold the v2 services at zero replicas.
import type { Config } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { V1PlanState } from '../spec/v1.js';
import type { ClusterStore } from './cluster-store.js';
import { Register, registerFromConfigs, type RegisterKind } from './register.js';

export const V1_LABEL = 'io.bzzz.v1';
const V1_KIND: RegisterKind = { component: 'bzzz-v1', kind: 'v1-plan', label: V1_LABEL, what: 'v1 plan' };

export class V1Store extends Register<V1PlanState> {
  constructor(port: SwarmPort, clusters: ClusterStore) {
    super(port, clusters, V1_KIND);
  }
}

/** The v1 plan a list of the cluster's state configs holds (observe lists them every pass). */
export function v1PlanFromConfigs(cluster: string, configs: readonly Config[]): V1PlanState | undefined {
  return registerFromConfigs<V1PlanState>(V1_KIND, cluster, configs);
}
