// A token bucket (golang.org/x/time/rate's): `ratePerSecond` tokens a second up to `burst`.
// `reserve` always takes a token, letting the balance go negative, and returns the wait before
// that reservation's turn (the work queue's global retry limiter); `tryTake` takes one only if
// there is one, and otherwise says how long until there is (the webhook's 429 Retry-After).
import type { Clock } from '../util/clock.js';

export interface TokenBucket {
  /** Takes a token whatever the balance; the milliseconds to wait before using it (0: now). */
  reserve(): number;
  /** Takes a token if one is there (returns 0), or takes nothing and returns the milliseconds until one is. */
  tryTake(): number;
}

export function createTokenBucket(clock: Clock, ratePerSecond: number, burst: number): TokenBucket {
  let tokens = burst;
  let last = clock.now();
  const refill = () => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1000) * ratePerSecond);
    last = now;
  };
  const waitFor = (deficit: number) => Math.ceil((deficit / ratePerSecond) * 1000);
  return {
    reserve() {
      refill();
      tokens -= 1;
      return tokens >= 0 ? 0 : waitFor(-tokens);
    },
    tryTake() {
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, waitFor(1 - tokens));
    },
  };
}
