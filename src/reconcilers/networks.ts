// Networks: create the cluster's overlays, check that external ones exist, prune unused owned ones
// (after services, since the engine refuses to remove a network in use).
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { buildNetworks, type DesiredNetwork } from '../convert/services.js';
import type { Change, Observed, Problem } from './types.js';
import { failures } from './problems.js';

export interface NetworkPlan {
  desired: DesiredNetwork[];
  create: DesiredNetwork[];
  prune: Array<{ id: string; name: string }>;
  changes: Change[];
  pruneChanges: Change[];
  problems: Problem[];
}

export function planNetworks(cluster: BzzzCluster, observed: Observed): NetworkPlan {
  const desired = buildNetworks(cluster);
  const owned = new Map(observed.networks.map((n) => [n.Name, n]));
  const external = new Set(observed.external.networks.map((n) => n.Name));
  const create: DesiredNetwork[] = [];
  const problems: Problem[] = [];
  const changes: Change[] = [];
  for (const n of desired) {
    if (n.external) {
      if (!external.has(n.name)) {
        problems.push({
          object: `network ${n.name}`,
          reason: 'ExternalNetworkMissing',
          message: `network ${n.name} (spec.networks.${n.logical}, external: true) does not exist: create it (docker network create -d overlay --attachable ${n.name}) or drop external`,
        });
      }
      continue;
    }
    const have = owned.get(n.name);
    if (!have) {
      create.push(n);
      changes.push({ action: 'create', kind: 'network', name: n.name });
    } else if (n.create && (have.Internal !== (n.create.Internal ?? false) || have.Attachable !== (n.create.Attachable ?? false))) {
      // Networks cannot be updated in place; recreating one means stopping every service on it.
      problems.push({
        object: `network ${n.name}`,
        reason: 'NetworkDiffers',
        message: `network ${n.name} exists with internal=${have.Internal} attachable=${have.Attachable}, the spec asks otherwise: networks cannot change in place — run bzzzctl delete ${cluster.metadata.name} and apply again, or revert spec.networks.${n.logical}`,
      });
    }
  }
  const wanted = new Set(desired.map((n) => n.name));
  const prune = observed.networks.filter((n) => !wanted.has(n.Name)).map((n) => ({ id: n.Id, name: n.Name }));
  const pruneChanges = prune.map((n): Change => ({ action: 'remove', kind: 'network', name: n.name, reason: 'no longer in the spec' }));
  return { desired, create, prune, changes, pruneChanges, problems };
}

export async function createNetworks(port: SwarmPort, plan: NetworkPlan): Promise<Problem[]> {
  const results = await Promise.allSettled(plan.create.map((n) => port.createNetwork(n.create!)));
  return failures(
    results,
    plan.create.map((n) => `network ${n.name}`),
    'NetworkCreateFailed',
  );
}

export async function pruneNetworks(port: SwarmPort, plan: NetworkPlan): Promise<Problem[]> {
  const results = await Promise.allSettled(plan.prune.map((n) => port.removeNetwork(n.id)));
  // A network still attached to a task being removed is retried on a later pass, not an error.
  return failures(
    results,
    plan.prune.map((n) => `network ${n.name}`),
    'NetworkRemoveFailed',
  ).filter((p) => !/in use|active endpoints/i.test(p.message));
}
