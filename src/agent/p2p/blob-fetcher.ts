// Getting a blob this agent does not hold: ask the DHT who provides it and fetch from them one
// at a time; if none answers (records not yet spread, or stale), ask the connected agents
// directly. Concurrent requests for one address share one fetch.
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { parseAddress, type ContentStore, type PutResult } from '../cas/index.js';
import { timed, type AgentMetrics } from '../metrics.js';
import { BlobUnavailableError, type BlobTransfer } from './blob-transfer.js';
import type { ContentRouting } from './content-routing.js';

export interface BlobFetcherComponents {
  store: ContentStore;
  routing: ContentRouting;
  transfer: BlobTransfer;
  connectedPeers(): string[];
  metrics: AgentMetrics;
  log: Logger;
}

export interface BlobFetcherInit {
  /** Time the provider lookup may take before the direct ask starts. */
  findTimeoutMs?: number;
  /** Providers to look for before trying them. */
  maxProviders?: number;
}

export interface BlobFetcher {
  /** Fetch into the local store (verified against the address). BlobUnavailableError if no agent has it. */
  fetch(address: string, signal?: AbortSignal): Promise<PutResult>;
}

export function createBlobFetcher(c: BlobFetcherComponents, init: BlobFetcherInit = {}): BlobFetcher {
  const inflight = new Map<string, Promise<PutResult>>();
  const findTimeoutMs = init.findTimeoutMs ?? 5_000;

  async function fetchOnce(address: string, signal?: AbortSignal): Promise<PutResult> {
    const tried = new Map<string, string>();
    const tryPeer = async (peer: string): Promise<PutResult | undefined> => {
      if (tried.has(peer)) return undefined;
      const started = Date.now();
      try {
        const r = await c.transfer.fetchFrom(peer, address, signal);
        c.log.debug({ address, peer, ms: Date.now() - started }, 'fetched from peer');
        return r;
      } catch (err) {
        tried.set(peer, errorMessage(err));
        c.log.debug({ address, peer, ms: Date.now() - started, err: errorMessage(err) }, 'fetch from peer failed; trying the next');
        return undefined;
      }
    };

    const findSignal = AbortSignal.any([AbortSignal.timeout(findTimeoutMs), ...(signal ? [signal] : [])]);
    let providers: string[] = [];
    const findStarted = Date.now();
    try {
      providers = await c.routing.findProviders(address, { signal: findSignal, max: init.maxProviders ?? 3 });
      c.log.debug({ address, providers, ms: Date.now() - findStarted }, 'providers found');
    } catch (err) {
      signal?.throwIfAborted();
      c.log.debug({ address, err: errorMessage(err) }, 'provider lookup failed; asking connected agents directly');
    }
    for (const p of providers) {
      const r = await tryPeer(p);
      if (r) return r;
    }

    // Direct ask: every connected agent at once, then fetch from those that say yes.
    const others = c.connectedPeers().filter((p) => !tried.has(p));
    const answers = await Promise.all(
      others.map(async (p) => ({ p, has: await c.transfer.peerHas(p, address, signal).catch(() => false) })),
    );
    for (const { p } of answers.filter((a) => a.has)) {
      const r = await tryPeer(p);
      if (r) return r;
    }
    signal?.throwIfAborted();
    const detail = [...tried].map(([p, e]) => `${p}: ${e}`).join('; ');
    throw new BlobUnavailableError(
      `blob ${address} is not held by any reachable agent (${providers.length} provider(s) on the DHT, ${others.length} connected agent(s) asked${detail ? `; ${detail}` : ''}): put it on an agent first`,
    );
  }

  return {
    fetch(input, signal) {
      const address = parseAddress(input);
      let p = inflight.get(address);
      if (p === undefined) {
        p = timed(c.metrics.dhtOperationSeconds, 'fetch', () => fetchOnce(address, signal)).finally(() => inflight.delete(address));
        inflight.set(address, p);
      }
      return p;
    },
  };
}
