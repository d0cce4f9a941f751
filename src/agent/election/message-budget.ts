// A per-member budget of election messages (a token bucket per peer). Members are enrolled, but a
// member's key can be stolen: without a budget one member could make every other spend its time
// verifying a flood of votes and proofs. The budget is generous — a healthy election exchanges a
// few messages per heartbeat per peer — so it only ever bites a flood. Bounded: one bucket per
// member (the member list bounds the map); pure apart from the injected clock.
import type { Clock } from '../../util/clock.js';

export interface MessageBudget {
  /** Spends one message of `peer`'s budget; false when it is exhausted (drop the message). */
  take(peer: string): boolean;
}

export interface MessageBudgetInit {
  /** Messages per second a peer may send in the long run. */
  ratePerSecond: number;
  /** How many it may send at once after being quiet. */
  burst: number;
  clock: Pick<Clock, 'now'>;
  /** At most this many peers tracked (the member list's size); the stalest is forgotten first. */
  maxPeers: number;
}

export function createMessageBudget(init: MessageBudgetInit): MessageBudget {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(peer) {
      const now = init.clock.now();
      let b = buckets.get(peer);
      if (b === undefined) {
        if (buckets.size >= init.maxPeers) buckets.delete(buckets.keys().next().value as string);
        b = { tokens: init.burst, at: now };
      } else {
        buckets.delete(peer); // re-inserted below: the map stays in least-recently-used order
        b.tokens = Math.min(init.burst, b.tokens + ((now - b.at) / 1000) * init.ratePerSecond);
        b.at = now;
      }
      buckets.set(peer, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
  };
}
