// The admin's majority lease: how long this node may act as admin. It runs until stickyMs after
// SENDING a heartbeat that a majority (this node included) acked — counted from the send, not from
// when the acks arrived, because each voter's stickiness counts from when it received that
// heartbeat, which is after the send. Right after winning, it runs from when the first vote
// request went out (every voter granted after that and is sticky from its grant).
export class AdminLease {
  private since = 0;
  private until = -Infinity;
  private seq = 0;
  private readonly sent = new Map<number, { at: number; acks: Set<string> }>();

  constructor(
    private readonly stickyMs: number,
    private readonly majority: number,
  ) {}

  /** Won an election at `now`; the winning campaign's first request went out at `requestedAt`. */
  begin(now: number, requestedAt: number): void {
    this.since = now;
    this.until = requestedAt + this.stickyMs;
    this.seq = 0;
    this.sent.clear();
  }

  /** Stop acting at once (step-down, higher term, quorum loss). */
  end(): void {
    this.until = -Infinity;
    this.sent.clear();
  }

  /** A heartbeat goes out now; returns its sequence number. */
  heartbeat(now: number): number {
    this.seq += 1;
    this.sent.set(this.seq, { at: now, acks: new Set() });
    // Older heartbeats can no longer extend the lease.
    for (const [seq, s] of this.sent) if (s.at + this.stickyMs <= now) this.sent.delete(seq);
    if (this.majority <= 1) this.until = Math.max(this.until, now + this.stickyMs);
    return this.seq;
  }

  ack(seq: number, from: string): void {
    const s = this.sent.get(seq);
    if (s === undefined) return;
    s.acks.add(from);
    if (s.acks.size + 1 >= this.majority) this.until = Math.max(this.until, s.at + this.stickyMs);
  }

  /** May act as admin now. */
  holds(now: number): boolean {
    return now < this.until;
  }

  /** Quorum lost: no lease, and the first stickyMs after winning (first acks in flight) are over. */
  lost(now: number): boolean {
    return now >= this.until && now >= this.since + this.stickyMs;
  }

  /** Votes must wait: the lease runs, or acks for a fresh win may still be on the way. */
  protects(now: number): boolean {
    return !this.lost(now);
  }

  /** When `holds` or `lost` next changes. */
  nextChangeAt(now: number): number {
    return this.until > now ? this.until : Math.max(this.until, this.since + this.stickyMs);
  }
}
