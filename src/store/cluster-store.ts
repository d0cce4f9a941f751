// The operator's durable state, kept in the swarm's own replicated store (Raft) as Docker configs:
//   <cluster>_bzzz-spec-g<N>  data: the stored spec of generation N (immutable, like the generation)
//   <cluster>_bzzz-cluster    labels: current generation, observedGeneration, status (JSON)
// Config data is immutable but labels can be updated with a version check, which makes the
// cluster record a compare-and-swap register: two writers never overwrite each other blindly.
// Nothing the controller needs lives only in its memory: a restarted controller resumes from here.
import type { BzzzCluster } from '../spec/types.js';
import type { Config, ConfigSpec, Labels } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { ClusterStatus } from '../spec/status.js';
import type { AppliedBy } from '../spec/rollout.js';
import { L, MANAGER, objectName, ownerLabels, stableStringify } from '../swarm/labels.js';
import { newOwnerKey, OWNER_LABEL, ownerProof } from '../swarm/ownership.js';
import { ConflictError, NotFoundError } from '../util/errors.js';

export const SPECS_KEPT = 10;

/** A spec as stored: the user's cluster (defaults applied) plus what `apply` resolved from files and env. Never holds secret values. */
export interface StoredSpec {
  generation: number;
  cluster: BzzzCluster;
  /** Logical secret → content version (hash8) of secrets whose value came from a file or env var. */
  secretVersions: Record<string, string>;
  /** Logical config → content, for configs from a file or inline content. */
  configContents: Record<string, string>;
  /** SHA-256 of bearer tokens (spec.agent.api.callers, spec.rollback.webhook), by secret logical name (never the tokens). */
  apiTokenHashes?: Record<string, string>;
  /** Who stored this generation (apply's user and host, or an undo). Not part of specHash. */
  appliedBy?: AppliedBy;
  specHash: string;
  appliedAt: string;
}

export interface ClusterRecord {
  name: string;
  generation: number;
  status?: ClusterStatus;
  /** Docker config ID and version of the record (for compare-and-swap). */
  id: string;
  version: number;
  /** The record config as read: what a compare-and-swap write sends back with new labels. */
  config: ConfigSpec;
  /**
   * The cluster's ownership key (src/swarm/ownership.ts), from the record's data. Absent only in
   * records written before ownership proofs: their objects are trusted by their labels.
   */
  ownerKey?: string;
}

/**
 * The record and stored specs of one cluster, taken from configs already listed (observe lists
 * every config the cluster owns, these included): callers that hold such a list skip the reads.
 */
export interface StateSnapshot {
  record?: ClusterRecord;
  /** The stored spec of a generation, when the list held it with its data. */
  spec(generation: number): StoredSpec | undefined;
}

export function stateFromConfigs(cluster: string, configs: readonly Config[]): StateSnapshot {
  const record = configs.find((c) => c.Spec.Name === recordName(cluster) && c.Spec.Labels?.[L.managedBy] === MANAGER);
  return {
    record: record ? toRecord(cluster, record) : undefined,
    spec(generation) {
      const c = configs.find((x) => x.Spec.Name === specName(cluster, generation));
      return c?.Spec.Data ? parseSpec(c) : undefined;
    },
  };
}

const recordName = (cluster: string) => objectName(cluster, 'bzzz-cluster');
const specName = (cluster: string, gen: number) => objectName(cluster, `bzzz-spec-g${gen}`);

export class ClusterStore {
  constructor(private readonly port: SwarmPort) {}

  async listClusters(): Promise<string[]> {
    const records = await this.port.listConfigs({ labels: [`${L.managedBy}=${MANAGER}`, `${L.kind}=cluster`] });
    return records
      .map((c) => c.Spec.Labels?.[L.cluster])
      .filter((n): n is string => !!n)
      .sort();
  }

  async get(cluster: string): Promise<ClusterRecord | undefined> {
    const [c] = await this.port.listConfigs({ names: [recordName(cluster)], labels: [`${L.managedBy}=${MANAGER}`] });
    return c ? toRecord(cluster, c) : undefined;
  }

  async getSpec(cluster: string, generation: number): Promise<StoredSpec> {
    const [c] = await this.port.listConfigs({ names: [specName(cluster, generation)] });
    if (!c)
      throw new NotFoundError(
        `cluster ${cluster}: stored spec of generation ${generation} is missing (config ${specName(cluster, generation)}); re-run bzzzctl apply -f FILE`,
      );
    return parseSpec(c.Spec.Data ? c : await this.port.inspectConfig(c.ID));
  }

  /**
   * Stores a spec as a new generation unless it equals the current one (same specHash): an
   * unchanged re-apply writes nothing and keeps the generation, like kubectl apply. `known` is
   * state the caller just listed: the first attempt starts from it instead of reading again
   * (a stale one only costs a retry: every write is a compare-and-swap).
   */
  async putSpec(
    doc: Omit<StoredSpec, 'generation' | 'appliedAt'>,
    now = new Date(),
    known?: StateSnapshot,
    /** The ownership key a new cluster's record gets (the caller may already have proven objects with it). */
    newKey: string = newOwnerKey(),
  ): Promise<{ generation: number; changed: boolean }> {
    const cluster = doc.cluster.metadata.name;
    // The generation whose spec config this call created: when the record write then conflicts
    // (a controller writing status meanwhile) and a retry finds that generation current, this
    // call did store it.
    let created: number | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const fromKnown = attempt === 0 && known !== undefined;
      const rec = fromKnown ? known.record : await this.get(cluster);
      if (rec) {
        const current =
          (fromKnown ? known.spec(rec.generation) : undefined) ?? (await this.getSpec(cluster, rec.generation).catch(() => undefined));
        if (current?.specHash === doc.specHash) return { generation: rec.generation, changed: rec.generation === created };
      }
      const generation = (rec?.generation ?? 0) + 1;
      const stored: StoredSpec = { ...doc, generation, appliedAt: now.toISOString() };
      const key = rec ? rec.ownerKey : newKey;
      const name = specName(cluster, generation);
      const labels = { ...ownerLabels(cluster, 'bzzz-spec'), [L.kind]: 'spec', [L.generation]: String(generation) };
      try {
        // The spec config's unique name is the first compare-and-swap: a concurrent apply of the
        // same generation fails here with "already exists" and retries on fresh state.
        await this.port.createConfig({
          Name: name,
          Labels: key ? { ...labels, [OWNER_LABEL]: ownerProof(key, 'config', name) } : labels,
          Data: Buffer.from(stableStringify(stored)).toString('base64'),
        });
        created = generation;
        if (rec) {
          await this.writeLabels(rec, { [L.generation]: String(generation) });
        } else {
          await this.port.createConfig({
            Name: recordName(cluster),
            Labels: { ...ownerLabels(cluster, 'bzzz-cluster'), [L.kind]: 'cluster', [L.generation]: String(generation) },
            Data: Buffer.from(
              JSON.stringify({ apiVersion: doc.cluster.apiVersion, kind: doc.cluster.kind, name: cluster, ownerKey: newKey }),
            ).toString('base64'),
          });
        }
        await this.pruneSpecs(cluster, generation);
        return { generation, changed: true };
      } catch (err) {
        if (!isConflict(err)) throw err;
        await this.adoptOrClearOrphan(cluster, generation, doc.specHash, now);
      }
    }
    throw new ConflictError(`cluster ${cluster}: another apply keeps changing the stored spec; retry`);
  }

  /**
   * A spec config of generation N+1 exists but the record still says N: an apply died between its
   * two writes, or another apply is between them right now. The same content is adopted (the
   * record is moved on); a different one is cleared once it is old enough to be an orphan.
   */
  private async adoptOrClearOrphan(cluster: string, generation: number, specHash: string, now: Date): Promise<void> {
    const rec = await this.get(cluster);
    if (!rec || rec.generation >= generation) return;
    const orphan = await this.getSpec(cluster, generation).catch(() => undefined);
    if (!orphan) return;
    if (orphan.specHash === specHash) {
      await this.writeLabels(rec, { [L.generation]: String(generation) }).catch(() => undefined);
    } else if (now.getTime() - Date.parse(orphan.appliedAt) > 30_000) {
      const [c] = await this.port.listConfigs({ names: [specName(cluster, generation)] });
      if (c) await this.port.removeConfig(c.ID).catch(() => undefined);
    }
  }

  /**
   * Writes status when it differs from the stored one. Returns whether a write happened. `known`
   * is the record as the caller read it this pass: compared (and written) without reading again;
   * a concurrent change makes the write conflict and the next attempt read afresh.
   */
  async writeStatus(cluster: string, status: ClusterStatus, known?: ClusterRecord): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const rec = attempt === 0 && known ? known : await this.get(cluster);
      if (!rec) return false;
      if (rec.status && stableStringify(rec.status) === stableStringify(status)) return false;
      try {
        await this.writeLabels(rec, { [L.observedGeneration]: String(status.observedGeneration), [L.status]: JSON.stringify(status) });
        return true;
      } catch (err) {
        if (isConflict(err)) continue;
        throw err;
      }
    }
    throw new ConflictError(`cluster ${cluster}: status changed concurrently too many times`);
  }

  // The record's other labels and data go back as they were read: rec.version makes the engine
  // refuse the write (a conflict, retried on fresh state) if anything changed since.
  private async writeLabels(rec: ClusterRecord, labels: Labels): Promise<void> {
    try {
      await this.port.updateConfig(rec.id, rec.version, { ...rec.config, Labels: { ...(rec.config.Labels ?? {}), ...labels } });
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`cluster ${rec.name} was deleted`, { cause: err });
      throw err;
    }
  }

  private async pruneSpecs(cluster: string, latest: number): Promise<void> {
    if (latest <= SPECS_KEPT) return; // nothing old enough yet: skip the read
    const specs = await this.port.listConfigs({ labels: [...ownedLabelsOf(cluster), `${L.kind}=spec`] });
    for (const s of specs) {
      const gen = Number(s.Spec.Labels?.[L.generation] ?? 0);
      if (gen <= latest - SPECS_KEPT) await this.port.removeConfig(s.ID).catch(() => undefined);
    }
  }

  /** Removes the stored specs and the cluster record (the first step of delete); `ours` proves each one the cluster's. */
  async remove(cluster: string, ours: (c: Config) => boolean): Promise<number> {
    const state = (await this.port.listConfigs({ labels: [...ownedLabelsOf(cluster), L.kind] })).filter(ours);
    await Promise.all(state.map((c) => this.port.removeConfig(c.ID)));
    return state.length;
  }
}

function ownedLabelsOf(cluster: string): string[] {
  return [`${L.managedBy}=${MANAGER}`, `${L.cluster}=${cluster}`];
}

function toRecord(cluster: string, c: Config): ClusterRecord {
  const labels = c.Spec.Labels ?? {};
  let status: ClusterStatus | undefined;
  try {
    status = labels[L.status] ? (JSON.parse(labels[L.status]) as ClusterStatus) : undefined;
  } catch {
    status = undefined;
  }
  return {
    name: cluster,
    generation: Number(labels[L.generation] ?? 0),
    status,
    id: c.ID,
    version: c.Version.Index,
    config: { Name: c.Spec.Name, Labels: labels, Data: c.Spec.Data },
    ownerKey: recordOwnerKey(c),
  };
}

function recordOwnerKey(c: Config): string | undefined {
  try {
    const key = (JSON.parse(Buffer.from(c.Spec.Data ?? '', 'base64').toString('utf8')) as { ownerKey?: unknown }).ownerKey;
    return typeof key === 'string' && /^[0-9a-f]{64}$/.test(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

function parseSpec(c: Config): StoredSpec {
  return JSON.parse(Buffer.from(c.Spec.Data ?? '', 'base64').toString('utf8')) as StoredSpec;
}

/** A compare-and-swap lost: the object changed (or was created) since it was read. */
export function isConflict(err: unknown): boolean {
  return err instanceof ConflictError || /already exists|name conflicts/i.test((err as Error)?.message ?? '');
}
