// What the cluster reconciler serves while a rollout runs (src/reconcilers/rollout.ts:
// rolloutTarget, holdServiceWrites) and what status says of it (computeStatus with `held` and
// `rollout`), by value.
import { describe, expect, it } from 'vitest';
import { holdServiceWrites, rolloutTarget, type RolloutTarget } from '../../../src/reconcilers/rollout.js';
import { computeStatus, type StatusInput } from '../../../src/reconcilers/status.js';
import type { ServicePlan } from '../../../src/reconcilers/services.js';
import type { DesiredService } from '../../../src/convert/services.js';
import type { RolloutCause } from '../../../src/spec/rollout.js';
import type { RolloutState } from '../../../src/store/rollout-store.js';
import type { Service, Task } from '../../../src/swarm/api-types.js';
import { ROLLOUT_STARTED, rolloutOf5 } from '../../support/rollouts.js';

const STARTED = ROLLOUT_STARTED;
const CAUSE_AT = '2026-12-01T11:30:00.000Z';
const analysis: RolloutCause = {
  kind: 'analysis',
  rule: 'error-rate',
  value: 0.09,
  threshold: 0.05,
  message: 'error rate above 5 %',
  at: CAUSE_AT,
};
const rollout = rolloutOf5;

describe('rolloutTarget: which generation the services run, and whether their writes wait', () => {
  const all = { analysed: true, rolloutController: true, running: true };
  const none = { analysed: false, rolloutController: false, running: true };
  const WAITING = 'waiting for the rollout of generation 5 to start (baseline measurement)';

  it.each<[string, RolloutState | undefined, typeof all, RolloutTarget]>([
    ['no rollout and no analysis', undefined, none, { serve: 5 }],
    ['a RollingBack rollout of generation 5', rollout('RollingBack', { cause: analysis }), all, { serve: 4, since: Date.parse(CAUSE_AT) }],
    ['a RolledBack rollout of generation 5', rollout('RolledBack', { cause: analysis }), none, { serve: 4, since: Date.parse(CAUSE_AT) }],
    ['an Aborted rollout of generation 5', rollout('Aborted', { cause: analysis }), none, { serve: 4, since: Date.parse(CAUSE_AT) }],
    ['a RollingBack rollout with no cause recorded', rollout('RollingBack'), none, { serve: 4, since: Date.parse(STARTED) }],
    ['a Progressing rollout of generation 5', rollout('Progressing'), all, { serve: 5 }],
    ['a Watching rollout of generation 5', rollout('Watching'), all, { serve: 5 }],
    ['a Succeeded rollout of generation 5', rollout('Succeeded'), all, { serve: 5 }],
    // A new spec rolls forward again: only the rolled-back generation itself is kept from running.
    [
      'generation 4 rolled back, generation 5 applied, no rollout controller',
      rollout('RolledBack', { generation: 4, stable: 3 }),
      none,
      { serve: 5 },
    ],
    [
      'the rollout of generation 4 succeeded, 5 applied with analysis',
      rollout('Succeeded', { generation: 4 }),
      all,
      { serve: 5, hold: WAITING },
    ],
    ['no rollout yet, an analysed spec and a rollout controller', undefined, all, { serve: 5, hold: WAITING }],
    ['no rollout yet, an analysed spec but no rollout controller', undefined, { ...all, rolloutController: false }, { serve: 5 }],
    ['no rollout yet and a spec with no analysis', undefined, { ...all, analysed: false }, { serve: 5 }],
    ['no rollout yet and nothing running (a first deploy)', undefined, { ...all, running: false }, { serve: 5 }],
  ])('GIVEN generation 5 and %s THEN the target is %j', (_, r, o, target) => {
    expect(rolloutTarget(5, r, o)).toEqual(target);
  });

  it.each<[string, RolloutState, string]>([
    [
      'with its cause',
      rollout('Paused', { cause: { ...analysis, message: 'analysis inconclusive' } }),
      'rollout of generation 5 paused: analysis inconclusive; go on with bzzzctl rollout resume, or roll back with bzzzctl rollout abort',
    ],
    [
      'with no cause',
      rollout('Paused'),
      'rollout of generation 5 paused; go on with bzzzctl rollout resume, or roll back with bzzzctl rollout abort',
    ],
  ])('GIVEN a Paused rollout of generation 5 %s THEN generation 5 is served and its writes are held, saying how to go on', (_, r, hold) => {
    expect(rolloutTarget(5, r, { analysed: false, rolloutController: false, running: true })).toEqual({ serve: 5, hold });
  });
});

const spec = (name: string, image: string, replicas = 1): DesiredService => ({
  component: name === 'c_redis' ? 'redis' : 'agent',
  shortName: name.slice(2),
  spec: { Name: name, TaskTemplate: { ContainerSpec: { Image: image } }, Mode: { Replicated: { Replicas: replicas } } },
});
const service = (d: DesiredService, image = d.spec.TaskTemplate.ContainerSpec.Image): Service => ({
  ID: `id-${d.spec.Name}`,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { ...d.spec, TaskTemplate: { ContainerSpec: { Image: image } } },
});

describe('holdServiceWrites', () => {
  const a = spec('c_agent-a', 'img:2');
  const b = spec('c_agent-b', 'img:2');
  const redis = spec('c_redis', 'redis:7');

  it('GIVEN creates, updates and a removal WHEN held THEN only the removal goes on, and the held services are named in order', () => {
    const plan: ServicePlan = {
      create: [b],
      update: [{ desired: a, observed: service(a, 'img:1') }],
      remove: [service(redis)],
      changes: [
        { action: 'update', kind: 'service', name: 'c_agent-a' },
        { action: 'create', kind: 'service', name: 'c_agent-b' },
        { action: 'remove', kind: 'service', name: 'c_redis' },
      ],
      rolledBack: [{ object: 'service c_x', reason: 'UpdateRolledBack', message: 'rolled back' }],
    };
    const held = holdServiceWrites(plan);
    expect(held.deferred).toEqual(['c_agent-a', 'c_agent-b']);
    expect(held.plan).toEqual({
      create: [],
      update: [],
      remove: plan.remove,
      changes: [{ action: 'remove', kind: 'service', name: 'c_redis' }],
      rolledBack: plan.rolledBack,
    });
  });

  it('GIVEN a plan with nothing to create or update WHEN held THEN it is the same plan and nothing is deferred', () => {
    const plan: ServicePlan = { create: [], update: [], remove: [service(redis)], changes: [], rolledBack: [] };
    const held = holdServiceWrites(plan);
    expect(held.plan).toBe(plan);
    expect(held.deferred).toEqual([]);
  });
});

describe('computeStatus with a rollout', () => {
  const NOW = new Date('2026-12-01T12:00:00Z');
  const desired = [spec('c_agent-a', 'img:2'), spec('c_redis', 'redis:7')];
  const services = desired.map((d) => service(d));
  const task = (serviceId: string, image?: string): Task => ({
    ID: `t-${serviceId}-${image}`,
    ServiceID: serviceId,
    DesiredState: 'running',
    Status: { Timestamp: STARTED, State: 'running' },
    Spec: image === undefined ? {} : { ContainerSpec: { Image: image } },
    CreatedAt: STARTED,
    UpdatedAt: STARTED,
  });
  const running = [task('id-c_agent-a', 'img:2'), task('id-c_redis', 'redis:7')];
  const status = (i: Partial<StatusInput>) =>
    computeStatus({ generation: 5, desired, services, tasks: running, problems: [], pendingChanges: 0, now: NOW, ...i });
  const conds = (s: ReturnType<typeof computeStatus>) => s.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`);
  const message = (s: ReturnType<typeof computeStatus>, type: string) => s.conditions.find((c) => c.type === type)?.message;

  it.each<[string, RolloutState, string, string]>([
    [
      'rolling back after a failed analysis rule',
      rollout('RollingBack', { cause: analysis }),
      'RolledBack',
      'generation 5 rolling back to generation 4: analysis rule error-rate saw 0.09 (threshold 0.05): error rate above 5 %; it is not rolled forward again until the spec changes',
    ],
    [
      'rolled back after an alert',
      rollout('RolledBack', { cause: { kind: 'alert', alert: 'BzzzErrorRate', message: 'alert BzzzErrorRate fired', at: CAUSE_AT } }),
      'RolledBack',
      'generation 5 rolled back to generation 4: alert: alert BzzzErrorRate fired; it is not rolled forward again until the spec changes',
    ],
    [
      'rolled back after the swarm rolled an update back',
      rollout('RolledBack', { cause: { kind: 'swarm', message: 'service c_agent-a: update rolled back', at: CAUSE_AT } }),
      'RolledBack',
      'generation 5 rolled back to generation 4: swarm: service c_agent-a: update rolled back; it is not rolled forward again until the spec changes',
    ],
    [
      'aborted by a person',
      rollout('Aborted', { cause: { kind: 'manual', by: 'ops@walnut', message: 'aborted by ops@walnut', at: CAUSE_AT } }),
      'RolloutAborted',
      'generation 5 rolled back to generation 4: manual: aborted by ops@walnut; it is not rolled forward again until the spec changes',
    ],
  ])(
    'GIVEN every service converged on the stable spec, the rollout of generation 5 %s THEN Ready is False and Failed says why',
    (_, r, reason, why) => {
      const s = status({ rollout: r });
      expect(conds(s)).toEqual([
        `Ready=False:${reason}`,
        'Progressing=False:Converged',
        `Degraded=True:${reason}`,
        `Failed=True:${reason}`,
      ]);
      expect([message(s, 'Ready'), message(s, 'Failed'), message(s, 'Degraded')]).toEqual([why, why, why]);
      expect(s.rollout).toEqual({ generation: 5, phase: r.phase, stable: 4, cause: r.cause });
    },
  );

  it('GIVEN a rollback still starting tasks of the stable spec THEN Progressing says so (the state machine waits for it to go False)', () => {
    const s = status({ rollout: rollout('RollingBack', { cause: analysis }), tasks: [task('id-c_redis', 'redis:7')] });
    expect(conds(s)).toEqual([
      'Ready=False:RolledBack',
      'Progressing=True:TasksStarting',
      'Degraded=True:RolledBack',
      'Failed=True:RolledBack',
    ]);
  });

  // Found by cluster-rollout.test.ts: the generation's failure (the swarm rolled one agent back)
  // made Progressing False at once, so the rollout was called RolledBack while other agents
  // still ran the failed release.
  it.each<[string, Partial<StatusInput>, string]>([
    ['agents still waiting their turn', { deferred: ['c_agent-a'] }, 'Progressing=True:RollingUpdate'],
    ['every service back on the stable spec', {}, 'Progressing=False:Converged'],
  ])(
    'GIVEN generation 5 failed (the swarm rolled an update back) and its rollout RollingBack with %s THEN Progressing tells how far the rollback is',
    (_, i, progressing) => {
      const failure = { generation: 5, object: 'service c_agent-b', reason: 'UpdateRolledBack', message: 'rolled back', at: STARTED };
      const s = status({
        ...i,
        failure,
        rollout: rollout('RollingBack', { cause: { kind: 'swarm', message: 'rolled back', at: CAUSE_AT } }),
      });
      expect(conds(s)).toEqual(['Ready=False:RolledBack', progressing, 'Degraded=True:RolledBack', 'Failed=True:RolledBack']);
      expect(s.failure).toEqual(failure);
    },
  );

  it.each<[string, RolloutState]>([
    ['Progressing', rollout('Progressing')],
    ['Watching', rollout('Watching', { convergedAt: STARTED })],
    ['Succeeded', rollout('Succeeded', { finishedAt: STARTED })],
    ['RolledBack, but of generation 4 (generation 5 is a new spec)', rollout('RolledBack', { generation: 4, stable: 3, cause: analysis })],
  ])('GIVEN every service converged and a rollout %s THEN Ready is True and nothing is Failed', (_, r) => {
    const s = status({ rollout: r });
    expect(conds(s)).toEqual(['Ready=True:Converged', 'Progressing=False:Converged', 'Degraded=False:AsExpected']);
    expect(s.rollout?.phase).toBe(r.phase);
  });

  it.each<[string, RolloutState | undefined, string]>([
    ['a Paused rollout of generation 5', rollout('Paused', { cause: analysis }), 'RolloutPaused'],
    ['no rollout started yet', undefined, 'RolloutHeld'],
    ['the rollout of generation 4 paused (not this one)', rollout('Paused', { generation: 4 }), 'RolloutHeld'],
  ])('GIVEN service writes held with %s THEN Ready is False and Progressing says why (%s)', (_, r, reason) => {
    const held = 'the reason the rollout gave';
    const s = status({ rollout: r, held, deferred: ['c_agent-a'] });
    expect(conds(s)).toEqual([`Ready=False:${reason}`, `Progressing=True:${reason}`, 'Degraded=False:AsExpected']);
    expect([message(s, 'Ready'), message(s, 'Progressing')]).toEqual([held, held]);
  });

  it('GIVEN a hold with nothing left to hold (every service already runs generation 5) THEN the cluster is Ready', () => {
    const s = status({ rollout: rollout('Paused', { cause: analysis }), held: 'paused', deferred: [] });
    expect(conds(s)).toEqual(['Ready=True:Converged', 'Progressing=False:Converged', 'Degraded=False:AsExpected']);
  });

  it('GIVEN writes held and the generation failed terminally THEN the failure is what status reports', () => {
    const failure = { generation: 5, object: 'service c_agent-a', reason: 'EngineRefused', message: 'bad', at: STARTED };
    const s = status({ held: 'waiting', deferred: ['c_agent-a'], failure });
    expect(conds(s)).toEqual([
      'Ready=False:GenerationFailed',
      'Progressing=False:GenerationFailed',
      'Degraded=True:GenerationFailed',
      'Failed=True:EngineRefused',
    ]);
  });

  it.each<[string, Task[], number]>([
    ['the old image (the update was just pushed)', [task('id-c_agent-a', 'img:1')], 0],
    ['the current image pinned by digest', [task('id-c_agent-a', 'img:2@sha256:abcd')], 1],
    ['no image recorded on the task', [task('id-c_agent-a')], 1],
    ['the old image and the current one', [task('id-c_agent-a', 'img:1'), task('id-c_agent-a', 'img:2')], 1],
  ])("GIVEN the agent's running task on %s THEN it counts %i running", (_, tasks, n) => {
    const s = status({ tasks: [...tasks, task('id-c_redis', 'redis:7')] });
    expect(s.components.find((c) => c.service === 'c_agent-a')?.running).toBe(n);
    expect(s.conditions[0].status).toBe(n === 1 ? 'True' : 'False');
  });
});
