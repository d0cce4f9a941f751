// The cluster reconciler: load by key → observe → plan → act in dependency order → report.
//   1. observe everything the cluster owns, its record among it; the stored spec of the record's
//      generation (cached: generations are immutable); the external objects that spec names
//   2. (a caller that has just observed, like apply, hands its observation in instead)
//   3. plan the steps (steps.ts: objects → services → prune networks → prune versions) and run
//      their acts in order — the same plan `bzzzctl diff` prints
//   4. rebuild status from what exists; write it only when it changed
// An unchanged, converged cluster makes zero write calls.
import { TerminalError, type Reconciler, type ReconcileResult } from './reconciler.js';
import type { SwarmPort } from '../swarm/port.js';
import { countingPort } from '../swarm/port.js';
import { L, ownedBy, versionedName } from '../swarm/labels.js';
import type { Config } from '../swarm/api-types.js';
import { provingPort } from '../swarm/ownership.js';
import { stateFromConfigs, type ClusterStore, type StoredSpec } from '../store/cluster-store.js';
import type { ClusterStatus } from '../spec/status.js';
import { logger, type Logger } from '../util/log.js';
import { BzzzError } from '../util/errors.js';
import { idIndex, observeExternal, observeOwned } from './observe.js';
import type { Observed } from './types.js';
import { planCluster, type StepContext } from './steps.js';
import { accessMaterial, type AccessMaterial } from './access.js';
import { deriveApiToken, OPERATOR_CALLER } from '../crypto/derive.js';
import { computeStatus } from './status.js';
import { rolloutTarget } from './rollout.js';
import { rolloutFromConfigs } from '../store/rollout-store.js';
import { v1PlanFromConfigs } from '../store/v1-store.js';
import { migrationFromConfigs } from '../store/migration-store.js';
import { rotatedSecretNames, rotationFromConfigs } from '../store/rotation-store.js';
import { rotationItems } from '../spec/rotation.js';
import { rotationProblems, rotationView } from './rotation-status.js';
import { backupFromConfigs } from '../store/backup-store.js';
import type { MigrationState } from '../spec/migration.js';
import type { Problem } from './types.js';
import type { AgentStatus } from '../spec/status.js';
import type { BzzzCluster } from '../spec/types.js';

/** The pass wrote what it could but something blocks convergence; status says what. Retried with backoff. */
export class ClusterNotConvergedError extends BzzzError {
  constructor(
    readonly cluster: string,
    readonly problems: Problem[],
  ) {
    super(`cluster ${cluster}: ${problems.map((p) => p.message).join('; ')}`);
  }
}

export interface ClusterReconcilerOptions {
  port: SwarmPort;
  store: ClusterStore;
  log?: Logger;
  now?: () => Date;
  /** Requeue delay while tasks start or a rolling update runs (no task events are watched). */
  progressRequeueMs?: number;
  /**
   * A rollout controller runs beside this reconciler (the controller process): service writes of an
   * analysed spec wait until it has started the rollout (measured the baseline).
   */
  rollouts?: boolean;
  /** What the agents last reported (a controller on the cluster network probes them in the background). */
  agents?: {
    latest(cluster: string): AgentStatus[] | undefined;
    track(cluster: BzzzCluster, token?: string): void;
    forget(cluster: string): void;
  };
}

export interface PassReport extends ReconcileResult {
  generation: number;
  /** The status this pass computed (and wrote, when it changed). */
  status: ClusterStatus;
  ready: boolean;
  problems: Problem[];
  writeLog: readonly string[];
}

export interface ClusterReconciler extends Reconciler {
  /**
   * One pass. `observed`: what the caller read of this cluster just before, with no write since
   * (apply hands over the observation it stored the spec with); without it the pass reads.
   */
  pass(cluster: string, observed?: Observed): Promise<PassReport | undefined>;
}

export function createClusterReconciler(opts: ClusterReconcilerOptions): ClusterReconciler {
  const log = opts.log ?? logger('reconciler');
  const now = opts.now ?? (() => new Date());
  // Stored specs and the access material derived from them, per generation of a cluster record:
  // generations are immutable, and derivation costs a few ms per agent. Keyed by the record's ID
  // too, so a cluster deleted and applied again (generation 1 again, a new ownership key) is not
  // served its previous life's spec or identities.
  const specs = boundedMemo<StoredSpec>(64);
  const accesses = boundedMemo<AccessMaterial | undefined>(64);

  async function pass(cluster: string, prior?: Observed): Promise<PassReport | undefined> {
    const port = countingPort(opts.port);
    const owned = prior ?? (await observeOwned(port, cluster));
    const state = stateFromConfigs(cluster, owned.state);
    const rec = state.record;
    if (!rec) {
      opts.agents?.forget(cluster);
      return undefined; // deleted: nothing to drive
    }
    const specOf = (generation: number) =>
      specs(`${rec.id}@${generation}`, async () => state.spec(generation) ?? (await opts.store.getSpec(cluster, generation)));
    const current = await specOf(rec.generation);
    // A rolled-back rollout serves the stable generation's spec; a paused one holds service writes.
    const rollout = rolloutFromConfigs(cluster, owned.state);
    // A v1 plan that parked v2 (or a migration still at v1-only): the services stay at zero
    // replicas until a plan (or the migration) brings v2 back.
    const v1 = v1PlanFromConfigs(cluster, owned.state);
    const migration = migrationFromConfigs(cluster, owned.state);
    const backup = current.cluster.spec.backups ? backupFromConfigs(cluster, owned.state) : undefined;
    const target = rolloutTarget(rec.generation, rollout, {
      analysed: current.cluster.spec.upgrade?.analysis !== undefined,
      rolloutController: opts.rollouts === true,
      running: owned.services.length > 0,
    });
    const serving = target.serve === rec.generation;
    const spec = serving ? current : await specOf(target.serve);
    const observed: Observed = { ...owned, external: prior?.external ?? (await observeExternal(port, spec.cluster)) };
    const ids = idIndex(observed);
    const plan = planCluster(
      {
        ...spec,
        access: await accesses(`${rec.id}@${target.serve}`, () => accessMaterial(spec.cluster, rec.ownerKey, spec.apiTokenHashes)),
      },
      observed,
      now().getTime(),
      target.since ?? Date.parse(spec.appliedAt),
      {
        hold: target.hold,
        retainSecrets: new Set([
          ...revisionSecretVersions(cluster, owned.state),
          ...rotatedSecretNames(rotationFromConfigs(cluster, owned.state)).keep,
        ]),
        park:
          v1?.parked === true ||
          parkedByMigration(
            spec.cluster,
            migration,
            owned.services.some((x) => (x.Spec.Mode?.Replicated?.Replicas ?? 0) > 0),
          ),
      },
    );
    const problems: Problem[] = [...plan.problems, ...rotationConditions(cluster, spec.cluster, owned.state, now().getTime())];
    // Every object this pass creates carries the cluster's ownership proof.
    const writer = rec.ownerKey ? provingPort(port, cluster, rec.ownerKey) : port;
    const ctx: StepContext = { port: writer, cluster, ids, observed, failedServices: new Set() };
    let conflicts = 0;
    // A generation the engine refused stays failed until a new one is applied: no write retries it
    // (a rollback to the stable generation is another spec: it goes on).
    let failure = rec.status?.failure?.generation === rec.generation ? rec.status.failure : undefined;
    if (!failure || !serving) {
      for (const step of plan.steps) {
        const outcome = await step.act(ctx);
        problems.push(...outcome.problems);
        conflicts += outcome.conflicts ?? 0;
      }
      const refused = problems.find((p) => p.terminal);
      if (refused && serving) {
        failure = {
          generation: rec.generation,
          object: refused.object,
          reason: refused.reason,
          message: refused.message,
          at: now().toISOString(),
        };
        log.error(
          { cluster, generation: rec.generation, object: refused.object, reason: refused.message },
          'generation failed: the engine refused it',
        );
      }
    }
    const {
      desired,
      plan: services,
      deferred,
      held,
    } = ctx.services ?? {
      desired: plan.desired,
      plan: plan.services,
      deferred: plan.deferred,
      held: plan.held,
    };

    const serviceWrites = failure ? 0 : services.create.length + services.update.length + services.remove.length;
    // Status needs only services (re-listed when this pass wrote) and their tasks.
    const servicesNow = port.writes > 0 ? await opts.port.listServices({ labels: ownedBy(cluster) }) : observed.services;
    const tasks = servicesNow.length ? await opts.port.listTasks({ services: servicesNow.map((s) => s.ID) }).catch(() => []) : [];
    const status = computeStatus({
      generation: rec.generation,
      desired,
      services: servicesNow,
      tasks,
      problems,
      pendingChanges: conflicts,
      deferred,
      held,
      rollout,
      v1,
      ...(migration ? { migration, migrationTarget: spec.cluster.spec.migration?.targetPhase } : {}),
      ...(backup ? { backup } : {}),
      previous: rec.status,
      failure,
      lookAlikes: observed.lookAlikes,
      now: now(),
    });
    if (opts.agents) {
      opts.agents.track(spec.cluster, rec.ownerKey ? deriveApiToken(rec.ownerKey, OPERATOR_CALLER) : undefined);
      const reports = opts.agents.latest(cluster);
      if (reports && status.components.some((c) => c.component === 'agent' && c.running > 0)) status.agents = reports;
    }
    const writesBeforeStatus = port.writes;
    await opts.store.writeStatus(cluster, status, rec);
    const drift = rec.status?.observedGeneration === rec.generation ? serviceWrites : 0;
    if (writesBeforeStatus > 0) log.info({ cluster, generation: rec.generation, writes: port.writeLog, drift }, 'reconciled');
    const ready = status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    const progressing = status.conditions.some((c) => c.type === 'Progressing' && c.status === 'True');
    return {
      generation: rec.generation,
      status,
      ready,
      problems,
      writeLog: port.writeLog,
      writes: writesBeforeStatus,
      driftCorrected: drift,
      requeueAfterMs: conflicts ? 0 : progressing ? (opts.progressRequeueMs ?? 1000) : undefined,
    };
  }

  return {
    pass,
    async reconcile(cluster: string): Promise<ReconcileResult> {
      const report = await pass(cluster);
      if (!report) return {};
      const refused = report.problems.find((p) => p.terminal);
      if (refused) throw new TerminalError(`cluster ${cluster}: generation ${report.generation} failed: ${refused.message}`);
      if (report.problems.length) throw new ClusterNotConvergedError(cluster, report.problems);
      return { requeueAfterMs: report.requeueAfterMs, driftCorrected: report.driftCorrected, writes: report.writes };
    },
  };
}

/**
 * The migration holds v2 at zero replicas in v1-only, and on a first deploy with spec.migration
 * before the migration controller has made its record (it starts such a cluster at v1-only).
 */
function parkedByMigration(cluster: BzzzCluster, m: MigrationState | undefined, v2Running: boolean): boolean {
  if (m) return m.parkV2;
  return cluster.spec.migration !== undefined && !v2Running;
}

/**
 * The file/env secret versions of every revision the cluster keeps (its stored specs, listed with
 * their data by observe): a rollback to the stable revision, or an undo to any kept one, needs
 * them, and only apply could write them again.
 */
function revisionSecretVersions(cluster: string, state: readonly Config[]): Set<string> {
  const names = new Set<string>();
  for (const c of state) {
    if (c.Spec.Labels?.[L.kind] !== 'spec' || !c.Spec.Data) continue;
    try {
      const spec = JSON.parse(Buffer.from(c.Spec.Data, 'base64').toString('utf8')) as Pick<StoredSpec, 'secretVersions'>;
      for (const [logical, hash8] of Object.entries(spec.secretVersions ?? {})) names.add(versionedName(cluster, logical, hash8));
    } catch {
      // an unreadable stored spec keeps nothing
    }
  }
  return names;
}

/** `get(key, make)`: the value made once per key, the oldest of more than `max` keys forgotten. */
function boundedMemo<T>(max: number): (key: string, make: () => Promise<T>) => Promise<T> {
  const values = new Map<string, Promise<T>>();
  return (key, make) => {
    let v = values.get(key);
    if (!v) {
      // A failed read is not kept: the next pass tries again.
      v = make().catch((err: unknown) => {
        values.delete(key);
        throw err;
      });
      values.set(key, v);
      if (values.size > max) values.delete(values.keys().next().value as string);
    }
    return v;
  };
}

/** Overdue and failing rotations (the keys controller's journal), as problems of the status. */
function rotationConditions(name: string, cluster: BzzzCluster, state: readonly Config[], now: number): Problem[] {
  let items: ReturnType<typeof rotationItems>;
  try {
    items = rotationItems(cluster);
  } catch {
    return []; // a stored spec from before the periods were checked: nothing to report on
  }
  const views = rotationView(name, items, rotationFromConfigs(name, state), now, cluster.spec.keys?.rotation?.jitter);
  return rotationProblems(views).map((p) => ({ object: `rotation of ${name}`, reason: p.reason, message: p.message }));
}
