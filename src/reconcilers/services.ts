// Services: create what is missing, update what differs (drift or a new spec) with the observed
// version, remove owned services the spec no longer has. Comparison is on normalised
// projections, so an unchanged spec makes no write (docker stack deploy re-sends every service).
import type { Service, ServiceSpec } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { DesiredService } from '../convert/services.js';
import { diffProjections, networkNamer, projectService, stripDigest } from '../convert/project.js';
import type { Change, IdIndex, Observed, Problem } from './types.js';
import { failures } from './problems.js';
import { ConflictError } from '../util/errors.js';

export interface ServicePlan {
  create: DesiredService[];
  update: Array<{ desired: DesiredService; observed: Service }>;
  remove: Service[];
  changes: Change[];
  /**
   * Updates the swarm itself rolled back (its update policy judged the new tasks failed): the
   * generation has failed; pushing the same update again would only flap the service.
   */
  rolledBack: Problem[];
}

const ROLLED_BACK = new Set(['rollback_completed', 'rollback_paused', 'rollback_started']);

/**
 * `appliedAt`: when the current generation was stored (ms). A rollback the swarm started after it
 * undid this generation's update; one from before it undid an older generation's.
 */
export function planServices(desired: DesiredService[], observed: Observed, appliedAt?: number): ServicePlan {
  const byName = new Map(observed.services.map((s) => [s.Spec.Name, s]));
  const netName = networkNamer([...observed.networks, ...observed.external.networks]);
  const plan: ServicePlan = { create: [], update: [], remove: [], changes: [], rolledBack: [] };
  for (const d of desired) {
    const o = byName.get(d.spec.Name);
    if (!o) {
      plan.create.push(d);
      plan.changes.push({ action: 'create', kind: 'service', name: d.spec.Name });
      continue;
    }
    const fields = diffProjections(projectService(o.Spec, { networkName: netName }), projectService(d.spec));
    // swarmkit forgets PreviousSpec when it rolls back, so the rollback's time tells whose update it undid.
    const rolledBackFrom =
      fields.length > 0 &&
      appliedAt !== undefined &&
      ROLLED_BACK.has(o.UpdateStatus?.State ?? '') &&
      Date.parse(o.UpdateStatus?.StartedAt ?? '') >= appliedAt;
    if (rolledBackFrom) {
      plan.rolledBack.push({
        object: `service ${d.spec.Name}`,
        reason: 'UpdateRolledBack',
        message: `the swarm rolled back the update of ${d.spec.Name}${o.UpdateStatus?.Message ? ` (${o.UpdateStatus.Message})` : ''}; its tasks did not stay healthy`,
        terminal: true,
      });
    } else if (fields.length) {
      plan.update.push({ desired: d, observed: o });
      plan.changes.push({ action: 'update', kind: 'service', name: d.spec.Name, fields });
    }
  }
  const wanted = new Set(desired.map((d) => d.spec.Name));
  for (const o of observed.services) {
    if (!wanted.has(o.Spec.Name)) {
      plan.remove.push(o);
      plan.changes.push({ action: 'remove', kind: 'service', name: o.Spec.Name, reason: 'no longer in the spec' });
    }
  }
  return plan;
}

/** The spec to send: IDs filled in for secret/config references; the engine's pinned digest kept. */
export function withIds(spec: ServiceSpec, ids: IdIndex, observed?: Service): ServiceSpec {
  const c = spec.TaskTemplate.ContainerSpec;
  const image =
    observed && stripDigest(observed.Spec.TaskTemplate.ContainerSpec.Image) === c.Image
      ? observed.Spec.TaskTemplate.ContainerSpec.Image
      : c.Image;
  return {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: {
        ...c,
        Image: image,
        Secrets: c.Secrets?.map((s) => ({ ...s, SecretID: ids.secrets.get(s.SecretName) ?? '' })),
        Configs: c.Configs?.map((s) => ({ ...s, ConfigID: ids.configs.get(s.ConfigName) ?? '' })),
      },
    },
  };
}

/** Names of secrets/configs a service spec refers to that are not known, so it cannot be written yet. */
export function missingRefs(spec: ServiceSpec, ids: IdIndex): string[] {
  const c = spec.TaskTemplate.ContainerSpec;
  return [
    ...(c.Secrets ?? []).filter((s) => !ids.secrets.has(s.SecretName)).map((s) => `secret ${s.SecretName}`),
    ...(c.Configs ?? []).filter((s) => !ids.configs.has(s.ConfigName)).map((s) => `config ${s.ConfigName}`),
  ];
}

export async function applyServices(port: SwarmPort, plan: ServicePlan, ids: IdIndex): Promise<{ problems: Problem[]; conflicts: number }> {
  const problems: Problem[] = [];
  const ready = (d: DesiredService) => {
    const missing = missingRefs(d.spec, ids);
    if (missing.length)
      problems.push({
        object: `service ${d.spec.Name}`,
        reason: 'WaitingForReferences',
        message: `service ${d.spec.Name} needs ${missing.join(', ')}, which is not in the swarm yet`,
      });
    return missing.length === 0;
  };
  const creates = plan.create.filter(ready);
  const updates = plan.update.filter((u) => ready(u.desired));
  const results = await Promise.allSettled([
    ...creates.map((d) => port.createService(withIds(d.spec, ids))),
    ...updates.map((u) => port.updateService(u.observed.ID, u.observed.Version.Index, withIds(u.desired.spec, ids, u.observed))),
  ]);
  const names = [...creates.map((d) => `service ${d.spec.Name}`), ...updates.map((u) => `service ${u.desired.spec.Name}`)];
  const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof ConflictError).length;
  problems.push(...failures(results, names, 'ServiceWriteFailed').filter((p) => !/changed since it was read/.test(p.message)));
  return { problems, conflicts };
}

export async function removeServices(port: SwarmPort, plan: ServicePlan): Promise<Problem[]> {
  const results = await Promise.allSettled(plan.remove.map((s) => port.removeService(s.ID)));
  return failures(
    results,
    plan.remove.map((s) => `service ${s.Spec.Name}`),
    'ServiceRemoveFailed',
  );
}

/** Secret and config names still referenced by services that stay as observed (not updated, not removed). */
export function referencedByUntouched(observed: Observed, plan: ServicePlan): { secrets: Set<string>; configs: Set<string> } {
  const touched = new Set([...plan.update.map((u) => u.observed.ID), ...plan.remove.map((s) => s.ID)]);
  const secrets = new Set<string>();
  const configs = new Set<string>();
  for (const s of observed.services) {
    if (touched.has(s.ID)) continue;
    for (const r of s.Spec.TaskTemplate.ContainerSpec.Secrets ?? []) secrets.add(r.SecretName);
    for (const r of s.Spec.TaskTemplate.ContainerSpec.Configs ?? []) configs.add(r.ConfigName);
  }
  return { secrets, configs };
}
