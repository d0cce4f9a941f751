// bzzzctl controller run: the reconciling controller. Sources (Docker events, periodic resync,
// the initial list) enqueue cluster names; workers run the cluster reconciler; /metrics and
// /healthz are served; a lease in the swarm tells `bzzzctl apply` that a controller runs.
// SIGTERM/SIGINT: stop taking work, finish in-flight reconciles, release the lease, exit 0.
import { hostname } from 'node:os';
import { parseDurationMs } from '../../spec/index.js';
import { createDockerClient, DockerSwarmPort } from '../../swarm/docker-port.js';
import { createDockerEventSource } from '../../swarm/events.js';
import { requireSwarmManager } from '../../swarm/engine.js';
import { ClusterStore } from '../../swarm/state.js';
import { acquireLease, releaseLease } from '../../swarm/lease.js';
import type { SwarmPort } from '../../swarm/port.js';
import { createClusterReconciler } from '../../reconcilers/cluster.js';
import { httpAgentProber } from '../../reconcilers/agents.js';
import { createAgentMonitor } from '../../controller/agent-monitor.js';
import { createManager, type Manager } from '../../controller/manager.js';
import { createControllerMetrics } from '../../controller/metrics.js';
import { startHttp } from '../../controller/http.js';
import type { Runnable } from '../../controller/types.js';
import { InvalidInputError } from '../../util/errors.js';
import { logger, type Logger } from '../../util/log.js';
import { EXIT_OK } from '../main.js';

export interface ControllerOptions { listen: string; resync: string; workers: string; probeAgents: boolean }

const LEASE_TTL_MS = 15_000;
const LEASE_RENEW_MS = 5_000;

/** Keeps the controller lease renewed for as long as the manager runs; released on stop. */
function leaseRunnable(port: SwarmPort, holder: string, log: Logger): Runnable {
  let timer: NodeJS.Timeout | undefined;
  return {
    async start(signal) {
      const renew = async () => {
        const held = await acquireLease(port, holder, LEASE_TTL_MS, Date.now()).catch(() => false);
        if (!held) log.warn({ holder }, 'another controller holds the lease; this one reconciles too (leader election comes with controller HA)');
      };
      await renew();
      timer = setInterval(() => { renew().catch((err: unknown) => log.error({ err }, 'lease renew failed')); }, LEASE_RENEW_MS);
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    },
    async stop() {
      clearInterval(timer);
      await releaseLease(port, holder);
    },
  };
}

export interface RunningController { manager: Manager; port: number; stop(): Promise<void> }

/** Starts a controller in this process (the CLI command and the integration tests use it). */
export async function startController(opts: { listen: string; resyncMs: number; workers: number; log?: Logger; progressRequeueMs?: number; probeAgents?: boolean }): Promise<RunningController> {
  const log = opts.log ?? logger('controller');
  const docker = createDockerClient();
  const port = new DockerSwarmPort(docker);
  await requireSwarmManager(port);
  const store = new ClusterStore(port);
  const metrics = createControllerMetrics();
  // The manager is made below; the monitor queues a cluster when its agents' reports change.
  let enqueue: (cluster: string) => void = () => {};
  const agents = opts.probeAgents === false ? undefined : createAgentMonitor({ prober: httpAgentProber(), onChange: (c) => enqueue(c), log: log.child({ component: 'agents' }) });
  const reconciler = createClusterReconciler({
    port,
    store,
    log: log.child({ component: 'reconciler' }),
    progressRequeueMs: opts.progressRequeueMs,
    agents,
  });
  const events = createDockerEventSource({ docker, log: log.child({ component: 'events' }), metrics });
  const holder = `${hostname()}/${process.pid}`;
  const manager = createManager({
    reconciler,
    lister: store,
    events,
    metrics,
    log,
    workers: opts.workers,
    resyncMs: opts.resyncMs,
    runnables: [leaseRunnable(port, holder, log), ...(agents ? [agents] : [])],
  });
  enqueue = (c) => manager.enqueue(c, 'agent reports changed');
  const http = await startHttp({ listen: opts.listen, registry: metrics.registry, health: () => manager.healthy(), ready: () => manager.ready, log });
  const abort = new AbortController();
  const done = manager.start(abort.signal);
  log.info({ listen: `${http.host}:${http.port}`, holder, resyncMs: opts.resyncMs }, 'controller started');
  return {
    manager,
    port: http.port,
    async stop() {
      abort.abort();
      await done;
      await http.close();
    },
  };
}

export async function controllerRunCommand(opts: ControllerOptions): Promise<number> {
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new InvalidInputError(`--workers ${opts.workers}: expected a whole number ≥ 1`);
  const log = logger('controller');
  const c = await startController({ listen: opts.listen, resyncMs: parseDurationMs(opts.resync, '--resync'), workers, log, probeAgents: opts.probeAgents });
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
  await c.stop();
  log.info('stopped');
  return EXIT_OK;
}
