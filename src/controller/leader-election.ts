// Leader election on the controller lease (src/store/lease.ts), as controller-runtime does it:
// campaign every `renewMs` until the lease is held, then keep renewing it. Only the holder runs
// the controllers; a standby keeps trying and takes over once the holder has not renewed for a
// whole TTL by the standby's own clock. A holder whose renewal finds the lease taken has lost it
// (it was paused, or partitioned from the managers): it must stop reconciling at once.
//
// Time comes from the injected clock, so the decisions are tested without sleeping.
import { errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { LeaseElector } from '../store/lease.js';
import type { Clock } from '../util/clock.js';

export interface LeaderElectionOptions {
  elector: LeaseElector;
  clock: Clock;
  /** Time between tries (a third of the lease TTL: two renewals can fail before it expires). */
  renewMs: number;
  log?: Logger;
}

export interface LeaderElection {
  /**
   * Campaign until `signal` aborts. `leading` resolves once the lease is held (never, if the
   * signal aborts first); `firstRound` once the first try settled, so the caller can say whether
   * it leads; `lost` resolves with the new holder if a held lease is taken by another controller.
   */
  run(signal: AbortSignal): { leading: Promise<void>; firstRound: Promise<void>; lost: Promise<string> };
  readonly isLeader: boolean;
  /** Who held the lease at the last round ('' for nobody). */
  readonly holder: string;
}

export function createLeaderElection(opts: LeaderElectionOptions): LeaderElection {
  const log = opts.log ?? silentLogger();
  let held = false;
  return {
    get isLeader() {
      return held;
    },
    get holder() {
      return opts.elector.lastHolder;
    },
    run(signal) {
      let standbyLogged = false;
      let busy = false;
      let timer: { cancel(): void } | undefined;
      let lead: () => void = () => {};
      let loseTo: (holder: string) => void = () => {};
      const leading = new Promise<void>((resolve) => {
        lead = resolve;
      });
      const lost = new Promise<string>((resolve) => {
        loseTo = resolve;
      });
      const round = async (): Promise<void> => {
        if (busy || signal.aborted) return; // a slow engine: the try in flight is this round's
        busy = true;
        const ok = await opts.elector
          .tryAcquire(opts.clock.now())
          .catch((err: unknown) => {
            log.warn({ err: errorMessage(err) }, 'controller lease: could not read or renew it; retrying');
            return held; // an engine hiccup is not a lost lease: a rival can only take it after a whole TTL
          })
          .finally(() => {
            busy = false;
          });
        if (signal.aborted) return;
        if (ok && !held) {
          held = true;
          log.info({ holder: opts.elector.lastHolder }, 'holding the controller lease: reconciling');
          lead();
        } else if (!ok && held) {
          held = false;
          timer?.cancel();
          timer = undefined;
          loseTo(opts.elector.lastHolder);
          return;
        } else if (!ok && !standbyLogged) {
          standbyLogged = true;
          log.info({ leader: opts.elector.lastHolder }, 'another controller holds the lease: standing by until it stops renewing it');
        }
      };
      const tick = (): void => {
        timer = opts.clock.setTimeout(() => {
          void round().finally(() => {
            if (!signal.aborted && timer !== undefined) tick();
          });
        }, opts.renewMs);
      };
      signal.addEventListener(
        'abort',
        () => {
          timer?.cancel();
          timer = undefined;
          held = false;
        },
        { once: true },
      );
      const firstRound = round().then(() => {
        if (!signal.aborted) tick();
      });
      return { leading, firstRound, lost };
    },
  };
}
