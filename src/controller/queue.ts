// The work queue (client-go / controller-runtime semantics), keyed by cluster name:
// - a key queued twice before a worker takes it is processed once (dirty set);
// - a key is never handed to two workers at once: added while being processed, it is marked
//   dirty and queued again when the worker calls `done`;
// - `addAfter` holds a key back (earliest wanted time wins), `addRateLimited` backs off per key;
// - `get` waits for a key and returns undefined once the queue is shut down.
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
import type { Clock } from '../util/clock.js';

export interface QueueMetrics {
  add(): void;
  retry(): void;
  depth(n: number): void;
}

export interface WorkQueueOptions {
  clock: Clock;
  rateLimiter?: RateLimiter;
  rateLimits?: RateLimiterOptions;
  metrics?: QueueMetrics;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  addRateLimited(key: string): void;
  /** Reset the key's backoff (after a success). */
  forget(key: string): void;
  /** Failures counted for the key since its last forget. */
  retries(key: string): number;
  /** The next key, waiting for one; undefined once shut down. Call `done(key)` when finished. */
  get(): Promise<string | undefined>;
  done(key: string): void;
  /** Keys ready to be handed out (not those held back by addAfter, nor those in process). */
  readonly depth: number;
  /** Keys handed out and not yet done. */
  readonly processing: number;
  /** Keys held back by addAfter / addRateLimited. */
  readonly waiting: number;
  /** Stop handing out keys; pending `get` calls return undefined; delayed adds are dropped. */
  shutdown(): void;
  readonly shuttingDown: boolean;
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const { clock, metrics } = options;
  const limiter = options.rateLimiter ?? createRateLimiter(clock, options.rateLimits);
  const queue: string[] = [];
  const dirty = new Set<string>();
  const inProcess = new Set<string>();
  const delayed = new Map<string, { readyAt: number; timer: { cancel(): void } }>();
  const waiters: Array<() => void> = [];
  let shuttingDown = false;

  const reportDepth = () => metrics?.depth(queue.length);

  function add(key: string): void {
    if (shuttingDown || dirty.has(key)) return;
    metrics?.add();
    dirty.add(key);
    // Processing now: `done` queues it again, so no second worker gets it meanwhile.
    if (inProcess.has(key)) return;
    queue.push(key);
    reportDepth();
    waiters.shift()?.();
  }

  function addAfter(key: string, ms: number): void {
    if (shuttingDown) return;
    if (!(ms > 0)) {
      add(key);
      return;
    }
    const readyAt = clock.now() + ms;
    const existing = delayed.get(key);
    if (existing && existing.readyAt <= readyAt) return;
    existing?.timer.cancel();
    const timer = clock.setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, ms);
    delayed.set(key, { readyAt, timer });
  }

  async function get(): Promise<string | undefined> {
    while (queue.length === 0 && !shuttingDown) {
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    if (shuttingDown) return undefined;
    const key = queue.shift() as string;
    inProcess.add(key);
    dirty.delete(key);
    reportDepth();
    return key;
  }

  function done(key: string): void {
    inProcess.delete(key);
    if (dirty.has(key) && !shuttingDown) {
      queue.push(key);
      reportDepth();
      waiters.shift()?.();
    }
  }

  return {
    add,
    addAfter,
    addRateLimited(key) {
      if (shuttingDown) return;
      metrics?.retry();
      addAfter(key, limiter.when(key));
    },
    forget: (key) => limiter.forget(key),
    retries: (key) => limiter.retries(key),
    get,
    done,
    get depth() {
      return queue.length;
    },
    get processing() {
      return inProcess.size;
    },
    get waiting() {
      return delayed.size;
    },
    shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      for (const { timer } of delayed.values()) timer.cancel();
      delayed.clear();
      for (const wake of waiters.splice(0)) wake();
    },
    get shuttingDown() {
      return shuttingDown;
    },
  };
}
