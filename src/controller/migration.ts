// The migration in the controller process, composed: the migration reconciler with the v1 side
// (SSH key from the secrets directory), the content importer into the agents' store, the v1
// archiver, the rollout analyzer for the cutover holds, and Slack for every phase change.
import type { ClusterStore } from '../store/cluster-store.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { SwarmPort } from '../swarm/port.js';
import type { MigrationEvent } from '../spec/migration.js';
import { createMigrationReconciler, type ContentImporter } from '../reconcilers/migration-reconciler.js';
import { agentApiTarget, createRolloutAnalyzer, type RolloutAnalyzerOptions } from '../reconcilers/rollout-analysis.js';
import { HttpBlobSink, importV1Log } from '../reconcilers/content-import.js';
import { SshV1Archiver, SshV1LogReader } from '../hosts/index.js';
import { deriveApiToken, MIGRATION_CALLER } from '../crypto/derive.js';
import { mountedKeyFile as keyFileOf, readPrivateKey } from '../ops/v1-side.js';
import { InvalidInputError } from '../util/errors.js';
import type { Reconciler } from '../reconcilers/reconciler.js';
import { openV1Side } from '../ops/v1-side.js';
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
        keyFile: keyFileOf(o.secretsDir, cluster, v1),
        where: `mount the secret ${cluster}_${v1.ssh.privateKeySecret} into the controller (--secrets-dir ${o.secretsDir})`,
        log: o.log.child({ component: 'v1-hosts', cluster }),
      }),
    analyzer: createRolloutAnalyzer({ agentsVia: o.agentsVia, signal: o.signal }),
    content: (cluster) => importer(cluster),
    archiver: new SshV1Archiver({ privateKey: (cluster) => keyOf(cluster), log: o.log.child({ component: 'v1-archive' }) }),
    onEvent: (cluster, e) => o.announce(cluster, migrationNotification(cluster, e)),
  });
  /** The cluster's SSH key, read from the secrets directory (the stored spec names the secret). */
  async function keyOf(cluster: string): Promise<string> {
    const v1 = (await spec(cluster)).cluster.spec.v1;
    if (!v1) throw new InvalidInputError(`cluster ${cluster} has no spec.v1`);
    return readPrivateKey(
      keyFileOf(o.secretsDir, cluster, v1),
      `mount the secret ${cluster}_${v1.ssh.privateKeySecret} into the controller`,
    );
  }

  async function spec(cluster: string) {
    const rec = await o.store.get(cluster);
    if (!rec) throw new InvalidInputError(`cluster ${cluster} does not exist`);
    return { rec, ...(await o.store.getSpec(cluster, rec.generation)) };
  }

  /** Imports through one agent's API with the migration's own caller (role backend_developer). */
  async function importer(cluster: string): Promise<ContentImporter> {
    const s = await spec(cluster);
    const baseUrl = agentApiTarget(s.cluster, o.agentsVia);
    if (!baseUrl)
      throw new InvalidInputError(
        `cluster ${cluster}: no agent API to import through (publish an agent's api port, or run the controller in the swarm)`,
      );
    if (!s.rec.ownerKey) throw new InvalidInputError(`cluster ${cluster} has no owner key: apply it again with this release`);
    const sink = new HttpBlobSink({ baseUrl, token: deriveApiToken(s.rec.ownerKey, MIGRATION_CALLER), signal: o.signal });
    const reader = new SshV1LogReader({ privateKey: await keyOf(cluster) });
    return {
      async importHost({ host, path, maxBytes, signal, onProgress }) {
        const r = await importV1Log({
          host: host.name,
          open: () => reader.read(host, path, { maxBytes, signal }),
          sink,
          signal,
          onProgress: (p) => onProgress?.({ phase: p.phase, entries: p.entries, bytes: p.bytes }),
        });
        if (r.ok)
          return {
            ok: true,
            entries: r.entries,
            bytes: r.report.bytes,
            manifest: r.manifest,
            stored: r.stored,
            existing: r.existing,
            skipped: r.skipped,
          };
        return {
          ok: false,
          entries: r.report.entries,
          bytes: r.report.bytes,
          breaks: r.report.breaks.map((b) => ({ line: b.line, ...(b.index !== undefined ? { index: b.index } : {}), reason: b.message })),
          detail: r.reason,
        };
      },
    };
  }

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
