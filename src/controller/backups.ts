// Backups in the controller process, composed: the backup reconciler with the real runner (the
// cluster's repository opened with the identity from the secrets directory, the sources of
// src/ops, verify and prune per spec, the restore drill), metrics per step, and Slack for
// failures, missed slots, failed verifications and failed drills.
import type { ClusterStore } from '../store/cluster-store.js';
import type { BackupStore } from '../store/backup-store.js';
import type { SwarmPort } from '../swarm/port.js';
import {
  createBackupReconciler,
  type BackupJobReport,
  type BackupReconciler,
  type BackupRunner,
} from '../reconcilers/backup-reconciler.js';
import { mountedIdentityFile, openClusterRepository, runBackupJob, runDrillJob } from '../ops/backup-jobs.js';
import type { ClusterParts } from '../ops/backup-parts.js';
import type { Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { BackupMetrics } from './metrics.js';
import type { RolloutEventKind, RolloutNotification } from './notify/slack-message.js';

export interface BackupWiringOptions {
  port: SwarmPort;
  store: ClusterStore;
  backups: BackupStore;
  log: Logger;
  secretsDir: string;
  clock: Clock;
  holder: string;
  metrics: BackupMetrics;
  announce(cluster: string, n: RolloutNotification): void;
  requeue?(cluster: string, reason: string): void;
  /** The jobs themselves; default the real repository (tests pass their own). */
  runner?: BackupRunner;
  staleMs?: number;
}

/** The real runner: opens the cluster's repository (refusing an unwritable one by name), runs the job, closes it. */
export function repositoryRunner(o: {
  port: SwarmPort;
  store: ClusterStore;
  secretsDir: string;
  clock: Clock;
  log: Logger;
  /** Where the parts come from; default the cluster's own. */
  parts?: ClusterParts;
}): BackupRunner {
  return {
    async run({ cluster, kind, reason, signal }) {
      const name = cluster.metadata.name;
      const started = o.clock.now();
      let repository: Awaited<ReturnType<typeof openClusterRepository>>;
      try {
        repository = await openClusterRepository({
          cluster,
          identityFile: mountedIdentityFile(o.secretsDir, cluster),
          where: `mount the secret ${name}_${cluster.spec.backups?.identitySecret} into the controller (--secrets-dir ${o.secretsDir})`,
          create: kind === 'backup',
          log: o.log.child({ component: 'repository', cluster: name }),
        });
      } catch (err) {
        return [{ kind, ok: false, started, finished: o.clock.now(), error: errorMessage(err).slice(0, 500) }];
      }
      try {
        const ctx = {
          cluster,
          port: o.port,
          store: o.store,
          repository,
          reason,
          signal,
          now: () => o.clock.now(),
          log: o.log,
          parts: o.parts,
        };
        return kind === 'drill' ? await runDrillJob(ctx) : await runBackupJob(ctx);
      } finally {
        await repository.close().catch(() => undefined);
      }
    },
  };
}

export function createBackupWiring(o: BackupWiringOptions): { reconciler: BackupReconciler } {
  const runner = o.runner ?? repositoryRunner(o);
  const reconciler = createBackupReconciler({
    store: o.store,
    backups: o.backups,
    runner,
    clock: o.clock,
    holder: o.holder,
    log: o.log,
    staleMs: o.staleMs,
    requeue: o.requeue,
    onJob: (r) => {
      for (const s of r.steps) {
        const bytes = s.kind === 'backup' && s.ok ? { total: s.bytes ?? 0, added: s.addedBytes ?? 0 } : undefined;
        o.metrics.step(r.cluster, s.kind, s.ok, (s.finished - s.started) / 1000, s.finished, bytes);
      }
      if (r.missed) o.metrics.missed(r.cluster, r.kind, r.missed);
      for (const n of backupNotifications(r, new Date(o.clock.now()))) o.announce(r.cluster, n);
    },
  });
  return { reconciler };
}

const EVENT: Record<string, RolloutEventKind> = {
  backup: 'backup-failed',
  prune: 'backup-failed',
  verify: 'verify-failed',
  drill: 'drill-failed',
};

/** What Slack hears of a job: each failed step, and missed slots. Successes stay quiet. */
export function backupNotifications(r: BackupJobReport, at: Date): RolloutNotification[] {
  const out: RolloutNotification[] = [];
  if (r.missed)
    out.push({
      event: 'backup-missed',
      cluster: r.cluster,
      revision: 0,
      at,
      detail: `${r.missed} ${r.kind} slot(s) passed while no controller ran; one ${r.kind} ran when it came back`,
    });
  for (const s of r.steps.filter((x) => !x.ok))
    out.push({
      event: EVENT[s.kind] ?? 'backup-failed',
      cluster: r.cluster,
      revision: 0,
      at,
      detail: `${s.kind}${r.interrupted ? ' interrupted' : ' failed'}: ${s.error ?? 'no reason given'}${s.problems?.length ? `\n${s.problems.slice(0, 5).join('\n')}` : ''}`,
    });
  return out;
}
