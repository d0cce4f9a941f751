// Fetching a blob from peers for HTTP callers, with an abort signal per caller. Concurrent
// requests for one address share one fetch, but a caller that goes away only stops waiting: the
// fetch itself runs on under the agent's own lifecycle signal (bounded by the transfer's own
// timeouts) and keeps the copy, so one client disconnecting never fails the others. Distinct
// fetches at once are capped, so callers that ask for many addresses and leave cannot pile up
// peer transfers.
import type { PutResult } from '../cas/index.js';
import { parseAddress } from '../cas/index.js';
import type { BlobFetcher } from '../p2p/blob-fetcher.js';
import { UnavailableError } from './errors.js';

export interface SharedFetchInit {
  /** Aborted when the agent stops: the only signal the peer fetch itself listens to. */
  lifecycle: AbortSignal;
  /** Distinct addresses fetched at once for HTTP callers. */
  maxInflight: number;
}

export function createSharedFetch(fetcher: BlobFetcher, init: SharedFetchInit): BlobFetcher {
  const inflight = new Map<string, Promise<PutResult>>();
  return {
    fetch(input, signal) {
      const address = parseAddress(input);
      let shared = inflight.get(address);
      if (shared === undefined) {
        if (inflight.size >= init.maxInflight) {
          return Promise.reject(
            new UnavailableError(`this agent is fetching ${inflight.size} blobs from peers already: retry shortly`, {
              retryAfterSeconds: 1,
            }),
          );
        }
        shared = fetcher.fetch(address, init.lifecycle).finally(() => inflight.delete(address));
        inflight.set(address, shared);
        // Nobody may be waiting any more when it fails: that is not an unhandled rejection.
        shared.catch(() => undefined);
      }
      if (signal === undefined) return shared;
      return waitOrAbort(shared, signal);
    },
  };
}

function waitOrAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
