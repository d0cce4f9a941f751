// The controller process, composed: the Docker port and store, the leader election on the lease,
// the manager with its controllers, the agent monitor, /metrics and /healthz. `bzzzctl controller
// run` (src/cli/commands/controller.ts) and the integration tests start it through here.
import { hostname } from 'node:os';
import { createDockerClient, DockerSwarmPort } from '../swarm/docker-port.js';
import { engineEvents } from '../swarm/event-stream.js';
import { requireSwarmManager } from '../swarm/engine.js';
import { ClusterStore } from '../store/cluster-store.js';
import { createLeaseElector, DEFAULT_LEASE_TTL_MS, releaseLease } from '../store/lease.js';
import { createClusterReconciler } from '../reconcilers/cluster.js';
import { httpAgentProber } from '../reconcilers/agents.js';
import { logger, type Logger } from '../util/log.js';
import { createAgentMonitor } from './agent-monitor.js';
import { systemClock } from '../util/clock.js';
import { startHttp } from './http.js';
import { createLeaderElection } from './leader-election.js';
import { createManager, type Manager } from './manager.js';
import { createControllerMetrics } from './metrics.js';
import { createDockerEventSource } from './sources/docker-events.js';
import { alertmanagerWebhook, type AlertmanagerWebhookOptions } from './webhook/handler.js';

export interface ControllerProcessOptions {
  listen: string;
  resyncMs: number;
  workers: number;
  log?: Logger;
  progressRequeueMs?: number;
  probeAgents?: boolean;
  leaseTtlMs?: number;
  /** Serves POST /webhooks/alertmanager/<cluster> when given: where a cluster's token hash and triggers come from, and what an alert does. */
  alertWebhook?: Pick<AlertmanagerWebhookOptions, 'lookup' | 'act'>;
}

export interface RunningController {
  manager: Manager;
  /** The HTTP port /metrics and /healthz answer on. */
  port: number;
  /** Resolves with the new holder if this controller loses its lease to another one. */
  lost: Promise<string>;
  stop(): Promise<void>;
}

export async function startController(opts: ControllerProcessOptions): Promise<RunningController> {
  const log = opts.log ?? logger('controller');
  const docker = createDockerClient();
  const port = new DockerSwarmPort(docker);
  await requireSwarmManager(port);
  const store = new ClusterStore(port);
  const metrics = createControllerMetrics();
  const holder = `${hostname()}/${process.pid}`;
  const leaseTtlMs = opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const leaderElection = createLeaderElection({
    elector: createLeaseElector(port, holder, leaseTtlMs),
    clock: systemClock,
    renewMs: Math.max(200, Math.floor(leaseTtlMs / 3)),
    log,
  });
  const manager = createManager({ leaderElection, log, onLeader: (holding) => metrics.leader(holding) });

  // The monitor queues a cluster when its agents' reports change.
  const agents =
    opts.probeAgents === false
      ? undefined
      : createAgentMonitor({
          prober: httpAgentProber(),
          onChange: (c) => clusters.enqueue(c, 'agent reports changed'),
          log: log.child({ component: 'agents' }),
        });
  const clusters = manager.add({
    name: 'cluster',
    reconciler: createClusterReconciler({
      port,
      store,
      log: log.child({ component: 'reconciler' }),
      progressRequeueMs: opts.progressRequeueMs,
      agents,
    }),
    lister: store,
    events: createDockerEventSource({ engine: engineEvents(docker), log: log.child({ component: 'events' }), metrics }),
    metrics,
    workers: opts.workers,
    resyncMs: opts.resyncMs,
  });
  if (agents) manager.addRunnable({ ...agents, leaderOnly: true });

  const http = await startHttp({
    listen: opts.listen,
    registry: metrics.registry,
    health: () => manager.healthy(),
    ready: () => manager.ready,
    log,
    routes: opts.alertWebhook
      ? [alertmanagerWebhook({ ...opts.alertWebhook, metrics: metrics.webhook, log: log.child({ component: 'webhook' }) })]
      : [],
  });
  await manager.start();
  log.info({ listen: `${http.host}:${http.port}`, holder, resyncMs: opts.resyncMs, leaseTtlMs }, 'controller started');
  return {
    manager,
    port: http.port,
    lost: manager.lost,
    async stop() {
      await manager.stop();
      // Only a holder gives the lease up (releaseLease checks); a standby leaves it alone.
      await releaseLease(port, holder).catch(() => undefined);
      await http.close();
    },
  };
}
