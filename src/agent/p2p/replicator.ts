// Keeps every blob this agent holds at the target replication factor and repairs corrupted ones.
//
// A blob's live holders are this agent plus the DHT providers it is connected to now (a provider
// record outlives the agent that made it, so a dead agent must not count). After a put, and every
// round, the replicator announces the blob and, when live holders < factor, asks connected agents
// that do not hold it to fetch it (the /bzzz/blob "replicate" request). A blob the store finds
// corrupted (and quarantines) is fetched again from a provider.
//
// Gauges: bzzz_dht_replication_factor is the MINIMUM of live holders over local blobs (the one an
// alert should watch), bzzz_dht_replication_factor_avg the average; bzzz_dht_provider_records the
// number of local blobs announced on the DHT.
import { errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import type { BlobAddress, ContentStore } from '../cas/index.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { AgentMetrics } from '../metrics.js';
import type { BlobFetcher } from './blob-fetcher.js';
import type { BlobTransfer } from './blob-transfer.js';
import type { ContentRouting } from './content-routing.js';

export interface ReplicatorComponents {
  store: ContentStore;
  routing: ContentRouting;
  transfer: BlobTransfer;
  fetcher: BlobFetcher;
  selfPeerId: string;
  connectedPeers(): string[];
  isConnected(peerId: string): boolean;
  metrics: AgentMetrics;
  clock: Clock;
  log: Logger;
}

export interface ReplicatorInit {
  factor: number;
  /** Time between full rounds over the local blobs. */
  intervalMs: number;
  /** Blobs handled at once in a round. */
  concurrency?: number;
}

export interface ReplicaCount {
  address: string;
  /** This agent (if it holds it) plus connected providers. */
  holders: string[];
  /** Copies this call asked peers to make and they made. */
  added: number;
}

export interface Replicator {
  start(): void;
  stop(): Promise<void>;
  /** Announce a blob just stored here and bring it to the factor. */
  afterPut(address: string, signal?: AbortSignal): Promise<ReplicaCount>;
  /** Count live holders and ask peers for copies until the factor is met (or no peer is left). */
  ensure(address: string, signal?: AbortSignal): Promise<ReplicaCount>;
  /** One round over every local blob now (also run on the timer). */
  runRound(signal?: AbortSignal): Promise<{ blobs: number; min: number; avg: number }>;
  /** Last round's result. */
  lastRound(): { at: number; blobs: number; min: number; avg: number; error?: string } | undefined;
  /** Corrupted blobs fetched again; failed attempts; fetches running; blobs still without a good copy. */
  repairs(): { repaired: number; failed: number; pending: number; unrepaired: number };
}

export function createReplicator(c: ReplicatorComponents, init: ReplicatorInit): Replicator {
  const { metrics, log } = c;
  const concurrency = init.concurrency ?? 4;
  let timer: Timer | undefined;
  let running = false;
  let controller = new AbortController();
  let round: Promise<unknown> | undefined;
  let last: ReturnType<Replicator['lastRound']>;
  const provided = new Set<string>();
  const repairing = new Set<string>();
  // Quarantined blobs no fetch has replaced yet: retried every round.
  const unrepaired = new Set<BlobAddress>();
  const repairStats = { repaired: 0, failed: 0 };
  let unsubscribe: (() => void) | undefined;

  async function provide(address: string, signal?: AbortSignal): Promise<void> {
    try {
      await c.routing.provide(address, signal);
      provided.add(address);
    } catch (err) {
      metrics.errorsTotal.inc({ component: 'dht' });
      log.debug({ address, err: errorMessage(err) }, 'provide failed; the next round tries again');
    }
    metrics.providerRecords.set(provided.size);
  }

  // One count-and-replicate per blob at a time: a put, a round and a read may all ask at once.
  const ensuring = new Map<string, Promise<ReplicaCount>>();
  function ensure(address: string, signal?: AbortSignal): Promise<ReplicaCount> {
    let p = ensuring.get(address);
    if (p === undefined) {
      p = ensureOnce(address, signal).finally(() => ensuring.delete(address));
      ensuring.set(address, p);
    }
    return p;
  }

  async function ensureOnce(address: string, signal?: AbortSignal): Promise<ReplicaCount> {
    const providers = await c.routing.findProviders(address, { signal });
    const holders = [c.selfPeerId, ...providers.filter((p) => c.isConnected(p))];
    let added = 0;
    if (holders.length < init.factor) {
      // Peers that do not already hold it; the ones the DHT calls providers are skipped too.
      const candidates = c.connectedPeers().filter((p) => !holders.includes(p) && !providers.includes(p));
      for (const peer of candidates) {
        if (holders.length >= init.factor) break;
        signal?.throwIfAborted();
        try {
          await c.transfer.askToReplicate(peer, address, signal);
          holders.push(peer);
          added++;
        } catch (err) {
          log.debug({ address, peer, err: errorMessage(err) }, 'peer did not take a replica');
        }
      }
      if (holders.length < init.factor) {
        log.debug(
          { address, holders: holders.length, factor: init.factor, connected: c.connectedPeers().length },
          'blob is below the replication factor: not enough agents reachable',
        );
      }
    }
    return { address, holders, added };
  }

  async function runRound(signal?: AbortSignal): Promise<{ blobs: number; min: number; avg: number }> {
    for (const a of [...unrepaired]) {
      if (await c.store.has(a)) unrepaired.delete(a);
      else await repair(a);
    }
    const counts: number[] = [];
    const queue: BlobAddress[] = [];
    for await (const a of c.store.list()) queue.push(a);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queue.length) {
        signal?.throwIfAborted();
        const address = queue[next++];
        if (!provided.has(address)) await provide(address, signal);
        try {
          counts.push((await ensure(address, signal)).holders.length);
        } catch (err) {
          signal?.throwIfAborted();
          metrics.errorsTotal.inc({ component: 'replication' });
          log.debug({ address, err: errorMessage(err) }, 'could not count replicas');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    // Forget announcements of blobs that are gone (deleted or quarantined).
    const present = new Set<string>(queue);
    for (const a of provided) if (!present.has(a)) provided.delete(a);
    metrics.providerRecords.set(provided.size);
    const min = counts.length === 0 ? 0 : Math.min(...counts);
    const avg = counts.length === 0 ? 0 : counts.reduce((s, n) => s + n, 0) / counts.length;
    metrics.replicationFactor.set(min);
    metrics.replicationFactorAvg.set(avg);
    return { blobs: queue.length, min, avg };
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = c.clock.setTimeout(() => {
      timer = undefined;
      const started = c.clock.now();
      round = runRound(controller.signal)
        .then((r) => {
          last = { at: started, ...r };
        })
        .catch((err: unknown) => {
          if (!running) return;
          metrics.errorsTotal.inc({ component: 'replication' });
          last = { at: started, blobs: 0, min: 0, avg: 0, error: errorMessage(err) };
          log.warn({ err: errorMessage(err) }, 'replication round failed');
        })
        .finally(() => {
          round = undefined;
          schedule(init.intervalMs);
        });
    }, delayMs);
  }

  async function repair(address: BlobAddress): Promise<void> {
    if (repairing.has(address) || !running) return;
    repairing.add(address);
    provided.delete(address);
    let repairedAddress: string | undefined;
    try {
      const r = await c.fetcher.fetch(address, controller.signal);
      repairStats.repaired++;
      unrepaired.delete(address);
      metrics.blobRepairsTotal.inc({ outcome: 'ok' });
      log.info({ address: r.address }, 'corrupted blob fetched again from a peer');
      repairedAddress = r.address;
    } catch (err) {
      repairStats.failed++;
      unrepaired.add(address);
      metrics.blobRepairsTotal.inc({ outcome: 'error' });
      metrics.errorsTotal.inc({ component: 'store' });
      log.error({ address, err: errorMessage(err) }, 'corrupted blob could not be fetched again: no reachable agent holds a good copy');
    } finally {
      repairing.delete(address);
    }
    // Announced once repaired: a slow DHT must not keep the blob counted as "being fetched".
    if (repairedAddress !== undefined) await provide(repairedAddress, controller.signal);
  }

  return {
    start() {
      if (running) return;
      running = true;
      controller = new AbortController();
      unsubscribe = c.store.onCorruption((address) => {
        metrics.errorsTotal.inc({ component: 'store' });
        log.warn({ address }, 'blob found corrupted on disk and quarantined; fetching it again from a peer');
        void repair(address);
      });
      schedule(0);
    },
    async stop() {
      running = false;
      unsubscribe?.();
      timer?.cancel();
      controller.abort();
      await round?.catch(() => undefined);
    },
    async afterPut(address, signal) {
      await provide(address, signal);
      return ensure(address, signal);
    },
    ensure,
    runRound,
    lastRound: () => last,
    repairs: () => ({ ...repairStats, pending: repairing.size, unrepaired: unrepaired.size }),
  };
}
