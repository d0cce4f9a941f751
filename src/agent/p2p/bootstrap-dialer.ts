// Keeps the configured bootstrap peers connected. In a swarm the agents start in any order and
// service DNS names resolve late, so a failed dial is retried with exponential backoff (with
// jitter, capped) until it works, and a bootstrap peer that goes away is dialled again. Entries
// given as host:port carry no peer ID; the ID learnt from the first successful dial is kept.
import type { Logger } from '../../util/log.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { BootstrapPeer } from '../config.js';

export interface BootstrapDialerComponents {
  /** Dials a multiaddr; resolves with the remote peer ID proved by the handshake. */
  dial(address: string, signal: AbortSignal): Promise<string>;
  isConnected(peerId: string): boolean;
  /** The allowlist: a bootstrap peer known to be refused is not dialled (until the list changes). */
  isAllowed?(peerId: string): boolean;
  clock: Clock;
  log: Logger;
  random?: () => number;
}

export interface BootstrapDialerInit {
  peers: readonly BootstrapPeer[];
  selfPeerId: string;
  /** First retry delay; doubles per failure up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often a connected bootstrap peer is checked. */
  checkIntervalMs?: number;
}

export interface BootstrapPeerStatus {
  source: string;
  peerId?: string;
  connected: boolean;
  failures: number;
  lastError?: string;
  /** The entry is this agent itself (the same list is given to every agent): skipped. */
  self: boolean;
}

interface Entry {
  peer: BootstrapPeer;
  peerId?: string;
  failures: number;
  lastError?: string;
  self: boolean;
  timer?: Timer;
  dialing: boolean;
}

export class BootstrapDialer {
  private readonly entries: Entry[];
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly checkIntervalMs: number;
  private readonly random: () => number;
  private controller = new AbortController();
  private running = false;

  constructor(
    private readonly components: BootstrapDialerComponents,
    readonly init: BootstrapDialerInit,
  ) {
    this.entries = init.peers.map((peer) => ({
      peer,
      peerId: peer.peerId,
      failures: 0,
      self: peer.peerId === init.selfPeerId,
      dialing: false,
    }));
    this.minBackoffMs = init.minBackoffMs ?? 250;
    this.maxBackoffMs = init.maxBackoffMs ?? 30_000;
    this.checkIntervalMs = init.checkIntervalMs ?? 5_000;
    this.random = components.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.controller = new AbortController();
    for (const e of this.entries) if (!e.self) this.schedule(e, 0);
  }

  stop(): void {
    this.running = false;
    this.controller.abort();
    for (const e of this.entries) this.clear(e);
  }

  /** A peer went away: if it is a bootstrap peer, dial it again now rather than at the next check. */
  peerDisconnected(peerId: string): void {
    for (const e of this.entries) if (e.peerId === peerId && !e.self && !e.dialing) this.schedule(e, 0);
  }

  status(): BootstrapPeerStatus[] {
    return this.entries.map((e) => ({
      source: e.peer.source,
      ...(e.peerId === undefined ? {} : { peerId: e.peerId }),
      connected: e.peerId !== undefined && this.components.isConnected(e.peerId),
      failures: e.failures,
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
      self: e.self,
    }));
  }

  /** Delay before the next try after `failures` consecutive failures. */
  backoffMs(failures: number): number {
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.max(0, failures - 1));
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  private clear(e: Entry): void {
    e.timer?.cancel();
    e.timer = undefined;
  }

  private schedule(e: Entry, delayMs: number): void {
    if (!this.running || e.self) return;
    this.clear(e);
    e.timer = this.components.clock.setTimeout(() => {
      e.timer = undefined;
      this.attempt(e).catch((err: unknown) => this.components.log.error({ err, peer: e.peer.source }, 'bootstrap dial loop failed'));
    }, delayMs);
  }

  private async attempt(e: Entry): Promise<void> {
    if (!this.running) return;
    if (e.peerId !== undefined && (this.components.isConnected(e.peerId) || this.components.isAllowed?.(e.peerId) === false)) {
      e.failures = 0;
      this.schedule(e, this.checkIntervalMs);
      return;
    }
    e.dialing = true;
    try {
      const peerId = await this.components.dial(e.peer.address, this.controller.signal);
      if (!this.running) return;
      if (e.peerId !== undefined && e.peerId !== peerId) {
        this.components.log.warn(
          { peer: e.peer.source, expected: e.peerId, got: peerId },
          'bootstrap address now answers with another peer ID; following the new one',
        );
      }
      e.peerId = peerId;
      if (e.failures > 0 || e.lastError !== undefined)
        this.components.log.info({ peer: e.peer.source, peerId, after: e.failures }, 'bootstrap peer connected');
      e.failures = 0;
      e.lastError = undefined;
      this.schedule(e, this.checkIntervalMs);
    } catch (err) {
      if (!this.running) return;
      if (isSelfDial(err)) {
        e.self = true;
        this.components.log.info({ peer: e.peer.source }, 'bootstrap entry is this agent itself; skipping it');
        return;
      }
      e.failures += 1;
      e.lastError = err instanceof Error ? err.message : String(err);
      const delay = this.backoffMs(e.failures);
      // The first failure and then every few are worth a line; a peer that starts late is normal.
      if (e.failures === 1 || e.failures % 10 === 0) {
        this.components.log.warn(
          { peer: e.peer.source, failures: e.failures, retryInMs: delay, error: e.lastError },
          'bootstrap peer not reachable yet; will retry',
        );
      }
      this.schedule(e, delay);
    } finally {
      e.dialing = false;
    }
  }
}

// libp2p refuses a connection to itself after the handshake with "Can not dial self".
function isSelfDial(err: unknown): boolean {
  return err instanceof Error && /can ?not dial self/i.test(err.message);
}
