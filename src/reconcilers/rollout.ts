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
import { ROLLED_BACK_PHASES } from '../spec/rollout.js';
import type { RolloutState } from '../store/rollout-store.js';

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
  const busy = new Set(agents.filter((s) => BUSY.has(s.UpdateStatus?.State ?? '')).map((s) => s.ID));
  const lastDone = Math.max(0, ...agents.map((s) => Date.parse(s.UpdateStatus?.CompletedAt ?? '') || 0));
  const waiting = busy.size > 0 || now < lastDone + delayMs;
  // An instance mid-update is the batch in flight: a new spec for it (a rollback of the release it
  // is moving to, above all) goes at once and supersedes that update, instead of waiting for the
  // swarm to finish or fail it (with a failing health check: start period, retries, monitor).
  const inFlight = agentUpdates.filter((u) => busy.has(u.observed.ID));
  const rest = agentUpdates.filter((u) => !busy.has(u.observed.ID));
  const allowed = [...inFlight, ...(waiting ? [] : parallelism === 0 ? rest : rest.slice(0, parallelism))];
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

export interface RolloutTarget {
  /** The generation whose stored spec the services run: the stable one while a rollout is rolled back. */
  serve: number;
  /** Service creates and updates are held, and why (status says it). */
  hold?: string;
  /** Rolled back: when that began (a swarm rollback from before it undid something else). */
  since?: number;
}

/**
 * What the services run this pass, decided from the cluster's generation and its rollout (pure).
 * `rolloutController`: a rollout controller runs beside this reconciler (the controller process);
 * it starts every rollout of an analysed spec by measuring the baseline, so the services wait for
 * it — unless nothing runs yet (a first deploy has nothing to compare with or to protect).
 */
export function rolloutTarget(
  generation: number,
  rollout: RolloutState | undefined,
  o: { analysed: boolean; rolloutController: boolean; running: boolean },
): RolloutTarget {
  if (rollout?.generation === generation) {
    if (ROLLED_BACK_PHASES.has(rollout.phase) && rollout.stable !== undefined) {
      return { serve: rollout.stable, since: Date.parse(rollout.cause?.at ?? rollout.startedAt) };
    }
    if (rollout.phase === 'Paused') {
      return {
        serve: generation,
        hold: `rollout of generation ${generation} paused${rollout.cause ? `: ${rollout.cause.message}` : ''}; go on with bzzzctl rollout resume, or roll back with bzzzctl rollout abort`,
      };
    }
    return { serve: generation };
  }
  if (o.analysed && o.rolloutController && o.running) {
    return { serve: generation, hold: `waiting for the rollout of generation ${generation} to start (baseline measurement)` };
  }
  return { serve: generation };
}

/** Holds every service create and update of a plan (removals go on: they change nothing that runs on). */
export function holdServiceWrites(plan: ServicePlan): GatedPlan {
  const held = [...plan.create.map((d) => d.spec.Name), ...plan.update.map((u) => u.observed.Spec.Name)];
  if (held.length === 0) return { plan, deferred: [] };
  const names = new Set(held);
  return {
    plan: { ...plan, create: [], update: [], changes: plan.changes.filter((c) => !names.has(c.name) || c.action === 'remove') },
    deferred: held.sort(compareStrings),
  };
}
