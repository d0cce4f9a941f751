// How long a failed key waits before its next try (controller-runtime's default limiter):
// the larger of a per-key exponential backoff (5 ms, 10 ms, 20 ms, ... capped at ~16.7 min) and
// a global token bucket (10 per second, burst 100) so that many failing keys cannot hammer the
// engine together. `forget` resets a key after a success.
import type { Clock } from '../util/clock.js';
import { createTokenBucket } from './token-bucket.js';

export interface RateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Global retries per second once the burst is used up. */
  ratePerSecond?: number;
  burst?: number;
}

export interface RateLimiter {
  /** The delay before `key` may be retried; counts one more failure for it. */
  when(key: string): number;
  forget(key: string): void;
  /** Failures counted for `key` since its last `forget`. */
  retries(key: string): number;
}

export const DEFAULT_BASE_DELAY_MS = 5;
export const DEFAULT_MAX_DELAY_MS = 1000 * 1000; // 1000 s, controller-runtime's cap

export function createRateLimiter(clock: Clock, options: RateLimiterOptions = {}): RateLimiter {
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const rate = options.ratePerSecond ?? 10;
  const burst = options.burst ?? 100;
  const failures = new Map<string, number>();

  // Reservations: a negative balance is the wait before that reservation's turn.
  const bucket = createTokenBucket(clock, rate, burst);

  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      // 2^n overflows to Infinity for large n; min() then gives the cap.
      const perKey = Math.min(max, base * 2 ** n);
      return Math.max(perKey, bucket.reserve());
    },
    forget(key) {
      failures.delete(key);
    },
    retries(key) {
      return failures.get(key) ?? 0;
    },
  };
}
