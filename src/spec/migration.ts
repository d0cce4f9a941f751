// What the operator records about the v1 → v2 migration: the phase reached, the transition in
// progress as a journal of gates, steps and exit checks, and what each v1 host's content import
// did. Pure types and the transition catalogue; kept in the swarm by src/store/migration-store.ts,
// run by src/reconcilers/migration-reconciler.ts, shown by `bzzzctl migrate status`.
import type { MigrationPhase } from './types.js';
import { MIGRATION_PHASES } from './types.js';
import type { RolloutCause } from './rollout.js';

/** One gate or exit check: what was checked, the value seen, pass or fail. */
export interface MigrationCheck {
  name: string;
  ok: boolean;
  /** What was seen, e.g. "3/3 units active", "v2 50 %". */
  value: string;
  at: string;
}

export type MigrationStepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface MigrationStepRecord {
  name: string;
  state: MigrationStepState;
  startedAt?: string;
  finishedAt?: string;
  detail?: string;
  attempts?: number;
}

export interface MigrationTransition {
  from: MigrationPhase;
  to: MigrationPhase;
  direction: 'forward' | 'back';
  startedAt: string;
  /** Entry gates (forward only): every one passed before the first step runs. */
  gates: MigrationCheck[];
  steps: MigrationStepRecord[];
  /** Exit checks: every one passed before `to` is reached. */
  exits: MigrationCheck[];
}

export interface ContentHostRecord {
  entries: number;
  bytes: number;
  /** Of this run's entries: stored anew, found already in the store (an earlier, interrupted run stored them), skipped with a page already stored. */
  stored?: number;
  existing?: number;
  skipped?: number;
  /** The manifest blob's address (host's v1 index → blob address), once imported and read back. */
  manifest?: string;
  /** While the import runs: which pass (the entries and bytes are so far). */
  progress?: 'verify' | 'import';
  /** Breaks the chain verification found (nothing is imported then). */
  breaks?: Array<{ line: number; index?: number; reason: string }>;
  at: string;
}

export type MigrationEventKind = 'phase' | 'paused' | 'resumed' | 'blocked' | 'step-back';

export interface MigrationEvent {
  kind: MigrationEventKind;
  at: string;
  from?: MigrationPhase;
  to?: MigrationPhase;
  detail?: string;
  announced?: boolean;
}

export interface MigrationState {
  /** The phase reached: its exit checks passed. */
  phase: MigrationPhase;
  transition?: MigrationTransition;
  /** `migrate pause`: no step starts until `migrate resume`. A failed cutover step pauses too. */
  paused?: RolloutCause;
  /** The migration holds the v2 services at zero replicas (v1-only). */
  parkV2: boolean;
  /** v2's share of traffic the proxy was last set to. */
  v2Share?: number;
  content?: Record<string, ContentHostRecord>;
  /**
   * The analysis of the cutover step holding now: the rollout's rules measured during the hold
   * (src/analysis/run.ts RunState, kept opaque here: spec imports no analysis).
   */
  analysis?: unknown;
  /** Phase changes and stops, newest last, bounded; the Slack outbox. */
  log?: MigrationEvent[];
}

export const MIGRATION_LOG_KEPT = 30;

export function phaseIndex(p: MigrationPhase): number {
  return MIGRATION_PHASES.indexOf(p);
}

/** The next phase from `from` toward `target` (one at a time), or undefined when there. */
export function nextPhase(from: MigrationPhase, target: MigrationPhase): MigrationPhase | undefined {
  const a = phaseIndex(from);
  const b = phaseIndex(target);
  if (a === b) return undefined;
  return MIGRATION_PHASES[a + Math.sign(b - a)];
}
