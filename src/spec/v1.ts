// What the operator records about a switch between v2 and the v1 systemd services: the plan
// (`bzzzctl rollback --to v1|v2`, or a `rollback-to-v1` alert) as a journal of steps. Pure types
// and the step catalogue; kept in the swarm by src/store/v1-store.ts, run by
// src/reconcilers/v1-reconciler.ts, shown by `bzzzctl v1 status` and `bzzzctl rollback`.
import type { RolloutCause } from './rollout.js';

export type V1Side = 'v1' | 'v2';

/**
 * To v1 (make before break: v2 serves until v1 is verified and the proxy has switched):
 *   record-v2     the v2 generation and its services' replicas and images, for the way back
 *   start-v1      `systemctl start` the v1 unit on every host, in parallel
 *   verify-v1     every v1 agent answers and reports its peers
 *   switch-proxy  the proxy puts v1's servers in service, then takes v2's out
 *   stop-v2       the v2 services scaled to zero (volumes, secrets, configs and specs all kept)
 *   notify        Slack
 * To v2: start-v2 (services back at their recorded replicas, converged), switch-proxy, stop-v1,
 * notify. A step that fails before the other side is stopped undoes what the plan started
 * (undo-proxy: the proxy back; undo-v1: the v1 units stopped again; undo-v2: v2 parked again)
 * and leaves the side that served before serving.
 */
export type V1StepName =
  | 'record-v2'
  | 'start-v1'
  | 'verify-v1'
  | 'switch-proxy'
  | 'stop-v2'
  | 'start-v2'
  | 'stop-v1'
  | 'undo-proxy'
  | 'undo-v1'
  | 'undo-v2'
  | 'notify';

export type V1StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface V1StepRecord {
  name: V1StepName;
  state: V1StepState;
  startedAt?: string;
  finishedAt?: string;
  /** What it did or why it failed, naming the hosts (never a secret). */
  detail?: string;
  /** Times the step was started (a controller killed in the middle starts it again). */
  attempts?: number;
}

/** Running: steps left. Done: the cluster runs on `to`. Failed: a step failed; what ran before serves. */
export type V1PlanPhase = 'Running' | 'Done' | 'Failed';

export interface V1ServiceRecord {
  replicas: number;
  image: string;
}

export interface V1PlanState {
  /** Increments with every plan of the cluster. */
  id: number;
  to: V1Side;
  phase: V1PlanPhase;
  cause: RolloutCause;
  requestedAt: string;
  finishedAt?: string;
  steps: V1StepRecord[];
  /**
   * The v2 services are parked: the cluster reconciler scales every service to zero and keeps
   * everything else. Set by stop-v2, cleared by start-v2 (and by nothing else).
   */
  parked: boolean;
  /** The v2 side as record-v2 found it. */
  v2?: { generation: number; services: Record<string, V1ServiceRecord> };
  /** Go on with fewer hosts than all (`--min-hosts`; default spec.v1.minHosts, else all). */
  minHosts?: number;
  /** Alerts already acted on (dedupe keys), newest last, bounded. */
  handledAlerts?: string[];
}

export const V1_STEPS: Record<V1Side, readonly V1StepName[]> = {
  v1: ['record-v2', 'start-v1', 'verify-v1', 'switch-proxy', 'stop-v2', 'notify'],
  v2: ['start-v2', 'switch-proxy', 'stop-v1', 'notify'],
};

/** The side the proxy sends traffic to per the cluster's last plan (v2 when there never was one). */
export function servingSide(plan: V1PlanState | undefined): V1Side {
  if (!plan) return 'v2';
  const from: V1Side = plan.to === 'v1' ? 'v2' : 'v1';
  const done = (n: V1StepName) => plan.steps.some((s) => s.name === n && s.state === 'done');
  if (done('undo-proxy')) return from;
  return done('switch-proxy') ? plan.to : from;
}
