// Content routing on the agents' DHT: announce that this agent holds a blob, find who holds one,
// and small signed records (`/bzzz/<peer id>/<name>`). Every operation is timed into
// bzzz_dht_operation_duration_seconds{op}.
//
// A provider record names a peer, and anyone who can reach a DHT node can write one (kad-dht does
// not check that the provider is the peer that stored it). In a closed cluster only members'
// records count: a non-member's record is dropped here, so it never counts as a live replica and
// is never tried on a read (the replicator and the fetcher both ask through findProviders).
import type { KadDHT } from '@libp2p/kad-dht';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from '../../util/log.js';
import type { AgentMetrics } from '../metrics.js';
import { timed } from '../metrics.js';
import { providerKeyFor } from './provider-key.js';
import { decodeRecord, encodeRecord, recordKey } from './records.js';

export interface ContentRoutingComponents {
  dht: KadDHT;
  privateKey: PrivateKey;
  selfPeerId: string;
  /** Closed clusters: is this peer on the member list? Absent: an open cluster, every provider counts. */
  isMember?: (peerId: string) => boolean;
  /** Peers connected now: with none, a DHT query has nobody to ask. */
  connectedPeerCount(): number;
  metrics: AgentMetrics;
  log: Logger;
  now(): number;
}

export interface FindProvidersOptions {
  signal?: AbortSignal;
  /** Stop once this many distinct providers (other than this agent) are known. */
  max?: number;
}

export interface ContentRouting {
  /** Announce that this agent holds `address`. Without peers the announcement is kept locally and made by the next call. */
  provide(address: string, signal?: AbortSignal): Promise<void>;
  /** Distinct peers that announced `address`, this agent and non-members excluded, in the order found. */
  findProviders(address: string, options?: FindProvidersOptions): Promise<string[]>;
  putRecord(name: string, value: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** The newest valid value of another agent's record, or undefined. */
  getRecord(peerId: string, name: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
}

export function createContentRouting(c: ContentRoutingComponents): ContentRouting {
  const h = c.metrics.dhtOperationSeconds;
  return {
    async provide(address, signal) {
      await timed(h, 'provide', async () => {
        // kad-dht stores the local provider record first, then tells the closest peers.
        for await (const ev of c.dht.provide(providerKeyFor(address), { signal })) {
          if (ev.name === 'QUERY_ERROR')
            c.log.debug({ address, peer: ev.from.toString(), err: ev.error.message }, 'provide: a peer did not take the record');
        }
      });
    },

    async findProviders(address, options = {}) {
      const found: string[] = [];
      await timed(h, 'find_providers', async () => {
        if (c.connectedPeerCount() === 0) return;
        const controller = new AbortController();
        const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
        try {
          for await (const ev of c.dht.findProviders(providerKeyFor(address), { signal })) {
            if (ev.name !== 'PROVIDER') continue;
            for (const p of ev.providers) {
              const id = p.id.toString();
              if (c.isMember !== undefined && !c.isMember(id)) {
                c.log.debug({ address, provider: id }, 'provider record of a peer that is not a member ignored');
                continue;
              }
              if (id !== c.selfPeerId && !found.includes(id)) found.push(id);
            }
            if (options.max !== undefined && found.length >= options.max) {
              controller.abort();
              break;
            }
          }
        } catch (err) {
          // Stopping early (max reached) aborts the query: not an error. The caller's own abort is.
          if (!controller.signal.aborted || options.signal?.aborted === true) throw err;
        }
      });
      return found;
    },

    async putRecord(name, value, signal) {
      const key = recordKey(c.selfPeerId, name);
      const bytes = await encodeRecord(c.privateKey, key, value, c.now());
      await timed(h, 'put', async () => {
        for await (const ev of c.dht.put(key, bytes, { signal })) {
          if (ev.name === 'QUERY_ERROR')
            c.log.debug({ name, peer: ev.from.toString(), err: ev.error.message }, 'put: a peer did not take the record');
        }
      });
    },

    async getRecord(peerId, name, signal) {
      peerIdFromString(peerId); // refuse a malformed ID before any query
      const key = recordKey(peerId, name);
      return timed(h, 'get', async () => {
        let best: { value: Uint8Array; writtenAt: number } | undefined;
        try {
          for await (const ev of c.dht.get(key, { signal })) {
            if (ev.name !== 'VALUE') continue;
            try {
              const rec = await decodeRecord(key, ev.value);
              if (best === undefined || rec.writtenAt > best.writtenAt) best = rec;
            } catch (err) {
              c.log.debug({ peerId, name, err: (err as Error).message }, 'ignored an invalid copy of a DHT record');
            }
          }
        } catch (err) {
          // kad-dht throws NotFound when no peer has the key: that is an answer, not a failure.
          if (!(err instanceof Error && err.name === 'NotFoundError')) throw err;
        }
        return best?.value;
      });
    },
  };
}
