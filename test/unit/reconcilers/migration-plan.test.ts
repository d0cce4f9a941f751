// The migration's state machine (src/reconcilers/migration-plan.ts), by value: which transition
// each neighbouring pair of phases makes (gates, steps, exit checks), how steer begins or reverses
// one toward targetPhase, and how a step's outcome, a pause, a resume and a reached phase change
// the journal and its bounded log.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHARES,
  finishMigrationStep,
  gatesPassed,
  nextMigrationStep,
  pauseMigration,
  reachPhase,
  recordChecks,
  resumeMigration,
  startMigrationStep,
  steer,
  stepsDone,
  transitionPlan,
  withEvent,
  type PlanContext,
  type TransitionPlan,
} from '../../../src/reconcilers/migration-plan.js';
import { MIGRATION_LOG_KEPT, nextPhase, type MigrationState } from '../../../src/spec/migration.js';
import type { RolloutCause } from '../../../src/spec/rollout.js';
import { MIGRATION_PHASES, type MigrationPhase } from '../../../src/spec/types.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const LATER = new Date('2026-12-01T12:05:00Z');
const CTX: PlanContext = { hosts: ['walnut', 'ironwood', 'acacia'], shares: [...DEFAULT_SHARES] };
const CAUSE: RolloutCause = { kind: 'manual', message: 'bzzzctl migrate pause', at: NOW.toISOString(), by: 'ops@walnut' };

const at = (phase: MigrationPhase, extra: Partial<MigrationState> = {}): MigrationState => ({
  phase,
  parkV2: phase === 'v1-only',
  ...extra,
});

const steps = (s: MigrationState | undefined) => s?.transition?.steps.map((x) => `${x.name}:${x.state}`);

/** Runs every step of the transition ok, as the reconciler would (start, finish). */
function runAll(s: MigrationState): MigrationState {
  let x = s;
  for (let guard = 0; guard < 20; guard++) {
    const step = nextMigrationStep(x);
    if (!step) return x;
    x = startMigrationStep(x, step.name, NOW);
    x = finishMigrationStep(x, step.name, { ok: true }, NOW);
  }
  throw new Error('steps did not finish');
}

describe('transitionPlan', () => {
  it.each<[MigrationPhase, MigrationPhase, TransitionPlan]>([
    ['v1-only', 'parallel', { gates: ['v1-units', 'v1-mesh', 'proxy-v1', 'ports-free'], steps: ['start-v2'], exits: ['v2-ready'] }],
    [
      'parallel',
      'content-migrated',
      { gates: ['v2-ready'], steps: ['import:walnut', 'import:ironwood', 'import:acacia'], exits: ['content'] },
    ],
    ['content-migrated', 'cutover', { gates: ['v1-mesh', 'v2-ready'], steps: ['weigh:10', 'weigh:50', 'weigh:100'], exits: ['proxy-v2'] }],
    [
      'cutover',
      'complete',
      { gates: ['proxy-v2', 'v2-ready'], steps: ['archive-v1', 'stop-v1', 'retire-v1-routes'], exits: ['v1-stopped'] },
    ],
    ['complete', 'cutover', { gates: [], steps: ['start-v1', 'v1-routes-back'], exits: ['v1-mesh'] }],
    ['cutover', 'content-migrated', { gates: [], steps: ['weigh:0'], exits: ['proxy-v1'] }],
    ['content-migrated', 'parallel', { gates: [], steps: [], exits: [] }],
    ['parallel', 'v1-only', { gates: [], steps: ['park-v2'], exits: ['v2-parked'] }],
  ])('%s → %s', (from, to, plan) => {
    expect(transitionPlan(from, to, CTX)).toEqual(plan);
  });

  it('GIVEN custom cutover shares THEN one weigh step each, in order', () => {
    expect(transitionPlan('content-migrated', 'cutover', { ...CTX, shares: [5, 25, 100] }).steps).toEqual([
      'weigh:5',
      'weigh:25',
      'weigh:100',
    ]);
  });

  const nonNeighbours: Array<[MigrationPhase, MigrationPhase]> = [];
  for (const a of MIGRATION_PHASES)
    for (const b of MIGRATION_PHASES)
      if (Math.abs(MIGRATION_PHASES.indexOf(a) - MIGRATION_PHASES.indexOf(b)) !== 1) nonNeighbours.push([a, b]);

  it.each(nonNeighbours)('%s → %s is refused: phases move one at a time', (from, to) => {
    expect(() => transitionPlan(from, to, CTX)).toThrow(`no transition ${from} → ${to}: phases move one at a time`);
  });
});

describe('nextPhase', () => {
  it.each<[MigrationPhase, MigrationPhase, MigrationPhase | undefined]>([
    ['v1-only', 'complete', 'parallel'],
    ['cutover', 'complete', 'complete'],
    ['complete', 'v1-only', 'cutover'],
    ['parallel', 'v1-only', 'v1-only'],
    ['cutover', 'cutover', undefined],
  ])('from %s toward %s → %s', (from, target, next) => {
    expect(nextPhase(from, target)).toBe(next);
  });
});

describe('steer', () => {
  it('GIVEN v1-only WHEN the target is complete THEN v1-only → parallel begins, forward, every step pending, no gate checked yet', () => {
    const s = steer(at('v1-only'), 'complete', CTX, NOW);
    expect(s?.transition).toEqual({
      from: 'v1-only',
      to: 'parallel',
      direction: 'forward',
      startedAt: NOW.toISOString(),
      gates: [],
      steps: [{ name: 'start-v2', state: 'pending' }],
      exits: [],
    });
    expect(s?.phase).toBe('v1-only');
    expect(s?.log).toBeUndefined();
  });

  it('GIVEN complete WHEN the target is v1-only THEN complete → cutover begins, back', () => {
    const s = steer(at('complete'), 'v1-only', CTX, NOW);
    expect(s?.transition).toMatchObject({ from: 'complete', to: 'cutover', direction: 'back' });
    expect(steps(s)).toEqual(['start-v1:pending', 'v1-routes-back:pending']);
  });

  it('GIVEN the target reached THEN nothing', () => {
    expect(steer(at('cutover'), 'cutover', CTX, NOW)).toBeUndefined();
  });

  it('GIVEN a paused migration with no transition THEN nothing begins', () => {
    expect(steer(at('parallel', { paused: CAUSE }), 'complete', CTX, NOW)).toBeUndefined();
  });

  it('GIVEN a forward transition on its way THEN nothing changes while the target is at or beyond `to`', () => {
    const s = steer(at('parallel'), 'content-migrated', CTX, NOW)!;
    expect(steer(s, 'content-migrated', CTX, LATER)).toBeUndefined();
    expect(steer(s, 'complete', CTX, LATER)).toBeUndefined();
  });

  it.each<MigrationPhase>(['parallel', 'v1-only'])(
    'GIVEN content-migrated → cutover half done WHEN the target is lowered to %s THEN it reverses: cutover → content-migrated, a step-back event',
    (target) => {
      let s = steer(at('content-migrated'), 'cutover', CTX, NOW)!;
      s = startMigrationStep(s, 'weigh:10', NOW);
      s = finishMigrationStep(s, 'weigh:10', { ok: true }, NOW);
      const back = steer(s, target, CTX, LATER);
      expect(back?.phase).toBe('content-migrated');
      expect(back?.transition).toMatchObject({
        from: 'cutover',
        to: 'content-migrated',
        direction: 'back',
        startedAt: LATER.toISOString(),
      });
      expect(steps(back)).toEqual(['weigh:0:pending']);
      expect(back?.log).toEqual([
        {
          kind: 'step-back',
          at: LATER.toISOString(),
          from: 'cutover',
          to: 'content-migrated',
          detail: `targetPhase lowered to ${target} during content-migrated → cutover`,
        },
      ]);
    },
  );

  it('GIVEN a back transition WHEN the target is raised again THEN it is not reversed: the walk back finishes first', () => {
    const s = steer(at('cutover'), 'content-migrated', CTX, NOW)!;
    expect(s.transition?.direction).toBe('back');
    expect(steer(s, 'complete', CTX, LATER)).toBeUndefined();
    expect(steer(s, 'v1-only', CTX, LATER)).toBeUndefined();
  });
});

describe('gates and exit checks', () => {
  const check = (name: string, ok: boolean) => ({ name, ok, value: ok ? 'fine' : 'not fine', at: NOW.toISOString() });

  it('GIVEN the gates recorded THEN they pass only when every planned gate passed', () => {
    const s = steer(at('v1-only'), 'parallel', CTX, NOW)!;
    expect(gatesPassed(s.transition!, CTX)).toBe(false);
    const failing = recordChecks(s, 'gates', [check('v1-units', true), check('v1-mesh', false), check('proxy-v1', true)]);
    expect(failing.transition?.gates.find((g) => !g.ok)).toMatchObject({ name: 'v1-mesh', value: 'not fine' });
    expect(gatesPassed(failing.transition!, CTX)).toBe(false);
    const partial = recordChecks(s, 'gates', [check('v1-units', true), check('v1-mesh', true)]);
    expect(gatesPassed(partial.transition!, CTX)).toBe(false);
    const passed = recordChecks(s, 'gates', [
      check('v1-units', true),
      check('v1-mesh', true),
      check('proxy-v1', true),
      check('ports-free', true),
    ]);
    expect(gatesPassed(passed.transition!, CTX)).toBe(true);
  });

  it('GIVEN a back transition THEN it has no gates to pass', () => {
    const s = steer(at('parallel'), 'v1-only', CTX, NOW)!;
    expect(gatesPassed(s.transition!, CTX)).toBe(true);
  });

  it('GIVEN no transition THEN recording checks changes nothing', () => {
    const s = at('parallel');
    expect(recordChecks(s, 'exits', [check('v2-ready', true)])).toBe(s);
  });
});

describe('steps', () => {
  it('GIVEN a transition THEN its steps run in order, each started (attempt counted) then done; stepsDone only at the end', () => {
    let s = steer(at('parallel'), 'content-migrated', CTX, NOW)!;
    expect(stepsDone(s)).toBe(false);
    expect(nextMigrationStep(s)).toEqual({ name: 'import:walnut', state: 'pending' });
    s = startMigrationStep(s, 'import:walnut', NOW);
    expect(nextMigrationStep(s)).toMatchObject({ name: 'import:walnut', state: 'running', attempts: 1, startedAt: NOW.toISOString() });
    s = finishMigrationStep(s, 'import:walnut', { ok: true, detail: 'walnut: 12 entries' }, LATER);
    expect(s.transition?.steps[0]).toEqual({
      name: 'import:walnut',
      state: 'done',
      startedAt: NOW.toISOString(),
      finishedAt: LATER.toISOString(),
      detail: 'walnut: 12 entries',
      attempts: 1,
    });
    expect(nextMigrationStep(s)?.name).toBe('import:ironwood');
    s = runAll(s);
    expect(stepsDone(s)).toBe(true);
    expect(nextMigrationStep(s)).toBeUndefined();
    expect(s.paused).toBeUndefined();
  });

  it('GIVEN a transition with no steps THEN its steps are done at once', () => {
    expect(stepsDone(steer(at('content-migrated'), 'parallel', CTX, NOW)!)).toBe(true);
    expect(stepsDone(at('parallel'))).toBe(false);
  });

  it('GIVEN a step that fails THEN the migration pauses naming the transition and the step, a blocked event; nothing runs until resume, which runs it again', () => {
    let s = steer(at('parallel'), 'content-migrated', CTX, NOW)!;
    for (const h of ['walnut', 'ironwood'])
      s = finishMigrationStep(startMigrationStep(s, `import:${h}`, NOW), `import:${h}`, { ok: true }, NOW);
    s = startMigrationStep(s, 'import:acacia', NOW);
    s = finishMigrationStep(s, 'import:acacia', { ok: false, detail: 'acacia: broken prev_hash at index 7' }, LATER);
    const message = 'parallel → content-migrated: step import:acacia failed: acacia: broken prev_hash at index 7';
    expect(s.paused).toEqual({ kind: 'engine', message, at: LATER.toISOString() });
    expect(steps(s)).toEqual(['import:walnut:done', 'import:ironwood:done', 'import:acacia:failed']);
    expect(s.transition?.steps[2].detail).toBe('acacia: broken prev_hash at index 7');
    expect(s.log).toEqual([{ kind: 'blocked', at: LATER.toISOString(), from: 'parallel', to: 'content-migrated', detail: message }]);
    expect(nextMigrationStep(s)).toBeUndefined();
    expect(stepsDone(s)).toBe(false);
    // paused: steer does not reverse into a new transition, and a second pause is nothing
    expect(pauseMigration(s, CAUSE)).toBeUndefined();

    const resumed = resumeMigration(s, { ...CAUSE, message: 'bzzzctl migrate resume' })!;
    expect(resumed.paused).toBeUndefined();
    expect(steps(resumed)).toEqual(['import:walnut:done', 'import:ironwood:done', 'import:acacia:pending']);
    expect(resumed.log?.at(-1)).toEqual({ kind: 'resumed', at: CAUSE.at, detail: 'bzzzctl migrate resume' });
    const again = startMigrationStep(resumed, 'import:acacia', LATER);
    expect(nextMigrationStep(again)).toMatchObject({ name: 'import:acacia', state: 'running', attempts: 2 });
  });

  it('GIVEN no pause THEN resume is nothing; pause then resume round-trips with an event each', () => {
    const s = steer(at('v1-only'), 'parallel', CTX, NOW)!;
    expect(resumeMigration(s, CAUSE)).toBeUndefined();
    const paused = pauseMigration(s, CAUSE)!;
    expect(paused.paused).toEqual(CAUSE);
    expect(paused.log).toEqual([{ kind: 'paused', at: CAUSE.at, detail: CAUSE.message }]);
    expect(nextMigrationStep(paused)).toBeUndefined();
    const resumed = resumeMigration(paused, CAUSE)!;
    expect(resumed.paused).toBeUndefined();
    expect(resumed.transition).toEqual(s.transition);
    expect(resumed.log?.map((e) => e.kind)).toEqual(['paused', 'resumed']);
    expect(nextMigrationStep(resumed)?.name).toBe('start-v2');
  });

  it('GIVEN a paused migration with no transition WHEN resumed THEN no transition appears', () => {
    const r = resumeMigration(at('parallel', { paused: CAUSE }), CAUSE)!;
    expect(r.transition).toBeUndefined();
    expect('transition' in r).toBe(false);
  });
});

describe('reachPhase and the log', () => {
  it('GIVEN the exit checks passed THEN the phase is set, the transition cleared, a phase event logged', () => {
    const s = runAll(steer(at('v1-only'), 'parallel', CTX, NOW)!);
    const r = reachPhase(s, LATER);
    expect(r.phase).toBe('parallel');
    expect(r.transition).toBeUndefined();
    expect('transition' in r).toBe(false);
    expect(r.log).toEqual([{ kind: 'phase', at: LATER.toISOString(), from: 'v1-only', to: 'parallel' }]);
  });

  it('GIVEN no transition THEN reachPhase changes nothing', () => {
    const s = at('cutover');
    expect(reachPhase(s, NOW)).toBe(s);
  });

  it('GIVEN more events than kept THEN the oldest go, the newest last', () => {
    let s = at('v1-only');
    for (let i = 0; i < MIGRATION_LOG_KEPT + 7; i++)
      s = withEvent(s, { kind: 'phase', at: new Date(NOW.getTime() + i).toISOString(), detail: `${i}` });
    expect(s.log).toHaveLength(MIGRATION_LOG_KEPT);
    expect(s.log?.[0].detail).toBe('7');
    expect(s.log?.at(-1)?.detail).toBe(`${MIGRATION_LOG_KEPT + 6}`);
  });

  it('GIVEN a walk from v1-only to complete and back THEN every phase is reached once each way, one phase event each', () => {
    let s = at('v1-only');
    const seen: string[] = [];
    for (const target of ['complete', 'v1-only'] as const) {
      for (let guard = 0; guard < 10; guard++) {
        const next = steer(s, target, CTX, NOW);
        if (!next) break;
        s = reachPhase(runAll(next), NOW);
        seen.push(s.phase);
      }
    }
    expect(seen).toEqual(['parallel', 'content-migrated', 'cutover', 'complete', 'cutover', 'content-migrated', 'parallel', 'v1-only']);
    expect(s.log?.filter((e) => e.kind === 'phase')).toHaveLength(8);
  });
});
