// One controller: sources enqueue keys (cluster names), workers take them from its own work queue
// and call its reconciler (controller-runtime's Controller). Several run under one manager
// (manager.ts), which gates them all with the leader lease.
//
//   sources ──names──▶ work queue (dedupe, one key per worker, backoff) ──▶ workers ──▶ reconcile
//   · the Docker events watch (started first, so no event falls between it and the first list)
//   · an initial full list, then a resync timer that lists every resyncMs
//   · enqueue() for anything else (alert webhook, cron, `bzzzctl apply` notifications)
//
// Outcomes: success → forget the key's backoff (and requeue after requeueAfterMs when asked);
// error → addRateLimited; TerminalError → logged and counted, not retried until the key is
// enqueued again. Whatever the reconciler throws (synchronously, or a non-Error) is turned into
// an error: a worker loop never dies of it.
import { performance } from 'node:perf_hooks';
import { BzzzError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { systemClock } from '../util/clock.js';
import type { ControllerMetrics, ReconcileOutcome } from './metrics.js';
import { createWorkQueue, type WorkQueue } from './queue.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import type { ClusterEventSource, ClusterLister, ClusterSink, HealthCheck, HealthReport, Runnable } from './types.js';
import type { Clock } from '../util/clock.js';
import { TerminalError, type ReconcileResult, type Reconciler } from '../reconcilers/reconciler.js';

export interface ControllerOptions {
  /** For logs, health and metrics: what this controller drives ("cluster", "backups", …). */
  name?: string;
  reconciler: Reconciler;
  lister: ClusterLister;
  /** The Docker events watch (src/swarm/events.ts). Optional so a manager can run on timers alone. */
  events?: ClusterEventSource;
  /** Other parts sharing the manager's lifecycle (started after the watch, stopped last). */
  runnables?: Runnable[];
  clock?: Clock;
  log?: Logger;
  metrics?: ControllerMetrics;
  /** Concurrent reconciles (of different clusters: one cluster never runs twice at once). Default 2. */
  workers?: number;
  /** Full list-and-enqueue interval. Default 30 s. */
  resyncMs?: number;
  /** How long stop waits for in-flight reconciles before aborting their signal. Default 8 s (under Docker's 10 s stop grace). */
  shutdownTimeoutMs?: number;
  /** How long the events watch may be down (reconnecting) before /healthz fails. Default 60 s. */
  watchGraceMs?: number;
  /** A reconcile running longer than this makes /healthz fail (a hung worker). Default 5 min. */
  hungReconcileMs?: number;
  rateLimits?: RateLimiterOptions;
}

export interface Controller {
  /**
   * Run until `signal` aborts or `stop()` is called; resolves after the clean stop (no new keys
   * taken, in-flight reconciles finished or, past shutdownTimeoutMs, aborted).
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stop and resolve once stopped (same as aborting start's signal). */
  stop(): Promise<void>;
  /** Queue a cluster for reconcile (for sources other than the built-in ones). */
  enqueue(cluster: string, reason?: string): void;
  /** True once the first full list of clusters has been enqueued (and until stop). */
  readonly ready: boolean;
  /** Liveness: the workers loop is alive and the events watch is connected or reconnecting within bounds. */
  healthy(): HealthReport;
  /** The work queue, read-only use (depth, processing) for status and tests. */
  readonly queue: Pick<WorkQueue, 'depth' | 'processing' | 'waiting' | 'retries'>;
}

const INITIAL_LIST_RETRY_MS = 1000;

export function createController(options: ControllerOptions): Controller {
  const { reconciler, lister, events, metrics } = options;
  const runnables = options.runnables ?? [];
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLogger();
  const workers = positiveInt(options.workers ?? 2, 'workers');
  const resyncMs = positiveInt(options.resyncMs ?? 30_000, 'resyncMs');
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 8_000;
  const watchGraceMs = options.watchGraceMs ?? 60_000;
  const hungReconcileMs = options.hungReconcileMs ?? 5 * 60_000;

  const queue = createWorkQueue({ clock, metrics: metrics?.queue, rateLimits: options.rateLimits });
  const known = new Set<string>();
  /** Aborted when stopping begins: the watch, lists and timers end. */
  const run = new AbortController();
  /** Aborted only when in-flight reconciles outlive the shutdown bound. */
  const reconcileAbort = new AbortController();
  const busy = new Map<number, { cluster: string; since: number }>();
  let timer: { cancel(): void } | undefined;
  let aliveWorkers = 0;
  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let listed = false;
  let workerLoops: Promise<void>[] = [];
  const stopped = deferred<void>();
  /** Names enqueued while a list runs: kept in `known` even if the list predates them. */
  let enqueuedDuringList = new Set<string>();

  function enqueue(cluster: string, reason = 'enqueued'): void {
    if (typeof cluster !== 'string' || cluster === '') return;
    known.add(cluster);
    enqueuedDuringList.add(cluster);
    log.debug({ cluster, reason }, 'cluster queued');
    queue.add(cluster);
  }

  // One list at a time; a resync asked for while one runs is done once more right after it,
  // since the running list may have started before what prompted the request.
  let listing: Promise<boolean> | undefined;
  let listAgain: string | undefined;
  function resync(reason: string): Promise<boolean> {
    if (listing) {
      listAgain = reason;
      return listing;
    }
    listing = listOnce(reason).finally(() => {
      listing = undefined;
      const again = listAgain;
      listAgain = undefined;
      if (again !== undefined && state === 'running') void resync(again);
    });
    return listing;
  }

  async function listOnce(reason: string): Promise<boolean> {
    enqueuedDuringList = new Set();
    try {
      const names = await lister.listClusters(run.signal);
      if (state !== 'running') return false;
      // Forget clusters that are gone from the store; keep those enqueued meanwhile.
      const meanwhile = enqueuedDuringList;
      known.clear();
      for (const name of meanwhile) known.add(name);
      for (const name of names) enqueue(name, reason);
      log.debug({ reason, clusters: names.length }, 'clusters listed and queued');
      return true;
    } catch (err) {
      if (state === 'running') log.warn({ reason, err: errorMessage(err) }, 'listing clusters failed; the next resync tries again');
      return false;
    }
  }

  function schedule(ms: number, fn: () => void): void {
    timer?.cancel();
    if (state !== 'running') return;
    timer = clock.setTimeout(fn, ms);
  }

  function initialList(attempt: number): void {
    void resync('initial list').then((ok) => {
      if (state !== 'running') return;
      if (ok) {
        listed = true;
        log.info({ clusters: known.size }, 'initial list queued; controller ready');
        schedule(resyncMs, periodicResync);
      } else {
        schedule(Math.min(resyncMs, INITIAL_LIST_RETRY_MS * 2 ** attempt), () => initialList(attempt + 1));
      }
    });
  }

  function periodicResync(): void {
    void resync('periodic resync').finally(() => schedule(resyncMs, periodicResync));
  }

  const sink: ClusterSink = {
    enqueue,
    // List again to find the clusters created meanwhile; if the engine cannot list yet (it may be
    // still coming back), queue the known ones anyway: their reconciles retry with backoff.
    resync: (reason) => {
      void resync(reason).then((ok) => {
        if (!ok && state === 'running') for (const cluster of [...known]) enqueue(cluster, `${reason} (list failed)`);
      });
    },
    knownClusters: () => [...known],
  };

  async function reconcileOnce(cluster: string): Promise<void> {
    const started = performance.now();
    let outcome: ReconcileOutcome;
    try {
      // The .then() turns a synchronous throw into a rejection.
      const result: ReconcileResult = (await Promise.resolve().then(() => reconciler.reconcile(cluster, reconcileAbort.signal))) ?? {};
      metrics?.driftCorrected(cluster, result.driftCorrected ?? 0);
      metrics?.engineWrites(cluster, result.writes ?? 0);
      queue.forget(cluster);
      const after = result.requeueAfterMs;
      if (typeof after === 'number' && after > 0) {
        queue.addAfter(cluster, after);
        outcome = 'requeue';
      } else {
        outcome = 'success';
      }
      log.debug({ cluster, outcome, requeueAfterMs: after, writes: result.writes, driftCorrected: result.driftCorrected }, 'reconciled');
    } catch (thrown) {
      const err = asError(thrown, cluster);
      if (err instanceof TerminalError) {
        queue.forget(cluster);
        outcome = 'terminal';
        log.error({ cluster, err }, 'reconcile failed with a terminal error; not retried until the cluster changes');
      } else {
        queue.addRateLimited(cluster);
        outcome = 'error';
        log.warn({ cluster, err, retries: queue.retries(cluster) }, 'reconcile failed; retrying with backoff');
      }
    }
    metrics?.reconciled(cluster, outcome, (performance.now() - started) / 1000);
  }

  async function workerLoop(id: number): Promise<void> {
    aliveWorkers++;
    try {
      for (;;) {
        const cluster = await queue.get();
        if (cluster === undefined) return;
        busy.set(id, { cluster, since: clock.now() });
        try {
          await reconcileOnce(cluster);
        } catch (err) {
          // Only a failing logger or metric could land here; the loop goes on regardless.
          log.error({ cluster, err: errorMessage(err) }, 'worker error outside reconcile');
        } finally {
          busy.delete(id);
          queue.done(cluster);
        }
      }
    } finally {
      aliveWorkers--;
    }
  }

  async function start(signal?: AbortSignal): Promise<void> {
    if (state !== 'new') throw new BzzzError('controller: start was called twice; create a new controller to run again');
    state = 'running';
    if (signal?.aborted) {
      void shutdown();
      return stopped.promise;
    }
    signal?.addEventListener('abort', () => void shutdown(), { once: true });
    workerLoops = Array.from({ length: workers }, (_, i) => workerLoop(i));
    log.info({ workers, resyncMs }, 'controller starting');
    // The watch first: anything that changes after it is up is seen, anything before is in the list.
    if (events) {
      try {
        await events.start(run.signal, sink);
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'docker events watch failed to start; relying on resync');
      }
    }
    for (const r of runnables) {
      Promise.resolve()
        .then(() => r.start(run.signal))
        .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'runnable failed to start'));
    }
    if (state === 'running') initialList(0);
    return stopped.promise;
  }

  async function shutdown(): Promise<void> {
    if (state === 'stopping' || state === 'stopped') return stopped.promise;
    if (state === 'new') {
      state = 'stopped';
      stopped.resolve();
      return stopped.promise;
    }
    state = 'stopping';
    log.info({ inFlight: busy.size }, 'controller stopping: no new work taken, waiting for in-flight reconciles');
    timer?.cancel();
    queue.shutdown();
    run.abort();
    const drained = Promise.all(workerLoops).then(() => true);
    const bound = deferred<boolean>();
    const boundTimer = clock.setTimeout(() => bound.resolve(false), shutdownTimeoutMs);
    const finished = await Promise.race([drained, bound.promise]);
    boundTimer.cancel();
    if (!finished) {
      log.warn(
        { inFlight: [...busy.values()].map((b) => b.cluster), shutdownTimeoutMs },
        'in-flight reconciles outlived the shutdown bound; aborting them',
      );
      reconcileAbort.abort(new BzzzError('controller stopping: reconcile aborted after the shutdown grace period'));
    }
    await Promise.all(
      runnables.map((r) =>
        Promise.resolve()
          .then(() => r.stop?.())
          .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'runnable failed to stop cleanly')),
      ),
    );
    state = 'stopped';
    log.info('controller stopped');
    stopped.resolve();
    return stopped.promise;
  }

  function healthy(): HealthReport {
    const checks: Record<string, HealthCheck> = { workers: workersCheck() };
    if (events) checks.events = eventsCheck(events);
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  function workersCheck(): HealthCheck {
    if (state !== 'running') return { ok: false, detail: `manager is ${state}` };
    if (aliveWorkers < workers) return { ok: false, detail: `${aliveWorkers} of ${workers} worker loops alive` };
    const now = clock.now();
    for (const b of busy.values()) {
      if (now - b.since > hungReconcileMs) {
        return {
          ok: false,
          detail: `reconcile of cluster "${b.cluster}" has run for ${Math.round((now - b.since) / 1000)} s (limit ${hungReconcileMs / 1000} s)`,
        };
      }
    }
    return { ok: true, detail: `${workers} workers alive, ${busy.size} reconciling, queue depth ${queue.depth}` };
  }

  function eventsCheck(source: ClusterEventSource): HealthCheck {
    const st = source.status();
    if (st.connected) return { ok: true, detail: 'docker events stream connected' };
    const downMs = clock.now() - st.since;
    const why = st.lastError ? `: ${st.lastError}` : '';
    return downMs <= watchGraceMs
      ? { ok: true, detail: `docker events stream reconnecting for ${Math.round(downMs / 1000)} s${why}` }
      : {
          ok: false,
          detail: `docker events stream down for ${Math.round(downMs / 1000)} s (limit ${watchGraceMs / 1000} s)${why}; is the Docker engine running?`,
        };
  }

  return {
    start,
    stop: shutdown,
    enqueue,
    get ready() {
      return listed && state === 'running';
    },
    healthy,
    queue: {
      get depth() {
        return queue.depth;
      },
      get processing() {
        return queue.processing;
      },
      get waiting() {
        return queue.waiting;
      },
      retries: (key) => queue.retries(key),
    },
  };
}

function asError(thrown: unknown, cluster: string): Error {
  if (thrown instanceof Error) return thrown;
  const shown = String(thrown).slice(0, 200);
  return new BzzzError(
    `reconcile of cluster "${cluster}" threw a non-Error value (${typeof thrown}: ${shown}); treated as a failure and retried with backoff`,
  );
}

function positiveInt(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new BzzzError(`controller: ${field} must be a positive integer, got ${String(n)}`);
  }
  return n;
}

/** Promise.withResolvers, which Node 20 lacks without the polyfill. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
