// The real clock. Timing logic takes a Clock so tests can drive time (test/unit/controller/fake-clock.ts).
import type { Clock } from './types.js';

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(timer) };
  },
};
