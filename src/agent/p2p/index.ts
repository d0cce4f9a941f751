// The agent's networking: libp2p node, DHT content routing and records, blob transfer, fetch,
// replication and repair, and the agent's GossipSub messages.
export { createP2PNode, type AgentLibp2p, type AgentServices, type P2PNode, type P2PNodeComponents, type P2PNodeInit } from './node.js';
export { loadOrCreatePeerKey, loadPeerKeyFile, PeerKeyError, PEER_KEY_FILE, type PeerKeyResult } from './identity.js';
export { loadMemberListFile, MembershipError } from './members-file.js';
export { decodeAgentMessage, MAX_BODY_DEPTH, MAX_KIND_LENGTH, type AgentMessagePayload } from './agent-message.js';
export { createPeerAllowlist, type PeerAllowlist } from './allowlist.js';
export { BootstrapDialer, type BootstrapDialerComponents, type BootstrapDialerInit, type BootstrapPeerStatus } from './bootstrap-dialer.js';
export { createContentRouting, type ContentRouting, type ContentRoutingComponents, type FindProvidersOptions } from './content-routing.js';
export { providerKeyFor } from './provider-key.js';
export { recordKey, validateRecord, selectRecord, InvalidRecordError, MAX_RECORD_VALUE_BYTES } from './records.js';
export {
  createBlobTransfer,
  BlobTransferError,
  BlobUnavailableError,
  type BlobTransfer,
  type BlobTransferComponents,
  type BlobTransferInit,
} from './blob-transfer.js';
export { createBlobFetcher, type BlobFetcher, type BlobFetcherComponents, type BlobFetcherInit } from './blob-fetcher.js';
export { createReplicator, type Replicator, type ReplicatorComponents, type ReplicatorInit, type ReplicaCount } from './replicator.js';
export { createAgentPubSub, type AgentMessage, type AgentPubSub, type AgentPubSubComponents, MAX_PUBSUB_MESSAGE_BYTES } from './pubsub.js';
export { AGENT_TOPICS, BLOB_PROTOCOL, COORDINATION_TOPIC, DHT_PROTOCOL, META_DISCUSSION_TOPIC } from './topics.js';
