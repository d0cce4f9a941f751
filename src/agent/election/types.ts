// The election's public types: the election itself and its settings, the narrow transport it
// needs, its clock, its status and events.
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Ballots } from './ballots.js';
import type { ElectionMessage } from './messages.js';
import type { ElectionProof } from './proof.js';
import type { ScoreProvider, ScoreSettings } from './score.js';
import type { VoteStore } from './vote-store.js';

export type ElectionState = 'follower' | 'candidate' | 'admin';

/**
 * What the election needs from the network. `from` handed to the handler MUST be the
 * authenticated sender (GossipSub with strict signing: the signing peer), never an id read from the
 * payload. A transport does not deliver a node's own messages back to it.
 */
export interface ElectionTransport {
  readonly selfId: string;
  /** Sends to every peer of the election (best effort: a lost message is retried by the protocol). */
  broadcast(msg: ElectionMessage): Promise<void>;
  /** Sends to one peer, when the transport can; otherwise the election broadcasts answers. */
  send?(to: string, msg: ElectionMessage): Promise<void>;
  /** Registers the handler; returns the function that removes it (called by `stop()`). */
  onMessage(handler: (from: string, msg: ElectionMessage) => void): () => void;
  /** Peers currently reachable on the election channel. */
  peers(): string[];
}

/**
 * Time for the election's timing logic. Same shape as src/agent/clock.ts's Clock, so its
 * ManualClock fits. The default is monotonic: safety compares durations, and a wall-clock jump
 * must not shorten a lease or a heartbeat timeout.
 */
/** The election's time: the one clock interface (src/util/clock.ts), monotonic by default. */
export type ElectionClock = Clock;

export interface PeerView {
  readonly id: string;
  /** Last score the peer announced (0..1), null if never heard. */
  readonly score: number | null;
  /** Clock time of the last message from it, null if never heard. */
  readonly lastSeenAt: number | null;
  /** Reachable on the election channel now (transport's view). */
  readonly connected: boolean;
}

export interface ElectionStatus {
  readonly self: string;
  /** The admin this node recognises now: itself while it holds a majority lease, or the peer whose
   * heartbeat of the current term it heard within the timeout. */
  readonly admin: string | null;
  readonly term: number;
  readonly state: ElectionState;
  readonly votedFor: string | null;
  /** Clock time of the last heartbeat accepted from an admin, null if none yet. */
  readonly lastHeartbeatAt: number | null;
  readonly score: number;
  readonly clusterSize: number;
  readonly peers: readonly PeerView[];
}

export interface AdminChangedEvent {
  readonly admin: string | null;
  readonly previous: string | null;
  readonly term: number;
  /** This node became (true) or is no longer (false, with previous === self) the admin. */
  readonly isSelf: boolean;
}

export interface StateChangedEvent {
  readonly state: ElectionState;
  readonly previous: ElectionState;
  readonly term: number;
  /** Why: 'timeout' | 'quorum-loss' | 'higher-term' | 'elected' | 'step-down' | 'manual' | 'handoff' | 'stopped' | 'heartbeat'. */
  readonly reason: string;
}

export interface ElectionEvents {
  'admin-changed': AdminChangedEvent;
  'state-changed': StateChangedEvent;
}

export interface StepDownOptions {
  /** The follower to hand off to; by default the best-scored follower that acked recently. */
  readonly handoffTo?: string;
  /** How long to wait for the new admin to be heard (default: timeoutMs). */
  readonly waitMs?: number;
}

export interface StepDownResult {
  /** The follower asked to take over (null when there was none: the cluster elects by timeout). */
  readonly handedOffTo: string | null;
  /** The admin heard before the wait ended, null if none yet. */
  readonly newAdmin: string | null;
}

export interface ElectionInit {
  readonly transport: ElectionTransport;
  /** This node's peer id; must equal transport.selfId. */
  readonly selfId: string;
  /** Agents in the cluster: floor(clusterSize/2)+1 votes win an election. */
  readonly clusterSize: number;
  /** Default 5000 (BZZZ's). */
  readonly heartbeatMs?: number;
  /** Default 15000 (BZZZ's); must be more than 2 × heartbeatMs. */
  readonly timeoutMs?: number;
  /** Where `{term, votedFor}` is kept (election-vote.json). One of dataDir or store is required. */
  readonly dataDir?: string;
  readonly store?: VoteStore;
  /** This node's score inputs; by default uptime, os memory/load and the transport's peer count. */
  readonly scoreProvider?: ScoreProvider;
  readonly scoreSettings?: ScoreSettings;
  /** When given, messages from other peer ids are ignored (the p2p gater should already drop them). */
  readonly members?: readonly string[];
  /**
   * Closed cluster: the member list and this node's signing key. Votes are signed, the admin holds
   * a proof of its election and followers obey only proven heartbeats; clusterSize must equal the
   * member count, and `members` is taken from the list.
   */
  readonly ballots?: Ballots;
  readonly clock?: ElectionClock;
  /** Uniform in [0, 1); injected so simulations are reproducible. */
  readonly random?: () => number;
  readonly log?: Logger;
  /** Told of every message refused (for bzzz_p2p_rejected_total): from a non-member, over its peer's budget, or a term jump without a proof that holds. */
  readonly onRefused?: (reason: ElectionRefusal) => void;
}

export type ElectionRefusal = 'non_member' | 'term_unproven' | 'over_budget';

export interface Election {
  readonly selfId: string;
  readonly clusterSize: number;
  start(): Promise<void>;
  /** Stops taking part. An admin that wants a clean hand-off calls stepDown() first. */
  stop(): Promise<void>;
  status(): ElectionStatus;
  /** Without an argument or with selfId: this node is the admin and holds its majority lease now.
   * With another id: that peer is the admin this node recognises now. */
  isAdmin(peerId?: string): boolean;
  /** For the `bzzz_election_state` gauge: 0 follower, 1 candidate, 2 admin (ELECTION_STATE_NUMBER). */
  stateAsNumber(): number;
  /** Closed cluster, while this node is admin: the signed votes that elected it (shown to share holders). Else null. */
  proof(): ElectionProof | null;
  /** Manual trigger. On the admin: step down and hand off to the best-scored follower. Elsewhere:
   * campaign now instead of waiting for the timeout; voters that still hear a live admin refuse,
   * so a manual trigger never deposes a working admin from outside. */
  triggerElection(): Promise<void>;
  /** Stop acting as admin and hand off (see StepDownOptions); resolves when the successor is heard
   * or after waitMs. A no-op on a non-admin. */
  stepDown(opts?: StepDownOptions): Promise<StepDownResult>;
  on<E extends keyof ElectionEvents>(event: E, listener: (e: ElectionEvents[E]) => void): () => void;
}
