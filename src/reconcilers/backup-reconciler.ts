// The backup reconciler: one more controller. Per pass: read spec.backups and the journal →
// decide (backup-plan.ts, pure) → act: arm the schedules, record a dead runner's job as
// interrupted, or start the due job. A job never blocks the queue: it is journaled as running
// (a compare-and-swap, so one controller starts a slot), run in the background with a heartbeat
// in the journal, and its outcome recorded when it ends; the next pass sees it. What a job does
// (repository, sources, drill) is the runner's: the controller wiring passes the real one.
import type { ClusterStore } from '../store/cluster-store.js';
import type { BackupJobKind, BackupStepOutcome, BackupStore } from '../store/backup-store.js';
import type { BzzzCluster } from '../spec/types.js';
import { parseDurationMs } from '../spec/units.js';
import type { Clock, Timer } from '../util/clock.js';
import { type CronSchedule, parseCron } from '../util/cron.js';
import { errorMessage } from '../util/errors.js';
import { logger, type Logger } from '../util/log.js';
import { armed, beat, DEFAULT_STALE_MS, decideBackup, finished, interrupted, started } from './backup-plan.js';
import { type ReconcileResult, type Reconciler, TerminalError } from './reconciler.js';

export interface BackupRunner {
  /** Runs one job to its end; outcomes carry failures (it rejects only on a bug). */
  run(o: { cluster: BzzzCluster; kind: BackupJobKind; reason: string; signal: AbortSignal }): Promise<BackupStepOutcome[]>;
}

export interface BackupJobReport {
  cluster: string;
  kind: BackupJobKind;
  steps: BackupStepOutcome[];
  /** Slots this run stood in for that passed without one. */
  missed: number;
  /** The job's runner died (this controller found its heartbeat stopped). */
  interrupted?: boolean;
}

export interface BackupReconcilerOptions {
  store: ClusterStore;
  backups: BackupStore;
  runner: BackupRunner;
  clock: Clock;
  /** `host/pid`: who the journal says runs a job. */
  holder: string;
  log?: Logger;
  /** A running job's heartbeat older than this means its runner died. Default 60 s. */
  staleMs?: number;
  /** A slot started later than this after its time counts as missed. Default 15 min. */
  lateMs?: number;
  /** Longest requeue while waiting for a slot (spec changes arrive as events anyway). Default 5 min. */
  maxWaitMs?: number;
  /** Told when a job ended (or was found interrupted): metrics and Slack. */
  onJob?(r: BackupJobReport): void;
  /** Asks the controller to reconcile the cluster again (a job ended). */
  requeue?(cluster: string, reason: string): void;
}

export interface BackupReconciler extends Reconciler {
  /** Resolves when every job this process started has ended (tests, shutdown). */
  idle(): Promise<void>;
  /** Aborts the running jobs (a stopping controller): each is recorded as it ends. */
  stop(): Promise<void>;
}

export function createBackupReconciler(o: BackupReconcilerOptions): BackupReconciler {
  const log = o.log ?? logger('backups');
  const staleMs = o.staleMs ?? DEFAULT_STALE_MS;
  const lateMs = o.lateMs ?? 15 * 60_000;
  const maxWaitMs = o.maxWaitMs ?? 5 * 60_000;
  const jobs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  const schedules = new Map<string, CronSchedule>();

  function schedule(expr: string, tz: string, field: string): CronSchedule {
    const key = `${tz}\0${expr}`;
    let s = schedules.get(key);
    if (!s) {
      try {
        s = parseCron(expr, tz);
      } catch (err) {
        throw new TerminalError(`${field}: ${errorMessage(err)}`);
      }
      schedules.set(key, s);
    }
    return s;
  }

  async function reconcile(cluster: string): Promise<ReconcileResult> {
    const rec = await o.store.get(cluster);
    if (!rec) return {};
    const spec = (await o.store.getSpec(cluster, rec.generation)).cluster;
    const b = spec.spec.backups;
    if (!b) return {};
    const tz = b.timeZone ?? 'UTC';
    const plan = {
      schedules: {
        backup: schedule(b.schedule, tz, 'spec.backups.schedule'),
        ...(b.drill ? { drill: schedule(b.drill.schedule, tz, 'spec.backups.drill.schedule') } : {}),
      },
      cluster,
      jitterMaxMs: b.jitter ? parseDurationMs(b.jitter, 'spec.backups.jitter') : 0,
      runningHere: jobs.has(cluster),
      staleMs,
      lateMs,
    };
    const now = o.clock.now();
    const d = decideBackup({ ...plan, now, state: await o.backups.get(cluster) });
    switch (d.action) {
      case 'arm':
        await o.backups.update(cluster, (cur) => armed(cur, plan.schedules, d.kinds, now));
        log.info({ cluster, kinds: d.kinds }, 'backup schedules armed');
        return { requeueAfterMs: 1, writes: 1 };
      case 'wait':
        return { requeueAfterMs: d.until === undefined ? maxWaitMs : Math.max(1, Math.min(d.until - now, maxWaitMs)) };
      case 'busy':
        return { requeueAfterMs: Math.max(1000, Math.floor(staleMs / 2)) };
      case 'interrupted': {
        const { written } = await o.backups.update(cluster, (cur) => interrupted(cur, d.running, now));
        if (written) {
          log.warn({ cluster, holder: d.running.holder, kind: d.running.kind }, d.reason);
          o.onJob?.({
            cluster,
            kind: d.running.kind,
            steps: [{ kind: d.running.kind, ok: false, started: Date.parse(d.running.started), finished: now, error: d.reason }],
            missed: 0,
            interrupted: true,
          });
        }
        return { requeueAfterMs: 1, writes: written ? 1 : 0 };
      }
      case 'start': {
        const { written } = await o.backups.update(cluster, (cur) =>
          started(cur, { kind: d.kind, slot: d.slot, missed: d.missed, holder: o.holder, now }),
        );
        if (!written) return { requeueAfterMs: 1000 };
        log.info({ cluster, kind: d.kind, slot: new Date(d.slot).toISOString(), missed: d.missed }, d.reason);
        launch(spec, d.kind, d.missed, d.missed ? 'schedule (missed)' : 'schedule');
        return { requeueAfterMs: Math.max(1000, Math.floor(staleMs / 2)), writes: 1 };
      }
    }
  }

  function launch(spec: BzzzCluster, kind: BackupJobKind, missed: number, reason: string): void {
    const cluster = spec.metadata.name;
    const abort = new AbortController();
    let timer: Timer | undefined;
    const heartbeat = () => {
      timer = o.clock.setTimeout(
        () => {
          void o.backups
            .update(cluster, (cur) => beat(cur, o.holder, o.clock.now()))
            .catch((err) => log.warn({ cluster, err: errorMessage(err) }, 'backup heartbeat not written'));
          heartbeat();
        },
        Math.max(250, Math.floor(staleMs / 3)),
      );
    };
    heartbeat();
    const done = (async () => {
      let steps: BackupStepOutcome[];
      try {
        steps = await o.runner.run({ cluster: spec, kind, reason, signal: abort.signal });
      } catch (err) {
        steps = [{ kind, ok: false, started: o.clock.now(), finished: o.clock.now(), error: errorMessage(err).slice(0, 500) }];
      } finally {
        timer?.cancel();
      }
      try {
        await o.backups.update(cluster, (cur) => finished(cur, { holder: o.holder, kind, steps }));
      } catch (err) {
        log.error({ cluster, err: errorMessage(err) }, 'backup outcome not recorded (the next pass finds the job interrupted)');
      }
      log.info({ cluster, kind, steps: steps.map((s) => `${s.kind}:${s.ok ? 'ok' : 'failed'}`) }, 'backup job ended');
      o.onJob?.({ cluster, kind, steps, missed });
    })().finally(() => {
      jobs.delete(cluster);
      o.requeue?.(cluster, `${kind} job ended`);
    });
    jobs.set(cluster, { abort, done });
  }

  return {
    reconcile: (cluster) => reconcile(cluster),
    async idle() {
      while (jobs.size) await Promise.all([...jobs.values()].map((j) => j.done));
    },
    async stop() {
      for (const j of jobs.values()) j.abort.abort();
      await this.idle();
    },
  };
}
