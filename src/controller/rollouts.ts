// Rollouts in the controller process, composed: the rollout reconciler (its own controller), the
// Alertmanager webhook's lookup and actions, and the Slack notifiers that announce the rollouts'
// events. An alert's action is one compare-and-swap on the rollout record — recorded with its
// cause and keyed by the alert so a retried or duplicated delivery acts once, even across a
// restart — and then the cluster is queued at once: the rollback starts within the request's
// echo, not at the next analysis interval.
import type { ClusterStore, StoredSpec } from '../store/cluster-store.js';
import type { RolloutLogEntry, RolloutState, RolloutStore } from '../store/rollout-store.js';
import type { SwarmPort } from '../swarm/port.js';
import type { RolloutCause } from '../spec/rollout.js';
import { createRolloutReconciler } from '../reconcilers/rollout-reconciler.js';
import { createRolloutAnalyzer, type RolloutAnalyzerOptions } from '../reconcilers/rollout-analysis.js';
import { pauseRollout, rollBackRollout, RolloutVerbError, withLog, type RolloutStep } from '../reconcilers/rollout-decide.js';
import type { Reconciler } from '../reconcilers/reconciler.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { ControllerMetrics } from './metrics.js';
import { createSlackNotifier, type Notifier } from './notify/slack.js';
import type { RollbackCause, RolloutNotification } from './notify/slack-message.js';
import {
  alertActionKey,
  alertCause,
  observeActionStarted,
  type AlertAction,
  type AlertmanagerWebhookOptions,
  type WebhookCluster,
} from './webhook/handler.js';

/** Alert dedupe keys kept on a rollout record. */
const HANDLED_KEPT = 50;
/** How long the webhook's view of a cluster (token hash, triggers, last rollout) is reused. */
const LOOKUP_TTL_MS = 2000;

export interface RolloutWiringOptions {
  port: SwarmPort;
  store: ClusterStore;
  rollouts: RolloutStore;
  metrics: ControllerMetrics;
  log: Logger;
  /** Where the controller finds mounted Docker secrets (the Slack webhook URL): /run/secrets in the swarm. */
  secretsDir: string;
  agentsVia?: RolloutAnalyzerOptions['agentsVia'];
  progressRequeueMs?: number;
  signal?: AbortSignal;
  /** A rollback-to-v1 alert: the v1 wiring asks for the plan (v1.ts); true when it did. */
  toV1?(cluster: string, action: AlertAction): Promise<boolean>;
}

export interface RolloutWiring {
  reconciler: Reconciler;
  webhook: Pick<AlertmanagerWebhookOptions, 'lookup' | 'act'>;
  /** Where an alert's action queues the cluster (set once the controllers exist). */
  onAction(enqueue: (cluster: string, reason: string) => void): void;
  /** Announces an event through the cluster's notifier (Slack), when it has one. */
  announce(cluster: string, n: RolloutNotification): void;
  /** Delivers what the notifiers still hold. */
  flush(): Promise<void>;
}

export function createRolloutWiring(o: RolloutWiringOptions): RolloutWiring {
  let enqueue: (cluster: string, reason: string) => void = () => {};
  const notifiers = new Map<string, { key: string; notifier: Notifier }>();
  const views = new Map<string, { at: number; spec: StoredSpec; rollout?: RolloutState }>();

  async function view(cluster: string): Promise<{ spec: StoredSpec; rollout?: RolloutState } | undefined> {
    const cached = views.get(cluster);
    if (cached && Date.now() - cached.at < LOOKUP_TTL_MS) return cached;
    const rec = await o.store.get(cluster);
    if (!rec) {
      views.delete(cluster);
      return undefined;
    }
    const [spec, rollout] = await Promise.all([o.store.getSpec(cluster, rec.generation), o.rollouts.get(cluster)]);
    const v = { at: Date.now(), spec, rollout };
    views.set(cluster, v);
    return v;
  }

  function notifierFor(cluster: string, spec: StoredSpec): Notifier | undefined {
    const slack = spec.cluster.spec.notifications?.slack;
    if (!slack?.webhookUrlSecret) return undefined;
    // The secret is mounted in the controller as <cluster>_<logical> (bzzzctl up does; see README).
    const file = `${cluster}_${slack.webhookUrlSecret}`;
    const key = `${file}|${slack.channel ?? ''}`;
    const known = notifiers.get(cluster);
    if (known?.key === key) return known.notifier;
    const notifier = createSlackNotifier({
      secretsDir: o.secretsDir,
      file,
      channel: slack.channel,
      log: o.log.child({ component: 'slack', cluster }),
      metrics: o.metrics.notifications,
    });
    notifiers.set(cluster, { key, notifier });
    return notifier;
  }

  function announce(cluster: string, n: RolloutNotification): void {
    views.delete(cluster);
    void view(cluster)
      .then((v) => v && notifierFor(cluster, v.spec)?.notify(n))
      .catch((err: unknown) => o.log.warn({ cluster, err: errorMessage(err) }, 'event not announced'));
  }

  function onEvent(cluster: string, entry: RolloutLogEntry): void {
    o.metrics.rollouts.event(entry.kind, entry.cause?.kind);
    void view(cluster)
      .then((v) => {
        const n = v && notification(cluster, entry);
        if (v && n) notifierFor(cluster, v.spec)?.notify(n);
      })
      .catch((err: unknown) => o.log.warn({ cluster, err: errorMessage(err) }, 'rollout event not announced'));
  }

  const reconciler = createRolloutReconciler({
    port: o.port,
    store: o.store,
    rollouts: o.rollouts,
    analyzer: createRolloutAnalyzer({
      agentsVia: o.agentsVia,
      signal: o.signal,
      onMeasurement: (_cluster, _rule, outcome) => o.metrics.rollouts.measurement(outcome),
    }),
    onEvent,
    log: o.log,
    progressRequeueMs: o.progressRequeueMs,
  });

  async function lookup(cluster: string): Promise<WebhookCluster | undefined> {
    const v = await view(cluster);
    if (!v) return undefined;
    const tokenSecret = v.spec.cluster.spec.rollback?.webhook?.tokenSecret;
    return {
      tokenSha256: tokenSecret ? v.spec.apiTokenHashes?.[tokenSecret] : undefined,
      triggers: v.spec.cluster.spec.rollback?.triggers ?? [],
      ...(v.rollout ? { lastRolloutStartedAt: new Date(v.rollout.startedAt) } : {}),
    };
  }

  async function act(cluster: string, action: AlertAction): Promise<void> {
    if (action.action === 'rollback-to-v1') {
      if (!o.toV1) {
        o.log.warn({ cluster, trigger: action.trigger }, 'rollback-to-v1 alert: this controller does not run v1 plans');
        return;
      }
      if (!(await o.toV1(cluster, action))) return;
      observeActionStarted(o.metrics.webhook, action, new Date());
      enqueue(cluster, `alert ${action.alert.name}`);
      return;
    }
    const at = new Date();
    const key = alertActionKey(action);
    const cause = alertCause(action, at);
    let refused: string | undefined;
    const { written, state } = await o.rollouts.update(cluster, (current) => {
      if (!current || current.handledAlerts?.includes(key)) return undefined;
      let step: RolloutStep;
      try {
        step =
          action.action === 'rollback-previous'
            ? rollBackRollout(current, cause)
            : action.action === 'pause'
              ? pauseRollout(current, cause)
              : {
                  next: current,
                  events: [{ kind: 'alert', generation: current.generation, stable: current.stable, cause }],
                  revisions: [],
                };
      } catch (err) {
        if (!(err instanceof RolloutVerbError)) throw err;
        refused = err.message;
        step = {
          next: current,
          events: [
            {
              kind: 'alert',
              generation: current.generation,
              stable: current.stable,
              cause: { ...cause, message: `${cause.message}: not acted on: ${err.message}` },
            },
          ],
          revisions: [],
        };
      }
      const next = withLog(step, cause.at) ?? current;
      return { ...next, handledAlerts: [...(next.handledAlerts ?? []), key].slice(-HANDLED_KEPT) };
    });
    views.delete(cluster);
    if (!written) return;
    if (!refused && action.action !== 'notify') observeActionStarted(o.metrics.webhook, action, new Date());
    o.log.info(
      { cluster, trigger: action.trigger, alert: action.alert.name, action: action.action, phase: state?.phase, refused },
      'alert acted on',
    );
    // The record change also arrives as a Docker event; queuing now saves that round trip.
    enqueue(cluster, `alert ${action.alert.name}`);
  }

  return {
    reconciler,
    webhook: { lookup, act },
    onAction(fn) {
      enqueue = fn;
    },
    announce,
    async flush() {
      await Promise.all([...notifiers.values()].map((n) => n.notifier.flush()));
    },
  };
}

const SLACK_CAUSE: Record<RolloutCause['kind'], RollbackCause> = {
  analysis: 'analysis',
  alert: 'alert',
  swarm: 'swarm',
  engine: 'engine',
  manual: 'manual',
};

/** A rollout event as Slack hears of it (undefined: not announced). */
export function notification(cluster: string, e: RolloutLogEntry): RolloutNotification | undefined {
  const c = e.cause;
  const base = {
    cluster,
    revision: e.generation,
    at: new Date(e.at),
    ...(c ? { cause: SLACK_CAUSE[c.kind] } : {}),
    ...(c?.rule ? { rule: c.rule } : c?.trigger ? { rule: c.trigger } : {}),
    ...(c?.value !== undefined ? { value: c.value } : {}),
    ...(c?.threshold !== undefined ? { threshold: String(c.threshold) } : {}),
    ...(c?.message ? { detail: c.message } : {}),
  };
  switch (e.kind) {
    case 'started':
      return { ...base, event: 'started' };
    case 'resumed':
      return { ...base, event: 'started', detail: c?.message ?? 'resumed' };
    case 'succeeded':
      return { ...base, event: 'succeeded' };
    case 'paused':
      return { ...base, event: 'paused' };
    case 'alert':
      return { ...base, event: 'alert' };
    case 'rolling-back':
      return { ...base, event: 'rolled-back', toRevision: e.stable, detail: `rolling back to revision ${e.stable}: ${c?.message ?? ''}` };
    case 'rolled-back':
      return { ...base, event: 'rolled-back', toRevision: e.stable, detail: `back on revision ${e.stable}` };
    case 'aborted':
      return { ...base, event: 'rolled-back', cause: 'abort', toRevision: e.stable, detail: `aborted; back on revision ${e.stable}` };
  }
}
