// The election's time rules in one place, as pure functions of the settings.
//
//   heartbeatMs          the admin heartbeats this often.
//   timeoutMs            a follower that heard no heartbeat for [timeoutMs, 2·timeoutMs) campaigns.
//   stickyMs             a voter that heard the admin (or granted a vote) less than stickyMs ago
//                        refuses votes; an admin acts only for stickyMs after sending a heartbeat
//                        that a majority acked. stickyMs = timeoutMs − slack: the slack absorbs the
//                        delivery spread of one heartbeat, so a candidate whose own timeout fired is
//                        not refused by voters that got the same heartbeat a few ms later.
import { InvalidInputError } from '../../util/errors.js';

export interface ElectionTimingSettings {
  readonly heartbeatMs: number;
  readonly timeoutMs: number;
}

export function validateTiming(t: ElectionTimingSettings): void {
  const problems: string[] = [];
  if (!Number.isFinite(t.heartbeatMs) || t.heartbeatMs < 1)
    problems.push(`heartbeatMs ${t.heartbeatMs} must be a positive number of milliseconds`);
  if (!Number.isFinite(t.timeoutMs) || t.timeoutMs <= 2 * t.heartbeatMs) {
    problems.push(
      `timeoutMs ${t.timeoutMs} must be more than twice heartbeatMs (${t.heartbeatMs}), or one late heartbeat starts an election; BZZZ used 5000 / 15000`,
    );
  }
  if (problems.length > 0) throw new InvalidInputError(`election settings are not valid: ${problems.join('; ')}`);
}

export function stickyMs(t: ElectionTimingSettings): number {
  return t.timeoutMs - Math.min(t.heartbeatMs / 2, t.timeoutMs / 10);
}

/**
 * A follower's election timeout, staggered by rank. Alone (it knows no other live candidate, e.g.
 * at boot) a node draws from Raft's [timeoutMs, 2·timeoutMs). Otherwise, among the `candidates`
 * live nodes it knows (itself included), the `rank`-th best (0 = best score) draws from the
 * rank-th of `candidates` equal slices of [timeoutMs, 1.5·timeoutMs): the best live node times out
 * first and usually wins alone, so the range can be half Raft's without split votes (two
 * survivors: [1, 1.25)·timeoutMs for the better one). Nodes that disagree on ranks fall back to
 * plain randomness within a slice; pre-vote keeps a collision from raising the term.
 */
export function electionTimeoutMs(t: ElectionTimingSettings, rank: number, candidates: number, random: number): number {
  const n = Math.max(1, Math.floor(candidates));
  const k = Math.min(n - 1, Math.max(0, Math.floor(rank)));
  const r = Math.min(0.999999, Math.max(0, random));
  const spread = n === 1 ? 1 : 0.5;
  return t.timeoutMs * (1 + (spread * (k + r)) / n);
}

/** A voter prefers better candidates only this long into a leaderless period (then anyone goes). */
export function preferenceWindowMs(t: ElectionTimingSettings): number {
  return 2 * t.timeoutMs;
}

/** How much better (in score) another live node must be for a voter to refuse a pre-vote early. */
export const PREFERENCE_MARGIN = 0.1;

/**
 * Worst case from the admin's last heartbeat to a new admin, with a majority up and one failed
 * round (a split vote or a lost request): the last heartbeat may be heartbeatMs old, the slowest
 * timeout is 2·timeoutMs, and a retry costs another 2·timeoutMs. The "configured bound" tests use.
 */
export function failoverBoundMs(t: ElectionTimingSettings): number {
  return t.heartbeatMs + 4 * t.timeoutMs;
}
