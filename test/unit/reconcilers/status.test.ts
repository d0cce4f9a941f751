import { describe, expect, it } from 'vitest';
import { computeStatus } from '../../../src/reconcilers/status.js';
import type { DesiredService } from '../../../src/convert/services.js';
import type { Service, Task } from '../../../src/swarm/api-types.js';

const desired: DesiredService[] = [
  {
    component: 'agent',
    shortName: 'agent-a',
    spec: { Name: 'c_agent-a', TaskTemplate: { ContainerSpec: { Image: 'img:1' } }, Mode: { Replicated: { Replicas: 1 } } },
  },
  {
    component: 'redis',
    shortName: 'redis',
    spec: { Name: 'c_redis', TaskTemplate: { ContainerSpec: { Image: 'redis:7' } }, Mode: { Replicated: { Replicas: 2 } } },
  },
];
const svc = (id: string, name: string, extra: Partial<Service> = {}): Service => ({
  ID: id,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { ...desired.find((d) => d.spec.Name === name)!.spec },
  ...extra,
});
const task = (service: string, state: Task['Status']['State'], err?: string, at = '2026-01-01T00:00:00Z'): Task => ({
  ID: Math.random().toString(36),
  ServiceID: service,
  DesiredState: state === 'running' ? 'running' : 'shutdown',
  Status: { Timestamp: at, State: state, Err: err },
  Spec: {},
  CreatedAt: at,
  UpdatedAt: at,
});
const now = new Date('2026-11-23T00:00:00Z');
const conds = (s: ReturnType<typeof computeStatus>) => s.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`);

describe('cluster status', () => {
  const services = [svc('s1', 'c_agent-a'), svc('s2', 'c_redis')];

  it('is Ready when every service runs its desired tasks', () => {
    const s = computeStatus({
      generation: 3,
      desired,
      services,
      tasks: [task('s1', 'running'), task('s2', 'running'), task('s2', 'running')],
      problems: [],
      pendingChanges: 0,
      now,
    });
    expect(conds(s)).toEqual(['Ready=True:Converged', 'Progressing=False:Converged', 'Degraded=False:AsExpected']);
    expect(s.observedGeneration).toBe(3);
    expect(s.components.map((c) => `${c.service} ${c.running}/${c.desired}`)).toEqual(['c_agent-a 1/1', 'c_redis 2/2']);
  });

  it('is Progressing while tasks start', () => {
    const s = computeStatus({ generation: 1, desired, services, tasks: [task('s1', 'running')], problems: [], pendingChanges: 0, now });
    expect(conds(s)).toEqual(['Ready=False:TasksStarting', 'Progressing=True:TasksStarting', 'Degraded=False:AsExpected']);
  });

  it('is Degraded with the task error when tasks fail', () => {
    const s = computeStatus({
      generation: 1,
      desired,
      services,
      tasks: [task('s1', 'running'), task('s2', 'rejected', 'No such image: redis:7')],
      problems: [],
      pendingChanges: 0,
      now,
    });
    const d = s.conditions.find((c) => c.type === 'Degraded')!;
    expect(d).toMatchObject({ status: 'True', reason: 'TasksFailing' });
    expect(d.message).toContain('c_redis: No such image: redis:7');
  });

  it('is Degraded when a rolling update rolled back', () => {
    const rolled = [
      svc('s1', 'c_agent-a', { UpdateStatus: { State: 'rollback_completed', Message: 'update rolled back due to failure' } }),
      svc('s2', 'c_redis'),
    ];
    const s = computeStatus({
      generation: 2,
      desired,
      services: rolled,
      tasks: [task('s1', 'running'), task('s2', 'running'), task('s2', 'running')],
      problems: [],
      pendingChanges: 0,
      now,
    });
    expect(s.conditions.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'UpdateFailed' });
    expect(s.components[0].update).toBe('rollback_completed');
  });

  it('keeps the transition time while a condition does not change (no status write on an unchanged cluster)', () => {
    const first = computeStatus({
      generation: 1,
      desired,
      services,
      tasks: [task('s1', 'running'), task('s2', 'running'), task('s2', 'running')],
      problems: [],
      pendingChanges: 0,
      now,
    });
    const later = computeStatus({
      generation: 1,
      desired,
      services,
      tasks: [task('s1', 'running'), task('s2', 'running'), task('s2', 'running')],
      problems: [],
      pendingChanges: 0,
      previous: first,
      now: new Date('2026-11-24T00:00:00Z'),
    });
    expect(later).toEqual(first);
  });
});
