// What the operator records about rollouts: the current rollout of a cluster (its phase, what it
// rolls back to, why it stopped) and the outcome of each revision (a generation that was rolled
// out). Pure types; kept in the swarm by src/store/rollout-store.ts, shown by `bzzzctl rollout`.

/**
 * Progressing: services move to the new generation while analysis runs.
 * Watching: every service converged; analysis goes on for the watch window.
 * Succeeded: the revision is the new last known good one.
 * Paused: held (inconclusive analysis, a pause rule or alert, or `rollout pause`) until resumed or aborted.
 * RollingBack → RolledBack: the whole stack returns to the stable revision and stays there until the spec changes.
 * Aborted: `rollout abort`, a rollback asked for by a person.
 */
export type RolloutPhase = 'Progressing' | 'Watching' | 'Succeeded' | 'Paused' | 'RollingBack' | 'RolledBack' | 'Aborted';

/** `alert`: an alert matched a notify trigger (recorded and announced; nothing else changes). */
export type RolloutEventKind = 'started' | 'succeeded' | 'paused' | 'resumed' | 'rolling-back' | 'rolled-back' | 'aborted' | 'alert';

/** What stopped a rollout, or rolled a revision back. */
export type RolloutCauseKind = 'analysis' | 'alert' | 'swarm' | 'engine' | 'manual';

export interface RolloutCause {
  kind: RolloutCauseKind;
  message: string;
  at: string;
  /** Analysis: the rule, the value seen and the threshold it crossed. */
  rule?: string;
  /** A number, or NaN / ±Inf written as Prometheus writes them. */
  value?: number | string;
  threshold?: number;
  /** Alert: the trigger and the alert that fired it. */
  trigger?: string;
  alert?: string;
  /** Manual: who (user@host). */
  by?: string;
  /** Alert received (ISO time): rollback latency is measured from here. */
  receivedAt?: string;
}

/** Phases after which this rollout's generation is no longer rolled forward. */
export const ROLLED_BACK_PHASES: ReadonlySet<RolloutPhase> = new Set(['RollingBack', 'RolledBack', 'Aborted']);
/** Phases in which a rollout is finished: nothing more is measured. */
export const FINISHED_PHASES: ReadonlySet<RolloutPhase> = new Set(['Succeeded', 'RolledBack', 'Aborted']);

export type RevisionOutcome = 'Succeeded' | 'RolledBack' | 'Aborted' | 'Failed' | 'Superseded';

/** The outcome of one revision, kept on its stored spec (`rollout history`). */
export interface RevisionRecord {
  outcome: RevisionOutcome;
  at: string;
  reason?: string;
  /** Service → image as the engine ran it (with its digest when the engine resolved one). */
  images?: Record<string, string>;
}

/** Who stored a generation: the apply's user and host, or the command that made it. */
export interface AppliedBy {
  user: string;
  host: string;
  /** apply (default) or undo. */
  via?: 'apply' | 'undo';
  /** undo: the revision it brought back. */
  fromRevision?: number;
}
