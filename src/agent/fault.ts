// Fault injection at run time (fault-spec.ts has the setting and its syntax): the failing health
// check of `unhealthy`, and the API server's hook for `errors` and `slow`.
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from './http/errors.js';
import type { CheckOutcome, HealthCheck } from './health/checks.js';
import { describeFault, type FaultSpec } from './fault-spec.js';

/** Whether the fault has begun (`after`): from `startedAt` (the agent's start) on, by `now`. */
export function faultBegun(f: FaultSpec, startedAt: number, now: () => number = Date.now): () => boolean {
  return () => now() >= startedAt + f.afterMs;
}

/** A critical check that fails once the fault has begun (only added when the fault says `unhealthy`). */
export function faultCheck(f: FaultSpec, begun: () => boolean = () => true): HealthCheck {
  const outcome: CheckOutcome = {
    status: 'fail',
    score: 0,
    message: `fault injected (BZZZ_FAULT=${describeFault(f)}): this agent reports itself unhealthy on purpose; unset BZZZ_FAULT`,
  };
  const before: CheckOutcome = { status: 'pass', score: 1, message: `fault injected (BZZZ_FAULT=${describeFault(f)}): not begun yet` };
  return { name: 'fault', critical: true, weight: 1, run: () => (begun() ? outcome : before) };
}

export class FaultInjectedError extends HttpError {
  constructor() {
    super(500, 'fault_injected', 'this agent fails API requests on purpose (BZZZ_FAULT=errors); unset BZZZ_FAULT');
  }
}

/**
 * What the API server runs before each routed request: waits `slowMs` (ends early when the client
 * goes away), then fails the request with FaultInjectedError for `errorRatio` of them — evenly
 * spread: request n fails when floor(n·ratio) moves, so 10 % fails exactly one in ten. Before the
 * fault has begun (`after`), requests pass untouched and are not counted.
 */
export function apiFault(f: FaultSpec, begun: () => boolean = () => true): ((signal: AbortSignal) => Promise<void>) | undefined {
  if (f.errorRatio === 0 && f.slowMs === 0) return undefined;
  let n = 0;
  return async (signal) => {
    if (!begun()) return;
    if (f.slowMs > 0) await sleep(f.slowMs, undefined, { signal });
    if (f.errorRatio === 0) return;
    n++;
    if (Math.floor(n * f.errorRatio) > Math.floor((n - 1) * f.errorRatio)) throw new FaultInjectedError();
  };
}
