// The election over a libp2p node's GossipSub (`services.pubsub`), on topic bzzz/election/v1.
//
// Authentication: GossipSub with StrictSign drops messages whose signature does not verify, so a
// signed message's `from` is the peer that signed it; that, never anything in the payload, is the
// sender handed to the election. Unsigned or malformed messages are rejected by a topic validator
// (so they are not forwarded either) and ignored if they get through.
//
// GossipSub can only broadcast; answers meant for one peer carry `to` and are broadcast too (a
// handful of small messages per heartbeat in a cluster of a few agents).
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { InvalidInputError } from '../../util/errors.js';
import { logger, type Logger } from '../../util/log.js';
import { decodeElectionMessage, ELECTION_TOPIC, encodeElectionMessage, type ElectionMessage } from './messages.js';
import type { ElectionTransport } from './types.js';

/** The part of GossipSub the transport uses (its implementation's publish takes per-call options). */
export type ElectionPubSub = Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'getSubscribers' | 'addEventListener' | 'removeEventListener' | 'topicValidators' | 'globalSignaturePolicy'> & {
  publish(topic: string, data: Uint8Array, opts?: { allowPublishToZeroTopicPeers?: boolean }): Promise<unknown>;
};

export interface GossipsubElectionTransportInit {
  pubsub: ElectionPubSub;
  /** This node's peer id (libp2p.peerId.toString()). */
  selfId: string;
  topic?: string;
  log?: Logger;
}

export interface GossipsubElectionTransport extends ElectionTransport {
  readonly topic: string;
}

type Handler = (from: string, msg: ElectionMessage) => void;

export function createGossipsubElectionTransport(init: GossipsubElectionTransportInit): GossipsubElectionTransport {
  const { pubsub, selfId } = init;
  const topic = init.topic ?? ELECTION_TOPIC;
  const log = init.log ?? logger('election-transport');
  if (pubsub.globalSignaturePolicy !== 'StrictSign') {
    throw new InvalidInputError(`GossipSub globalSignaturePolicy is ${String(pubsub.globalSignaturePolicy)}: the election needs 'StrictSign' so that every message's sender is authenticated`);
  }
  const handlers = new Set<Handler>();

  const validator = (_peer: unknown, msg: Message): TopicValidatorResult =>
    msg.type === 'signed' && decodeElectionMessage(msg.data) !== null ? TopicValidatorResult.Accept : TopicValidatorResult.Reject;

  const onPubsubMessage = (evt: CustomEvent<Message>): void => {
    const m = evt.detail;
    if (m.topic !== topic) return;
    if (m.type !== 'signed') {
      log.debug('unsigned election message ignored');
      return;
    }
    const from = m.from.toString();
    if (from === selfId) return;
    const msg = decodeElectionMessage(m.data);
    if (msg === null) {
      log.debug({ from }, 'malformed election message ignored');
      return;
    }
    for (const h of [...handlers]) {
      try {
        h(from, msg);
      } catch (err) {
        log.error({ err, from, type: msg.type }, 'election message handler failed');
      }
    }
  };

  const attach = (): void => {
    pubsub.topicValidators.set(topic, validator);
    pubsub.addEventListener('message', onPubsubMessage);
    pubsub.subscribe(topic);
  };
  const detach = (): void => {
    pubsub.removeEventListener('message', onPubsubMessage);
    if (pubsub.topicValidators.get(topic) === validator) pubsub.topicValidators.delete(topic);
    try {
      pubsub.unsubscribe(topic);
    } catch (err) {
      // GossipSub refuses once libp2p has stopped; there is nothing left to unsubscribe from then.
      log.debug({ err }, 'election topic unsubscribe failed');
    }
  };

  return {
    selfId,
    topic,
    async broadcast(msg) {
      try {
        await pubsub.publish(topic, encodeElectionMessage(msg), { allowPublishToZeroTopicPeers: true });
      } catch (err) {
        // With no peer subscribed yet (start-up, or every peer restarting) there is no one to tell;
        // the election repeats what matters (heartbeats, requests, announces).
        if (err instanceof Error && err.message.includes('NoPeersSubscribedToTopic')) return;
        throw err;
      }
    },
    onMessage(handler) {
      if (handlers.size === 0) attach();
      handlers.add(handler);
      return () => {
        if (!handlers.delete(handler)) return;
        if (handlers.size === 0) detach();
      };
    },
    peers() {
      return pubsub.getSubscribers(topic).map((p) => p.toString()).filter((id) => id !== selfId);
    },
  };
}
