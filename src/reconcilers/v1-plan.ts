// The v1 plan's state machine, pure: a new plan from a request (`bzzzctl rollback --to`, a
// rollback-to-v1 alert), the next step to run, and a step's outcome folded into the journal —
// with the undo steps a failure needs so the side that served before goes on serving. The v1
// reconciler (v1-reconciler.ts) runs the steps' effects; the journal is what makes a plan
// resumable: a step found `running` after a crash is run again (every step is idempotent).
import type { RolloutCause } from '../spec/rollout.js';
import { V1_STEPS, servingSide, type V1PlanState, type V1Side, type V1StepName, type V1StepRecord } from '../spec/v1.js';
import { InvalidInputError } from '../util/errors.js';

export class V1PlanError extends InvalidInputError {}

export interface PlanRequest {
  to: V1Side;
  cause: RolloutCause;
  now: Date;
  minHosts?: number;
}

/**
 * The plan a request makes, or undefined when the cluster is already there or on its way (asking
 * twice does nothing the second time). A plan in progress to the other side is refused.
 */
export function requestPlan(current: V1PlanState | undefined, r: PlanRequest): V1PlanState | undefined {
  if (current?.phase === 'Running') {
    if (current.to === r.to) return undefined;
    const step = nextStep(current);
    throw new V1PlanError(
      `a switch to ${current.to} is in progress (plan ${current.id}${step ? `, step ${step.name}` : ''}): wait until it is done or has failed (bzzzctl v1 status), then ask again`,
    );
  }
  const serving = servingSide(current);
  const parked = current?.parked ?? false;
  // Already there: v1 serving with v2 parked, or v2 serving with v2 running.
  if (serving === r.to && parked === (r.to === 'v1')) return undefined;
  return {
    id: (current?.id ?? 0) + 1,
    to: r.to,
    phase: 'Running',
    cause: r.cause,
    requestedAt: r.now.toISOString(),
    steps: V1_STEPS[r.to].map((name) => ({ name, state: 'pending' })),
    parked,
    ...(current?.v2 ? { v2: current.v2 } : {}),
    ...(r.minHosts !== undefined ? { minHosts: r.minHosts } : {}),
    ...(current?.handledAlerts ? { handledAlerts: current.handledAlerts } : {}),
  };
}

/** The step to run now: the first one not finished (a `running` one was interrupted: run it again). */
export function nextStep(plan: V1PlanState): V1StepRecord | undefined {
  if (plan.phase !== 'Running') return undefined;
  return plan.steps.find((s) => s.state === 'pending' || s.state === 'running');
}

export function startStep(plan: V1PlanState, name: V1StepName, now: Date): V1PlanState {
  return mapStep(plan, name, (s) => ({ ...s, state: 'running', startedAt: now.toISOString(), attempts: (s.attempts ?? 0) + 1 }));
}

export type StepOutcome = { ok: true; detail?: string } | { ok: false; detail: string };

/** What an attempted step leaves to undo when a later one fails. */
const UNDO: Partial<Record<V1StepName, V1StepName>> = {
  'start-v1': 'undo-v1',
  'switch-proxy': 'undo-proxy',
  'start-v2': 'undo-v2',
};
/** Undo order: the proxy back first (traffic to the side that still runs), then the rest. */
const UNDO_ORDER: readonly V1StepName[] = ['undo-proxy', 'undo-v1', 'undo-v2'];
/**
 * Once one of these has been attempted the other side is (being) stopped: a later failure, or
 * theirs, has nothing to go back to — undoing would put the proxy back on a side that is parked
 * or half stopped, then stop the side that serves.
 */
const POINT_OF_NO_RETURN: readonly V1StepName[] = ['stop-v2', 'stop-v1'];

export function finishStep(plan: V1PlanState, name: V1StepName, outcome: StepOutcome, now: Date): V1PlanState {
  const at = now.toISOString();
  let next = mapStep(plan, name, (s) => ({
    ...s,
    state: outcome.ok ? 'done' : 'failed',
    finishedAt: at,
    ...(outcome.detail ? { detail: outcome.detail } : {}),
  }));
  if (!outcome.ok && name !== 'notify') {
    const undoing = name.startsWith('undo-');
    const pastReturn = next.steps.some((s) => POINT_OF_NO_RETURN.includes(s.name) && s.state !== 'pending' && s.state !== 'skipped');
    if (undoing || pastReturn) {
      // Nothing sensible to go back to: stop here, announce it (a failed notify never fails a plan).
      next = skipPending(next, 'notify');
    } else {
      const attempted = new Set(next.steps.filter((s) => s.state !== 'pending' && s.state !== 'skipped').map((s) => s.name));
      const undo = UNDO_ORDER.filter((u) => [...attempted].some((a) => UNDO[a] === u));
      next = skipPending(next);
      next = {
        ...next,
        steps: [...next.steps, ...undo.map((u): V1StepRecord => ({ name: u, state: 'pending' })), { name: 'notify', state: 'pending' }],
      };
    }
  }
  if (!nextStep(next)) {
    const failed = next.steps.some((s) => s.state === 'failed' && s.name !== 'notify');
    return { ...next, phase: failed ? 'Failed' : 'Done', finishedAt: at };
  }
  return next;
}

/** The step that failed the plan (the first failed one), if any. */
export function failedStep(plan: V1PlanState): V1StepRecord | undefined {
  return plan.steps.find((s) => s.state === 'failed');
}

function skipPending(plan: V1PlanState, keep?: V1StepName): V1PlanState {
  return { ...plan, steps: plan.steps.map((s) => (s.state === 'pending' && s.name !== keep ? { ...s, state: 'skipped' } : s)) };
}

function mapStep(plan: V1PlanState, name: V1StepName, f: (s: V1StepRecord) => V1StepRecord): V1PlanState {
  // The step to change is the first unfinished one of that name (notify can appear twice).
  const i = plan.steps.findIndex((s) => s.name === name && (s.state === 'pending' || s.state === 'running'));
  if (i < 0) return plan;
  return { ...plan, steps: plan.steps.map((s, j) => (j === i ? f(s) : s)) };
}
