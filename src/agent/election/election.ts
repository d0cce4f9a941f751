// The admin election: the election half of Raft (terms, RequestVote, one durable vote per term,
// a majority of the KNOWN cluster size to win), with Raft's pre-vote and leader stickiness, a
// majority lease for the admin, TimeoutNow-style hand-off, and candidate scores used only where
// they cannot hurt safety.
//
// Safety — at most one admin per term, and at most one admin ACTING at any instant:
//  * A vote is written to disk ({term, votedFor}) before it is sent; a node votes once per term,
//    and a win needs floor(clusterSize/2)+1 votes, counted against the configured cluster size,
//    not the peers in sight. Two majorities intersect, so a term has at most one admin, and a
//    minority partition (2 of 5) never elects.
//  * Stickiness: a voter that accepted a heartbeat or granted a vote less than stickyMs ago
//    ignores vote requests (it does not even adopt their term). The admin acts (isAdmin) only
//    until stickyMs after sending a heartbeat that a majority acked. A later admin needs votes from
//    a majority, which shares a voter with that ack-majority; that voter could vote only stickyMs
//    after it received the heartbeat, i.e. after the old admin's lease ran out. So an old admin on
//    the far side of a partition stops acting before a new one can be elected (quorum loss), and
//    on a timer that fires late, isAdmin() still reads the lease against the clock.
//  * A resign message from the admin releases stickiness at once (the admin voids its lease before
//    sending it), which is what lets a hand-off finish in milliseconds instead of a timeout.
//  * A restarted node is sticky for stickyMs from boot: it may have acked an admin just before it
//    went down and has forgotten when.
//  * Only durations are compared, each on its own node's monotonic clock: the lease argument
//    assumes clocks tick at (nearly) the same rate, not that they agree on the time.
//
// Liveness — an election completes whenever a majority is up and connected:
//  * Election timeouts are random in [timeoutMs, 2·timeoutMs), or staggered by score rank in
//    [timeoutMs, 1.5·timeoutMs) (timing.ts), so split votes resolve; always longer than stickyMs
//    (voters have let go of the old admin when a candidate asks).
//  * Pre-vote: a candidate first asks "would you vote for me in term+1?"; only with a majority of
//    yes does it raise its term. A node cut off in a minority never inflates the term, so when the
//    partition heals it does not depose the working admin.
//  * Candidate requests are re-sent every heartbeatMs (message loss), and the hand-off target's
//    request that outruns the resign message is kept and answered when the resign arrives.
//
// Scores (score.ts) steer who wins without touching the rules above:
//  * Staggered timeouts: among the live candidates a node knows (itself included; not the admin it
//    follows or lost), the k-th best of n draws its timeout from the k-th of n slices of
//    [timeoutMs, 1.5·timeoutMs) (timing.ts). The best survivor goes first and usually alone.
//  * Early in a leaderless period (the first 2·timeoutMs) a voter refuses a PRE-vote to a candidate
//    when it knows a live node (heard within 2·timeoutMs, not the admin it lost, not resigned —
//    itself included) scoring at least PREFERENCE_MARGIN more: that node's timeout fires within
//    this window. Real votes never look at scores, and after the window anyone goes, so a dead
//    "better" node delays an election by at most the window.
//  * Step-down hands off to the best-scored follower that acked a heartbeat within timeoutMs (right
//    after winning, before any ack: the best-scored member heard from within timeoutMs).
//  * Who is live and how good: every message carries its sender's score; the admin's heartbeat
//    carries the roster of followers that acked recently (followers answer only the admin); and
//    followers with no admin in sight announce themselves every max(heartbeatMs, timeoutMs/3).
//
// Closed clusters (init.ballots: the member list and this node's key) — the admin is provable:
//  * Only members are heard (the p2p gater already keeps others out; this is defence in depth).
//  * A granted real vote is signed by the voter (ballots.ts); a candidate counts only grants whose
//    signature verifies, and on winning holds the proof of its election (proof.ts): the signed
//    votes of a majority of the member list. Its heartbeats carry that proof, and a follower obeys
//    a heartbeat only when the proof is for that sender and that term (checked once per term). A
//    member that merely claims term+1 is not followed; share holders ask for the same proof.
//  * A term more than MAX_TERM_STEP above this node's is ignored unless the message proves it (a
//    heartbeat's own proof, or the newest proof a candidate's request carries), and a term above
//    MAX_TERM never gets past the parser (terms.ts). A resign is honoured only from the admin this
//    node follows in that term.
import { EventEmitter } from 'node:events';
import { InvalidInputError } from '../../util/errors.js';
import { logger, type Logger } from '../../util/log.js';
import { AdminLease } from './admin-lease.js';
import { monotonicClock, type Timer } from '../../util/clock.js';
import { createMessageBudget, type MessageBudget } from './message-budget.js';
import {
  MAX_ROSTER,
  type ElectionMessage,
  type HeartbeatAckMessage,
  type HeartbeatMessage,
  type ResignMessage,
  type VoteMessage,
  type VoteRequestMessage,
} from './messages.js';
import { MAX_STATUS_PEERS, PeerTable } from './peer-table.js';
import type { Ballots } from './ballots.js';
import type { ElectionProof, SignedVote } from './proof.js';
import { MAX_TERM, MAX_TERM_STEP, isTerm } from './terms.js';
import { computeScore, DEFAULT_SCORE_SETTINGS, systemScoreProvider, type ScoreProvider, type ScoreSettings } from './score.js';
import { electionTimeoutMs, PREFERENCE_MARGIN, preferenceWindowMs, stickyMs, validateTiming } from './timing.js';
import type {
  AdminChangedEvent,
  Election,
  ElectionClock,
  ElectionEvents,
  ElectionInit,
  ElectionRefusal,
  ElectionState,
  ElectionStatus,
  ElectionTransport,
  PeerView,
  StateChangedEvent,
  StepDownOptions,
  StepDownResult,
} from './types.js';
import { fileVoteStore, type VoteStore } from './vote-store.js';

/** Mapping of `bzzz_election_state`. */
export const ELECTION_STATE_NUMBER: Readonly<Record<ElectionState, number>> = { follower: 0, candidate: 1, admin: 2 };

export function createElection(init: ElectionInit): Election {
  return new ElectionNode(init);
}

interface Campaign {
  phase: 'pre' | 'real';
  electionTerm: number;
  grants: Set<string>;
  /** Closed clusters, real phase: the verified signature of each grant (own included). */
  sigs: Map<string, string>;
  startedAt: number;
  nextRetransmitAt: number;
  reason: string;
}

type Outgoing = { to: string | null; msg: ElectionMessage };

class ElectionNode implements Election {
  readonly selfId: string;
  readonly clusterSize: number;
  private readonly transport: ElectionTransport;
  private readonly timing: { heartbeatMs: number; timeoutMs: number };
  private readonly sticky: number;
  private readonly majority: number;
  private readonly store: VoteStore;
  private readonly clock: ElectionClock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly scoreProvider: ScoreProvider;
  private readonly scoreSettings: ScoreSettings;
  private readonly members: ReadonlySet<string> | null;
  private readonly ballots: Ballots | null;
  private readonly onRefused: (reason: ElectionRefusal) => void;
  private readonly budget: MessageBudget;
  private readonly events = new EventEmitter();
  /** While admin in a closed cluster: the proof of this node's election. */
  private ownProof: ElectionProof | null = null;
  /** The newest proof of election this node verified or made (sent with vote requests: lagging voters catch up). */
  private latestProof: ElectionProof | null = null;
  private lastRefusalLogAt = -Infinity;

  // Durable.
  private term: number;
  private votedFor: string | null;

  // Volatile.
  private state: ElectionState = 'follower';
  private running = false;
  private campaign: Campaign | null = null;
  /** The admin of the current term, once its heartbeat was accepted. */
  private adminId: string | null = null;
  /** The admin this node last followed (kept across terms): excluded from "live better candidates". */
  private lastAdminId: string | null = null;
  /** Last heartbeat accepted or vote granted; −∞ once the admin resigned. Drives stickiness. */
  private contactAt = -Infinity;
  /** Start of the current leaderless period (for the preference window). */
  private quietSince = 0;
  private lastHeartbeatAt: number | null = null;
  private electionDeadline = Infinity;
  private nextAnnounceAt = 0;
  private readonly peers: PeerTable;
  private selfResignedAt: number | null = null;
  /** Real vote requests ignored while sticky: the hand-off target's may arrive before the resign. */
  private readonly earlyRequests = new Map<string, VoteRequestMessage>();

  // Admin.
  private readonly lease: AdminLease;
  private nextHeartbeatAt = Infinity;

  private timer: Timer | null = null;
  private visibleAdmin: string | null = null;
  private outbox: Outgoing[] = [];
  private inRun = false;
  private unsubscribe: (() => void) | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(init: ElectionInit) {
    if (init.selfId !== init.transport.selfId) {
      throw new InvalidInputError(
        `election selfId ${init.selfId} differs from the transport's ${init.transport.selfId}: give the election the id of the node whose transport it uses`,
      );
    }
    if (!Number.isSafeInteger(init.clusterSize) || init.clusterSize < 1) {
      throw new InvalidInputError(
        `election clusterSize ${init.clusterSize} must be a whole number of agents, at least 1 (the quorum is a majority of it)`,
      );
    }
    this.timing = { heartbeatMs: init.heartbeatMs ?? 5000, timeoutMs: init.timeoutMs ?? 15000 };
    validateTiming(this.timing);
    if (init.store === undefined && init.dataDir === undefined) {
      throw new InvalidInputError(
        'election needs dataDir (or a store) to keep its vote across restarts: without it a restarted agent could vote twice in one term',
      );
    }
    this.selfId = init.selfId;
    this.clusterSize = init.clusterSize;
    this.transport = init.transport;
    this.sticky = stickyMs(this.timing);
    this.majority = Math.floor(init.clusterSize / 2) + 1;
    this.store = init.store ?? fileVoteStore(init.dataDir as string);
    this.clock = init.clock ?? monotonicClock;
    this.random = init.random ?? Math.random;
    this.log = init.log ?? logger('election');
    this.onRefused = init.onRefused ?? (() => undefined);
    // A healthy election sends a few messages per heartbeat per peer; 20 heartbeats' worth per
    // second (at least 50/s) with a burst of twice that only ever cuts a flood.
    const perSecond = Math.max(50, (20 * 1000) / Math.max(1, init.heartbeatMs ?? 5000));
    this.budget = createMessageBudget({ ratePerSecond: perSecond, burst: 2 * perSecond, clock: this.clock, maxPeers: 1000 });
    this.scoreSettings = init.scoreSettings ?? DEFAULT_SCORE_SETTINGS;
    this.scoreProvider =
      init.scoreProvider ??
      systemScoreProvider({
        startedAt: this.clock.now(),
        now: () => this.clock.now(),
        connectedPeers: () => this.transport.peers().length,
      });
    this.ballots = init.ballots ?? null;
    if (this.ballots !== null && this.ballots.members.members.length !== init.clusterSize) {
      throw new InvalidInputError(
        `election clusterSize ${init.clusterSize} differs from the member list's ${this.ballots.members.members.length} members: in a closed cluster the majority is counted over the member list`,
      );
    }
    if (this.ballots !== null && !this.ballots.members.has(init.selfId)) {
      throw new InvalidInputError(`election selfId ${init.selfId} is not on the member list of cluster ${this.ballots.members.cluster}`);
    }
    const memberIds = this.ballots !== null ? this.ballots.members.members.map((m) => m.peerId) : init.members;
    this.members = memberIds === undefined ? null : new Set(memberIds);
    this.peers = new PeerTable(this.members);
    this.lease = new AdminLease(this.sticky, this.majority);
    const persisted = this.store.load();
    this.term = persisted.term;
    this.votedFor = persisted.votedFor;
  }

  // ---------------------------------------------------------------- lifecycle and queries

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    // We may have acked an admin just before going down: stay sticky for a full period.
    this.contactAt = now;
    this.quietSince = now;
    this.nextAnnounceAt = now;
    this.electionDeadline = now + this.drawTimeout();
    this.unsubscribe = this.transport.onMessage((from, msg) => this.receive(from, msg));
    this.log.info({ self: this.selfId, term: this.term, clusterSize: this.clusterSize, ...this.timing }, 'election started');
    this.run(() => undefined);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.timer?.cancel();
    this.timer = null;
    const wasAdmin = this.state === 'admin';
    this.lease.end();
    this.campaign = null;
    this.setState('follower', 'stopped');
    this.adminId = null;
    this.emitAdminChange(this.clock.now());
    for (const w of [...this.waiters]) w();
    this.log.info({ self: this.selfId, term: this.term, wasAdmin }, 'election stopped');
  }

  status(): ElectionStatus {
    const now = this.clock.now();
    const connected = new Set(this.transport.peers());
    const ids = new Set<string>([...connected, ...this.peers.ids()]);
    ids.delete(this.selfId);
    if (this.members !== null) for (const id of ids) if (!this.members.has(id)) ids.delete(id);
    // Bounded: by the member list in a closed cluster, by MAX_STATUS_PEERS in an open one.
    const peers: PeerView[] = [...ids]
      .sort()
      .slice(0, MAX_STATUS_PEERS)
      .map((id) => {
        const p = this.peers.get(id);
        return { id, score: p?.score ?? null, lastSeenAt: p?.lastSeenAt ?? null, connected: connected.has(id) };
      });
    return {
      self: this.selfId,
      admin: this.currentAdmin(now),
      term: this.term,
      state: this.state,
      votedFor: this.votedFor,
      lastHeartbeatAt: this.lastHeartbeatAt,
      score: this.score(),
      clusterSize: this.clusterSize,
      peers,
    };
  }

  isAdmin(peerId: string = this.selfId): boolean {
    const now = this.clock.now();
    return this.running && this.currentAdmin(now) === peerId;
  }

  stateAsNumber(): number {
    return ELECTION_STATE_NUMBER[this.state];
  }

  proof(): ElectionProof | null {
    return this.running && this.state === 'admin' ? this.ownProof : null;
  }

  async triggerElection(): Promise<void> {
    if (!this.running) return;
    if (this.state === 'admin') {
      await this.stepDown();
      return;
    }
    this.run((now) => this.startPreVote(now, 'manual'));
  }

  async stepDown(opts: StepDownOptions = {}): Promise<StepDownResult> {
    const now = this.clock.now();
    if (!this.running || this.state !== 'admin') return { handedOffTo: null, newAdmin: this.running ? this.currentAdmin(now) : null };
    const target = this.peers.successor(now, this.timing.timeoutMs, opts.handoffTo);
    const waitMs = opts.waitMs ?? this.timing.timeoutMs;
    const result = new Promise<StepDownResult>((resolve) => {
      let handle: Timer | null = null;
      const done = (): void => {
        off();
        handle?.cancel();
        this.waiters.delete(done);
        resolve({ handedOffTo: target, newAdmin: this.running ? this.currentAdmin(this.clock.now()) : null });
      };
      const off = this.on('admin-changed', (e) => {
        if (e.admin !== null && e.admin !== this.selfId) done();
      });
      handle = this.clock.setTimeout(done, waitMs);
      this.waiters.add(done);
    });
    this.run((t) => this.resign(t, target, 'step-down'));
    return result;
  }

  on<E extends keyof ElectionEvents>(event: E, listener: (e: ElectionEvents[E]) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  // ---------------------------------------------------------------- the run loop

  /**
   * Every entry point (timer, message, API call) runs here: first the time-driven transitions due
   * now, then the action, then events; messages queued meanwhile are sent only at the end, after
   * the vote they may carry is on disk. If writing the vote fails, nothing is sent.
   */
  private run(action: (now: number) => void): void {
    if (!this.running) return;
    const now = this.clock.now();
    if (this.inRun) {
      // Called from an event listener inside a run: the outer run sends and re-arms.
      action(now);
      return;
    }
    this.inRun = true;
    try {
      this.expire(now);
      action(now);
      this.expire(now);
    } catch (err) {
      this.outbox = [];
      this.log.error({ err, self: this.selfId, term: this.term }, 'election step failed; nothing sent');
    } finally {
      this.inRun = false;
    }
    const out = this.outbox;
    this.outbox = [];
    for (const { to, msg } of out) this.transmit(to, msg);
    this.emitAdminChange(now);
    this.arm(now);
  }

  private expire(now: number): void {
    if (this.state === 'admin') {
      // Quorum loss: no majority ack for stickyMs (and no longer inside the first stickyMs after
      // winning, when the first heartbeat's acks may still be on the way).
      if (this.lease.lost(now)) {
        this.log.warn({ self: this.selfId, term: this.term }, 'admin lost its majority; stepping down');
        this.dropAdmin();
        this.quietSince = now;
        this.electionDeadline = now + this.drawTimeout();
        this.setState('follower', 'quorum-loss');
        return;
      }
      if (now >= this.nextHeartbeatAt) this.sendHeartbeat(now);
      return;
    }
    if (this.campaign !== null && now >= this.campaign.nextRetransmitAt && now < this.electionDeadline) {
      this.campaign.nextRetransmitAt = now + this.timing.heartbeatMs;
      this.queue(null, this.voteRequest(this.campaign));
    }
    if (now >= this.electionDeadline) {
      this.startPreVote(now, 'timeout');
      return;
    }
    if (this.state === 'follower' && this.currentAdmin(now) === null && now >= this.nextAnnounceAt) {
      // Often enough for voters to know who is live before anyone's timeout, rare enough not to
      // flood a leaderless cluster.
      this.nextAnnounceAt = now + Math.max(this.timing.heartbeatMs, this.timing.timeoutMs / 3);
      this.queue(null, { type: 'announce', term: this.term, score: this.score() });
    }
  }

  private arm(now: number): void {
    this.timer?.cancel();
    this.timer = null;
    if (!this.running) return;
    const due: number[] = [];
    if (this.state === 'admin') {
      due.push(this.nextHeartbeatAt, this.lease.nextChangeAt(now));
    } else {
      due.push(this.electionDeadline);
      if (this.campaign !== null) due.push(this.campaign.nextRetransmitAt);
      if (this.lastHeartbeatAt !== null && this.adminId !== null) {
        const hidden = this.lastHeartbeatAt + this.timing.timeoutMs;
        if (hidden > now) due.push(hidden);
      }
      if (this.state === 'follower' && this.currentAdmin(now) === null) due.push(this.nextAnnounceAt);
    }
    const next = Math.min(...due.filter((t) => Number.isFinite(t)));
    if (!Number.isFinite(next)) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.run(() => undefined);
      },
      Math.max(0, next - now),
    );
  }

  // ---------------------------------------------------------------- receiving

  private receive(from: string, msg: ElectionMessage): void {
    if (!this.running || from === this.selfId) return;
    if (this.members !== null && !this.members.has(from)) {
      this.log.debug({ from, type: msg.type }, 'election message from a non-member ignored');
      this.onRefused('non_member');
      return;
    }
    if (!this.budget.take(from)) {
      this.onRefused('over_budget');
      return;
    }
    const refusal = this.termRefusal(from, msg);
    if (refusal !== null) {
      this.logRefusal(from, msg, refusal);
      this.onRefused('term_unproven');
      return;
    }
    this.run((now) => {
      this.peers.heard(from, msg.score, now);
      switch (msg.type) {
        case 'heartbeat':
          return this.onHeartbeat(from, msg, now);
        case 'heartbeat-ack':
          return this.onAck(from, msg, now);
        case 'vote-request':
          return this.onVoteRequest(from, msg, now);
        case 'vote':
          return this.onVote(from, msg, now);
        case 'resign':
          return this.onResign(from, msg, now);
        case 'announce':
          return undefined;
      }
    });
  }

  private onHeartbeat(from: string, m: HeartbeatMessage, now: number): void {
    if (m.term < this.term) {
      // A stale admin: our higher term tells it to step down.
      this.queue(from, { type: 'heartbeat-ack', term: this.term, score: this.score(), to: from, seq: m.seq, ok: false });
      return;
    }
    if (this.ballots !== null) {
      // Closed cluster: only a proven admin is followed (its term is not even adopted otherwise).
      const verdict =
        m.proof === undefined
          ? { ok: false as const, reason: 'the heartbeat carries no proof of election' }
          : this.ballots.verifyProof(m.proof, from, m.term);
      if (!verdict.ok) {
        this.logRefusal(from, m, `heartbeat without a valid proof of election: ${verdict.reason}`);
        return;
      }
      this.noteProof(m.proof as ElectionProof);
    }
    if (m.term > this.term) this.adoptTerm(m.term, now, 'higher-term');
    if (this.state === 'admin' || (this.adminId !== null && this.adminId !== from)) {
      // Two admins in one term would need two majorities of votes: this is a bug, never obey it.
      this.log.error(
        { self: this.selfId, term: this.term, from, admin: this.state === 'admin' ? this.selfId : this.adminId },
        'second admin heartbeat in one term ignored',
      );
      return;
    }
    this.adminId = from;
    this.lastAdminId = from;
    for (const e of m.roster) if (e.id !== this.selfId && e.id !== from) this.peers.mentioned(e.id, e.score, now);
    this.campaign = null;
    this.setState('follower', 'heartbeat');
    this.contactAt = now;
    this.quietSince = now;
    this.lastHeartbeatAt = now;
    this.electionDeadline = now + this.drawTimeout();
    this.queue(from, { type: 'heartbeat-ack', term: this.term, score: this.score(), to: from, seq: m.seq, ok: true });
  }

  private onAck(from: string, m: HeartbeatAckMessage, now: number): void {
    if (m.to !== this.selfId) return;
    if (m.term > this.term) {
      this.adoptTerm(m.term, now, 'higher-term');
      return;
    }
    if (this.state !== 'admin' || m.term !== this.term || !m.ok) return;
    this.peers.acked(from, now);
    this.lease.ack(m.seq, from);
  }

  private onVoteRequest(from: string, m: VoteRequestMessage, now: number): void {
    if (m.prevote) {
      const granted = this.wouldVote(from, m, now);
      this.queue(from, {
        type: 'vote',
        term: this.term,
        score: this.score(),
        to: from,
        electionTerm: m.electionTerm,
        prevote: true,
        granted,
      });
      return;
    }
    if (this.isSticky(now)) {
      // Raft §4.2.3: a live admin is in sight, so this request is ignored (term not adopted).
      if (m.term > this.term) this.earlyRequests.set(from, m);
      return;
    }
    if (m.term < this.term) {
      this.queue(from, {
        type: 'vote',
        term: this.term,
        score: this.score(),
        to: from,
        electionTerm: m.electionTerm,
        prevote: false,
        granted: false,
      });
      return;
    }
    if (m.term > this.term) this.adoptTerm(m.term, now, 'higher-term');
    const granted = this.votedFor === null || this.votedFor === from;
    if (granted) {
      if (this.votedFor !== from) {
        this.votedFor = from;
        this.persist();
      }
      this.contactAt = now;
      this.electionDeadline = now + this.drawTimeout();
    }
    // The signature makes the vote transferable: the candidate shows it to others as proof.
    const sig = granted && this.ballots !== null ? this.ballots.sign(m.electionTerm, from) : undefined;
    this.queue(from, {
      type: 'vote',
      term: this.term,
      score: this.score(),
      to: from,
      electionTerm: m.electionTerm,
      prevote: false,
      granted,
      ...(sig === undefined ? {} : { sig }),
    });
  }

  private onVote(from: string, m: VoteMessage, now: number): void {
    if (m.to !== this.selfId) return;
    if (m.term > this.term && !(m.prevote && m.granted)) {
      this.adoptTerm(m.term, now, 'higher-term');
      return;
    }
    const c = this.campaign;
    if (c === null || !m.granted || c.phase !== (m.prevote ? 'pre' : 'real') || c.electionTerm !== m.electionTerm) return;
    if (this.ballots !== null && c.phase === 'real') {
      if (m.sig === undefined || !this.ballots.verifyVote(from, m.electionTerm, this.selfId, m.sig)) {
        this.logRefusal(from, m, 'a granted vote without a valid signature is not counted');
        return;
      }
      c.sigs.set(from, m.sig);
    }
    c.grants.add(from);
    this.checkCampaign(now);
  }

  private onResign(from: string, m: ResignMessage, now: number): void {
    if (m.term < this.term) return;
    if (m.term > this.term) this.adoptTerm(m.term, now, 'higher-term');
    this.peers.resigned(from, now);
    // Only the admin this node follows in this term can resign it (and name a successor).
    if (this.state === 'admin' || this.adminId !== from) return;
    this.log.info({ self: this.selfId, term: this.term, from, handoffTo: m.handoffTo }, 'admin resigned');
    this.adminId = null;
    this.contactAt = -Infinity;
    this.quietSince = now;
    if (m.handoffTo === this.selfId) {
      this.startRealCampaign(now, 'handoff');
      return;
    }
    if (this.campaign === null) this.electionDeadline = now + this.drawTimeout();
    const early = m.handoffTo === null ? undefined : this.earlyRequests.get(m.handoffTo);
    if (early !== undefined && m.handoffTo !== null) {
      this.earlyRequests.delete(m.handoffTo);
      this.onVoteRequest(m.handoffTo, early, now);
    }
  }

  // ---------------------------------------------------------------- decisions

  /** Sticky: a live admin (or our own lease, or a vote we just granted) is in sight. */
  private isSticky(now: number): boolean {
    if (this.state === 'admin') return this.lease.protects(now);
    return now - this.contactAt < this.sticky;
  }

  /** The pre-vote answer: would a real request for m.electionTerm get our vote now? */
  private wouldVote(from: string, m: VoteRequestMessage, now: number): boolean {
    if (this.isSticky(now)) return false;
    if (m.electionTerm < this.term) return false;
    if (m.electionTerm === this.term && this.votedFor !== null && this.votedFor !== from) return false;
    return !this.prefersAnother(from, m.score, now);
  }

  /** Early in a leaderless period, is a clearly better live node (maybe this one) about to run? */
  private prefersAnother(candidate: string, candidateScore: number, now: number): boolean {
    const window = preferenceWindowMs(this.timing);
    if (now - this.quietSince >= window) return false;
    const bar = candidateScore + PREFERENCE_MARGIN;
    const selfEligible = this.selfResignedAt === null || now - this.selfResignedAt >= window;
    if (selfEligible && this.score() > bar) return true;
    for (const [id, p] of this.peers.liveCandidates(now, window, this.notCandidates())) if (id !== candidate && p.score > bar) return true;
    return false;
  }

  // ---------------------------------------------------------------- transitions

  /** Becomes a candidate for `electionTerm`: our own grant counted, the election deadline drawn. */
  private beginCampaign(phase: 'pre' | 'real', electionTerm: number, now: number, reason: string): Campaign {
    const campaign: Campaign = {
      phase,
      electionTerm,
      grants: new Set([this.selfId]),
      sigs: new Map(),
      startedAt: now,
      nextRetransmitAt: now + this.timing.heartbeatMs,
      reason,
    };
    this.campaign = campaign;
    this.setState('candidate', reason);
    this.electionDeadline = now + this.drawTimeout();
    return campaign;
  }

  private startPreVote(now: number, reason: string): void {
    const campaign = this.beginCampaign('pre', this.term + 1, now, reason);
    this.queue(null, this.voteRequest(campaign));
    this.checkCampaign(now);
  }

  private startRealCampaign(now: number, reason: string): void {
    if (this.term >= MAX_TERM) {
      this.log.error(
        { self: this.selfId, term: this.term },
        `term ${this.term} is at the limit ${MAX_TERM}: no further election is possible`,
      );
      return;
    }
    this.term += 1;
    this.votedFor = this.selfId;
    this.persist();
    this.adminId = null;
    this.earlyRequests.clear();
    this.contactAt = now;
    const campaign = this.beginCampaign('real', this.term, now, reason);
    if (this.ballots !== null) campaign.sigs.set(this.selfId, this.ballots.sign(this.term, this.selfId));
    this.log.info({ self: this.selfId, term: this.term, reason }, 'campaigning');
    this.queue(null, this.voteRequest(campaign));
    this.checkCampaign(now);
  }

  private checkCampaign(now: number): void {
    const c = this.campaign;
    if (c === null || c.grants.size < this.majority) return;
    if (c.phase === 'pre') this.startRealCampaign(now, c.reason);
    else this.becomeAdmin(now, c);
  }

  private becomeAdmin(now: number, c: Campaign): void {
    this.campaign = null;
    this.adminId = this.selfId;
    this.lastAdminId = this.selfId;
    this.lease.begin(now, c.startedAt);
    this.selfResignedAt = null;
    if (this.ballots !== null) {
      // The smallest proof: a majority of the signed grants, own first.
      const votes: SignedVote[] = [...c.sigs].slice(0, this.majority).map(([voter, sig]) => ({ voter, sig }));
      this.ownProof = { v: 1, cluster: this.ballots.members.cluster, term: this.term, admin: this.selfId, votes };
      this.noteProof(this.ownProof);
    }
    this.setState('admin', 'elected');
    this.log.info({ self: this.selfId, term: this.term, votes: [...c.grants].sort() }, 'elected admin');
    this.sendHeartbeat(now);
  }

  private sendHeartbeat(now: number): void {
    const seq = this.lease.heartbeat(now);
    this.nextHeartbeatAt = now + this.timing.heartbeatMs;
    const roster = this.peers.roster(now, Math.min(3 * this.timing.heartbeatMs, this.timing.timeoutMs), MAX_ROSTER);
    this.queue(null, {
      type: 'heartbeat',
      term: this.term,
      score: this.score(),
      seq,
      roster,
      ...(this.ownProof === null ? {} : { proof: this.ownProof }),
    });
  }

  private resign(now: number, target: string | null, reason: string): void {
    if (this.state !== 'admin') return;
    this.log.info({ self: this.selfId, term: this.term, handoffTo: target, reason }, 'admin stepping down');
    // Stop acting before anyone can hear that we resigned.
    this.dropAdmin();
    this.contactAt = -Infinity;
    this.quietSince = now;
    this.selfResignedAt = now;
    this.electionDeadline = now + this.drawTimeout();
    this.setState('follower', reason);
    this.queue(null, { type: 'resign', term: this.term, score: this.score(), handoffTo: target });
  }

  private dropAdmin(): void {
    this.lease.end();
    this.ownProof = null;
    this.adminId = null;
    this.nextHeartbeatAt = Infinity;
  }

  private adoptTerm(term: number, now: number, reason: string): void {
    if (!isTerm(term) || term <= this.term) return; // receive() refuses these; never persist one
    const wasAdmin = this.state === 'admin';
    if (wasAdmin && this.lease.holds(now)) {
      this.log.warn(
        { self: this.selfId, term: this.term, newTerm: term },
        'admin saw a higher term while holding its lease; stepping down',
      );
    }
    this.term = term;
    this.votedFor = null;
    this.persist();
    this.campaign = null;
    this.adminId = null;
    for (const [id, r] of this.earlyRequests) if (r.term <= term) this.earlyRequests.delete(id);
    if (wasAdmin) {
      this.dropAdmin();
      this.quietSince = now;
      this.electionDeadline = now + this.drawTimeout();
    }
    this.setState('follower', reason);
  }

  // ---------------------------------------------------------------- helpers

  private currentAdmin(now: number): string | null {
    if (!this.running) return null;
    if (this.state === 'admin') return this.lease.holds(now) ? this.selfId : null;
    if (this.adminId !== null && this.lastHeartbeatAt !== null && now - this.lastHeartbeatAt < this.timing.timeoutMs) return this.adminId;
    return null;
  }

  private emitAdminChange(now: number): void {
    const admin = this.currentAdmin(now);
    if (admin === this.visibleAdmin) return;
    const previous = this.visibleAdmin;
    this.visibleAdmin = admin;
    const e: AdminChangedEvent = { admin, previous, term: this.term, isSelf: admin === this.selfId || previous === this.selfId };
    this.log.info({ self: this.selfId, ...e }, 'admin changed');
    this.events.emit('admin-changed', e);
  }

  private setState(state: ElectionState, reason: string): void {
    if (state === this.state) return;
    const e: StateChangedEvent = { state, previous: this.state, term: this.term, reason };
    this.state = state;
    this.events.emit('state-changed', e);
  }

  private voteRequest(c: Campaign): VoteRequestMessage {
    const proof = c.phase === 'real' ? this.latestProof : null;
    return {
      type: 'vote-request',
      term: this.term,
      score: this.score(),
      electionTerm: c.electionTerm,
      prevote: c.phase === 'pre',
      ...(proof === null ? {} : { proof }),
    };
  }

  /**
   * Null when the terms `msg` carries may be looked at; otherwise why not. A term more than
   * MAX_TERM_STEP ahead of ours passes only with a verified proof (terms.ts says why).
   */
  private termRefusal(from: string, msg: ElectionMessage): string | null {
    const highest = Math.max(msg.term, 'electionTerm' in msg ? msg.electionTerm : 0);
    if (highest <= this.term + MAX_TERM_STEP) return null;
    const why = `term ${highest} is more than ${MAX_TERM_STEP} above this node's ${this.term}`;
    // An open cluster has no proofs: there, an admin's heartbeat is the only way a lagging node
    // catches up, and anyone could send one anyway (that is what --insecure-open-cluster means).
    if (this.ballots === null) return msg.type === 'heartbeat' ? null : `${why}, and an open cluster has no proofs`;
    if (msg.type === 'heartbeat' && msg.proof !== undefined) {
      const v = this.ballots.verifyProof(msg.proof, from, msg.term);
      if (v.ok) this.noteProof(msg.proof);
      return v.ok ? null : `${why}, and its proof does not hold: ${v.reason}`;
    }
    if (msg.type === 'vote-request' && msg.proof !== undefined) {
      if (msg.proof.term < highest - MAX_TERM_STEP) return `${why}, and its newest proof (term ${msg.proof.term}) is older still`;
      const v = this.ballots.verifyProof(msg.proof, msg.proof.admin);
      if (v.ok) this.noteProof(msg.proof);
      return v.ok ? null : `${why}, and its proof does not hold: ${v.reason}`;
    }
    return `${why}, with no proof`;
  }

  private noteProof(proof: ElectionProof): void {
    if (this.latestProof === null || proof.term > this.latestProof.term) this.latestProof = proof;
  }

  /** A refused message is logged at warn level at most once a second (a flood must not flood the log too). */
  private logRefusal(from: string, msg: ElectionMessage, reason: string): void {
    const now = this.clock.now();
    if (now - this.lastRefusalLogAt < 1000) return;
    this.lastRefusalLogAt = now;
    this.log.warn({ self: this.selfId, term: this.term, from, type: msg.type, reason }, 'election message refused');
  }

  /** This node's election timeout, staggered by its rank among the live candidates it knows. */
  private drawTimeout(): number {
    const now = this.clock.now();
    const { rank, candidates } = this.peers.rank(this.selfId, this.score(), now, preferenceWindowMs(this.timing), this.notCandidates());
    return electionTimeoutMs(this.timing, rank, candidates, this.random());
  }

  /** The admin we follow or lost is not a candidate (a dead admin would otherwise outrank everyone). */
  private notCandidates(): (string | null)[] {
    return [this.adminId, this.lastAdminId];
  }

  private score(): number {
    try {
      return computeScore(this.scoreProvider(), this.clusterSize, this.scoreSettings);
    } catch (err) {
      this.log.warn({ err }, 'score provider failed; using 0');
      return 0;
    }
  }

  private persist(): void {
    this.store.save({ term: this.term, votedFor: this.votedFor });
  }

  private queue(to: string | null, msg: ElectionMessage): void {
    this.outbox.push({ to, msg });
  }

  private transmit(to: string | null, msg: ElectionMessage): void {
    const send = to !== null && this.transport.send !== undefined ? this.transport.send(to, msg) : this.transport.broadcast(msg);
    send.catch((err: unknown) => this.log.debug({ err, type: msg.type, to }, 'election message not sent'));
  }
}
