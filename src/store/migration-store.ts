// The cluster's migration, kept in the swarm like its rollout and v1 plan (register.ts):
//   <cluster>_bzzz-migration   labels: the phase reached, the transition's journal, content imports
// A controller killed mid-transition reads where it was from here; `parkV2` is what the cluster
// reconciler reads to hold v2 at zero replicas in v1-only.
import type { Config } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { MigrationState } from '../spec/migration.js';
import type { ClusterStore } from './cluster-store.js';
import { Register, registerFromConfigs, type RegisterKind } from './register.js';

export const MIGRATION_LABEL = 'io.bzzz.migration';
const MIGRATION_KIND: RegisterKind = { component: 'bzzz-migration', kind: 'migration', label: MIGRATION_LABEL, what: 'migration' };

export class MigrationStore extends Register<MigrationState> {
  constructor(port: SwarmPort, clusters: ClusterStore) {
    super(port, clusters, MIGRATION_KIND);
  }
}

export function migrationFromConfigs(cluster: string, configs: readonly Config[]): MigrationState | undefined {
  return registerFromConfigs<MigrationState>(MIGRATION_KIND, cluster, configs);
}
