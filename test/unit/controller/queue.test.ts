import { describe, expect, it } from 'vitest';
import { createWorkQueue } from '../../../src/controller/queue.js';
import { createRateLimiter, DEFAULT_MAX_DELAY_MS } from '../../../src/controller/rate-limiter.js';
import { ManualClock } from '../../../src/util/clock.js';
import { flush } from '../../support/flush.js';

function setup() {
  const clock = new ManualClock(1_000_000);
  const counts = { adds: 0, retries: 0, depth: 0 };
  const queue = createWorkQueue({
    clock,
    metrics: { add: () => counts.adds++, retry: () => counts.retries++, depth: (n) => (counts.depth = n) },
  });
  return { clock, queue, counts };
}

/** Start a get() and report whether it has resolved yet. */
function pendingGet(queue: ReturnType<typeof createWorkQueue>) {
  const state: { done: boolean; key?: string } = { done: false };
  void queue.get().then((key) => {
    state.done = true;
    state.key = key;
  });
  return state;
}

describe('work queue', () => {
  it('processes a key queued twice only once (dedupe)', async () => {
    const { queue, counts } = setup();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(2);
    expect(counts.adds).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.depth).toBe(0);
    const third = pendingGet(queue);
    await flush();
    expect(third.done).toBe(false);
  });

  it('hands keys out in the order they were first added', async () => {
    const { queue } = setup();
    for (const k of ['c', 'a', 'b', 'a']) queue.add(k);
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual(['c', 'a', 'b']);
  });

  it('never gives the same key to two workers: a key added while processing waits for done', async () => {
    const { queue, counts } = setup();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.depth).toBe(0);
    expect(queue.processing).toBe(1);
    const second = pendingGet(queue);
    await flush();
    expect(second.done).toBe(false);

    queue.done('a');
    await flush();
    expect(second).toEqual({ done: true, key: 'a' });
    // Re-added once, however many adds came in meanwhile.
    expect(counts.adds).toBe(2);
    queue.done('a');
    expect(queue.depth).toBe(0);
  });

  it('done without a re-add does not queue the key again', async () => {
    const { queue } = setup();
    queue.add('a');
    await queue.get();
    queue.done('a');
    expect(queue.depth).toBe(0);
  });

  it('wakes a waiting get when a key arrives', async () => {
    const { queue } = setup();
    const waiting = pendingGet(queue);
    await flush();
    expect(waiting.done).toBe(false);
    queue.add('x');
    await flush();
    expect(waiting).toEqual({ done: true, key: 'x' });
  });

  it('addAfter holds a key back until its time, and the earliest time wins', async () => {
    const { queue, clock } = setup();
    queue.addAfter('a', 100);
    queue.addAfter('a', 50);
    queue.addAfter('a', 200);
    expect(queue.waiting).toBe(1);
    clock.advance(49);
    expect(queue.depth).toBe(0);
    clock.advance(1);
    expect(queue.depth).toBe(1);
    expect(queue.waiting).toBe(0);
    clock.advance(1000);
    expect(queue.depth).toBe(1);
  });

  it('addAfter with no delay adds at once', () => {
    const { queue } = setup();
    queue.addAfter('a', 0);
    expect(queue.depth).toBe(1);
  });

  it('backs a failing key off exponentially: 5 ms, 10 ms, 20 ms, 40 ms', async () => {
    const { queue, clock, counts } = setup();
    for (const delay of [5, 10, 20, 40]) {
      queue.addRateLimited('a');
      clock.advance(delay - 1);
      expect(queue.depth, `not before ${delay} ms`).toBe(0);
      clock.advance(1);
      expect(queue.depth, `ready after ${delay} ms`).toBe(1);
      expect(await queue.get()).toBe('a');
      queue.done('a');
    }
    expect(counts.retries).toBe(4);
    expect(queue.retries('a')).toBe(4);
  });

  it('caps the per-key backoff at 1000 s (~16.7 min)', () => {
    const clock = new ManualClock(1_000_000);
    const limiter = createRateLimiter(clock);
    const delays: number[] = [];
    for (let i = 0; i < 40; i++) {
      delays.push(limiter.when('a'));
      clock.advance(1000); // keep the global bucket full: this test is about the per-key cap
    }
    expect(delays.slice(0, 3)).toEqual([5, 10, 20]);
    expect(Math.max(...delays)).toBe(DEFAULT_MAX_DELAY_MS);
    expect(delays.at(-1)).toBe(DEFAULT_MAX_DELAY_MS);
    expect(delays.indexOf(DEFAULT_MAX_DELAY_MS)).toBe(18); // 5 ms · 2^18 > 1000 s
  });

  it('forget resets the backoff of that key only', () => {
    const { queue, clock } = setup();
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    queue.addRateLimited('b');
    queue.addRateLimited('b');
    queue.forget('a');
    expect(queue.retries('a')).toBe(0);
    expect(queue.retries('b')).toBe(2);
    const limiter = createRateLimiter(clock);
    limiter.when('a');
    limiter.when('a');
    limiter.forget('a');
    expect(limiter.when('a')).toBe(5);
  });

  it('limits retries of many keys together with a global bucket (10/s after a burst of 100)', () => {
    const clock = new ManualClock(1_000_000);
    const limiter = createRateLimiter(clock);
    const first = Array.from({ length: 100 }, (_, i) => limiter.when(`k${i}`));
    expect(Math.max(...first)).toBe(5);
    expect(limiter.when('k100')).toBe(100);
    expect(limiter.when('k101')).toBe(200);
    clock.advance(10_000);
    expect(limiter.when('k102')).toBe(5);
  });

  it('after shutdown, waiting gets return undefined and delayed keys are dropped', async () => {
    const { queue, clock } = setup();
    const waiting = pendingGet(queue);
    queue.addAfter('late', 100);
    queue.shutdown();
    await flush();
    expect(waiting).toEqual({ done: true, key: undefined });
    clock.advance(1000);
    queue.add('b');
    expect(queue.depth).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});
