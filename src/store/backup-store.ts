// The cluster's backup journal, kept in the swarm like its rollout and migration (register.ts):
//   <cluster>_bzzz-backup   label: the last schedule slot handled per job, the job running now
//   (holder, kind, heartbeat), the last outcome of each step (backup, verify, prune, drill).
// A controller killed mid-job finds the job's record with a heartbeat that stopped, records it
// as interrupted and runs the next slot; two controllers never start the same slot (the start
// is a compare-and-swap), and the repository's own lock guards the rest.
import type { Config } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { ClusterStore } from './cluster-store.js';
import { Register, registerFromConfigs, type RegisterKind } from './register.js';

export type BackupJobKind = 'backup' | 'drill';
export type BackupStepKind = 'backup' | 'verify' | 'prune' | 'drill';

/** One step's outcome as a runner reports it (times in epoch ms); the journal stores it as a BackupStepRecord. */
export interface BackupStepOutcome {
  kind: BackupStepKind;
  ok: boolean;
  started: number;
  finished: number;
  snapshot?: string;
  bytes?: number;
  addedBytes?: number;
  files?: number;
  /** What a verify or drill found, each naming its file or table. */
  problems?: string[];
  error?: string;
}

export interface BackupStepRecord {
  ok: boolean;
  /** When the step started and ended (ISO). */
  started: string;
  finished: string;
  durationMs: number;
  snapshot?: string;
  bytes?: number;
  addedBytes?: number;
  files?: number;
  /** What failed, in words that carry no secret value (at most 500 characters). */
  error?: string;
  /** What a verify or drill found, each naming its file or table (at most 20). */
  problems?: string[];
  /** The schedule slot it ran for (ISO), absent for a run by hand. */
  slot?: string;
}

export interface BackupRunning {
  kind: BackupJobKind;
  /** `host/pid` of the controller (or bzzzctl) running it. */
  holder: string;
  started: string;
  /** Renewed while the job runs: one that stopped means the runner died. */
  heartbeat: string;
  slot?: string;
  /** Slots this run stands in for that passed without a run (the controller was down). */
  missed?: number;
}

export interface BackupState {
  /** Per job, the last schedule slot handled (ISO): run, or skipped as missed. */
  handled: Partial<Record<BackupJobKind, string>>;
  /** Per job, the schedule (`<zone> <expression>`) its slots are counted by: a changed one is armed again from then. */
  armedFor?: Partial<Record<BackupJobKind, string>>;
  running?: BackupRunning;
  last: Partial<Record<BackupStepKind, BackupStepRecord>>;
  /** Per step, the last successful outcome (kept while later runs fail). */
  lastSuccess?: Partial<Record<BackupStepKind, BackupStepRecord>>;
  /** Per job, slots missed before its last run (0 when it ran on time): the BackupMissed condition. */
  missed?: Partial<Record<BackupJobKind, { slots: number; slot: string }>>;
  /** Failures in a row per step (reset by a success). */
  failuresInRow?: Partial<Record<BackupStepKind, number>>;
}

export const BACKUP_LABEL = 'io.bzzz.backup';
const BACKUP_KIND: RegisterKind = { component: 'bzzz-backup', kind: 'backup', label: BACKUP_LABEL, what: 'backup journal' };

export class BackupStore extends Register<BackupState> {
  constructor(port: SwarmPort, clusters: ClusterStore) {
    super(port, clusters, BACKUP_KIND);
  }
}

export function backupFromConfigs(cluster: string, configs: readonly Config[]): BackupState | undefined {
  return registerFromConfigs<BackupState>(BACKUP_KIND, cluster, configs);
}
