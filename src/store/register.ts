// A small compare-and-swap register kept in the swarm: one config per cluster whose label holds a
// JSON value (the rollout, the v1 plan). Docker versions every object, so an update carries the
// version it read and the engine refuses it when another writer got there first: the change is
// then computed again from the fresh value. Only a config proven the cluster's (ownership label)
// is read or written; a look-alike holding the name is refused, never overwritten.
import type { Config, Labels } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, objectName, ownerLabels } from '../swarm/labels.js';
import { OWNER_LABEL, ownerProof, ownershipCheck } from '../swarm/ownership.js';
import { BzzzError, ConflictError, NotFoundError } from '../util/errors.js';
import { isConflict, type ClusterRecord, type ClusterStore } from './cluster-store.js';

/** The register's name is held by a config the operator cannot prove it made. */
export class LookAlikeError extends BzzzError {
  constructor(cluster: string, name: string, what: string) {
    super(
      `cluster ${cluster}: config ${name} is labelled as the cluster's but carries no ownership proof, so the ${what} cannot be recorded in it; remove it (docker config rm ${name}) if it is not yours`,
    );
  }
}

export interface RegisterKind {
  /** Component part of the config's name: <cluster>_<component>. */
  component: string;
  /** Value of the io.bzzz.kind label. */
  kind: string;
  /** The label holding the JSON value. */
  label: string;
  /** What it holds, for errors ("rollout", "v1 plan"). */
  what: string;
}

export interface ProvenConfig {
  rec?: ClusterRecord;
  config?: Config;
  lookAlike?: Config;
}

/**
 * The config of this exact name with the cluster's record, when the config is proven the
 * cluster's: a look-alike holding the name (labelled as the cluster's, without the ownership
 * proof) is neither read nor written — the cluster reconciler ignores it too (observe.ts).
 */
export async function provenConfig(port: SwarmPort, clusters: ClusterStore, cluster: string, name: string): Promise<ProvenConfig> {
  const [rec, [c]] = await Promise.all([clusters.get(cluster), port.listConfigs({ names: [name] })]);
  if (!c || c.Spec.Name !== name) return { rec };
  return ownershipCheck(rec ? rec.ownerKey : null).ours('config', name, c.Spec.Labels) ? { rec, config: c } : { rec, lookAlike: c };
}

export function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** The value a list of the cluster's state configs holds (observe lists them every pass). */
export function registerFromConfigs<T>(k: RegisterKind, cluster: string, configs: readonly Config[]): T | undefined {
  const name = objectName(cluster, k.component);
  const c = configs.find((x) => x.Spec.Name === name && x.Spec.Labels?.[L.kind] === k.kind);
  return c ? parseJson<T>(c.Spec.Labels?.[k.label]) : undefined;
}

export class Register<T> {
  constructor(
    private readonly port: SwarmPort,
    private readonly clusters: ClusterStore,
    private readonly k: RegisterKind,
  ) {}

  name(cluster: string): string {
    return objectName(cluster, this.k.component);
  }

  async get(cluster: string): Promise<T | undefined> {
    const { config } = await provenConfig(this.port, this.clusters, cluster, this.name(cluster));
    return config ? parseJson<T>(config.Spec.Labels?.[this.k.label]) : undefined;
  }

  /**
   * Compare-and-swap: `change` gets the value as stored and returns the next one, or undefined to
   * write nothing. Retried on a concurrent change with the fresh value. Returns what is stored.
   */
  async update(cluster: string, change: (current: T | undefined) => T | undefined): Promise<{ state: T | undefined; written: boolean }> {
    const name = this.name(cluster);
    for (let attempt = 0; attempt < 8; attempt++) {
      const { rec, config: existing, lookAlike } = await provenConfig(this.port, this.clusters, cluster, name);
      if (!rec) throw new NotFoundError(`cluster ${cluster} does not exist: apply it first`);
      if (lookAlike) throw new LookAlikeError(cluster, name, this.k.what);
      const current = existing ? parseJson<T>(existing.Spec.Labels?.[this.k.label]) : undefined;
      const next = change(current);
      if (!next) return { state: current, written: false };
      try {
        if (existing) {
          await this.port.updateConfig(existing.ID, existing.Version.Index, {
            Name: existing.Spec.Name,
            Data: existing.Spec.Data,
            Labels: { ...(existing.Spec.Labels ?? {}), [this.k.label]: JSON.stringify(next) },
          });
        } else {
          const labels: Labels = { ...ownerLabels(cluster, this.k.component), [L.kind]: this.k.kind, [this.k.label]: JSON.stringify(next) };
          if (rec.ownerKey) labels[OWNER_LABEL] = ownerProof(rec.ownerKey, 'config', name);
          await this.port.createConfig({ Name: name, Labels: labels, Data: Buffer.from('{}').toString('base64') });
        }
        return { state: next, written: true };
      } catch (err) {
        if (isConflict(err)) continue;
        throw err;
      }
    }
    throw new ConflictError(`cluster ${cluster}: the ${this.k.what} changed concurrently too many times; retry`);
  }
}
