// The backup repository (src/backup) and the cluster's sources, targets and drill
// (src/ops/backup-*.ts) as the controller and `bzzzctl backup` use them. Until those land, this
// file holds their agreed signatures and refuses at run time; the merge replaces the bodies by
// re-exports (`export { openRepository, … } from '../backup/index.js'`) and nothing else changes.
import type { BackupSource, ProgressListener, RestoreTarget, RetentionPolicy, SnapshotSummary, VerifyReport } from '../backup/types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { ClusterStore } from '../store/cluster-store.js';
import type { BzzzCluster } from '../spec/types.js';
import type { Logger } from '../util/log.js';
import { BzzzError } from '../util/errors.js';

export interface Repository {
  backup(
    sources: BackupSource[],
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
    targets: RestoreTarget[],
    o?: { parts?: string[]; signal?: AbortSignal; onProgress?: ProgressListener },
  ): Promise<{ files: number; bytes: number }>;
  forget(
    policy: RetentionPolicy,
    o: { cluster: string; dryRun?: boolean; now?: Date },
  ): Promise<{ kept: SnapshotSummary[]; removed: SnapshotSummary[] }>;
  prune(o?: { signal?: AbortSignal; onProgress?: ProgressListener }): Promise<{ packsRemoved: number; bytesFreed: number }>;
  close(): Promise<void>;
}

/** Another process holds the repository's lock (its holder, since when, when it expires). */
export class BackupLockedError extends BzzzError {
  constructor(
    readonly holder: string,
    readonly since: string,
    readonly expires: string,
  ) {
    super(`the backup repository is locked by ${holder} since ${since} (until ${expires}); wait for that run to end`);
  }
}

export interface DrillReport {
  ok: boolean;
  snapshot?: string;
  tables: Array<{ table: string; liveRows: number; restoredRows: number; checksumMatch: boolean }>;
  content?: { files: number; match: boolean };
  problems: string[];
}

export interface SourceOptions {
  cluster: BzzzCluster;
  port: SwarmPort;
  store: ClusterStore;
  include: { postgres: boolean; swarm: boolean; content: boolean };
}

export interface TargetOptions {
  /** The cluster to restore into: the same name or a new one. */
  cluster: string;
  /** The spec the snapshot was taken of, when the caller has it. */
  spec?: BzzzCluster;
  port: SwarmPort;
  store: ClusterStore;
  include: { postgres: boolean; swarm: boolean; content: boolean };
}

function notMerged(what: string): never {
  throw new BzzzError(`${what} is not part of this build yet (the backup repository is merged separately)`);
}

export async function initRepository(_dir: string, _o: { recipients: string[] }): Promise<void> {
  notMerged('initRepository');
}

export async function isRepository(_dir: string): Promise<boolean> {
  notMerged('isRepository');
}

export async function openRepository(_dir: string, _o: { identities: string[]; recipients: string[]; log?: Logger }): Promise<Repository> {
  notMerged('openRepository');
}

export function clusterSources(_o: SourceOptions): BackupSource[] {
  notMerged('clusterSources');
}

export function clusterTargets(_o: TargetOptions): RestoreTarget[] {
  notMerged('clusterTargets');
}

export async function runDrill(_o: {
  cluster: BzzzCluster;
  port: SwarmPort;
  store: ClusterStore;
  repository: Repository;
  snapshot: SnapshotSummary;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  log?: Logger;
}): Promise<DrillReport> {
  notMerged('runDrill');
}
