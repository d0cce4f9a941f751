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
import { alertmanagerWebhook } from './webhook/handler.js';
import { createRolloutWiring } from './rollouts.js';
import { RolloutStore } from '../store/rollout-store.js';
import { V1Store } from '../store/v1-store.js';
import { mountedKeyFile, openV1Side } from '../ops/v1-side.js';
import { createV1Wiring, type V1Wiring } from './v1.js';
import { createMigrationWiring } from './migration.js';
import { MigrationStore } from '../store/migration-store.js';
import { BackupStore } from '../store/backup-store.js';
import { createBackupWiring } from './backups.js';
import { RotationStore } from '../store/rotation-store.js';
import { createKeysWiring } from './keys.js';
import { DockerExec } from '../swarm/exec.js';
import { postgresLoginsViaExec } from '../ops/postgres-logins.js';
import type { Reconciler } from '../reconcilers/reconciler.js';
import type { ClusterLister } from './types.js';

export interface ControllerProcessOptions {
  listen: string;
  resyncMs: number;
  workers: number;
  log?: Logger;
  progressRequeueMs?: number;
  probeAgents?: boolean;
  leaseTtlMs?: number;
  /** Where mounted Docker secrets are (the Slack webhook URL). Default /run/secrets. */
  secretsDir?: string;
  /** How the rollout analysis reaches the agents' /metrics (rollout-analysis.ts). Default network. */
  agentsVia?: 'network' | 'published-ports';
  /**
   * Reconcile only these clusters (default: every cluster in the swarm): a controller of one's own
   * on a swarm shared with others' clusters (benchmarks, tests). The lease is still the swarm's one.
   */
  clusters?: readonly string[];
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
  const only = opts.clusters ? new Set(opts.clusters) : undefined;
  const lister: ClusterLister = only ? { listClusters: async () => (await store.listClusters()).filter((c) => only.has(c)) } : store;
  const scoped = (r: Reconciler): Reconciler =>
    only ? { reconcile: async (c, signal) => (only.has(c) ? r.reconcile(c, signal) : {}) } : r;
  /** One more controller on the manager: its own Docker events watch, the shared lister, workers and resync. */
  const addController = (name: string, reconciler: Reconciler) =>
    manager.add({
      name,
      reconciler: scoped(reconciler),
      lister,
      events: createDockerEventSource({ engine: engineEvents(docker), log: log.child({ component: 'events' }), metrics }),
      metrics,
      workers: opts.workers,
      resyncMs: opts.resyncMs,
    });

  // The monitor queues a cluster when its agents' reports change.
  const agents =
    opts.probeAgents === false
      ? undefined
      : createAgentMonitor({
          prober: httpAgentProber(),
          onChange: (c) => clusters.enqueue(c, 'agent reports changed'),
          log: log.child({ component: 'agents' }),
        });
  // Rollouts: a controller of their own beside the cluster's, sharing its events. The cluster
  // reconciler holds an analysed spec's service writes until the rollout has started.
  const rolloutsAbort = new AbortController();
  const secretsDir = opts.secretsDir ?? '/run/secrets';
  let v1: V1Wiring | undefined;
  const rollouts = createRolloutWiring({
    port,
    store,
    rollouts: new RolloutStore(port, store),
    metrics,
    log: log.child({ component: 'rollouts' }),
    secretsDir,
    agentsVia: opts.agentsVia,
    progressRequeueMs: opts.progressRequeueMs,
    signal: rolloutsAbort.signal,
    toV1: (cluster, action) => (v1 ? v1.fromAlert(cluster, action) : Promise.resolve(false)),
  });
  // Rollback to v1: a third controller, running the steps of each cluster's v1 plan.
  v1 = createV1Wiring({
    port,
    store,
    plans: new V1Store(port, store),
    log: log.child({ component: 'v1' }),
    announce: (cluster, n) => rollouts.announce(cluster, n),
    side: (cluster, spec) =>
      openV1Side({
        v1: spec,
        keyFile: mountedKeyFile(secretsDir, cluster, spec),
        where: `mount the secret ${cluster}_${spec.ssh.privateKeySecret} into the controller (--secrets-dir ${secretsDir})`,
        log: log.child({ component: 'v1-hosts', cluster }),
      }),
  });
  const clusters = manager.add({
    name: 'cluster',
    reconciler: scoped(
      createClusterReconciler({
        port,
        store,
        log: log.child({ component: 'reconciler' }),
        progressRequeueMs: opts.progressRequeueMs,
        agents,
        rollouts: true,
      }),
    ),
    lister,
    events: createDockerEventSource({ engine: engineEvents(docker), log: log.child({ component: 'events' }), metrics }),
    metrics,
    workers: opts.workers,
    resyncMs: opts.resyncMs,
  });
  const rolloutController = addController('rollout', rollouts.reconciler);
  const v1Controller = addController('v1', v1.reconciler);
  // The v1 → v2 migration: a fourth controller, phase by phase toward spec.migration.targetPhase.
  const migration = createMigrationWiring({
    port,
    store,
    migrations: new MigrationStore(port, store),
    log: log.child({ component: 'migration' }),
    secretsDir,
    agentsVia: opts.agentsVia,
    signal: rolloutsAbort.signal,
    announce: (cluster, n) => rollouts.announce(cluster, n),
  });
  addController('migration', migration.reconciler);
  // Backups: a fifth controller, starting each cluster's scheduled backups and drills as
  // background jobs (journaled in <cluster>_bzzz-backup) and recording how they ended.
  const backups = createBackupWiring({
    port,
    store,
    backups: new BackupStore(port, store),
    log: log.child({ component: 'backups' }),
    secretsDir,
    clock: systemClock,
    holder,
    metrics: metrics.backups,
    announce: (cluster, n) => rollouts.announce(cluster, n),
    requeue: (cluster, reason) => backupController.enqueue(cluster, reason),
  });
  const backupController = addController('backup', backups.reconciler);
  // Rotations: a sixth controller, journaled in <cluster>_bzzz-rotation. A step it records
  // (a new version to mount) is the cluster reconciler's to roll out: it is told at once.
  const keys = createKeysWiring({
    port,
    store,
    rotations: new RotationStore(port, store),
    postgres: postgresLoginsViaExec(new DockerExec(port)),
    registry: metrics.registry,
    log: log.child({ component: 'keys' }),
    announce: (cluster, n) => rollouts.announce(cluster, n),
  });
  addController('keys', {
    async reconcile(cluster, signal) {
      const r = await keys.reconciler.reconcile(cluster, signal);
      if (r.writes) clusters.enqueue(cluster, 'rotation step recorded');
      return r;
    },
  });
  rollouts.onAction((cluster, reason) => {
    clusters.enqueue(cluster, reason);
    rolloutController.enqueue(cluster, reason);
    v1Controller.enqueue(cluster, reason);
  });
  if (agents) manager.addRunnable({ ...agents, leaderOnly: true });

  const http = await startHttp({
    listen: opts.listen,
    registry: metrics.registry,
    health: () => manager.healthy(),
    ready: () => manager.ready,
    log,
    routes: [alertmanagerWebhook({ ...rollouts.webhook, metrics: metrics.webhook, log: log.child({ component: 'webhook' }) })],
  });
  await manager.start();
  log.info({ listen: `${http.host}:${http.port}`, holder, resyncMs: opts.resyncMs, leaseTtlMs }, 'controller started');
  return {
    manager,
    port: http.port,
    lost: manager.lost,
    async stop() {
      await manager.stop();
      await backups.reconciler.stop();
      rolloutsAbort.abort();
      await rollouts.flush();
      // Only a holder gives the lease up (releaseLease checks); a standby leaves it alone.
      await releaseLease(port, holder).catch(() => undefined);
      await http.close();
    },
  };
}
