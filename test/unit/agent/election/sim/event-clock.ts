// Virtual time for simulations: timers run one at a time in (time, insertion) order, and a hook
// runs after each one, so invariants are checked after every single event (timer or delivery).
import type { ElectionClock } from '../../../../../src/agent/election/index.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class EventClock implements ElectionClock {
  private current: number;
  private seq = 0;
  private queue: Timer[] = [];
  /** Runs after every event; throw from it to stop the simulation. */
  afterEach: (() => void) | null = null;
  /** A component that re-arms a timer for "now" forever would hang the test: fail it instead. */
  maxEventsPerInstant = 10_000;
  private instant = -1;
  private eventsAtInstant = 0;

  constructor(start = 1_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const t: Timer = { at: this.current + Math.max(0, ms), seq: ++this.seq, fn, cancelled: false };
    // Binary insertion keeps the queue sorted by (at, seq).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid];
      if (q.at < t.at || (q.at === t.at && q.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  private fire(t: Timer): void {
    this.queue.shift();
    this.current = t.at;
    if (t.at !== this.instant) {
      this.instant = t.at;
      this.eventsAtInstant = 0;
    }
    if (++this.eventsAtInstant > this.maxEventsPerInstant) {
      throw new Error(`livelock: more than ${this.maxEventsPerInstant} events at virtual time ${t.at}`);
    }
    t.fn();
    this.afterEach?.();
  }

  /** Runs every event due up to now + ms, then sets the time to exactly now + ms. */
  runFor(ms: number): void {
    this.runUntilTime(this.current + ms);
  }

  runUntilTime(until: number): void {
    for (;;) {
      while (this.queue.length > 0 && this.queue[0].cancelled) this.queue.shift();
      const next = this.queue[0];
      if (next === undefined || next.at > until) break;
      this.fire(next);
    }
    this.current = until;
  }

  /** Runs events until `done()` holds (checked after each event) or maxMs passes; returns the time taken or null. */
  runUntil(done: () => boolean, maxMs: number): number | null {
    const start = this.current;
    const until = start + maxMs;
    if (done()) return 0;
    for (;;) {
      while (this.queue.length > 0 && this.queue[0].cancelled) this.queue.shift();
      const next = this.queue[0];
      if (next === undefined || next.at > until) {
        this.current = until;
        return null;
      }
      this.fire(next);
      if (done()) return this.current - start;
    }
  }
}
