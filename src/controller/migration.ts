// The migration in the controller process, composed: the migration reconciler with the v1 side
// (SSH key from the secrets directory), the content importer into the agents' store, the v1
// archiver, the rollout analyzer for the cutover holds, and Slack for every phase change.
import type { ClusterStore } from '../store/cluster-store.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { SwarmPort } from '../swarm/port.js';
import type { MigrationEvent } from '../spec/migration.js';
import { createMigrationReconciler } from '../reconcilers/migration-reconciler.js';
import { createRolloutAnalyzer, type RolloutAnalyzerOptions } from '../reconcilers/rollout-analysis.js';
import type { Reconciler } from '../reconcilers/reconciler.js';
import { mountedKeyFile, openV1Side } from '../ops/v1-side.js';
import type { Logger } from '../util/log.js';
import type { RolloutNotification } from './notify/slack-message.js';

export interface MigrationWiringOptions {
  port: SwarmPort;
  store: ClusterStore;
  migrations: MigrationStore;
  log: Logger;
  secretsDir: string;
  agentsVia?: RolloutAnalyzerOptions['agentsVia'];
  signal?: AbortSignal;
  announce(cluster: string, n: RolloutNotification): void;
}

export function createMigrationWiring(o: MigrationWiringOptions): { reconciler: Reconciler } {
  const reconciler = createMigrationReconciler({
    port: o.port,
    store: o.store,
    migrations: o.migrations,
    log: o.log,
    side: (cluster, v1) =>
      openV1Side({
        v1,
        keyFile: mountedKeyFile(o.secretsDir, cluster, v1),
        where: `mount the secret ${cluster}_${v1.ssh.privateKeySecret} into the controller (--secrets-dir ${o.secretsDir})`,
        log: o.log.child({ component: 'v1-hosts', cluster }),
      }),
    analyzer: createRolloutAnalyzer({ agentsVia: o.agentsVia, signal: o.signal }),
    onEvent: (cluster, e) => o.announce(cluster, migrationNotification(cluster, e)),
  });
  return { reconciler };
}

export function migrationNotification(cluster: string, e: MigrationEvent): RolloutNotification {
  const what =
    e.kind === 'phase'
      ? `phase ${e.to} reached (from ${e.from})`
      : e.kind === 'step-back'
        ? `walking back from ${e.from} to ${e.to}`
        : e.kind === 'blocked'
          ? 'blocked'
          : e.kind;
  return { event: 'migration', cluster, revision: 0, at: new Date(e.at), detail: `${what}${e.detail ? `: ${e.detail}` : ''}` };
}
