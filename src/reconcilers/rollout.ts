// Agent instances are separate services of one task each, so the swarm's update policy, which
// works within a service, would restart every instance at once on a version change. The
// operator rolls them itself, across services: a batch of `parallelism` instances starts only
// when no agent instance is mid-update and `delay` has passed since the last one completed;
// swarm's own policy (monitor, failure action, rollback) then applies within each service.
import type { BzzzCluster } from '../spec/types.js';
import { parseDurationMs } from '../spec/units.js';
import type { Service } from '../swarm/api-types.js';
import type { ServicePlan } from './services.js';
import type { Observed } from './types.js';
import { compareStrings } from '../util/compare.js';

const BUSY = new Set(['updating', 'rollback_started']);

export interface GatedPlan {
  plan: ServicePlan;
  deferred: string[];
}

function isAgent(s: Service): boolean {
  return s.Spec.Labels?.['io.bzzz.component'] === 'agent';
}

export function gateAgentUpdates(cluster: BzzzCluster, plan: ServicePlan, observed: Observed, now: number): GatedPlan {
  const agentUpdates = plan.update
    .filter((u) => isAgent(u.observed))
    .sort((a, b) => compareStrings(a.observed.Spec.Name, b.observed.Spec.Name));
  if (agentUpdates.length === 0) return { plan, deferred: [] };
  const policy = cluster.spec.agent.update ?? {};
  const parallelism = policy.parallelism ?? 1;
  const delayMs = policy.delay ? parseDurationMs(policy.delay, 'spec.agent.update.delay') : 0;
  const agents = observed.services.filter(isAgent);
  const busy = agents.some((s) => BUSY.has(s.UpdateStatus?.State ?? ''));
  const lastDone = Math.max(0, ...agents.map((s) => Date.parse(s.UpdateStatus?.CompletedAt ?? '') || 0));
  const waiting = busy || now < lastDone + delayMs;
  const allowed = waiting ? [] : parallelism === 0 ? agentUpdates : agentUpdates.slice(0, parallelism);
  const deferred = agentUpdates.filter((u) => !allowed.includes(u));
  if (deferred.length === 0) return { plan, deferred: [] };
  const held = new Set(deferred.map((u) => u.observed.ID));
  return {
    plan: {
      ...plan,
      update: plan.update.filter((u) => !held.has(u.observed.ID)),
      changes: plan.changes.filter((c) => !deferred.some((u) => u.observed.Spec.Name === c.name)),
    },
    deferred: deferred.map((u) => u.observed.Spec.Name),
  };
}
