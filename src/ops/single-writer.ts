// One writer at a time. A `bzzzctl apply` or `up` that reconciles in-process takes the controller
// lease for as long as its passes run, renewing it like a controller does, and gives it back at
// the end: a controller started meanwhile stands by instead of writing beside it, and takes over
// the moment the lease is released. If a controller holds the lease (or wins the race for it),
// the command does not write at all: it hands the generation to that controller and waits.
import { hostname } from 'node:os';
import { createLeaseElector, DEFAULT_LEASE_TTL_MS, releaseLease } from '../store/lease.js';
import type { SwarmPort } from '../swarm/port.js';

export type UnderLease<T> = { held: true; result: T } | { held: false; holder: string };

export interface UnderLeaseOptions {
  /** Who holds it, for `bzzzctl status` and the controller's logs. Default `bzzzctl <cmd>@<host>/<pid>`. */
  holder?: string;
  ttlMs?: number;
  /** Injected for tests. */
  now?: () => number;
}

/**
 * Runs `work` while holding the controller lease. `signal` aborts if a renewal finds the lease
 * taken (work must stop writing at its next step). Returns `held: false` without running `work`
 * when another holder has it.
 */
export async function underLease<T>(
  port: SwarmPort,
  command: string,
  work: (signal: AbortSignal) => Promise<T>,
  opts: UnderLeaseOptions = {},
): Promise<UnderLease<T>> {
  const holder = opts.holder ?? `bzzzctl ${command}@${hostname()}/${process.pid}`;
  const ttlMs = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const now = opts.now ?? Date.now;
  const elector = createLeaseElector(port, holder, ttlMs);
  if (!(await elector.tryAcquire(now()))) return { held: false, holder: elector.lastHolder };
  const lost = new AbortController();
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      renewing = elector.tryAcquire(now()).then(
        (ok) => {
          if (!ok) lost.abort(new Error(`the controller lease was taken by ${elector.lastHolder}`));
        },
        // An engine hiccup is not a lost lease: no rival can take it before a whole TTL.
        () => undefined,
      );
    },
    Math.max(200, Math.floor(ttlMs / 3)),
  );
  try {
    return { held: true, result: await work(lost.signal) };
  } finally {
    clearInterval(timer);
    await renewing;
    await releaseLease(port, holder);
  }
}
