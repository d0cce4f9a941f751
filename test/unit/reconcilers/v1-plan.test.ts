// The v1 plan's state machine (src/reconcilers/v1-plan.ts), by value: a request makes a plan (or
// none, when the cluster is already there or on its way; a plan to the other side in progress is
// refused); each step's outcome is folded into the journal, a failure appending the undo steps
// that leave the side that served before serving, and the side the proxy serves follows the
// journal (servingSide in src/spec/v1.ts).
import { describe, expect, it } from 'vitest';
import {
  failedStep,
  finishStep,
  nextStep,
  requestPlan,
  startStep,
  V1PlanError,
  type StepOutcome,
} from '../../../src/reconcilers/v1-plan.js';
import type { RolloutCause } from '../../../src/spec/rollout.js';
import { servingSide, V1_STEPS, type V1PlanState, type V1Side, type V1StepName } from '../../../src/spec/v1.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const CAUSE: RolloutCause = { kind: 'manual', message: 'bzzzctl rollback --to v1', at: NOW.toISOString(), by: 'ops@walnut' };

const ask = (current: V1PlanState | undefined, to: V1Side, extra: { minHosts?: number } = {}) =>
  requestPlan(current, { to, cause: CAUSE, now: NOW, ...extra });

/** What each step's run answers (ok unless told); a step may answer differently on its n-th run. */
type Outcomes = Partial<Record<V1StepName, StepOutcome | StepOutcome[]>>;

const fail = (detail: string): StepOutcome => ({ ok: false, detail });

/**
 * Runs a plan to its end as the reconciler would (start, finish with the step's outcome),
 * returning the final plan, the order the steps ran in, and the side served after each step.
 */
function drive(plan: V1PlanState, outcomes: Outcomes = {}): { plan: V1PlanState; ran: V1StepName[]; serving: V1Side[] } {
  const ran: V1StepName[] = [];
  const serving: V1Side[] = [];
  const runs = new Map<V1StepName, number>();
  let p = plan;
  for (let guard = 0; guard < 30; guard++) {
    const step = nextStep(p);
    if (!step) return { plan: p, ran, serving };
    p = startStep(p, step.name, NOW);
    expect(nextStep(p)).toMatchObject({ name: step.name, state: 'running' });
    const n = runs.get(step.name) ?? 0;
    runs.set(step.name, n + 1);
    const o = outcomes[step.name];
    const outcome = Array.isArray(o) ? (o[n] ?? { ok: true }) : (o ?? { ok: true });
    p = finishStep(p, step.name, outcome, NOW);
    ran.push(step.name);
    serving.push(servingSide(p));
  }
  throw new Error(`plan did not finish: ${JSON.stringify(p.steps)}`);
}

const states = (p: V1PlanState) => p.steps.map((s) => `${s.name}:${s.state}`);

/** A plan to v1 that ran to Done (v2 parked, as stop-v2 leaves it). */
function onV1(): V1PlanState {
  const { plan } = drive(ask(undefined, 'v1')!);
  return { ...plan, parked: true, v2: { generation: 3, services: { 'c_agent-a': { replicas: 1, image: 'bzzz/bzzzctl:v2' } } } };
}

describe('requestPlan', () => {
  it('GIVEN no plan yet WHEN v1 is asked for THEN a plan of the v1 steps, all pending, numbered 1, v2 not parked', () => {
    const p = ask(undefined, 'v1', { minHosts: 2 });
    expect(p).toMatchObject({
      id: 1,
      to: 'v1',
      phase: 'Running',
      cause: CAUSE,
      requestedAt: NOW.toISOString(),
      parked: false,
      minHosts: 2,
    });
    expect(p?.steps).toEqual(V1_STEPS.v1.map((name) => ({ name, state: 'pending' })));
    expect(p?.steps.map((s) => s.name)).toEqual(['record-v2', 'start-v1', 'verify-v1', 'switch-proxy', 'stop-v2', 'notify']);
    expect(nextStep(p!)?.name).toBe('record-v2');
  });

  it('GIVEN no plan yet WHEN v2 is asked for THEN nothing: v2 already serves', () => {
    expect(ask(undefined, 'v2')).toBeUndefined();
  });

  it('GIVEN the cluster on v1 (plan Done, v2 parked) WHEN v1 is asked for again THEN nothing', () => {
    expect(ask(onV1(), 'v1')).toBeUndefined();
  });

  it.each<[string, V1Side]>([
    ['v1 while a plan to v1 runs', 'v1'],
    ['v2 while a plan to v2 runs', 'v2'],
  ])('GIVEN a running plan WHEN %s THEN nothing (asking twice does it once)', (_name, to) => {
    const running = to === 'v1' ? ask(undefined, 'v1')! : ask(onV1(), 'v2')!;
    const midway = finishStep(startStep(running, running.steps[0].name, NOW), running.steps[0].name, { ok: true }, NOW);
    expect(ask(running, to)).toBeUndefined();
    expect(ask(midway, to)).toBeUndefined();
  });

  it('GIVEN a plan to v1 at start-v1 WHEN v2 is asked for THEN refused, naming the plan and the step', () => {
    let p = ask(undefined, 'v1')!;
    p = finishStep(startStep(p, 'record-v2', NOW), 'record-v2', { ok: true }, NOW);
    p = startStep(p, 'start-v1', NOW);
    expect(() => ask(p, 'v2')).toThrow(V1PlanError);
    expect(() => ask(p, 'v2')).toThrow(/switch to v1 is in progress \(plan 1, step start-v1\)/);
  });

  it('GIVEN a plan to v2 running WHEN v1 is asked for THEN refused with the step', () => {
    const p = ask(onV1(), 'v2')!;
    expect(() => ask(p, 'v1')).toThrow(/switch to v2 is in progress \(plan 2, step start-v2\)/);
  });

  it('GIVEN the cluster on v1 WHEN v2 is asked for THEN the v2 plan, numbered next, v2 still parked until start-v2, the v2 record carried', () => {
    const done = onV1();
    const p = ask(done, 'v2');
    expect(p).toMatchObject({ id: 2, to: 'v2', phase: 'Running', parked: true, v2: done.v2 });
    expect(p?.steps.map((s) => s.name)).toEqual(['start-v2', 'switch-proxy', 'stop-v1', 'notify']);
  });

  it('GIVEN v1 → v2 → v1 WHEN each is asked for in turn THEN the ids increment and the dedupe keys of alerts are carried along', () => {
    const first = { ...onV1(), handledAlerts: ['t/fp/1'] };
    const back = ask(first, 'v2')!;
    expect(back).toMatchObject({ id: 2, handledAlerts: ['t/fp/1'] });
    const v2 = { ...drive(back).plan, parked: false };
    expect(v2.phase).toBe('Done');
    expect(servingSide(v2)).toBe('v2');
    const again = ask({ ...v2, handledAlerts: ['t/fp/1', 't/fp/2'] }, 'v1');
    expect(again).toMatchObject({ id: 3, to: 'v1', parked: false, handledAlerts: ['t/fp/1', 't/fp/2'] });
    expect(ask(v2, 'v2')).toBeUndefined();
  });

  it('GIVEN a plan to v1 that failed (v2 went on serving) WHEN v1 is asked for again THEN a new plan; v2 asked for: nothing', () => {
    const failed = drive(ask(undefined, 'v1')!, { 'start-v1': fail('acacia: failed') }).plan;
    expect(failed.phase).toBe('Failed');
    expect(ask(failed, 'v1')).toMatchObject({ id: 2, to: 'v1', phase: 'Running' });
    expect(ask(failed, 'v2')).toBeUndefined();
  });
});

describe('finishStep', () => {
  it('GIVEN every step succeeds THEN each runs once in order and the plan is Done with a finish time', () => {
    const { plan, ran } = drive(ask(undefined, 'v1')!);
    expect(ran).toEqual(V1_STEPS.v1);
    expect(plan.phase).toBe('Done');
    expect(plan.finishedAt).toBe(NOW.toISOString());
    expect(plan.steps.every((s) => s.state === 'done' && s.attempts === 1)).toBe(true);
    expect(failedStep(plan)).toBeUndefined();
  });

  it('GIVEN start-v1 fails THEN undo-v1 and a notify are appended, the pending steps skipped, and the plan Failed once both ran', () => {
    let p = ask(undefined, 'v1')!;
    for (const name of ['record-v2'] as const) p = finishStep(startStep(p, name, NOW), name, { ok: true }, NOW);
    p = finishStep(startStep(p, 'start-v1', NOW), 'start-v1', fail('acacia: bzzz@acacia.service failed'), NOW);
    expect(p.phase).toBe('Running');
    expect(states(p)).toEqual([
      'record-v2:done',
      'start-v1:failed',
      'verify-v1:skipped',
      'switch-proxy:skipped',
      'stop-v2:skipped',
      'notify:skipped',
      'undo-v1:pending',
      'notify:pending',
    ]);
    expect(p.steps[1].detail).toBe('acacia: bzzz@acacia.service failed');
    expect(nextStep(p)?.name).toBe('undo-v1');
    p = finishStep(startStep(p, 'undo-v1', NOW), 'undo-v1', { ok: true }, NOW);
    expect(p.phase).toBe('Running');
    expect(nextStep(p)).toMatchObject({ name: 'notify', state: 'pending' });
    p = finishStep(startStep(p, 'notify', NOW), 'notify', { ok: true }, NOW);
    expect(p.phase).toBe('Failed');
    expect(p.finishedAt).toBe(NOW.toISOString());
    expect(failedStep(p)?.name).toBe('start-v1');
    expect(states(p).slice(-2)).toEqual(['undo-v1:done', 'notify:done']);
  });

  it('GIVEN switch-proxy fails THEN the proxy is put back first, then the v1 units stopped, then Slack is told', () => {
    const { plan, ran } = drive(ask(undefined, 'v1')!, { 'switch-proxy': fail('haproxy serves both') });
    expect(ran).toEqual(['record-v2', 'start-v1', 'verify-v1', 'switch-proxy', 'undo-proxy', 'undo-v1', 'notify']);
    expect(plan.phase).toBe('Failed');
    expect(failedStep(plan)).toMatchObject({ name: 'switch-proxy', detail: 'haproxy serves both' });
    expect(plan.steps.find((s) => s.name === 'stop-v2')?.state).toBe('skipped');
  });

  it('GIVEN verify-v1 fails THEN only the v1 units are stopped again (the proxy was never touched)', () => {
    const { plan, ran } = drive(ask(undefined, 'v1')!, { 'verify-v1': fail('v1 mesh not verified') });
    expect(ran).toEqual(['record-v2', 'start-v1', 'verify-v1', 'undo-v1', 'notify']);
    expect(plan.phase).toBe('Failed');
  });

  it('GIVEN record-v2 fails THEN nothing to undo: straight to notify, Failed', () => {
    const { plan, ran } = drive(ask(undefined, 'v1')!, { 'record-v2': fail('cluster c has no record') });
    expect(ran).toEqual(['record-v2', 'notify']);
    expect(plan.phase).toBe('Failed');
  });

  it('GIVEN a plan to v2 whose switch-proxy fails THEN the proxy back to v1, then v2 parked again', () => {
    const { plan, ran } = drive(ask(onV1(), 'v2')!, { 'switch-proxy': fail('refused') });
    expect(ran).toEqual(['start-v2', 'switch-proxy', 'undo-proxy', 'undo-v2', 'notify']);
    expect(plan.phase).toBe('Failed');
  });

  it('GIVEN stop-v2 done WHEN a later step fails THEN no undo (the other side is stopped): Failed after notify', () => {
    // stop-v2 is followed by notify alone in the catalogue: a journal with one more step after it
    // shows the rule (a plan from an older catalogue, say).
    let p = ask(undefined, 'v1')!;
    p = { ...p, steps: [...p.steps.slice(0, 5), { name: 'stop-v1', state: 'pending' }, ...p.steps.slice(5)] };
    const { plan, ran } = drive(p, { 'stop-v1': fail('walnut unreachable') });
    expect(ran).toEqual(['record-v2', 'start-v1', 'verify-v1', 'switch-proxy', 'stop-v2', 'stop-v1', 'notify']);
    expect(plan.phase).toBe('Failed');
    expect(plan.steps.some((s) => s.name.startsWith('undo-'))).toBe(false);
  });

  it('GIVEN stop-v2 fails (v2 would not scale to zero) THEN no undo: v1 was verified and serves, v2 is partly parked — putting the proxy back on a parked v2 would serve nobody', () => {
    const { plan, ran, serving } = drive(ask(undefined, 'v1')!, { 'stop-v2': fail('v2 still running after 121 s') });
    expect(ran).toEqual(['record-v2', 'start-v1', 'verify-v1', 'switch-proxy', 'stop-v2', 'notify']);
    expect(plan.phase).toBe('Failed');
    expect(serving.at(-1)).toBe('v1');
  });

  it('GIVEN a plan to v2 whose stop-v1 fails THEN no undo: v2 runs and serves, v1 is partly stopped', () => {
    const { plan, ran, serving } = drive(ask(onV1(), 'v2')!, { 'stop-v1': fail('v1 not stopped on acacia') });
    expect(ran).toEqual(['start-v2', 'switch-proxy', 'stop-v1', 'notify']);
    expect(plan.phase).toBe('Failed');
    expect(serving.at(-1)).toBe('v2');
  });

  it('GIVEN an undo step fails THEN the other undo steps are skipped and the plan fails after notify', () => {
    const { plan, ran } = drive(ask(undefined, 'v1')!, { 'switch-proxy': fail('refused'), 'undo-proxy': fail('socket gone') });
    expect(ran).toEqual(['record-v2', 'start-v1', 'verify-v1', 'switch-proxy', 'undo-proxy', 'notify']);
    expect(plan.phase).toBe('Failed');
    expect(states(plan).slice(-3)).toEqual(['undo-proxy:failed', 'undo-v1:skipped', 'notify:done']);
    expect(failedStep(plan)?.name).toBe('switch-proxy');
  });

  it('GIVEN the last undo fails THEN the plan still announces and ends Failed', () => {
    const { plan, ran } = drive(ask(undefined, 'v1')!, { 'start-v1': fail('acacia down'), 'undo-v1': fail('walnut: still active') });
    expect(ran).toEqual(['record-v2', 'start-v1', 'undo-v1', 'notify']);
    expect(plan.phase).toBe('Failed');
  });

  it('GIVEN notify fails THEN it never fails a plan: Done stays Done, Failed stays Failed (no undo for a notify)', () => {
    const done = drive(ask(undefined, 'v1')!, { notify: fail('slack: 500') }).plan;
    expect(done.phase).toBe('Done');
    const failed = drive(ask(undefined, 'v1')!, { 'verify-v1': fail('no mesh'), notify: fail('slack: 500') });
    expect(failed.ran).toEqual(['record-v2', 'start-v1', 'verify-v1', 'undo-v1', 'notify']);
    expect(failed.plan.phase).toBe('Failed');
  });

  it('GIVEN a step started again after a crash THEN it counts its attempts and finishes once', () => {
    let p = ask(undefined, 'v1')!;
    p = startStep(p, 'record-v2', NOW);
    p = startStep(p, 'record-v2', NOW);
    expect(nextStep(p)).toMatchObject({ name: 'record-v2', state: 'running', attempts: 2 });
    p = finishStep(p, 'record-v2', { ok: true, detail: '5 services' }, NOW);
    expect(p.steps[0]).toMatchObject({ state: 'done', detail: '5 services', attempts: 2 });
    // a step already finished is not finished again
    expect(finishStep(p, 'record-v2', fail('late'), NOW).steps[0]).toMatchObject({ state: 'done' });
  });

  it('GIVEN a finished plan THEN no next step', () => {
    expect(nextStep(onV1())).toBeUndefined();
  });
});

describe('servingSide', () => {
  it('GIVEN no plan THEN v2', () => {
    expect(servingSide(undefined)).toBe('v2');
  });

  it('GIVEN a plan to v1 THEN v2 serves until switch-proxy is done, v1 after', () => {
    const { serving, ran } = drive(ask(undefined, 'v1')!);
    expect(Object.fromEntries(ran.map((s, i) => [s, serving[i]]))).toEqual({
      'record-v2': 'v2',
      'start-v1': 'v2',
      'verify-v1': 'v2',
      'switch-proxy': 'v1',
      'stop-v2': 'v1',
      notify: 'v1',
    });
    expect(servingSide(ask(undefined, 'v1'))).toBe('v2');
  });

  it('GIVEN a plan to v1 whose switch is undone THEN v2 again after undo-proxy', () => {
    // The switch succeeded and a step after it, before stop-v2, fails (a journal with one more
    // verify after the switch shows it: the catalogue has no such step today).
    let p = ask(undefined, 'v1')!;
    for (const name of ['record-v2', 'start-v1', 'verify-v1', 'switch-proxy'] as const)
      p = finishStep(startStep(p, name, NOW), name, { ok: true }, NOW);
    expect(servingSide(p)).toBe('v1');
    const p2: V1PlanState = { ...p, steps: [...p.steps.slice(0, 4), { name: 'verify-v1', state: 'pending' }, ...p.steps.slice(4)] };
    const { ran, serving, plan } = drive(p2, { 'verify-v1': fail('mesh lost') });
    expect(ran).toEqual(['verify-v1', 'undo-proxy', 'undo-v1', 'notify']);
    expect(serving).toEqual(['v1', 'v2', 'v2', 'v2']);
    expect(servingSide(plan)).toBe('v2');
  });

  it('GIVEN a plan to v2 THEN v1 serves until its switch-proxy is done, v2 after; a failed switch leaves v1', () => {
    const { serving } = drive(ask(onV1(), 'v2')!);
    expect(serving).toEqual(['v1', 'v2', 'v2', 'v2']);
    expect(drive(ask(onV1(), 'v2')!, { 'switch-proxy': fail('x') }).serving).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);
  });
});
