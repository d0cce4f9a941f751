// The allowlist of peer IDs (the member list's, in a closed cluster; null in an open one), enforced by a libp2p connection gater in both directions:
// dials to other peers are not made, and connections from them are dropped right after the
// Noise handshake proves who they are (before any protocol runs). The list can be changed at
// run time (a member added or removed); existing connections to peers no longer allowed are
// closed by the node (see P2PNode.setAllowedPeers).
import type { ConnectionGater, PeerId } from '@libp2p/interface';

export interface PeerAllowlist {
  readonly gater: ConnectionGater;
  /** null: every peer is allowed. */
  allowed(): ReadonlySet<string> | null;
  set(peerIds: Iterable<string> | null): void;
  isAllowed(peerId: PeerId | string): boolean;
}

export function createPeerAllowlist(initial: Iterable<string> | null | undefined): PeerAllowlist {
  let allowed: Set<string> | null = initial == null ? null : new Set(initial);
  const isAllowed = (peerId: PeerId | string): boolean => allowed === null || allowed.has(peerId.toString());
  const deny = (peerId: PeerId): boolean => !isAllowed(peerId);
  return {
    gater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      // A dial by address alone (host:port bootstrap) learns the peer ID only here.
      denyOutboundEncryptedConnection: deny,
    },
    allowed: () => allowed,
    set(peerIds) {
      allowed = peerIds === null ? null : new Set(peerIds);
    },
    isAllowed,
  };
}
