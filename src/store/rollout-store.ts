// Rollouts, kept in the swarm like the rest of the operator's state (cluster-store.ts):
//   <cluster>_bzzz-rollout   labels: the current rollout (JSON), a compare-and-swap register
//   <cluster>_bzzz-spec-g<N> labels: the outcome of revision N (JSON), next to its stored spec
// A controller killed mid-rollout (or mid-rollback) reads where it was from here and goes on;
// every transition is one compare-and-swap, so it happens once even when two writers race.
import type { Config, Labels } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, objectName, ownerLabels } from '../swarm/labels.js';
import { OWNER_LABEL, ownerProof } from '../swarm/ownership.js';
import type { RunState } from '../analysis/run.js';
import type { RevisionRecord, RolloutCause, RolloutEventKind, RolloutPhase } from '../spec/rollout.js';
import { BzzzError, ConflictError, NotFoundError } from '../util/errors.js';
import { isConflict, type ClusterRecord, type ClusterStore, type StoredSpec } from './cluster-store.js';
import { ownershipCheck } from '../swarm/ownership.js';

export const ROLLOUT_LABEL = 'io.bzzz.rollout';
export const REVISION_LABEL = 'io.bzzz.revision';

export interface RolloutState {
  /** The generation this rollout brings in. */
  generation: number;
  /** The last known good generation: what a rollback returns to (none on a cluster's first rollout). */
  stable?: number;
  phase: RolloutPhase;
  startedAt: string;
  /** Every service reached the generation: the watch window runs from here. */
  convergedAt?: string;
  finishedAt?: string;
  /** The phase a pause interrupted: resume goes back to it. */
  pausedFrom?: 'Progressing' | 'Watching';
  /** Why it paused, rolled back or was aborted. */
  cause?: RolloutCause;
  /** Rule → value measured before the rollout started (null: could not be measured). */
  baselines?: Record<string, number | null>;
  analysis?: RunState;
  /** Alert actions already taken for this rollout (dedupe keys), newest last, bounded. */
  handledAlerts?: string[];
  /**
   * What happened to this rollout, newest last, bounded (LOG_KEPT): every transition with its
   * cause. Also the notification outbox: the controller announces entries not yet `announced`,
   * so an event a CLI verb recorded is announced too, and one recorded before a crash is not lost.
   */
  log?: RolloutLogEntry[];
}

export const LOG_KEPT = 20;

export interface RolloutLogEntry {
  kind: RolloutEventKind;
  at: string;
  generation: number;
  stable?: number;
  cause?: RolloutCause;
  announced?: boolean;
}

export interface Revision {
  generation: number;
  spec: StoredSpec;
  record?: RevisionRecord;
}

const rolloutName = (cluster: string) => objectName(cluster, 'bzzz-rollout');

/** The rollout a list of the cluster's state configs holds (observe lists them every pass). */
export function rolloutFromConfigs(cluster: string, configs: readonly Config[]): RolloutState | undefined {
  const c = configs.find((x) => x.Spec.Name === rolloutName(cluster) && x.Spec.Labels?.[L.kind] === 'rollout');
  return c ? parseRollout(c) : undefined;
}

/** The outcome recorded on a stored spec config, if any. */
export function revisionRecordOf(c: Config): RevisionRecord | undefined {
  return parseJson<RevisionRecord>(c.Spec.Labels?.[REVISION_LABEL]);
}

/** The rollout record's name is held by a config the operator cannot prove it made. */
export class LookAlikeError extends BzzzError {
  constructor(cluster: string, name: string) {
    super(
      `cluster ${cluster}: config ${name} is labelled as the cluster's but carries no ownership proof, so the rollout cannot be recorded in it; remove it (docker config rm ${name}) if it is not yours`,
    );
  }
}

export class RolloutStore {
  constructor(
    private readonly port: SwarmPort,
    private readonly clusters: ClusterStore,
  ) {}

  async get(cluster: string): Promise<RolloutState | undefined> {
    const { config } = await this.proven(cluster, rolloutName(cluster));
    return config ? parseRollout(config) : undefined;
  }

  /**
   * The config of this exact name with the cluster's record, when the config is proven the
   * cluster's: a look-alike holding the name (labelled as the cluster's, without the ownership
   * proof) is neither read nor written — the cluster reconciler ignores it too (observe.ts).
   */
  private async proven(cluster: string, name: string): Promise<{ rec?: ClusterRecord; config?: Config; lookAlike?: Config }> {
    const [rec, [c]] = await Promise.all([this.clusters.get(cluster), this.port.listConfigs({ names: [name] })]);
    if (!c || c.Spec.Name !== name) return { rec };
    return ownershipCheck(rec ? rec.ownerKey : null).ours('config', name, c.Spec.Labels) ? { rec, config: c } : { rec, lookAlike: c };
  }

  /**
   * Compare-and-swap: `change` gets the rollout as stored and returns the next one, or undefined
   * to write nothing. Retried on a concurrent change with the fresh value. Returns what is stored.
   */
  async update(
    cluster: string,
    change: (current: RolloutState | undefined) => RolloutState | undefined,
  ): Promise<{ state: RolloutState | undefined; written: boolean }> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const { rec, config: existing, lookAlike } = await this.proven(cluster, rolloutName(cluster));
      if (!rec) throw new NotFoundError(`cluster ${cluster} does not exist: apply it first`);
      if (lookAlike) throw new LookAlikeError(cluster, rolloutName(cluster));
      const current = existing ? parseRollout(existing) : undefined;
      const next = change(current);
      if (!next) return { state: current, written: false };
      try {
        if (existing) {
          await this.port.updateConfig(existing.ID, existing.Version.Index, {
            Name: existing.Spec.Name,
            Data: existing.Spec.Data,
            Labels: { ...(existing.Spec.Labels ?? {}), [ROLLOUT_LABEL]: JSON.stringify(next) },
          });
        } else {
          const name = rolloutName(cluster);
          const labels: Labels = { ...ownerLabels(cluster, 'bzzz-rollout'), [L.kind]: 'rollout', [ROLLOUT_LABEL]: JSON.stringify(next) };
          if (rec.ownerKey) labels[OWNER_LABEL] = ownerProof(rec.ownerKey, 'config', name);
          await this.port.createConfig({ Name: name, Labels: labels, Data: Buffer.from('{}').toString('base64') });
        }
        return { state: next, written: true };
      } catch (err) {
        if (isConflict(err)) continue;
        throw err;
      }
    }
    throw new ConflictError(`cluster ${cluster}: the rollout changed concurrently too many times; retry`);
  }

  /** Records the outcome of revision `generation` on its stored spec (kept for `rollout history`). */
  async markRevision(cluster: string, generation: number, record: RevisionRecord): Promise<void> {
    const name = objectName(cluster, `bzzz-spec-g${generation}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      // Pruned (nothing left to annotate), or a look-alike (not ours to write).
      const { config: c } = await this.proven(cluster, name);
      if (!c) return;
      try {
        await this.port.updateConfig(c.ID, c.Version.Index, {
          Name: c.Spec.Name,
          Data: c.Spec.Data ?? (await this.port.inspectConfig(c.ID)).Spec.Data,
          Labels: { ...(c.Spec.Labels ?? {}), [REVISION_LABEL]: JSON.stringify(record) },
        });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    throw new ConflictError(`cluster ${cluster}: revision ${generation} changed concurrently too many times; retry`);
  }

  /** The kept revisions, oldest first, with their outcomes. */
  async revisions(cluster: string): Promise<Revision[]> {
    const [rec, configs] = await Promise.all([
      this.clusters.get(cluster),
      this.port.listConfigs({ labels: [`${L.cluster}=${cluster}`, `${L.kind}=spec`] }),
    ]);
    if (!rec) return [];
    // Only stored specs proven the cluster's: a look-alike cannot add a revision to undo to.
    const check = ownershipCheck(rec.ownerKey ?? null);
    const out: Revision[] = [];
    for (const c of configs) {
      if (c.Spec.Name !== objectName(cluster, `bzzz-spec-g${c.Spec.Labels?.[L.generation]}`)) continue;
      if (!check.ours('config', c.Spec.Name, c.Spec.Labels)) continue;
      const data = c.Spec.Data ?? (await this.port.inspectConfig(c.ID)).Spec.Data;
      const spec = parseJson<StoredSpec>(Buffer.from(data ?? '', 'base64').toString('utf8'));
      if (spec) out.push({ generation: spec.generation, spec, record: revisionRecordOf(c) });
    }
    return out.sort((a, b) => a.generation - b.generation);
  }
}

function parseRollout(c: Config): RolloutState | undefined {
  return parseJson<RolloutState>(c.Spec.Labels?.[ROLLOUT_LABEL]);
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
