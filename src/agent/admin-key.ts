// The admin key in the elected admin's memory. When this agent becomes admin it asks the other
// agents for their Shamir shares (crypto's share exchange; holders answer only the admin they
// recognise, so the first tries may be refused until they hear its heartbeat) and rebuilds the
// admin identity; it retries every `retryMs` while it stays admin. When it stops being admin the
// identity is dropped. The key is never written anywhere.
import { peerIdFromString } from '@libp2p/peer-id';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Clock, Timer } from '../util/clock.js';
import type { AdminKeyShare, AgeIdentity } from '../crypto/index.js';
import { collectAdminKey } from './share-exchange.js';
import type { ElectionProof } from './election/proof.js';
import type { AgentLibp2p } from './p2p/node.js';

export interface AdminKeyHolderComponents {
  libp2p: Pick<AgentLibp2p, 'dialProtocol'>;
  /** Peers to ask (connected agents). */
  peers(): string[];
  /** Still the admin? Checked before every try and before keeping a rebuilt key. */
  isAdmin(): boolean;
  /** The proof of this agent's election, shown to the holders (closed clusters: they refuse without it). */
  proof(): ElectionProof | null;
  clock: Clock;
  log: Logger;
}

export interface AdminKeyHolderInit {
  ownShare?: AdminKeyShare;
  /** The admin public key (age1…): from the own share or roles/admin.pub. */
  adminRecipient: string;
  threshold: number;
  retryMs: number;
  /** Bound of one collection round. */
  roundTimeoutMs: number;
}

export interface AdminKeyHolder {
  /** This agent became admin: start collecting. */
  becameAdmin(): void;
  /** This agent is no longer admin: forget the key. */
  lostAdmin(): void;
  identity(): AgeIdentity | undefined;
  stop(): void;
  status(): { held: boolean; attempts: number; lastError?: string };
}

export function createAdminKeyHolder(c: AdminKeyHolderComponents, init: AdminKeyHolderInit): AdminKeyHolder {
  let identity: AgeIdentity | undefined;
  let timer: Timer | undefined;
  let controller: AbortController | undefined;
  let attempts = 0;
  let lastError: string | undefined;
  let generation = 0;

  const cancel = (): void => {
    timer?.cancel();
    timer = undefined;
    controller?.abort();
    controller = undefined;
  };

  async function attempt(gen: number): Promise<void> {
    if (gen !== generation || !c.isAdmin() || identity !== undefined) return;
    attempts++;
    controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(init.roundTimeoutMs)]);
    try {
      const id = await collectAdminKey({
        libp2p: c.libp2p,
        peers: c.peers().map((p) => peerIdFromString(p)),
        ownShare: init.ownShare,
        adminRecipient: init.adminRecipient,
        threshold: init.threshold,
        proof: c.proof() ?? undefined,
        signal,
        log: c.log,
      });
      if (gen !== generation || !c.isAdmin()) return;
      identity = id;
      lastError = undefined;
      c.log.info({ attempts }, 'admin key rebuilt from shares; held in memory while this agent is admin');
    } catch (err) {
      if (gen !== generation) return;
      lastError = errorMessage(err);
      c.log.warn({ attempt: attempts, err: lastError }, 'admin key not rebuilt yet; retrying');
      timer = c.clock.setTimeout(() => {
        timer = undefined;
        void attempt(gen);
      }, init.retryMs);
    }
  }

  return {
    becameAdmin() {
      cancel();
      generation++;
      identity = undefined;
      const gen = generation;
      timer = c.clock.setTimeout(() => {
        timer = undefined;
        void attempt(gen);
      }, 0);
    },
    lostAdmin() {
      cancel();
      generation++;
      if (identity !== undefined) c.log.info('no longer admin: admin key dropped from memory');
      identity = undefined;
    },
    identity: () => identity,
    stop() {
      cancel();
      generation++;
      identity = undefined;
    },
    status: () => ({ held: identity !== undefined, attempts, ...(lastError === undefined ? {} : { lastError }) }),
  };
}
