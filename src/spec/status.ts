// What the controller reports about a cluster: conditions (Kubernetes-style), observedGeneration,
// each component's tasks and what the agents say of themselves. Stored in the cluster record
// (src/store) and printed by `bzzzctl status`; pure types.

import type { RolloutCause, RolloutPhase } from './rollout.js';
import type { V1PlanPhase, V1Side, V1StepName } from './v1.js';
import type { MigrationPhase } from './types.js';

/**
 * Backup*: present once spec.backups has a journal. BackupFailed: the last backup (or its prune)
 * failed; BackupVerifyFailed: the last verification found problems; BackupDrillFailed: the last
 * restore drill did not match; BackupMissed: the last run stood in for slots that passed without one.
 */
export type ConditionType =
  | 'Ready'
  | 'Progressing'
  | 'Degraded'
  | 'Failed'
  | 'BackupFailed'
  | 'BackupVerifyFailed'
  | 'BackupDrillFailed'
  | 'BackupMissed';
export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface ComponentStatus {
  /** Service name, e.g. bzzz-dev_agent-a1. */
  service: string;
  component: string;
  image: string;
  desired: number;
  running: number;
  /** Docker's rolling-update state (updating, paused, rollback_completed…) when there is one. */
  update?: string;
  updateMessage?: string;
}

/** What an agent instance reports about itself (probed by the controller over the cluster network). */
export interface AgentStatus {
  /** Instance name (spec.agent.instances[].name). */
  name: string;
  service: string;
  healthy: boolean;
  /** Connected libp2p peers. */
  peers: number;
  /** This agent is the elected admin (its election status names itself). */
  admin: boolean;
  peerId?: string;
  /** The admin this agent follows (peer ID), and the election term. */
  adminPeer?: string | null;
  term?: number;
  /** Overall health score 0..1, one decimal. */
  score?: number;
  /** Observed CAS replication factor. */
  replicationFactor?: number;
  error?: string;
}

/** A generation the engine refused: recorded, never retried; a new generation clears it (rollback reads it). */
export interface GenerationFailure {
  generation: number;
  /** The object the engine refused, e.g. "service dev_agent-a1". */
  object: string;
  reason: string;
  /** The engine's own reason. */
  message: string;
  at: string;
}

/** The cluster's rollout as status shows it (`bzzzctl rollout status` shows its analysis too). */
export interface RolloutSummary {
  generation: number;
  phase: RolloutPhase;
  /** The last known good generation: what the stack rolls back to. */
  stable?: number;
  cause?: RolloutCause;
}

/** Where the cluster runs, once a v1 plan exists (`bzzzctl v1 status` shows the hosts). */
export interface V1Summary {
  /** The side the proxy sends traffic to. */
  serving: V1Side;
  /** The v2 services are held at zero replicas. */
  parked: boolean;
  plan: { id: number; to: V1Side; phase: V1PlanPhase; step?: V1StepName; cause?: RolloutCause };
}

/** The migration as status shows it (`bzzzctl migrate status` shows every gate and check). */
export interface MigrationSummary {
  phase: MigrationPhase;
  target?: MigrationPhase;
  transition?: { from: MigrationPhase; to: MigrationPhase; step?: string; failing?: string[] };
  paused?: string;
}

/** The backups as status shows them (`bzzzctl backup list` shows the snapshots). */
export interface BackupSummary {
  /** The job running now: kind, holder, since. */
  running?: { kind: string; holder: string; since: string };
  /** The last snapshot taken, and when. */
  lastSnapshot?: { id: string; at: string; bytes?: number };
  /** When the last backup succeeded. */
  lastSuccess?: string;
}

export interface ClusterStatus {
  observedGeneration: number;
  backups?: BackupSummary;
  migration?: MigrationSummary;
  /** The last switch between v2 and the v1 systemd services, when there was one. */
  v1?: V1Summary;
  /** The rollout of the latest generation, when a controller runs rollouts. */
  rollout?: RolloutSummary;
  /** Present while the current generation has failed terminally. */
  failure?: GenerationFailure;
  /** Objects labelled as this cluster's without its ownership proof: left alone (`<kind> <name>`). */
  lookAlikes?: string[];
  conditions: Condition[];
  components: ComponentStatus[];
  /** Present when a controller inside the swarm probed the agents. */
  agents?: AgentStatus[];
}
