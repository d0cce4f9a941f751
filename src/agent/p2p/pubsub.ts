// The agent's messages on its GossipSub topics: JSON `{kind, sentAt, body}`, signed by the sender
// (StrictSign: the sender's peer ID is proven). The receiver times publish-to-delivery into
// bzzz_pubsub_propagation_seconds (sender and receiver clocks: exact on one host, subject to
// clock skew across hosts).
//
// Every topic the agent takes part in has a validator: a message whose signer is not a member, or
// whose payload is not an agent message (agent-message.ts), is rejected, so it is neither
// delivered nor forwarded. A validator never throws (anything unexpected is a rejection).
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import type { Logger } from '../../util/log.js';
import type { AgentMetrics } from '../metrics.js';
import { type AgentMessagePayload, decodeAgentMessage, MAX_PUBSUB_MESSAGE_BYTES } from './agent-message.js';
import { AGENT_TOPICS } from './topics.js';

export { MAX_PUBSUB_MESSAGE_BYTES };

export interface AgentMessage {
  topic: string;
  /** Sender's peer ID (verified signature). */
  from: string;
  kind: string;
  sentAt: number;
  body: unknown;
}

export interface AgentPubSubComponents {
  pubsub: Pick<GossipSub, 'addEventListener' | 'removeEventListener' | 'publish' | 'subscribe' | 'getSubscribers' | 'topicValidators'>;
  /** Closed clusters: is this peer on the member list? Absent: an open cluster, any signer. */
  isMember?: (peerId: string) => boolean;
  metrics: AgentMetrics;
  log: Logger;
  now(): number;
}

export interface AgentPubSub {
  start(): void;
  stop(): void;
  /** Publish to a topic; resolves with the number of peers it was sent to. */
  publish(topic: string, kind: string, body: unknown): Promise<number>;
  /** Every message on `topic` from other agents. Returns unsubscribe. */
  onMessage(topic: string, handler: (msg: AgentMessage) => void): () => void;
  /** Peers subscribed to `topic` that this agent knows of. */
  topicPeers(topic: string): string[];
  /** Messages received since start, per topic. */
  received(): Record<string, number>;
  /** Messages its validators rejected since start (non-member signer, malformed payload). */
  rejected(): number;
}

export function createAgentPubSub(c: AgentPubSubComponents): AgentPubSub {
  const handlers = new Map<string, Set<(msg: AgentMessage) => void>>();
  const counts: Record<string, number> = {};
  const topics = new Set<string>(AGENT_TOPICS);

  let rejected = 0;
  // What the validator decoded, for the delivery that follows (same bytes): one JSON parse per message.
  const decoded = new WeakMap<Uint8Array, AgentMessagePayload>();
  const validator = (_peer: unknown, m: Message): TopicValidatorResult => {
    try {
      if (m.type !== 'signed' || (c.isMember !== undefined && !c.isMember(m.from.toString()))) {
        rejected++;
        c.metrics.p2pRejectedTotal.inc({ reason: 'pubsub_non_member' });
        return TopicValidatorResult.Reject;
      }
      const payload = decodeAgentMessage(m.data);
      if (payload === null) {
        rejected++;
        c.metrics.p2pRejectedTotal.inc({ reason: 'pubsub_malformed' });
        return TopicValidatorResult.Reject;
      }
      decoded.set(m.data, payload);
      return TopicValidatorResult.Accept;
    } catch {
      rejected++;
      c.metrics.p2pRejectedTotal.inc({ reason: 'pubsub_malformed' });
      return TopicValidatorResult.Reject;
    }
  };
  const guard = (topic: string): void => {
    c.pubsub.topicValidators.set(topic, validator);
  };

  const onGossip = (evt: CustomEvent<Message>): void => {
    const m = evt.detail;
    if (!topics.has(m.topic) || m.type !== 'signed') return;
    // The validator already refused these; a handler added before it (or a test double) must not see them either.
    if (c.isMember !== undefined && !c.isMember(m.from.toString())) return;
    const receivedAt = c.now();
    const parsed = decoded.get(m.data) ?? decodeAgentMessage(m.data);
    if (parsed === null) {
      c.log.debug({ topic: m.topic, from: m.from.toString() }, 'ignored a malformed message');
      return;
    }
    counts[m.topic] = (counts[m.topic] ?? 0) + 1;
    c.metrics.pubsubMessagesTotal.inc({ topic: m.topic, direction: 'in' });
    const delay = (receivedAt - parsed.sentAt) / 1000;
    if (delay >= 0) c.metrics.pubsubPropagationSeconds.observe({ topic: m.topic }, delay);
    const msg: AgentMessage = { topic: m.topic, from: m.from.toString(), kind: parsed.kind, sentAt: parsed.sentAt, body: parsed.body };
    for (const h of handlers.get(m.topic) ?? []) {
      try {
        h(msg);
      } catch (err) {
        c.log.warn({ topic: m.topic, err: (err as Error).message }, 'message handler failed');
      }
    }
  };

  return {
    start() {
      for (const topic of topics) guard(topic);
      c.pubsub.addEventListener('message', onGossip);
    },
    stop() {
      c.pubsub.removeEventListener('message', onGossip);
      for (const topic of topics) if (c.pubsub.topicValidators.get(topic) === validator) c.pubsub.topicValidators.delete(topic);
    },
    async publish(topic, kind, body) {
      const data = new TextEncoder().encode(JSON.stringify({ kind, sentAt: c.now(), body }));
      if (data.byteLength > MAX_PUBSUB_MESSAGE_BYTES) {
        throw new RangeError(
          `message of kind ${kind} is ${data.byteLength} bytes, more than ${MAX_PUBSUB_MESSAGE_BYTES}: put the content in the store and announce its address`,
        );
      }
      if (!topics.has(topic)) {
        topics.add(topic);
        guard(topic);
        c.pubsub.subscribe(topic);
      }
      const r = await c.pubsub.publish(topic, data);
      c.metrics.pubsubMessagesTotal.inc({ topic, direction: 'out' });
      return r.recipients.length;
    },
    onMessage(topic, handler) {
      if (!topics.has(topic)) {
        topics.add(topic);
        guard(topic);
        c.pubsub.subscribe(topic);
      }
      let set = handlers.get(topic);
      if (set === undefined) handlers.set(topic, (set = new Set()));
      set.add(handler);
      return () => set.delete(handler);
    },
    topicPeers: (topic) => c.pubsub.getSubscribers(topic).map(String),
    received: () => ({ ...counts }),
    rejected: () => rejected,
  };
}
