// What one node knows of the others: last score, when it last heard from each (directly or through
// the admin's roster), acks, resignations. Used only for liveness-side choices (staggered
// timeouts, vote preference, hand-off target, the roster itself), never for safety.
//
// Bounded: in a closed cluster only members reach it (the election drops everyone else first); in
// an open one it keeps at most MAX_PEERS entries, forgetting the one heard from longest ago.
import { InvalidInputError } from '../../util/errors.js';
import type { RosterEntry } from './messages.js';

/** Most peers remembered in an open cluster (a closed one is bounded by its member list). */
export const MAX_PEERS = 256;
/** Most peers the status endpoint lists. */
export const MAX_STATUS_PEERS = MAX_PEERS;

export interface PeerRecord {
  score: number;
  lastSeenAt: number;
  lastAckAt: number | null;
  resignedAt: number | null;
}

export class PeerTable {
  private readonly peers = new Map<string, PeerRecord>();

  constructor(private readonly members: ReadonlySet<string> | null) {}

  ids(): IterableIterator<string> {
    return this.peers.keys();
  }

  get(id: string): PeerRecord | undefined {
    return this.peers.get(id);
  }

  /** A message came from `id` itself. */
  heard(id: string, score: number, now: number): void {
    if (this.members !== null && !this.members.has(id)) return;
    const p = this.peers.get(id);
    if (p === undefined) {
      if (this.peers.size >= MAX_PEERS) this.forgetOldest();
      this.peers.set(id, { score, lastSeenAt: now, lastAckAt: null, resignedAt: null });
    } else {
      p.score = score;
      p.lastSeenAt = now;
    }
  }

  /** The admin's roster says `id` acked it recently (non-members are not taken from it). */
  mentioned(id: string, score: number, now: number): void {
    if (this.members !== null && !this.members.has(id)) return;
    this.heard(id, score, Math.max(now, this.peers.get(id)?.lastSeenAt ?? now));
  }

  get size(): number {
    return this.peers.size;
  }

  private forgetOldest(): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [id, p] of this.peers) {
      if (p.lastSeenAt < at) {
        at = p.lastSeenAt;
        oldest = id;
      }
    }
    if (oldest !== undefined) this.peers.delete(oldest);
  }

  acked(id: string, now: number): void {
    const p = this.peers.get(id);
    if (p !== undefined) p.lastAckAt = now;
  }

  resigned(id: string, now: number): void {
    const p = this.peers.get(id);
    if (p !== undefined) p.resignedAt = now;
  }

  /** Peers that could run now: heard within windowMs, not excluded, not resigned within windowMs. */
  *liveCandidates(now: number, windowMs: number, exclude: readonly (string | null)[]): Generator<[string, PeerRecord]> {
    for (const [id, p] of this.peers) {
      if (exclude.includes(id)) continue;
      if (now - p.lastSeenAt >= windowMs) continue;
      if (p.resignedAt !== null && now - p.resignedAt < windowMs) continue;
      yield [id, p];
    }
  }

  /** Where `selfId` with `score` stands among the live candidates: 0 = best; ties go by id. */
  rank(
    selfId: string,
    score: number,
    now: number,
    windowMs: number,
    exclude: readonly (string | null)[],
  ): { rank: number; candidates: number } {
    let candidates = 1;
    let rank = 0;
    for (const [id, p] of this.liveCandidates(now, windowMs, exclude)) {
      candidates += 1;
      if (p.score > score || (p.score === score && id < selfId)) rank += 1;
    }
    return { rank, candidates };
  }

  /** Followers that acked within recentMs, sorted by id: the admin's heartbeat roster. */
  roster(now: number, recentMs: number, max: number): RosterEntry[] {
    return [...this.peers.entries()]
      .filter(([, p]) => p.lastAckAt !== null && now - p.lastAckAt < recentMs)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, max)
      .map(([id, p]) => ({ id, score: p.score }));
  }

  /**
   * The hand-off target: the best-scored follower that acked within withinMs; if none has yet (a
   * step-down right after winning), the best-scored member heard from within withinMs. There is no
   * log to be up to date with: any reachable member can take over safely.
   */
  successor(now: number, withinMs: number, requested: string | undefined): string | null {
    const acked = (p: PeerRecord): boolean => p.lastAckAt !== null && now - p.lastAckAt < withinMs;
    const eligible = [...this.peers.entries()]
      .filter(([id, p]) => (this.members === null || this.members.has(id)) && (acked(p) || now - p.lastSeenAt < withinMs))
      .sort(([aId, a], [bId, b]) => Number(acked(b)) - Number(acked(a)) || b.score - a.score || (aId < bId ? -1 : 1));
    if (requested !== undefined) {
      if (!eligible.some(([id]) => id === requested)) {
        throw new InvalidInputError(
          `stepDown handoffTo ${requested} has not been heard from in the last ${withinMs} ms: pick one of [${eligible.map(([id]) => id).join(', ')}] or leave handoffTo out`,
        );
      }
      return requested;
    }
    return eligible[0]?.[0] ?? null;
  }
}
