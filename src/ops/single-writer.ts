// One writer at a time. A `bzzzctl apply` or `up` that reconciles in-process takes the controller
// lease for as long as its passes run, renewing it like a controller does, and gives it back at
// the end: a controller started meanwhile stands by instead of writing beside it, and takes over
// the moment the lease is released. If a controller holds the lease (or wins the race for it),
// the command does not write at all: it hands the generation to that controller and waits.
import { hostname } from 'node:os';
import { poll } from '../util/poll.js';
import { createLeaseElector, DEFAULT_LEASE_TTL_MS, releaseLease } from '../store/lease.js';
import type { SwarmPort } from '../swarm/port.js';

export type UnderLease<T> = { held: true; result: T } | { held: false; holder: string };

const COMMAND_HOLDER = 'bzzzctl ';

/** Is this lease holder a bzzzctl command reconciling in-process (not a controller)? It gives the lease back when done. */
export function isCommandHolder(holder: string | undefined): boolean {
  return !!holder?.startsWith(COMMAND_HOLDER);
}

export interface UnderLeaseOptions {
  /** Who holds it, for `bzzzctl status` and the controller's logs. Default `bzzzctl <cmd>@<host>/<pid>`. */
  holder?: string;
  ttlMs?: number;
  /** While another bzzzctl command holds the lease, wait for it (until this time) instead of giving up. */
  waitUntil?: number;
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
  const holder = opts.holder ?? `${COMMAND_HOLDER}${command}@${hostname()}/${process.pid}`;
  const ttlMs = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const now = opts.now ?? Date.now;
  const elector = createLeaseElector(port, holder, ttlMs);
  const renewMs = Math.max(200, Math.floor(ttlMs / 3));
  // Another command (an apply of another cluster) holds it only while it reconciles: wait our
  // turn. A controller holds it for good: hand over to it.
  const taken = await poll(() => elector.tryAcquire(now()), {
    until: (held) => held || !isCommandHolder(elector.lastHolder),
    deadline: opts.waitUntil ?? 0,
    everyMs: renewMs,
    now,
  });
  if (!taken.value) return { held: false, holder: elector.lastHolder };
  const lost = new AbortController();
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = elector.tryAcquire(now()).then(
      (ok) => {
        if (!ok) lost.abort(new Error(`the controller lease was taken by ${elector.lastHolder}`));
      },
      // An engine hiccup is not a lost lease: no rival can take it before a whole TTL.
      () => undefined,
    );
  }, renewMs);
  try {
    return { held: true, result: await work(lost.signal) };
  } finally {
    clearInterval(timer);
    await renewing;
    await releaseLease(port, holder);
  }
}
