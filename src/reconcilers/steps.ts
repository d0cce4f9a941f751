// The cluster reconciler as an ordered list of steps. Each step carries its plan — pure, made
// from the stored spec and what is observed — and its act, the engine writes. `bzzzctl diff`
// prints the steps' changes; a pass runs their acts in this order. So what diff shows is what a
// pass does, and a new concern is one more step, not a longer pass.
//
//   objects          networks, configs, generated secrets, role keys (in parallel)
//   services         create / update (version-checked; agent instances in rolling order)
//                    and remove what the spec no longer has
//   prune-networks   owned networks no longer in the spec (not while a service is removed)
//   prune-versions   secret and config versions no service will use any more
import type { SwarmPort } from '../swarm/port.js';
import type { BzzzCluster } from '../spec/types.js';
import { createConfigs, planConfigPrune } from './configs.js';
import { createKeys } from './keys.js';
import { createAccess } from './access.js';
import { createNetworks, pruneNetworks } from './networks.js';
import { desiredServices, planObjects, wantedNames, type ObjectsPlan, type SpecInput } from './plan.js';
import { failures } from './problems.js';
import { gateAgentUpdates, holdServiceWrites } from './rollout.js';
import { createGeneratedSecrets, planSecretPrune } from './secrets.js';
import { applyServices, planServices, referencedByUntouched, removeServices, type ServicePlan } from './services.js';
import type { Change, IdIndex, Observed, Problem } from './types.js';
import type { DesiredService } from '../convert/services.js';

export type StepName = 'objects' | 'services' | 'prune-networks' | 'prune-versions';

/** What the acts of one pass share: the port, names → IDs (filled as objects are created), earlier outcomes. */
export interface StepContext {
  port: SwarmPort;
  cluster: string;
  ids: IdIndex;
  observed: Observed;
  /** Services whose write failed in this pass: they still use their old secret and config versions. */
  failedServices: Set<string>;
  /**
   * The services as the services step wrote them: planned again once the objects step has made
   * the generated secrets and keys, whose names (content hashes) are known only then.
   */
  services?: ServicesResolved;
}

export interface ServicesResolved {
  desired: DesiredService[];
  plan: ServicePlan;
  deferred: string[];
  /** Why every service write is held (a paused rollout, a rollout not started yet), when they are. */
  held?: string;
}

export interface StepOutcome {
  problems: Problem[];
  /** Version-checked writes refused because the object changed since it was read (retried at once). */
  conflicts?: number;
}

export interface Step {
  name: StepName;
  /** What this step will write, as `bzzzctl diff` shows it. */
  changes: Change[];
  act(ctx: StepContext): Promise<StepOutcome>;
}

export interface ClusterPlan {
  steps: Step[];
  objects: ObjectsPlan;
  desired: DesiredService[];
  /** The services plan this pass acts on (agent updates held for their turn are not in it). */
  services: ServicePlan;
  /** Agent instances whose update waits for its turn in the rolling order, or every held service. */
  deferred: string[];
  /** Why every service write is held, when they are. */
  held?: string;
  /** Every change, in step order. */
  changes: Change[];
  /** Found while planning (a missing external object, a network that cannot change in place). */
  problems: Problem[];
}

/**
 * Plans one pass: pure. `now` decides whether the next agent instance may start updating;
 * `appliedAt`, when the stored generation was applied, tells a rollback of its own update (the
 * generation failed) from one of an older generation's.
 */
export interface PlanOptions {
  /** Hold every service create and update, and why (a paused rollout, one not started yet). */
  hold?: string;
  /**
   * File/env secret versions kept though no service uses them: those of the revisions kept for
   * a rollback or an undo. Only apply can write such a version again (it alone reads the file).
   */
  retainSecrets?: ReadonlySet<string>;
  /**
   * The cluster runs on the v1 hosts (a v1 plan parked v2): every service is held at zero
   * replicas, all at once; services, volumes, secrets and configs all stay for the way back.
   */
  park?: boolean;
}

export function planCluster(spec: SpecInput, observed: Observed, now: number, appliedAt?: number, o: PlanOptions = {}): ClusterPlan {
  const { hold } = o;
  const objects = planObjects(spec, observed);
  const resolve = (): ServicesResolved => {
    const desired = desiredServices(spec, objects).map((d) => (o.park ? parked(d) : d));
    const services = planServices(desired, observed, appliedAt);
    if (o.park) return { desired, plan: services, deferred: [] };
    if (hold) {
      const held = holdServiceWrites(services);
      return { desired, plan: held.plan, deferred: held.deferred, ...(held.deferred.length ? { held: hold } : {}) };
    }
    const gated = gateAgentUpdates(spec.cluster, services, observed, now);
    return { desired, plan: gated.plan, deferred: gated.deferred };
  };
  // Generated secrets and keys appear here under placeholder names (`…-(generated)`); the
  // services step plans again with their real names once the objects step has made them.
  const planned = resolve();
  const steps: Step[] = [
    objectsStep(spec.cluster, objects),
    servicesStep(planned, resolve),
    pruneNetworksStep(objects, planned.plan),
    pruneVersionsStep(objects, planned.plan, observed, o.retainSecrets),
  ];
  return {
    steps,
    objects,
    desired: planned.desired,
    services: planned.plan,
    deferred: planned.deferred,
    ...(planned.held ? { held: planned.held } : {}),
    changes: steps.flatMap((s) => s.changes),
    problems: [
      ...objects.networks.problems,
      ...objects.secrets.problems,
      ...objects.configs.problems,
      ...objects.access.problems,
      ...planned.plan.rolledBack,
    ],
  };
}

function parked(d: DesiredService): DesiredService {
  return { ...d, spec: { ...d.spec, Mode: { Replicated: { Replicas: 0 } } } };
}

function objectsStep(cluster: BzzzCluster, objects: ObjectsPlan): Step {
  const name = cluster.metadata.name;
  return {
    name: 'objects',
    changes: [
      ...objects.networks.changes,
      ...objects.secrets.changes,
      ...objects.configs.changes,
      ...objects.keys.changes,
      ...objects.access.changes,
    ],
    async act({ port, ids }) {
      const results = await Promise.all([
        createNetworks(port, objects.networks),
        createConfigs(port, name, objects.configs, ids),
        createGeneratedSecrets(port, name, objects.secrets, ids),
        createKeys(port, name, objects.keys, ids),
        createAccess(port, name, objects.access, ids),
      ]);
      return { problems: results.flat() };
    },
  };
}

function servicesStep(planned: ServicesResolved, resolve: () => ServicesResolved): Step {
  const waiting = planned.deferred.map(
    (name): Change => ({
      action: 'update',
      kind: 'service',
      name,
      reason: planned.held ? `held: ${planned.held}` : 'waits its turn: agent instances update one batch at a time',
    }),
  );
  return {
    name: 'services',
    changes: [...planned.plan.changes, ...waiting],
    async act(ctx) {
      ctx.services = resolve();
      const services = ctx.services.plan;
      const applied = await applyServices(ctx.port, services, ctx.ids);
      const removed = await removeServices(ctx.port, services);
      for (const p of applied.problems) if (p.object.startsWith('service ')) ctx.failedServices.add(p.object.slice('service '.length));
      return { problems: [...applied.problems, ...removed], conflicts: applied.conflicts };
    },
  };
}

function pruneNetworksStep(objects: ObjectsPlan, services: ServicePlan): Step {
  // A network a removed service still uses cannot go in the same pass: the next one prunes it.
  // (Which services are removed does not depend on generated names: the plan's answer holds.)
  const now = services.remove.length === 0;
  return {
    name: 'prune-networks',
    changes: now ? objects.networks.pruneChanges : [],
    act: async ({ port }) => ({ problems: now ? await pruneNetworks(port, objects.networks) : [] }),
  };
}

function pruneVersionsStep(objects: ObjectsPlan, planned: ServicePlan, observed: Observed, retain?: ReadonlySet<string>): Step {
  const prunes = (services: ServicePlan) => {
    const wanted = wantedNames(objects);
    const keep = referencedByUntouched(observed, services);
    return {
      secrets: planSecretPrune(observed, wanted.secrets, keep.secrets).filter((x) => !retain?.has(x.name)),
      configs: planConfigPrune(observed, wanted.configs, keep.configs),
    };
  };
  const shown = prunes(planned);
  return {
    name: 'prune-versions',
    changes: [...shown.secrets, ...shown.configs].map((x) => x.change),
    async act({ port, failedServices, services }) {
      // Planned again with the generated names, which the objects step has made by now.
      const { secrets, configs } = prunes(services?.plan ?? planned);
      // A service whose write failed still uses its old versions: keep them.
      const stillUsed = new Set<string>();
      for (const s of observed.services) {
        if (!failedServices.has(s.Spec.Name)) continue;
        for (const r of s.Spec.TaskTemplate.ContainerSpec.Secrets ?? []) stillUsed.add(r.SecretName);
        for (const r of s.Spec.TaskTemplate.ContainerSpec.Configs ?? []) stillUsed.add(r.ConfigName);
      }
      const goSecrets = secrets.filter((s) => !stillUsed.has(s.name));
      const goConfigs = configs.filter((c) => !stillUsed.has(c.name));
      const results = await Promise.allSettled([
        ...goSecrets.map((s) => port.removeSecret(s.id)),
        ...goConfigs.map((c) => port.removeConfig(c.id)),
      ]);
      // "in use" means a task of the old version is still shutting down: retried on a later pass.
      const problems = failures(
        results,
        [...goSecrets, ...goConfigs].map((x) => x.name),
        'PruneFailed',
      ).filter((p) => !/in use/i.test(p.message));
      return { problems };
    },
  };
}
