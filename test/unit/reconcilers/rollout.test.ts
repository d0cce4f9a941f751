import { describe, expect, it } from 'vitest';
import { gateAgentUpdates } from '../../../src/reconcilers/rollout.js';
import type { ServicePlan } from '../../../src/reconcilers/services.js';
import type { Observed } from '../../../src/reconcilers/types.js';
import type { BzzzCluster } from '../../../src/spec/types.js';
import type { Service, UpdateStatus } from '../../../src/swarm/api-types.js';

const cluster: BzzzCluster = {
  apiVersion: 'bzzz.io/v2',
  kind: 'BzzzCluster',
  metadata: { name: 'c' },
  spec: { version: '2', agent: { instances: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], update: { parallelism: 1, delay: '2s' } } },
};
const svc = (name: string, component: string, update?: UpdateStatus): Service => ({
  ID: name,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  UpdateStatus: update,
  Spec: { Name: name, Labels: { 'io.bzzz.component': component }, TaskTemplate: { ContainerSpec: { Image: 'x' } } },
});
const observed = (services: Service[]): Observed => ({
  networks: [],
  secrets: [],
  configs: [],
  state: [],
  services,
  lookAlikes: [],
  external: { networks: [], secrets: [], configs: [] },
});
const planOf = (services: Service[]): ServicePlan => ({
  create: [],
  remove: [],
  update: services.map((o) => ({ observed: o, desired: { component: 'agent', shortName: o.Spec.Name, spec: o.Spec } })),
  changes: services.map((o) => ({ action: 'update' as const, kind: 'service' as const, name: o.Spec.Name })),
  rolledBack: [],
});
const now = Date.parse('2026-11-23T12:00:00Z');

describe('rolling agent instances across services', () => {
  it('updates one instance at a time when all are due', () => {
    const agents = [svc('c_agent-a', 'agent'), svc('c_agent-b', 'agent'), svc('c_agent-c', 'agent')];
    const g = gateAgentUpdates(cluster, planOf(agents), observed(agents), now);
    expect(g.plan.update.map((u) => u.observed.Spec.Name)).toEqual(['c_agent-a']);
    expect(g.deferred).toEqual(['c_agent-b', 'c_agent-c']);
  });

  it('waits while an instance is mid-update', () => {
    const a = svc('c_agent-a', 'agent', { State: 'updating' });
    const b = svc('c_agent-b', 'agent');
    const g = gateAgentUpdates(cluster, planOf([b]), observed([a, b]), now);
    expect(g.plan.update).toEqual([]);
    expect(g.deferred).toEqual(['c_agent-b']);
  });

  it('updates an instance again at once when it is the one mid-update (a rollback of the release it moves to)', () => {
    const a = svc('c_agent-a', 'agent', { State: 'updating' });
    const b = svc('c_agent-b', 'agent');
    const g = gateAgentUpdates(cluster, planOf([a, b]), observed([a, b]), now);
    expect(g.plan.update.map((u) => u.observed.Spec.Name)).toEqual(['c_agent-a']);
    expect(g.deferred).toEqual(['c_agent-b']);
  });

  it('waits for the policy delay after the last instance completed, then goes on', () => {
    const a = svc('c_agent-a', 'agent', { State: 'completed', CompletedAt: new Date(now - 1000).toISOString() });
    const b = svc('c_agent-b', 'agent');
    expect(gateAgentUpdates(cluster, planOf([b]), observed([a, b]), now).deferred).toEqual(['c_agent-b']);
    expect(gateAgentUpdates(cluster, planOf([b]), observed([a, b]), now + 1500).plan.update).toHaveLength(1);
  });

  it("leaves companion services to the swarm's own policy", () => {
    const r1 = svc('c_redis', 'redis');
    const a = svc('c_agent-a', 'agent', { State: 'updating' });
    const g = gateAgentUpdates(cluster, planOf([r1]), observed([a, r1]), now);
    expect(g.plan.update.map((u) => u.observed.Spec.Name)).toEqual(['c_redis']);
  });
});
