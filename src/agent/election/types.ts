// The election's public types: the narrow transport it needs, its clock, its status and events.
import type { ElectionMessage } from './messages.js';

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
export interface ElectionClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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
