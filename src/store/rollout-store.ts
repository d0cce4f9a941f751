// Rollouts, kept in the swarm like the rest of the operator's state (cluster-store.ts):
//   <cluster>_bzzz-rollout   labels: the current rollout (JSON), a compare-and-swap register
//   <cluster>_bzzz-spec-g<N> labels: the outcome of revision N (JSON), next to its stored spec
// A controller killed mid-rollout (or mid-rollback) reads where it was from here and goes on;
// every transition is one compare-and-swap, so it happens once even when two writers race.
import type { Config } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, objectName } from '../swarm/labels.js';
import type { RunState } from '../analysis/run.js';
import type { RevisionRecord, RolloutCause, RolloutEventKind, RolloutPhase } from '../spec/rollout.js';
import { ConflictError } from '../util/errors.js';
import { isConflict, type ClusterStore, type StoredSpec } from './cluster-store.js';
import { ownershipCheck } from '../swarm/ownership.js';
import { LookAlikeError, parseJson, provenConfig, Register, registerFromConfigs } from './register.js';

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

const ROLLOUT_KIND = { component: 'bzzz-rollout', kind: 'rollout', label: ROLLOUT_LABEL, what: 'rollout' } as const;

/** The rollout a list of the cluster's state configs holds (observe lists them every pass). */
export function rolloutFromConfigs(cluster: string, configs: readonly Config[]): RolloutState | undefined {
  return registerFromConfigs<RolloutState>(ROLLOUT_KIND, cluster, configs);
}

/** The outcome recorded on a stored spec config, if any. */
export function revisionRecordOf(c: Config): RevisionRecord | undefined {
  return parseJson<RevisionRecord>(c.Spec.Labels?.[REVISION_LABEL]);
}

export { LookAlikeError };

export class RolloutStore {
  private readonly register: Register<RolloutState>;

  constructor(
    private readonly port: SwarmPort,
    private readonly clusters: ClusterStore,
  ) {
    this.register = new Register<RolloutState>(port, clusters, ROLLOUT_KIND);
  }

  get(cluster: string): Promise<RolloutState | undefined> {
    return this.register.get(cluster);
  }

  /**
   * Compare-and-swap: `change` gets the rollout as stored and returns the next one, or undefined
   * to write nothing. Retried on a concurrent change with the fresh value. Returns what is stored.
   */
  update(
    cluster: string,
    change: (current: RolloutState | undefined) => RolloutState | undefined,
  ): Promise<{ state: RolloutState | undefined; written: boolean }> {
    return this.register.update(cluster, change);
  }

  /** Records the outcome of revision `generation` on its stored spec (kept for `rollout history`). */
  async markRevision(cluster: string, generation: number, record: RevisionRecord): Promise<void> {
    const name = objectName(cluster, `bzzz-spec-g${generation}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      // Pruned (nothing left to annotate), or a look-alike (not ours to write).
      const { config: c } = await provenConfig(this.port, this.clusters, cluster, name);
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
