// The backup repository (src/backup) and the cluster's sources, targets and drill
// (src/ops/backup-*.ts) as the controller and `bzzzctl backup` use them. Until those land, this
// file holds their agreed signatures and refuses at run time; the merge replaces the bodies
// (each says by what) and nothing else changes.
import type { BackupSource, ProgressListener, RestoreTarget, RetentionPolicy, SnapshotSummary, VerifyReport } from '../backup/types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { BzzzCluster } from '../spec/types.js';
import type { Logger } from '../util/log.js';
import { BzzzError } from '../util/errors.js';

/** src/backup's Repository, as far as the jobs use it (the real one is assignable to it). */
export interface Repository {
  backup(
    sources: readonly BackupSource[],
    o: { cluster: string; reason: string; tags?: Record<string, string>; signal?: AbortSignal; onProgress?: ProgressListener },
  ): Promise<SnapshotSummary>;
  snapshots(o?: { cluster?: string }): Promise<SnapshotSummary[]>;
  findSnapshot(idOrPrefix: string, cluster?: string): Promise<SnapshotSummary>;
  verify(o?: {
    readData?: boolean | { subsetPercent: number };
    signal?: AbortSignal;
    onProgress?: ProgressListener;
  }): Promise<VerifyReport>;
  restore(
    snapshotId: string,
    targets: readonly RestoreTarget[],
    o?: { parts?: string[]; signal?: AbortSignal; onProgress?: ProgressListener },
  ): Promise<{ files: number; bytes: number }>;
  forget(
    policy: RetentionPolicy,
    o: { cluster: string; dryRun?: boolean; now?: Date },
  ): Promise<{ kept: SnapshotSummary[]; removed: SnapshotSummary[] }>;
  prune(o?: { signal?: AbortSignal; onProgress?: ProgressListener }): Promise<{ packsRemoved: number; bytesFreed: number }>;
  close(): Promise<void>;
}

/** What a drill found (src/ops's report may carry more, e.g. the content compared). */
export interface DrillReport {
  ok: boolean;
  tables: Array<{ table: string; liveRows: number; restoredRows: number; checksumMatch: boolean }>;
  problems: string[];
}

/** A part of a cluster's backup (src/ops/backup-parts.ts CLUSTER_PARTS), in restore order. */
export type ClusterPart = 'swarm' | 'postgres' | 'content';

/** The cluster's parts as sources and restore targets, bound to one engine (a DockerSwarmPort: the parts exec in tasks). */
export interface ClusterParts {
  /** Sources of the parts named that the cluster has (postgres only when enabled, content only with agents). */
  sources(cluster: BzzzCluster, include: readonly ClusterPart[]): Promise<BackupSource[]>;
  /** Targets restoring the parts named into the cluster `into` (the backed-up one's name or a new one). */
  targets(into: string, include: readonly ClusterPart[]): RestoreTarget[];
}

/** False until the repository is merged (tests that need a real one wait for it). Merge: true. */
export const REPOSITORY_MERGED: boolean = false;

function notMerged(what: string): never {
  throw new BzzzError(`${what} is not part of this build yet (the backup repository is merged separately)`);
}

// Merge: `export { initRepository, isRepository, openRepository } from '../backup/index.js';`
export async function initRepository(_dir: string, _o: { recipients: readonly string[] }): Promise<void> {
  notMerged('initRepository');
}

export async function isRepository(_dir: string): Promise<boolean> {
  notMerged('isRepository');
}

export async function openRepository(
  _dir: string,
  _o: { identities: readonly string[]; recipients: readonly string[]; log?: Logger },
): Promise<Repository> {
  notMerged('openRepository');
}

// Merge: `export { directorySource } from '../backup/index.js';`
export function directorySource(_part: string, _dir: string): BackupSource {
  notMerged('directorySource');
}

/**
 * Merge: with `DockerExec` (src/swarm/exec.ts) and src/ops/backup-parts.ts —
 *   const exec = new DockerExec(port as DockerSwarmPort);
 *   return {
 *     sources: (cluster, include) => clusterSources({ port, exec, cluster: cluster.metadata.name, spec: cluster, include }),
 *     targets: (into, include) => clusterTargets({ port, exec, name: into, include }),
 *   };
 */
export function clusterParts(_port: SwarmPort): ClusterParts {
  return {
    sources: async () => notMerged('clusterSources'),
    targets: () => notMerged('clusterTargets'),
  };
}

/**
 * Merge: the drill of src/ops — a scratch stack named after the cluster, its targets handed to
 * `restoreInto` (the job restores the latest snapshot through them), row counts and checksums
 * compared with the live cluster, the scratch stack removed whatever happened.
 */
export async function runDrill(_o: {
  cluster: BzzzCluster;
  port: SwarmPort;
  restoreInto(targets: readonly RestoreTarget[]): Promise<{ files: number; bytes: number }>;
  signal?: AbortSignal;
  log?: Logger;
}): Promise<DrillReport> {
  notMerged('runDrill');
}
