// A clock the test drives: timers fire only when `advance` moves time past them, in time order.
import type { Clock } from '../../../src/controller/types.js';

export interface FakeClock extends Clock {
  /** Move time forward by `ms`, firing due timers in order (each sees now() = its due time). */
  advance(ms: number): void;
  /** Timers scheduled and not yet fired or cancelled. */
  readonly pending: number;
}

export function createFakeClock(start = 1_000_000): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();

  function nextDue(limit: number): [number, { at: number; fn: () => void }] | undefined {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of timers) {
      if (entry[1].at <= limit && (!best || entry[1].at < best[1].at || (entry[1].at === best[1].at && entry[0] < best[0]))) best = entry;
    }
    return best;
  }

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return { cancel: () => void timers.delete(id) };
    },
    advance(ms) {
      const target = now + ms;
      for (let due = nextDue(target); due; due = nextDue(target)) {
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = target;
    },
    get pending() {
      return timers.size;
    },
  };
}

/** Let promise callbacks and I/O callbacks queued so far run (no wall-clock waiting). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
