// GossipSub topics the agent takes part in (BZZZ's own names). The election topic belongs to the
// election module; it is subscribed there through the transport the node hands it.
export const COORDINATION_TOPIC = 'bzzz/coordination/v1';
export const META_DISCUSSION_TOPIC = 'hmmm/meta-discussion/v1';
export const AGENT_TOPICS = [COORDINATION_TOPIC, META_DISCUSSION_TOPIC] as const;

/** libp2p protocol ids of the agent's own services, kept apart from public networks by the prefix. */
export const DHT_PROTOCOL = '/bzzz/kad/1.0.0';
export const BLOB_PROTOCOL = '/bzzz/blob/1.0.0';
