// bzzzctl controller run: the reconciling controller. Sources (Docker events, periodic resync,
// the initial list) enqueue cluster names; workers run the cluster reconciler; /metrics and
// /healthz are served; a lease in the swarm tells `bzzzctl apply` that a controller runs.
// Leader election, as in controller-runtime: only the holder of the lease reconciles; another
// controller started beside it waits as a standby and takes over once the holder has not renewed
// for a whole lease TTL. A leader that finds its lease taken stops reconciling and exits 2 (failure).
// SIGTERM/SIGINT: stop taking work, finish in-flight reconciles, release the lease, exit 0.
import { hostname } from 'node:os';
import { parseDurationMs } from '../../spec/index.js';
import { createDockerClient, DockerSwarmPort } from '../../swarm/docker-port.js';
import { createDockerEventSource } from '../../swarm/events.js';
import { requireSwarmManager } from '../../swarm/engine.js';
import { ClusterStore } from '../../swarm/state.js';
import { createLeaseElector, releaseLease, type LeaseElector } from '../../swarm/lease.js';
import { createClusterReconciler } from '../../reconcilers/cluster.js';
import { httpAgentProber } from '../../reconcilers/agents.js';
import { createAgentMonitor } from '../../controller/agent-monitor.js';
import { createManager, type Manager } from '../../controller/manager.js';
import { createControllerMetrics } from '../../controller/metrics.js';
import { startHttp } from '../../controller/http.js';
import { InvalidInputError } from '../../util/errors.js';
import { logger, type Logger } from '../../util/log.js';
import { EXIT_ERROR, EXIT_OK } from '../main.js';

export interface ControllerOptions {
  listen: string;
  resync: string;
  workers: string;
  probeAgents: boolean;
  leaseTtl: string;
}

export const DEFAULT_LEASE_TTL_MS = 15_000;

/**
 * Campaigns for the lease: tries every `renewMs` until `elector` holds it, then keeps renewing it.
 * `leading` resolves once held (rejects if `signal` aborts first); `firstRound` once the first
 * try settled, so the caller knows whether it leads before it says it started; `lost` is called
 * once if a renewal finds the lease held by another controller.
 */
function campaign(
  elector: LeaseElector,
  opts: { renewMs: number; signal: AbortSignal; log: Logger; lost: (holder: string) => void },
): { leading: Promise<void>; firstRound: Promise<void> } {
  let held = false;
  let standbyLogged = false;
  let timer: NodeJS.Timeout | undefined;
  let lead: () => void = () => {};
  let abandon: (reason: unknown) => void = () => {};
  const leading = new Promise<void>((resolve, reject) => {
    lead = resolve;
    abandon = reject;
  });
  let busy = false;
  const round = async () => {
    if (busy) return; // a slow engine: the try in flight is this round's
    busy = true;
    const ok = await elector
      .tryAcquire(Date.now())
      .catch((err: unknown) => {
        opts.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'controller lease: could not read or renew it; retrying');
        return held; // an engine hiccup is not a lost lease: a rival can only take it after a whole TTL
      })
      .finally(() => {
        busy = false;
      });
    if (opts.signal.aborted) return;
    if (ok && !held) {
      held = true;
      opts.log.info({ holder: elector.lastHolder }, 'holding the controller lease: reconciling');
      lead();
    } else if (!ok && held) {
      held = false;
      clearInterval(timer);
      opts.lost(elector.lastHolder);
    } else if (!ok && !standbyLogged) {
      standbyLogged = true;
      opts.log.info({ leader: elector.lastHolder }, 'another controller holds the lease: standing by until it stops renewing it');
    }
  };
  timer = setInterval(() => void round(), opts.renewMs);
  opts.signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      abandon(opts.signal.reason);
    },
    { once: true },
  );
  return { leading, firstRound: round() };
}

export interface RunningController {
  manager: Manager;
  port: number;
  /** Resolves with the new holder if this controller loses its lease to another one. */
  lost: Promise<string>;
  stop(): Promise<void>;
}

/** Starts a controller in this process (the CLI command and the integration tests use it). */
export async function startController(opts: {
  listen: string;
  resyncMs: number;
  workers: number;
  log?: Logger;
  progressRequeueMs?: number;
  probeAgents?: boolean;
  leaseTtlMs?: number;
}): Promise<RunningController> {
  const log = opts.log ?? logger('controller');
  const docker = createDockerClient();
  const port = new DockerSwarmPort(docker);
  await requireSwarmManager(port);
  const store = new ClusterStore(port);
  const metrics = createControllerMetrics();
  // The manager is made below; the monitor queues a cluster when its agents' reports change.
  let enqueue: (cluster: string) => void = () => {};
  const agents =
    opts.probeAgents === false
      ? undefined
      : createAgentMonitor({ prober: httpAgentProber(), onChange: (c) => enqueue(c), log: log.child({ component: 'agents' }) });
  const reconciler = createClusterReconciler({
    port,
    store,
    log: log.child({ component: 'reconciler' }),
    progressRequeueMs: opts.progressRequeueMs,
    agents,
  });
  const events = createDockerEventSource({ docker, log: log.child({ component: 'events' }), metrics });
  const holder = `${hostname()}/${process.pid}`;
  const leaseTtlMs = opts.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const manager = createManager({
    reconciler,
    lister: store,
    events,
    metrics,
    log,
    workers: opts.workers,
    resyncMs: opts.resyncMs,
    runnables: agents ? [agents] : [],
  });
  enqueue = (c) => manager.enqueue(c, 'agent reports changed');
  let leading = false;
  const elector = createLeaseElector(port, holder, leaseTtlMs);
  const health = () =>
    leading
      ? manager.healthy()
      : { ok: true, checks: { lease: { ok: true, detail: `standing by: ${elector.lastHolder || 'nobody'} holds the controller lease` } } };
  const http = await startHttp({ listen: opts.listen, registry: metrics.registry, health, ready: () => leading && manager.ready, log });
  const abort = new AbortController();
  let lostTo: (holder: string) => void = () => {};
  const lost = new Promise<string>((resolve) => {
    lostTo = resolve;
  });
  let done: Promise<void> = Promise.resolve();
  const election = campaign(elector, {
    renewMs: Math.max(200, Math.floor(leaseTtlMs / 3)),
    signal: abort.signal,
    log,
    lost: (other) => {
      leading = false;
      metrics.leader(false);
      log.error({ holder, leader: other }, 'lost the controller lease to another controller: stopping so that only one reconciles');
      void manager.stop();
      lostTo(other);
    },
  });
  election.leading.then(
    () => {
      leading = true;
      metrics.leader(true);
      done = manager.start(abort.signal);
    },
    () => undefined,
  );
  await election.firstRound;
  log.info({ listen: `${http.host}:${http.port}`, holder, resyncMs: opts.resyncMs, leaseTtlMs }, 'controller started');
  return {
    manager,
    port: http.port,
    lost,
    async stop() {
      abort.abort();
      await done;
      // Only a holder gives the lease up (releaseLease checks); a standby leaves it alone.
      await releaseLease(port, holder).catch(() => undefined);
      await http.close();
    },
  };
}

export async function controllerRunCommand(opts: ControllerOptions): Promise<number> {
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new InvalidInputError(`--workers ${opts.workers}: expected a whole number ≥ 1`);
  const log = logger('controller');
  const leaseTtlMs = parseDurationMs(opts.leaseTtl, '--lease-ttl');
  if (leaseTtlMs < 1000) throw new InvalidInputError(`--lease-ttl ${opts.leaseTtl}: expected at least 1s (renewed every third of it)`);
  const c = await startController({
    listen: opts.listen,
    resyncMs: parseDurationMs(opts.resync, '--resync'),
    workers,
    log,
    probeAgents: opts.probeAgents,
    leaseTtlMs,
  });
  const outcome = await new Promise<'signal' | 'lost'>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      resolve('signal');
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
    void c.lost.then(() => resolve('lost'));
  });
  await c.stop();
  log.info('stopped');
  // Lost the lease: exit non-zero so that a supervisor (the swarm) restarts it as a standby.
  return outcome === 'lost' ? EXIT_ERROR : EXIT_OK;
}
