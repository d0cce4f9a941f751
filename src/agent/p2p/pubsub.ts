// The agent's messages on its GossipSub topics: JSON `{kind, sentAt, body}`, signed by the sender
// (StrictSign: the sender's peer ID is proven). The receiver times publish-to-delivery into
// bzzz_pubsub_propagation_seconds (sender and receiver clocks: exact on one host, subject to
// clock skew across hosts).
import type { GossipSub, Message } from '@libp2p/gossipsub';
import type { Logger } from '../../util/log.js';
import type { AgentMetrics } from '../metrics.js';
import { AGENT_TOPICS } from './topics.js';

export const MAX_PUBSUB_MESSAGE_BYTES = 64 * 1024;

export interface AgentMessage {
  topic: string;
  /** Sender's peer ID (verified signature). */
  from: string;
  kind: string;
  sentAt: number;
  body: unknown;
}

export interface AgentPubSubComponents {
  pubsub: GossipSub;
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
}

export function createAgentPubSub(c: AgentPubSubComponents): AgentPubSub {
  const handlers = new Map<string, Set<(msg: AgentMessage) => void>>();
  const counts: Record<string, number> = {};
  const topics = new Set<string>(AGENT_TOPICS);

  const onGossip = (evt: CustomEvent<Message>): void => {
    const m = evt.detail;
    if (!topics.has(m.topic) || m.type !== 'signed') return;
    const receivedAt = c.now();
    let parsed: { kind?: unknown; sentAt?: unknown; body?: unknown };
    try {
      parsed = JSON.parse(new TextDecoder().decode(m.data)) as typeof parsed;
    } catch {
      c.log.debug({ topic: m.topic, from: m.from.toString() }, 'ignored a non-JSON message');
      return;
    }
    if (typeof parsed.kind !== 'string' || typeof parsed.sentAt !== 'number') return;
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
      c.pubsub.addEventListener('message', onGossip);
    },
    stop() {
      c.pubsub.removeEventListener('message', onGossip);
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
        c.pubsub.subscribe(topic);
      }
      const r = await c.pubsub.publish(topic, data);
      c.metrics.pubsubMessagesTotal.inc({ topic, direction: 'out' });
      return r.recipients.length;
    },
    onMessage(topic, handler) {
      if (!topics.has(topic)) {
        topics.add(topic);
        c.pubsub.subscribe(topic);
      }
      let set = handlers.get(topic);
      if (set === undefined) handlers.set(topic, (set = new Set()));
      set.add(handler);
      return () => set.delete(handler);
    },
    topicPeers: (topic) => c.pubsub.getSubscribers(topic).map(String),
    received: () => ({ ...counts }),
  };
}
