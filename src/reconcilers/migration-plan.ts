// The migration's state machine, pure: which transition comes next (one phase at a time toward
// spec.migration.targetPhase, forward or back), its entry gates, steps and exit checks, and how
// a gate, a step or an exit check changes the journal. The migration reconciler does the I/O.
//
//   v1-only ⇄ parallel ⇄ content-migrated ⇄ cutover ⇄ complete
//
// Forward transitions start only once every entry gate passes; a phase is reached only once every
// exit check passes. Lowering targetPhase during a forward transition walks back from where it
// was going (the backward steps undo whatever part of the forward ones ran: they are idempotent).
import type { MigrationPhase } from '../spec/types.js';
import {
  MIGRATION_LOG_KEPT,
  nextPhase,
  phaseIndex,
  type MigrationCheck,
  type MigrationEvent,
  type MigrationState,
  type MigrationStepRecord,
  type MigrationTransition,
} from '../spec/migration.js';
import type { RolloutCause } from '../spec/rollout.js';

export interface TransitionPlan {
  gates: string[];
  steps: string[];
  exits: string[];
}

export interface PlanContext {
  /** The v1 hosts' names (one import step each). */
  hosts: readonly string[];
  /** Cutover shares, rising, ending at 100. */
  shares: readonly number[];
}

export const DEFAULT_SHARES = [10, 50, 100] as const;

/** What moving from `from` to the neighbouring phase `to` checks and does. */
export function transitionPlan(from: MigrationPhase, to: MigrationPhase, c: PlanContext): TransitionPlan {
  const key = `${from}>${to}`;
  switch (key) {
    case 'v1-only>parallel':
      return { gates: ['v1-units', 'v1-mesh', 'proxy-v1', 'ports-free'], steps: ['start-v2'], exits: ['v2-ready'] };
    case 'parallel>content-migrated':
      return { gates: ['v2-ready'], steps: c.hosts.map((h) => `import:${h}`), exits: ['content'] };
    case 'content-migrated>cutover':
      return { gates: ['v1-mesh', 'v2-ready'], steps: c.shares.map((s) => `weigh:${s}`), exits: ['proxy-v2'] };
    case 'cutover>complete':
      return { gates: ['proxy-v2', 'v2-ready'], steps: ['archive-v1', 'stop-v1', 'retire-v1-routes'], exits: ['v1-stopped'] };
    case 'complete>cutover':
      return { gates: [], steps: ['start-v1', 'v1-routes-back'], exits: ['v1-mesh'] };
    case 'cutover>content-migrated':
      return { gates: [], steps: ['weigh:0'], exits: ['proxy-v1'] };
    case 'content-migrated>parallel':
      return { gates: [], steps: [], exits: [] };
    case 'parallel>v1-only':
      return { gates: [], steps: ['park-v2'], exits: ['v2-parked'] };
    default:
      throw new Error(`no transition ${from} → ${to}: phases move one at a time`);
  }
}

function transition(from: MigrationPhase, to: MigrationPhase, c: PlanContext, now: Date): MigrationTransition {
  const p = transitionPlan(from, to, c);
  return {
    from,
    to,
    direction: phaseIndex(to) > phaseIndex(from) ? 'forward' : 'back',
    startedAt: now.toISOString(),
    gates: [],
    steps: p.steps.map((name) => ({ name, state: 'pending' })),
    exits: [],
  };
}

export function withEvent(s: MigrationState, e: MigrationEvent): MigrationState {
  return { ...s, log: [...(s.log ?? []), e].slice(-MIGRATION_LOG_KEPT) };
}

/**
 * The state with the transition the target asks for begun (or reversed), or undefined when
 * nothing changes: at the target, paused, or a transition already on its way there.
 */
export function steer(s: MigrationState, target: MigrationPhase, c: PlanContext, now: Date): MigrationState | undefined {
  const t = s.transition;
  if (t) {
    // Walking back during a forward transition: from where it was going, back to where it was.
    const reverse = t.direction === 'forward' && phaseIndex(target) <= phaseIndex(t.from);
    if (!reverse) return undefined;
    // Nothing of it ran yet (held at its gates): dropped, there is nothing to walk back.
    if (t.steps.every((x) => x.state === 'pending')) {
      const { transition: _t, ...rest } = s;
      return rest;
    }
    const back = transition(t.to, t.from, c, now);
    return withEvent(
      { ...s, transition: back },
      {
        kind: 'step-back',
        at: now.toISOString(),
        from: t.to,
        to: t.from,
        detail: `targetPhase lowered to ${target} during ${t.from} → ${t.to}`,
      },
    );
  }
  if (s.paused) return undefined;
  const to = nextPhase(s.phase, target);
  if (!to) return undefined;
  return { ...s, transition: transition(s.phase, to, c, now) };
}

/** The gates or exit checks of the transition as checked now. */
export function recordChecks(s: MigrationState, which: 'gates' | 'exits', checks: MigrationCheck[]): MigrationState {
  if (!s.transition) return s;
  return { ...s, transition: { ...s.transition, [which]: checks } };
}

export function gatesPassed(t: MigrationTransition, c: PlanContext): boolean {
  const want = transitionPlan(t.from, t.to, c).gates;
  return want.every((g) => t.gates.some((x) => x.name === g && x.ok));
}

export function nextMigrationStep(s: MigrationState): MigrationStepRecord | undefined {
  if (s.paused) return undefined;
  return s.transition?.steps.find((x) => x.state === 'pending' || x.state === 'running');
}

export function startMigrationStep(s: MigrationState, name: string, now: Date): MigrationState {
  return mapStep(s, name, (x) => ({ ...x, state: 'running', startedAt: now.toISOString(), attempts: (x.attempts ?? 0) + 1 }));
}

/**
 * A step's outcome. A failed step pauses the migration with its detail (status and Slack say
 * what to do); `migrate resume` runs it again.
 */
export function finishMigrationStep(
  s: MigrationState,
  name: string,
  outcome: { ok: true; detail?: string } | { ok: false; detail: string },
  now: Date,
): MigrationState {
  const at = now.toISOString();
  const next = mapStep(s, name, (x) => ({
    ...x,
    state: outcome.ok ? 'done' : 'failed',
    finishedAt: at,
    ...(outcome.detail ? { detail: outcome.detail } : {}),
  }));
  if (outcome.ok) return next;
  const t = s.transition;
  const cause: RolloutCause = { kind: 'engine', message: `${t?.from} → ${t?.to}: step ${name} failed: ${outcome.detail}`, at };
  return withEvent({ ...next, paused: cause }, { kind: 'blocked', at, from: t?.from, to: t?.to, detail: cause.message });
}

/** Every step done: the exit checks decide. Undefined while a step is left. */
export function stepsDone(s: MigrationState): boolean {
  return !!s.transition && s.transition.steps.every((x) => x.state === 'done' || x.state === 'skipped');
}

/** The exit checks passed: the phase is reached and the transition closed. */
export function reachPhase(s: MigrationState, now: Date): MigrationState {
  const t = s.transition;
  if (!t) return s;
  const { transition: _t, ...rest } = s;
  return withEvent({ ...rest, phase: t.to }, { kind: 'phase', at: now.toISOString(), from: t.from, to: t.to });
}

export function pauseMigration(s: MigrationState, cause: RolloutCause): MigrationState | undefined {
  if (s.paused) return undefined;
  return withEvent({ ...s, paused: cause }, { kind: 'paused', at: cause.at, detail: cause.message });
}

/** Resume: a failed step runs again. */
export function resumeMigration(s: MigrationState, cause: RolloutCause): MigrationState | undefined {
  if (!s.paused) return undefined;
  const { paused: _p, ...rest } = s;
  const t = rest.transition;
  const retried = t
    ? { ...t, steps: t.steps.map((x): MigrationStepRecord => (x.state === 'failed' ? { ...x, state: 'pending' } : x)) }
    : undefined;
  return withEvent({ ...rest, ...(retried ? { transition: retried } : {}) }, { kind: 'resumed', at: cause.at, detail: cause.message });
}

function mapStep(s: MigrationState, name: string, f: (x: MigrationStepRecord) => MigrationStepRecord): MigrationState {
  const t = s.transition;
  if (!t) return s;
  const i = t.steps.findIndex((x) => x.name === name && (x.state === 'pending' || x.state === 'running'));
  if (i < 0) return s;
  return { ...s, transition: { ...t, steps: t.steps.map((x, j) => (j === i ? f(x) : x)) } };
}
