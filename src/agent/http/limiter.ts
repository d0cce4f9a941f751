// A counting semaphore with a bounded, time-limited queue: at most `max` holders, at most
// `maxQueued` waiting; a waiter whose client goes away leaves the queue; one that waits longer
// than `queueTimeoutMs`, or arrives to a full queue, gets 503 with Retry-After. Used to bound how
// many blob streams (each holding a file handle and up to a few MiB of chunks) and uploads (each
// holding a temp file) run at once, so no number of slow clients makes the process buffer more.
import { UnavailableError } from './errors.js';

export interface LimiterInit {
  /** What is limited, for the 503 message ("blob downloads"). */
  what: string;
  max: number;
  maxQueued: number;
  queueTimeoutMs: number;
}

export interface Limiter {
  /** Resolves with a release function once a slot is free. */
  acquire(signal: AbortSignal): Promise<() => void>;
  readonly active: number;
  readonly queued: number;
}

export function createLimiter(init: LimiterInit): Limiter {
  let active = 0;
  const waiting: Array<() => void> = [];
  const retryAfter = Math.max(1, Math.ceil(init.queueTimeoutMs / 1000));
  const busy = (): UnavailableError =>
    new UnavailableError(`too many ${init.what} at once on this agent (${init.max} running): retry shortly, or ask another agent`, {
      retryAfterSeconds: retryAfter,
    });

  const releaser = (): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next();
      else active--;
    };
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    acquire(signal) {
      signal.throwIfAborted();
      if (active < init.max) {
        active++;
        return Promise.resolve(releaser());
      }
      if (waiting.length >= init.maxQueued) return Promise.reject(busy());
      return new Promise<() => void>((resolve, reject) => {
        const grant = (): void => {
          cleanup();
          // The slot passes straight from the releaser to this waiter: `active` is unchanged.
          resolve(releaser());
        };
        const leave = (err: unknown): void => {
          cleanup();
          const i = waiting.indexOf(grant);
          if (i >= 0) waiting.splice(i, 1);
          reject(err);
        };
        const timer = setTimeout(() => leave(busy()), init.queueTimeoutMs);
        const onAbort = (): void => leave(signal.reason);
        const cleanup = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(grant);
      });
    },
  };
}
