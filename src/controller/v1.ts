// Rollback to v1 in the controller process, composed: the v1 reconciler (its own controller),
// the rollback-to-v1 alert action, and the announcement of a finished plan. An alert's action is
// one compare-and-swap on the v1 plan record, keyed by the alert so a retried or duplicated
// delivery acts once (across a restart too), and a cluster already on v1 (or on its way) is left
// alone: the plan runs once.
import type { ClusterStore } from '../store/cluster-store.js';
import type { V1Store } from '../store/v1-store.js';
import type { SwarmPort } from '../swarm/port.js';
import { servingSide, type V1PlanState } from '../spec/v1.js';
import { createV1Reconciler, type V1SideFactory } from '../reconcilers/v1-reconciler.js';
import { failedStep, requestPlan, V1PlanError } from '../reconcilers/v1-plan.js';
import type { Reconciler } from '../reconcilers/reconciler.js';
import type { Logger } from '../util/log.js';
import type { RolloutNotification } from './notify/slack-message.js';
import { alertActionKey, alertCause, type AlertAction } from './webhook/handler.js';

const HANDLED_KEPT = 50;

export interface V1WiringOptions {
  port: SwarmPort;
  store: ClusterStore;
  plans: V1Store;
  side: V1SideFactory;
  log: Logger;
  /** Announces a finished plan (the rollout wiring's Slack notifier of the cluster). */
  announce(cluster: string, n: RolloutNotification): void;
  pollMs?: number;
}

export interface V1Wiring {
  reconciler: Reconciler;
  /** A rollback-to-v1 alert: asks for a plan to v1 once. Resolves true when a plan was asked for. */
  fromAlert(cluster: string, action: AlertAction): Promise<boolean>;
}

export function createV1Wiring(o: V1WiringOptions): V1Wiring {
  const reconciler = createV1Reconciler({
    port: o.port,
    store: o.store,
    plans: o.plans,
    side: o.side,
    log: o.log,
    pollMs: o.pollMs,
    onFinished: (cluster, plan) => o.announce(cluster, v1Notification(cluster, plan)),
  });

  async function fromAlert(cluster: string, action: AlertAction): Promise<boolean> {
    const at = new Date();
    const key = alertActionKey(action);
    const cause = alertCause(action, at);
    let asked = false;
    let refused: string | undefined;
    await o.plans.update(cluster, (current) => {
      if (current?.handledAlerts?.includes(key)) return undefined;
      const handled = [...(current?.handledAlerts ?? []), key].slice(-HANDLED_KEPT);
      let plan: V1PlanState | undefined;
      try {
        plan = requestPlan(current, { to: 'v1', cause, now: at });
      } catch (err) {
        if (!(err instanceof V1PlanError)) throw err;
        refused = err.message;
      }
      asked = plan !== undefined;
      const next = plan ?? current;
      return next ? { ...next, handledAlerts: handled } : undefined;
    });
    o.log.info({ cluster, trigger: action.trigger, alert: action.alert.name, asked, refused }, 'rollback-to-v1 alert');
    return asked;
  }

  return { reconciler, fromAlert };
}

/** A finished plan as Slack hears of it. */
export function v1Notification(cluster: string, p: V1PlanState): RolloutNotification {
  const failed = failedStep(p);
  const c = p.cause;
  const base = {
    cluster,
    revision: p.v2?.generation ?? 0,
    at: new Date(p.finishedAt ?? p.requestedAt),
    cause: c.kind === 'alert' ? ('alert' as const) : ('manual' as const),
    ...(c.trigger ? { rule: c.trigger } : {}),
  };
  if (p.phase === 'Failed' || failed) {
    // A failure after the switch (stop-v2 timing out, say) leaves the new side serving.
    const serving = servingSide(p);
    return {
      ...base,
      event: 'v1-failed',
      detail: `switch to ${p.to} failed at ${failed?.name ?? 'a step'}: ${failed?.detail ?? 'see bzzzctl v1 status'}; ${serving === p.to ? `${serving} serves (the switch was made)` : `${serving} goes on serving`}`,
    };
  }
  const steps = p.steps.filter((s) => s.state === 'done' && s.detail && s.name !== 'notify').map((s) => `${s.name}: ${s.detail}`);
  return { ...base, event: p.to === 'v1' ? 'on-v1' : 'on-v2', detail: `${c.message}\n${steps.join('\n')}` };
}
