// The rollout state machine, pure: from the cluster's generation, its rollout record, its status
// and what the analysis says now, the next rollout record, the events to announce and the
// revision outcomes to record. The rollout reconciler (rollout-reconciler.ts) does the I/O; the
// CLI verbs and the Alertmanager webhook use the transitions at the bottom.
//
//   (new generation) → Progressing → Watching → Succeeded
//                          │  │          │
//                          │  └──────────┴→ Paused ⇄ (resume)
//                          └───────────────→ RollingBack → RolledBack | Aborted
import type { ClusterStatus } from '../spec/status.js';
import type { Verdict } from '../analysis/run.js';
import type { RevisionRecord, RolloutCause, RolloutEventKind } from '../spec/rollout.js';
import { FINISHED_PHASES } from '../spec/rollout.js';
import { LOG_KEPT, type RolloutState } from '../store/rollout-store.js';
import { InvalidInputError } from '../util/errors.js';
import { condition, isReady } from './status.js';

export interface RolloutEvent {
  kind: RolloutEventKind;
  generation: number;
  stable?: number;
  cause?: RolloutCause;
}

/** What the analysis says now. */
export type AnalysisVerdict = Verdict;

export interface RolloutInput {
  generation: number;
  rollout?: RolloutState;
  /** The cluster record's status (written by the cluster reconciler). */
  status?: ClusterStatus;
  /** Newest revision below `generation` recorded as succeeded: the stable one when no rollout record exists yet. */
  lastGood?: number;
  /** Why a new generation's rollout starts, when a person asked for it (rollout undo). */
  startCause?: RolloutCause;
  /** The analysis verdict (undefined: the spec has no analysis). */
  verdict?: AnalysisVerdict;
  watchMs: number;
  now: Date;
}

export interface RolloutStep {
  /** The rollout record to write (undefined: unchanged). */
  next?: RolloutState;
  events: RolloutEvent[];
  revisions: Array<{ generation: number; record: RevisionRecord }>;
}

const NOTHING: RolloutStep = { events: [], revisions: [] };

/** The watch window after convergence has passed: analysis may conclude. */
export function watchEnded(r: RolloutState, watchMs: number, now: Date): boolean {
  return r.phase === 'Watching' && r.convergedAt !== undefined && now.getTime() >= Date.parse(r.convergedAt) + watchMs;
}

export function decideRollout(i: RolloutInput): RolloutStep {
  const r = i.rollout;
  const at = i.now.toISOString();
  if (!r || r.generation < i.generation) return start(i, at);
  if (r.generation !== i.generation) return NOTHING;

  if (r.phase === 'RollingBack') {
    // The cluster reconciler computed this status while serving the stable spec: once nothing
    // progresses any more, the stack is back.
    const s = i.status;
    const back =
      s?.observedGeneration === r.generation && s.rollout?.phase === 'RollingBack' && condition(s, 'Progressing')?.status === 'False';
    if (!back) return NOTHING;
    const aborted = r.cause?.kind === 'manual';
    const next: RolloutState = { ...r, phase: aborted ? 'Aborted' : 'RolledBack', finishedAt: at };
    return {
      next,
      events: [{ kind: aborted ? 'aborted' : 'rolled-back', generation: r.generation, stable: r.stable, cause: r.cause }],
      revisions: [{ generation: r.generation, record: { outcome: aborted ? 'Aborted' : 'RolledBack', at, reason: causeReason(r.cause) } }],
    };
  }
  if (r.phase !== 'Progressing' && r.phase !== 'Watching') return NOTHING;

  const s = i.status?.observedGeneration === r.generation ? i.status : undefined;
  if (s?.failure?.generation === r.generation) {
    const swarm = s.failure.reason === 'UpdateRolledBack';
    return rollBack(r, { kind: swarm ? 'swarm' : 'engine', message: `${s.failure.object}: ${s.failure.message}`, at });
  }
  const paused = s?.components.find((c) => c.update === 'paused');
  if (paused) {
    return rollBack(r, {
      kind: 'swarm',
      message: `the swarm paused the update of ${paused.service}${paused.updateMessage ? ` (${paused.updateMessage})` : ''}`,
      at,
    });
  }
  const f = i.verdict?.failing;
  if (i.verdict?.phase === 'Failed' && f) {
    const cause: RolloutCause = { kind: 'analysis', rule: f.rule, value: f.value, threshold: f.threshold, message: f.message, at };
    return f.action === 'pause' ? pause(r, cause) : rollBack(r, cause);
  }
  if (i.verdict?.phase === 'Inconclusive') {
    return pause(r, {
      kind: 'analysis',
      ...(f ? { rule: f.rule, value: f.value, threshold: f.threshold } : {}),
      message: `analysis inconclusive${f ? `: ${f.message}` : ''}; resume to go on or abort to roll back`,
      at,
    });
  }
  if (r.phase === 'Progressing') {
    if (!isReady(i.status, r.generation)) return NOTHING;
    return { next: { ...r, phase: 'Watching', convergedAt: at }, events: [], revisions: [] };
  }
  if (!watchEnded(r, i.watchMs, i.now) || (i.verdict && i.verdict.phase !== 'Successful')) return NOTHING;
  return {
    next: { ...r, phase: 'Succeeded', finishedAt: at },
    events: [{ kind: 'succeeded', generation: r.generation, stable: r.stable }],
    revisions: [{ generation: r.generation, record: { outcome: 'Succeeded', at } }],
  };
}

function start(i: RolloutInput, at: string): RolloutStep {
  const r = i.rollout;
  const revisions: RolloutStep['revisions'] = [];
  if (r && !FINISHED_PHASES.has(r.phase)) {
    revisions.push({
      generation: r.generation,
      record: { outcome: 'Superseded', at, reason: `generation ${i.generation} was applied during its rollout` },
    });
  }
  // The stable generation: the last rollout if it succeeded, else what that one would have rolled
  // back to; with no rollout yet, the newest revision recorded good, or a generation status saw ready.
  const previousReady = i.status && i.status.observedGeneration < i.generation && isReady(i.status, i.status.observedGeneration);
  const stable = r
    ? r.phase === 'Succeeded'
      ? r.generation
      : r.stable
    : (i.lastGood ?? (previousReady ? i.status?.observedGeneration : undefined));
  const next: RolloutState = { generation: i.generation, ...(stable !== undefined ? { stable } : {}), phase: 'Progressing', startedAt: at };
  return {
    next,
    events: [{ kind: 'started', generation: i.generation, stable, ...(i.startCause ? { cause: i.startCause } : {}) }],
    revisions,
  };
}

/** Why a revision was rolled back, for `rollout history`: an analysis names its rule, the value and the threshold. */
function causeReason(c: RolloutCause | undefined): string | undefined {
  if (c?.kind === 'analysis' && c.rule) return `analysis rule ${c.rule} saw ${c.value} (threshold ${c.threshold}): ${c.message}`;
  return c?.message;
}

function rollBack(r: RolloutState, cause: RolloutCause): RolloutStep {
  if (r.stable === undefined) {
    // Nothing earlier ran well: rolling back would remove the cluster. Hold it and say so.
    return pause(r, { ...cause, message: `${cause.message}; no earlier good revision to roll back to: fix the spec and apply again` });
  }
  return {
    next: { ...r, phase: 'RollingBack', cause },
    events: [{ kind: 'rolling-back', generation: r.generation, stable: r.stable, cause }],
    revisions: [],
  };
}

function pause(r: RolloutState, cause: RolloutCause): RolloutStep {
  const from = r.phase === 'Watching' ? 'Watching' : 'Progressing';
  return {
    next: { ...r, phase: 'Paused', pausedFrom: from, cause },
    events: [{ kind: 'paused', generation: r.generation, stable: r.stable, cause }],
    revisions: [],
  };
}

// ---- transitions asked for from outside: the CLI verbs and the Alertmanager webhook ----

/** A rollout verb that cannot apply now: says why (exit code 1). */
export class RolloutVerbError extends InvalidInputError {}

/** `rollout pause`, or a pause alert. Idempotent: an already paused rollout is left as is. */
export function pauseRollout(r: RolloutState | undefined, cause: RolloutCause): RolloutStep {
  if (r?.phase === 'Paused') return NOTHING;
  if (!r || (r.phase !== 'Progressing' && r.phase !== 'Watching')) {
    throw new RolloutVerbError(`no rollout in progress${r ? ` (generation ${r.generation} is ${r.phase})` : ''}: nothing to pause`);
  }
  return pause(r, cause);
}

/** `rollout resume`: back to where the pause interrupted it; the analysis starts counting afresh. */
export function resumeRollout(r: RolloutState | undefined, by: string, now: Date): RolloutStep {
  if (r?.phase !== 'Paused')
    throw new RolloutVerbError(`no paused rollout${r ? ` (generation ${r.generation} is ${r.phase})` : ''}: nothing to resume`);
  const { cause: _cause, pausedFrom, analysis: _analysis, ...rest } = r;
  const phase = pausedFrom ?? 'Progressing';
  // Back to Watching restarts the watch window: what is watched now has not been watched whole.
  const next: RolloutState = { ...rest, phase, ...(phase === 'Watching' ? { convergedAt: now.toISOString() } : {}) };
  return {
    next,
    events: [
      {
        kind: 'resumed',
        generation: r.generation,
        stable: r.stable,
        cause: { kind: 'manual', by, message: `resumed by ${by}`, at: now.toISOString() },
      },
    ],
    revisions: [],
  };
}

/**
 * `rollout abort` (cause manual) or an alert's rollback-previous (cause alert): the whole stack back
 * to the stable revision. An alert may also roll back a rollout that already succeeded (it broke
 * later); an abort only one that has not finished. Idempotent once rolling back.
 */
export function rollBackRollout(r: RolloutState | undefined, cause: RolloutCause): RolloutStep {
  if (r && (r.phase === 'RollingBack' || r.phase === 'RolledBack' || r.phase === 'Aborted')) return NOTHING;
  const open =
    r &&
    (r.phase === 'Progressing' || r.phase === 'Watching' || r.phase === 'Paused' || (r.phase === 'Succeeded' && cause.kind === 'alert'));
  if (!r || !open)
    throw new RolloutVerbError(
      `no rollout to roll back${r ? ` (generation ${r.generation} is ${r.phase})` : ''}; bzzzctl rollout undo brings back an earlier revision`,
    );
  if (r.stable === undefined) {
    throw new RolloutVerbError(`generation ${r.generation} has no earlier good revision to roll back to; apply a fixed spec instead`);
  }
  const step = rollBack(r, cause);
  // A succeeded revision rolled back later is no longer good.
  return r.phase === 'Succeeded'
    ? { ...step, revisions: [{ generation: r.generation, record: { outcome: 'RolledBack', at: cause.at, reason: cause.message } }] }
    : step;
}

/** The step's next record with its events appended to the record's log (the outbox). */
export function withLog(step: RolloutStep, at: string): RolloutState | undefined {
  if (!step.next) return undefined;
  if (step.events.length === 0) return step.next;
  const added = step.events.map((e) => ({ ...e, at: e.cause?.at ?? at }));
  return { ...step.next, log: [...(step.next.log ?? []), ...added].slice(-LOG_KEPT) };
}
