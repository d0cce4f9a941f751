// The controller's Prometheus metrics, on a registry of its own (not prom-client's global one,
// so tests and embedders can hold several). The rest of the controller records through the
// narrow ControllerMetrics interface and never touches prom-client itself.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NotificationMetrics } from './notify/slack.js';
import type { QueueMetrics } from './queue.js';
import type { WebhookMetrics } from './webhook/handler.js';
import type { RolloutCauseKind, RolloutEventKind } from '../spec/rollout.js';

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'terminal';

export interface ControllerMetrics {
  readonly registry: Registry;
  readonly queue: QueueMetrics;
  readonly webhook: WebhookMetrics;
  readonly notifications: NotificationMetrics;
  readonly rollouts: RolloutMetrics;
  readonly backups: BackupMetrics;
  reconciled(cluster: string, outcome: ReconcileOutcome, seconds: number): void;
  driftCorrected(cluster: string, count: number): void;
  engineWrites(cluster: string, count: number): void;
  dockerEvent(type: string, action: string): void;
  watchReconnected(): void;
  /** This controller holds the lease and reconciles (true), or stands by (false). */
  leader(holding: boolean): void;
}

export interface RolloutMetrics {
  /** A rollout event recorded (counted by outcome, and rollbacks by cause). */
  event(kind: RolloutEventKind, cause?: RolloutCauseKind): void;
  /** One analysis measurement and its outcome (successful, failed, inconclusive, error). */
  measurement(outcome: string): void;
}

/** Backup jobs' steps (backup, verify, prune, drill), per cluster. */
export interface BackupMetrics {
  /** One step ended: its duration, and for a backup the snapshot's bytes and the bytes it added. */
  step(cluster: string, kind: string, ok: boolean, seconds: number, endedAt: number, bytes?: { total: number; added: number }): void;
  /** Slots that passed without a run. */
  missed(cluster: string, kind: string, slots: number): void;
}

export interface ControllerMetricsOptions {
  /** Also export the process/Node.js default metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
}

const PREFIX = 'bzzz_operator_';

export function createControllerMetrics(options: ControllerMetricsOptions = {}): ControllerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const reconcileTotal = new Counter({
    name: `${PREFIX}reconcile_total`,
    help: 'Reconcile passes by cluster and result (success, error, requeue, terminal).',
    labelNames: ['cluster', 'result'] as const,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: `${PREFIX}reconcile_duration_seconds`,
    help: 'Duration of one reconcile pass.',
    labelNames: ['cluster'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const reconcileErrors = new Counter({
    name: `${PREFIX}reconcile_errors_total`,
    help: 'Reconcile passes that failed (retried with backoff, or terminal).',
    labelNames: ['cluster'] as const,
    registers,
  });
  const depth = new Gauge({
    name: `${PREFIX}workqueue_depth`,
    help: 'Clusters waiting in the work queue for a worker.',
    registers,
  });
  const adds = new Counter({
    name: `${PREFIX}workqueue_adds_total`,
    help: 'Clusters added to the work queue (duplicates of a queued cluster not counted).',
    registers,
  });
  const retries = new Counter({
    name: `${PREFIX}workqueue_retries_total`,
    help: 'Rate-limited re-adds after a failed reconcile.',
    registers,
  });
  const drift = new Counter({
    name: `${PREFIX}drift_corrections_total`,
    help: 'Hand-made changes to owned objects that a reconcile undid.',
    labelNames: ['cluster'] as const,
    registers,
  });
  const events = new Counter({
    name: `${PREFIX}docker_events_total`,
    help: 'Docker events received by the watch, by object type and action.',
    labelNames: ['type', 'action'] as const,
    registers,
  });
  const reconnects = new Counter({
    name: `${PREFIX}watch_reconnects_total`,
    help: 'Times the Docker events watch was re-established after its stream ended or failed.',
    registers,
  });
  const leader = new Gauge({
    name: `${PREFIX}leader`,
    help: '1 while this controller holds the controller lease and reconciles; 0 while it stands by.',
    registers,
  });
  const writes = new Counter({
    name: `${PREFIX}engine_writes_total`,
    help: 'Docker Engine write calls made by reconciles.',
    labelNames: ['cluster'] as const,
    registers,
  });

  const webhookRequests = new Counter({
    name: `${PREFIX}webhook_requests_total`,
    help: 'Alertmanager webhook requests by outcome (accepted, duplicate, unauthorized, too_large, malformed, invalid, rate_limited, ignored_resolved, no_match, timeout, error).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const alertToAction = new Histogram({
    name: `${PREFIX}alert_to_action_seconds`,
    help: 'From an alert received on the webhook to its action (a rollback, a pause) started.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const notifications = new Counter({
    name: `${PREFIX}notifications_total`,
    help: 'Notifications by channel and outcome (delivered, retried, failed, dropped: the queue was full).',
    labelNames: ['channel', 'outcome'] as const,
    registers,
  });

  const rollouts = new Counter({
    name: `${PREFIX}rollouts_total`,
    help: 'Rollouts by outcome (succeeded, rolled_back, aborted) and pauses (paused).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const rollbacks = new Counter({
    name: `${PREFIX}rollbacks_total`,
    help: 'Stack rollbacks started, by cause (analysis, alert, swarm, engine, manual: rollout abort or undo).',
    labelNames: ['cause'] as const,
    registers,
  });
  const measurements = new Counter({
    name: `${PREFIX}analysis_measurements_total`,
    help: 'Analysis measurements by outcome (successful, failed, inconclusive, error).',
    labelNames: ['outcome'] as const,
    registers,
  });

  const backupLastSuccess = new Gauge({
    name: `${PREFIX}backup_last_success_timestamp_seconds`,
    help: 'When the last successful backup step ended (unix seconds), by cluster and kind (backup, verify, prune, drill).',
    labelNames: ['cluster', 'kind'] as const,
    registers,
  });
  const backupDuration = new Gauge({
    name: `${PREFIX}backup_duration_seconds`,
    help: 'Duration of the last backup step, by cluster and kind.',
    labelNames: ['cluster', 'kind'] as const,
    registers,
  });
  const backupBytes = new Gauge({
    name: `${PREFIX}backup_bytes`,
    help: 'Bytes of the last snapshot (what) and the bytes it added to the repository (added), by cluster.',
    labelNames: ['cluster', 'what'] as const,
    registers,
  });
  const backupFailures = new Counter({
    name: `${PREFIX}backup_failures_total`,
    help: 'Backup steps that failed, by cluster and kind (backup, verify, prune, drill).',
    labelNames: ['cluster', 'kind'] as const,
    registers,
  });
  const backupMissed = new Counter({
    name: `${PREFIX}backup_missed_total`,
    help: 'Scheduled backup or drill slots that passed without a run (no controller ran), by cluster and kind.',
    labelNames: ['cluster', 'kind'] as const,
    registers,
  });

  return {
    registry,
    backups: {
      step(cluster, kind, ok, seconds, endedAt, bytes) {
        backupDuration.set({ cluster, kind }, nonNegative(seconds));
        // Counting 0 creates the series, so an alert on increase() works from the first run.
        backupFailures.inc({ cluster, kind }, ok ? 0 : 1);
        if (ok) backupLastSuccess.set({ cluster, kind }, endedAt / 1000);
        if (ok && bytes) {
          backupBytes.set({ cluster, what: 'snapshot' }, nonNegative(bytes.total));
          backupBytes.set({ cluster, what: 'added' }, nonNegative(bytes.added));
        }
      },
      missed: (cluster, kind, slots) => backupMissed.inc({ cluster, kind }, nonNegative(slots)),
    },
    rollouts: {
      event(kind, cause) {
        if (kind === 'succeeded') rollouts.inc({ outcome: 'succeeded' });
        else if (kind === 'rolled-back') rollouts.inc({ outcome: 'rolled_back' });
        else if (kind === 'aborted') rollouts.inc({ outcome: 'aborted' });
        else if (kind === 'paused') rollouts.inc({ outcome: 'paused' });
        else if (kind === 'rolling-back') rollbacks.inc({ cause: cause ?? 'manual' });
        else if (kind === 'started' && cause === 'manual') rollbacks.inc({ cause: 'manual' }); // rollout undo
      },
      measurement: (outcome) => measurements.inc({ outcome }),
    },
    webhook: {
      request: (outcome) => webhookRequests.inc({ outcome }),
      alertToAction: (seconds) => alertToAction.observe(nonNegative(seconds)),
    },
    notifications: {
      notification: (channel, outcome) => notifications.inc({ channel, outcome }),
    },
    queue: {
      add: () => adds.inc(),
      retry: () => retries.inc(),
      depth: (n) => depth.set(n),
    },
    reconciled(cluster, outcome, seconds) {
      reconcileTotal.inc({ cluster, result: outcome });
      reconcileDuration.observe({ cluster }, seconds);
      if (outcome === 'error' || outcome === 'terminal') reconcileErrors.inc({ cluster });
    },
    // Counting 0 too creates the cluster's series at 0, so rate() works from its first pass.
    driftCorrected(cluster, count) {
      drift.inc({ cluster }, nonNegative(count));
    },
    engineWrites(cluster, count) {
      writes.inc({ cluster }, nonNegative(count));
    },
    dockerEvent(type, action) {
      events.inc({ type, action });
    },
    watchReconnected: () => reconnects.inc(),
    leader: (holding) => leader.set(holding ? 1 : 0),
  };
}

function nonNegative(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}
