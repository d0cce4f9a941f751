// Time, injected: one interface for the controller, the agent and their tests, so timing logic
// (backoff, leases, heartbeats, redials) is driven by hand in tests instead of sleeping.
import { performance } from 'node:perf_hooks';

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on the wall-clock scale (epoch ms), as status and logs show them. */
  now(): number;
  /** Runs `fn` once after `ms`; `cancel()` before that stops it. */
  setTimeout(fn: () => void, ms: number): Timer;
}

function timer(fn: () => void, ms: number): Timer {
  const t = setTimeout(fn, Math.max(0, ms));
  // Background timers never keep a stopping process alive (servers and sockets do that).
  t.unref();
  return { cancel: () => clearTimeout(t) };
}

export const systemClock: Clock = { now: () => Date.now(), setTimeout: timer };

/** Wall-clock scale but immune to wall-clock jumps (the election's timeouts must not jump). */
export const monotonicClock: Clock = { now: () => performance.timeOrigin + performance.now(), setTimeout: timer };

/** A clock that only moves when told to: timers fire in time order (then in the order set) as `advance` passes them. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return { cancel: () => void this.timers.delete(id) };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order (each sees now() = its due time; timers they set fire too if due). */
  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= until && (next === undefined || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[0] < next[0])))
          next = entry;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.current = next[1].at;
      next[1].fn();
    }
    this.current = until;
  }
}
