// The default election clock: monotonic milliseconds on the wall-clock scale (so status times
// read as epoch ms), immune to wall-clock jumps; timers unref'd so they never keep a process alive.
import { performance } from 'node:perf_hooks';
import type { ElectionClock } from './types.js';

export const monotonicClock: ElectionClock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
