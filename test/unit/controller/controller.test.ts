// The manager's decisions, driven by a fake clock: a recording reconciler stands in for the
// cluster reconciler (its own tests run against the real engine) and a hand-fed source for the
// Docker events watch (tested against the real engine in test/integration/events.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { createController, type Controller, type ControllerOptions } from '../../../src/controller/controller.js';
import { createControllerMetrics, type ControllerMetrics } from '../../../src/controller/metrics.js';
import type { ClusterEventSource, ClusterSink, WatchStatus } from '../../../src/controller/types.js';
import { TerminalError, type ReconcileResult } from '../../../src/reconcilers/reconciler.js';
import { ManualClock } from '../../../src/util/clock.js';
import { flush } from '../../support/flush.js';

type Behaviour = (cluster: string, call: number, signal: AbortSignal) => Promise<ReconcileResult> | ReconcileResult;

function recordingReconciler() {
  const calls: string[] = [];
  const active = new Map<string, number>();
  const signals: AbortSignal[] = [];
  let overlapped = false;
  let maxActive = 0;
  let behaviour: Behaviour = () => ({});
  return {
    calls,
    signals,
    get overlapped() {
      return overlapped;
    },
    get maxActive() {
      return maxActive;
    },
    behave(b: Behaviour) {
      behaviour = b;
    },
    count: (cluster: string) => calls.filter((c) => c === cluster).length,
    // Not async on purpose: a behaviour that throws synchronously must reach the manager as a throw.
    reconcile(cluster: string, signal: AbortSignal): Promise<ReconcileResult> {
      calls.push(cluster);
      signals.push(signal);
      const now = (active.get(cluster) ?? 0) + 1;
      if (now > 1) overlapped = true;
      active.set(cluster, now);
      maxActive = Math.max(
        maxActive,
        [...active.values()].reduce((a, b) => a + b, 0),
      );
      const end = () => active.set(cluster, (active.get(cluster) ?? 1) - 1);
      let out: Promise<ReconcileResult> | ReconcileResult;
      try {
        out = behaviour(cluster, calls.length, signal);
      } catch (err) {
        end();
        throw err;
      }
      return Promise.resolve(out).finally(end);
    },
  };
}

/** A reconcile that stays in flight until released. */
function gate() {
  let release!: (r?: ReconcileResult) => void;
  const promise = new Promise<ReconcileResult>((resolve) => {
    release = (r = {}) => resolve(r);
  });
  return { promise, release };
}

function fakeLister(names: string[]) {
  const lister = {
    names,
    fail: false,
    calls: 0,
    async listClusters() {
      lister.calls++;
      if (lister.fail) throw new Error('engine unreachable');
      return [...lister.names];
    },
  };
  return lister;
}

function handFedSource(clock: ManualClock) {
  let sink: ClusterSink | undefined;
  let status: WatchStatus = { connected: true, since: clock.now(), reconnects: 0 };
  const source: ClusterEventSource & { emit(cluster: string): void; drop(): void; sink(): ClusterSink } = {
    async start(_signal, s) {
      sink = s;
    },
    status: () => status,
    emit: (cluster) => sink?.enqueue(cluster, 'test event'),
    drop: () => {
      status = { connected: false, since: clock.now(), reconnects: 0, lastError: 'stream ended' };
    },
    sink: () => sink as ClusterSink,
  };
  return source;
}

async function metric(metrics: ControllerMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0);
}

let running: Array<{ manager: Controller; clock: ManualClock }> = [];
afterEach(async () => {
  // Stop every manager; drive its clock past the stop bound so a reconcile left in flight by a
  // failing test cannot hang the teardown.
  const stops = running.map(({ manager }) => manager.stop());
  await flush();
  for (const { clock } of running) clock.advance(60_000);
  await Promise.all(stops);
  running = [];
});

function setup(names: string[] = ['alpha', 'beta'], extra: Partial<ControllerOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const reconciler = recordingReconciler();
  const lister = fakeLister(names);
  const events = handFedSource(clock);
  const metrics = createControllerMetrics({ defaultMetrics: false });
  const manager = createController({ reconciler, lister, events, clock, metrics, workers: 2, resyncMs: 30_000, ...extra });
  running.push({ manager, clock });
  return { clock, reconciler, lister, events, metrics, manager };
}

describe('controller manager', () => {
  it('GIVEN stored clusters WHEN started THEN each is reconciled once and the manager becomes ready', async () => {
    const { manager, reconciler, lister } = setup(['alpha', 'beta', 'gamma']);
    expect(manager.ready).toBe(false);
    void manager.start();
    await flush();
    expect(lister.calls).toBe(1);
    expect(manager.ready).toBe(true);
    expect([...reconciler.calls].sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(manager.healthy().ok).toBe(true);
  });

  it('reconciles an event-enqueued cluster, once for a burst of events', async () => {
    const { manager, reconciler, events } = setup([]);
    void manager.start();
    await flush();
    const held = gate();
    reconciler.behave(() => held.promise);
    events.emit('alpha'); // taken by a worker, held in flight
    await flush();
    events.emit('beta');
    events.emit('beta');
    events.emit('beta');
    await flush();
    held.release();
    await flush();
    expect(reconciler.count('alpha')).toBe(1);
    expect(reconciler.count('beta')).toBe(1);
  });

  it('never runs one cluster on two workers at once; a change during a reconcile runs once more after it', async () => {
    const { manager, reconciler, events } = setup(['alpha']);
    const held = gate();
    reconciler.behave((c) => (c === 'alpha' && reconciler.count('alpha') === 1 ? held.promise : {}));
    void manager.start();
    await flush();
    expect(manager.queue.processing).toBe(1);
    events.emit('alpha');
    events.emit('alpha');
    events.emit('beta');
    await flush();
    // beta ran on the second worker; alpha did not start again.
    expect(reconciler.count('alpha')).toBe(1);
    expect(reconciler.count('beta')).toBe(1);
    held.release();
    await flush();
    expect(reconciler.count('alpha')).toBe(2);
    expect(reconciler.overlapped).toBe(false);
  });

  it('retries a failing cluster with per-key backoff (5, 10, 20 ms) and resets it after a success', async () => {
    const { manager, reconciler, clock, metrics } = setup(['alpha']);
    let failuresLeft = 3;
    reconciler.behave(async () => {
      if (failuresLeft-- > 0) throw new Error('service alpha_agent-a update refused');
      return {};
    });
    void manager.start();
    await flush();
    expect(reconciler.count('alpha')).toBe(1);
    for (const [delay, calls] of [
      [5, 2],
      [10, 3],
      [20, 4],
    ] as const) {
      clock.advance(delay - 1);
      await flush();
      expect(reconciler.count('alpha'), `no retry before ${delay} ms`).toBe(calls - 1);
      clock.advance(1);
      await flush();
      expect(reconciler.count('alpha'), `retry after ${delay} ms`).toBe(calls);
    }
    expect(manager.queue.retries('alpha')).toBe(0); // success forgot the backoff
    expect(await metric(metrics, 'bzzz_operator_reconcile_total', { cluster: 'alpha', result: 'error' })).toBe(3);
    expect(await metric(metrics, 'bzzz_operator_reconcile_total', { cluster: 'alpha', result: 'success' })).toBe(1);
    expect(await metric(metrics, 'bzzz_operator_reconcile_errors_total', { cluster: 'alpha' })).toBe(3);
    expect(await metric(metrics, 'bzzz_operator_workqueue_retries_total')).toBe(3);

    // A new failure starts again from the first step.
    failuresLeft = 1;
    manager.enqueue('alpha');
    await flush();
    clock.advance(5);
    await flush();
    expect(reconciler.count('alpha')).toBe(6);
  });

  it('honours requeueAfterMs after a success', async () => {
    const { manager, reconciler, clock, metrics } = setup(['alpha']);
    reconciler.behave(() => ({ requeueAfterMs: 10_000 }));
    void manager.start();
    await flush();
    clock.advance(9_999);
    await flush();
    expect(reconciler.count('alpha')).toBe(1);
    clock.advance(1);
    await flush();
    expect(reconciler.count('alpha')).toBe(2);
    expect(await metric(metrics, 'bzzz_operator_reconcile_total', { cluster: 'alpha', result: 'requeue' })).toBe(2);
  });

  it('does not retry a TerminalError until the cluster is enqueued again', async () => {
    const { manager, reconciler, clock, metrics } = setup(['alpha'], { resyncMs: 3_600_000 });
    reconciler.behave(() => {
      throw new TerminalError('cluster alpha: image "nope" refused by the engine; fix spec.agent.image');
    });
    void manager.start();
    await flush();
    clock.advance(1_000_000);
    await flush();
    expect(reconciler.count('alpha')).toBe(1);
    expect(manager.queue.waiting).toBe(0);
    expect(await metric(metrics, 'bzzz_operator_reconcile_total', { cluster: 'alpha', result: 'terminal' })).toBe(1);
    manager.enqueue('alpha', 'spec changed');
    await flush();
    expect(reconciler.count('alpha')).toBe(2);
  });

  it('turns a synchronous throw and a thrown non-Error into retried errors; the workers keep going', async () => {
    const { manager, reconciler, clock, metrics } = setup([]);
    reconciler.behave((cluster, call) => {
      if (cluster === 'sync' && call <= 2) throw new Error('thrown before any await');
      if (cluster === 'str' && call <= 3) return Promise.reject('a plain string');
      return {};
    });
    void manager.start();
    await flush();
    manager.enqueue('sync');
    await flush();
    manager.enqueue('str');
    await flush();
    expect(await metric(metrics, 'bzzz_operator_reconcile_total', { result: 'error' })).toBe(2);
    clock.advance(5);
    await flush();
    expect(reconciler.count('sync')).toBe(2);
    expect(reconciler.count('str')).toBe(2);
    manager.enqueue('other');
    await flush();
    expect(reconciler.count('other')).toBe(1);
    expect(manager.healthy().checks.workers.ok).toBe(true);
  });

  it('records drift corrections and engine writes from the result', async () => {
    const { manager, reconciler, metrics } = setup(['alpha']);
    reconciler.behave(() => ({ driftCorrected: 2, writes: 3 }));
    void manager.start();
    await flush();
    manager.enqueue('alpha');
    await flush();
    expect(await metric(metrics, 'bzzz_operator_drift_corrections_total', { cluster: 'alpha' })).toBe(4);
    expect(await metric(metrics, 'bzzz_operator_engine_writes_total', { cluster: 'alpha' })).toBe(6);
    expect(await metric(metrics, 'bzzz_operator_workqueue_adds_total')).toBe(2);
    expect(await metric(metrics, 'bzzz_operator_workqueue_depth')).toBe(0);
  });

  it('resyncs every resyncMs: lists again and reconciles every cluster, new ones included', async () => {
    const { manager, reconciler, lister, clock } = setup(['alpha']);
    void manager.start();
    await flush();
    lister.names.push('beta');
    clock.advance(29_999);
    await flush();
    expect(reconciler.calls).toEqual(['alpha']);
    clock.advance(1);
    await flush();
    expect([...reconciler.calls].sort()).toEqual(['alpha', 'alpha', 'beta']);
    clock.advance(30_000);
    await flush();
    expect(reconciler.calls.length).toBe(5);
  });

  it('a source asking for a resync (watch reconnected) gets every cluster listed and reconciled', async () => {
    const { manager, reconciler, lister, events } = setup(['alpha', 'beta']);
    void manager.start();
    await flush();
    lister.names.push('gamma');
    events.sink().resync('docker events watch reconnected');
    await flush();
    expect(lister.calls).toBe(2);
    expect([...reconciler.calls].sort()).toEqual(['alpha', 'alpha', 'beta', 'beta', 'gamma']);
    expect([...events.sink().knownClusters()].sort()).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('a resync asked for while the engine cannot list still queues the known clusters', async () => {
    const { manager, reconciler, lister, events } = setup(['alpha', 'beta']);
    void manager.start();
    await flush();
    lister.fail = true;
    events.sink().resync('docker events watch reconnected');
    await flush();
    expect([...reconciler.calls].sort()).toEqual(['alpha', 'alpha', 'beta', 'beta']);
  });

  it('is not ready while the first list fails, and retries it', async () => {
    const { manager, reconciler, lister, clock } = setup(['alpha']);
    lister.fail = true;
    void manager.start();
    await flush();
    expect(manager.ready).toBe(false);
    clock.advance(1000);
    await flush();
    expect(lister.calls).toBe(2);
    lister.fail = false;
    clock.advance(2000);
    await flush();
    expect(manager.ready).toBe(true);
    expect(reconciler.calls).toEqual(['alpha']);
  });

  it('on stop takes no new work and waits for the reconcile in flight', async () => {
    const { manager, reconciler, events } = setup(['alpha']);
    const held = gate();
    reconciler.behave(() => held.promise);
    const ac = new AbortController();
    const run = manager.start(ac.signal);
    await flush();
    let stopped = false;
    void run.then(() => (stopped = true));
    ac.abort();
    await flush();
    events.emit('beta');
    await flush();
    expect(stopped).toBe(false);
    expect(manager.ready).toBe(false);
    held.release();
    await flush();
    expect(stopped).toBe(true);
    expect(reconciler.calls).toEqual(['alpha']);
    expect(reconciler.signals[0].aborted).toBe(false);
    expect(manager.healthy().ok).toBe(false);
  });

  it('bounds the wait on stop: past shutdownTimeoutMs the reconcile signal is aborted and stop resolves', async () => {
    const { manager, reconciler, clock } = setup(['alpha'], { shutdownTimeoutMs: 5_000 });
    reconciler.behave(() => new Promise(() => {})); // never finishes
    void manager.start();
    await flush();
    let stopped = false;
    void manager.stop().then(() => (stopped = true));
    await flush();
    clock.advance(4_999);
    await flush();
    expect(stopped).toBe(false);
    clock.advance(1);
    await flush();
    expect(stopped).toBe(true);
    expect(reconciler.signals[0].aborted).toBe(true);
  });

  it('stays healthy while the watch reconnects within the grace period, then reports why not', async () => {
    const { manager, events, clock } = setup(['alpha'], { watchGraceMs: 60_000 });
    void manager.start();
    await flush();
    events.drop();
    clock.advance(59_000);
    expect(manager.healthy().ok).toBe(true);
    expect(manager.healthy().checks.events.detail).toMatch(/reconnecting/);
    clock.advance(2_000);
    const report = manager.healthy();
    expect(report.ok).toBe(false);
    expect(report.checks.events.detail).toMatch(/down for 61 s.*stream ended/);
  });

  it('reports a hung reconcile as unhealthy', async () => {
    const { manager, reconciler, clock } = setup(['alpha'], { hungReconcileMs: 60_000, resyncMs: 3_600_000 });
    const held = gate();
    reconciler.behave(() => held.promise);
    void manager.start();
    await flush();
    clock.advance(61_000);
    expect(manager.healthy().checks.workers).toEqual({ ok: false, detail: expect.stringMatching(/cluster "alpha" has run for 61 s/) });
    held.release();
    await flush();
    expect(manager.healthy().ok).toBe(true);
  });

  it('runs workers in parallel up to the configured count', async () => {
    const { manager, reconciler } = setup(['a', 'b', 'c', 'd'], { workers: 3 });
    const held = gate();
    reconciler.behave(() => held.promise);
    void manager.start();
    await flush();
    expect(reconciler.maxActive).toBe(3);
    expect(manager.queue.depth).toBe(1);
    held.release();
    await flush();
    expect(reconciler.calls.length).toBe(4);
  });
});
