// Ownership is proven, not labelled. Anyone who can create a Docker object can give it the
// labels `io.bzzz.managed-by=bzzz-operator, io.bzzz.cluster=<name>`; the operator must not adopt,
// update or delete such a look-alike. So every object the operator creates for a cluster also
// carries `io.bzzz.owner`: an HMAC of its kind and name under the cluster's ownership key, a
// random key kept in the cluster record's data. A look-alike cannot carry a valid proof for its
// own name without that key, and a proof copied from a real object does not fit another name.
// Objects whose proof is missing or wrong are reported and left alone.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Labels, ServiceSpec } from './api-types.js';
import { L } from './labels.js';
import type { SwarmPort } from './port.js';

export const OWNER_LABEL = 'io.bzzz.owner';

export type OwnedKind = 'service' | 'secret' | 'config' | 'network' | 'volume';

/** A new cluster's ownership key (hex). Lives only in the cluster record's data. */
export function newOwnerKey(): string {
  return randomBytes(32).toString('hex');
}

export function ownerProof(key: string, kind: OwnedKind, name: string): string {
  return createHmac('sha256', Buffer.from(key, 'hex')).update(`${kind}\0${name}`).digest('hex').slice(0, 32);
}

/** Does `labels` carry a valid proof for this object? */
export function proven(key: string, kind: OwnedKind, name: string, labels: Labels | undefined): boolean {
  const claim = labels?.[OWNER_LABEL];
  if (typeof claim !== 'string' || claim.length !== 32) return false;
  return timingSafeEqual(Buffer.from(claim), Buffer.from(ownerProof(key, kind, name)));
}

/**
 * Sorts objects labelled as a cluster's into its own and look-alikes. `key`: the cluster record's
 * ownership key; `undefined` for a record from before ownership proofs (its objects are trusted by
 * their labels); `null` when there is no record (nothing can be proven: all are look-alikes).
 */
export function ownershipCheck(key: string | undefined | null): {
  ours(kind: OwnedKind, name: string, labels: Labels | null | undefined): boolean;
  /** `<kind> <name>` of every object `ours` refused so far, sorted, each once. */
  lookAlikes(): string[];
} {
  const refused = new Set<string>();
  return {
    ours(kind, name, labels) {
      const ok = key !== null && (key === undefined || proven(key, kind, name, labels ?? undefined));
      if (!ok) refused.add(`${kind} ${name}`);
      return ok;
    },
    lookAlikes: () => [...refused].sort(),
  };
}

function withProof(key: string, kind: OwnedKind, name: string, labels: Labels | undefined): Labels {
  return { ...(labels ?? {}), [OWNER_LABEL]: ownerProof(key, kind, name) };
}

/** A service spec with its proof, and one on each named volume its mounts create. */
export function proveService(key: string, spec: ServiceSpec): ServiceSpec {
  const c = spec.TaskTemplate.ContainerSpec;
  const mounts = c.Mounts?.map((m) =>
    m.Type === 'volume' && m.Source
      ? { ...m, VolumeOptions: { ...m.VolumeOptions, Labels: withProof(key, 'volume', m.Source, m.VolumeOptions?.Labels) } }
      : m,
  );
  return {
    ...spec,
    Labels: withProof(key, 'service', spec.Name, spec.Labels),
    TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...c, ...(mounts ? { Mounts: mounts } : {}) } },
  };
}

/**
 * A port that adds the ownership proof to every object it creates (and every service it updates)
 * for `cluster`. Objects of other clusters or none pass through unchanged.
 */
export function provingPort(port: SwarmPort, cluster: string, key: string): SwarmPort {
  const ours = (labels: Labels | undefined) => labels?.[L.cluster] === cluster;
  return Object.assign(Object.create(port) as SwarmPort, {
    createService: (spec: ServiceSpec) => port.createService(ours(spec.Labels) ? proveService(key, spec) : spec),
    updateService: (id: string, version: number, spec: ServiceSpec) =>
      port.updateService(id, version, ours(spec.Labels) ? proveService(key, spec) : spec),
    createSecret: (spec: Parameters<SwarmPort['createSecret']>[0]) =>
      port.createSecret(ours(spec.Labels) ? { ...spec, Labels: withProof(key, 'secret', spec.Name, spec.Labels) } : spec),
    createConfig: (spec: Parameters<SwarmPort['createConfig']>[0]) =>
      port.createConfig(ours(spec.Labels) ? { ...spec, Labels: withProof(key, 'config', spec.Name, spec.Labels) } : spec),
    createNetwork: (spec: Parameters<SwarmPort['createNetwork']>[0]) =>
      port.createNetwork(ours(spec.Labels) ? { ...spec, Labels: withProof(key, 'network', spec.Name, spec.Labels) } : spec),
  });
}
