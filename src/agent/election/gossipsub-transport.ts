// The election over a libp2p node's GossipSub (`services.pubsub`), on topic bzzz/election/v1.
//
// Authentication: GossipSub with StrictSign drops messages whose signature does not verify, so a
// signed message's `from` is the peer that signed it; that, never anything in the payload, is the
// sender handed to the election. Unsigned or malformed messages are rejected by a topic validator
// (so they are not forwarded either) and ignored if they get through.
//
// GossipSub can only broadcast, and in a full mesh one publish costs about N² transmissions
// (flood-publish plus forwarding). Answers meant for one peer (heartbeat acks, votes) carry `to`;
// when the transport is also given the libp2p node they go over the direct channel
// (direct-channel.ts) instead, and are broadcast only if that fails.
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { InvalidInputError } from '../../util/errors.js';
import { logger, type Logger } from '../../util/log.js';
import { createDirectChannel, type ElectionDirectNode } from './direct-channel.js';
import { decodeElectionMessage, ELECTION_TOPIC, encodeElectionMessage, type ElectionMessage } from './messages.js';
import type { ElectionTransport } from './types.js';

/** The part of GossipSub the transport uses (its implementation's publish takes per-call options). */
export type ElectionPubSub = Pick<
  GossipSub,
  'subscribe' | 'unsubscribe' | 'getSubscribers' | 'addEventListener' | 'removeEventListener' | 'topicValidators' | 'globalSignaturePolicy'
> & {
  publish(topic: string, data: Uint8Array, opts?: { allowPublishToZeroTopicPeers?: boolean }): Promise<unknown>;
};

export interface GossipsubElectionTransportInit {
  pubsub: ElectionPubSub;
  /** Give the node to send one-peer answers directly (recommended: far less traffic than broadcast). */
  libp2p?: ElectionDirectNode;
  /** Bound on opening a direct stream, dial included (default 5 s). */
  directTimeoutMs?: number;
  /** This node's peer id (libp2p.peerId.toString()). */
  selfId: string;
  topic?: string;
  /** Closed clusters: is this peer on the member list? The topic validator rejects other signers. */
  isMember?: (peerId: string) => boolean;
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
    throw new InvalidInputError(
      `GossipSub globalSignaturePolicy is ${String(pubsub.globalSignaturePolicy)}: the election needs 'StrictSign' so that every message's sender is authenticated`,
    );
  }
  const handlers = new Set<Handler>();

  // Never throws: anything unexpected is a rejection (a throwing validator would be GossipSub's problem).
  const validator = (_peer: unknown, msg: Message): TopicValidatorResult => {
    try {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject;
      if (init.isMember !== undefined && !init.isMember(msg.from.toString())) return TopicValidatorResult.Reject;
      return decodeElectionMessage(msg.data) !== null ? TopicValidatorResult.Accept : TopicValidatorResult.Reject;
    } catch {
      return TopicValidatorResult.Reject;
    }
  };

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
    dispatch(from, msg);
  };

  const dispatch = (from: string, msg: ElectionMessage): void => {
    for (const h of [...handlers]) {
      try {
        h(from, msg);
      } catch (err) {
        log.error({ err, from, type: msg.type }, 'election message handler failed');
      }
    }
  };

  const direct =
    init.libp2p === undefined
      ? undefined
      : createDirectChannel({ libp2p: init.libp2p, timeoutMs: init.directTimeoutMs ?? 5_000, onMessage: dispatch, log });

  const attach = (): void => {
    pubsub.topicValidators.set(topic, validator);
    pubsub.addEventListener('message', onPubsubMessage);
    pubsub.subscribe(topic);
    direct?.start();
  };
  const detach = (): void => {
    direct?.stop();
    pubsub.removeEventListener('message', onPubsubMessage);
    if (pubsub.topicValidators.get(topic) === validator) pubsub.topicValidators.delete(topic);
    try {
      pubsub.unsubscribe(topic);
    } catch (err) {
      // GossipSub refuses once libp2p has stopped; there is nothing left to unsubscribe from then.
      log.debug({ err }, 'election topic unsubscribe failed');
    }
  };

  const broadcast = async (msg: ElectionMessage): Promise<void> => {
    try {
      await pubsub.publish(topic, encodeElectionMessage(msg), { allowPublishToZeroTopicPeers: true });
    } catch (err) {
      // With no peer subscribed yet (start-up, or every peer restarting) there is no one to tell;
      // the election repeats what matters (heartbeats, requests, announces).
      if (err instanceof Error && err.message.includes('NoPeersSubscribedToTopic')) return;
      throw err;
    }
  };

  const send = async (to: string, msg: ElectionMessage): Promise<void> => {
    if (direct === undefined) return broadcast(msg);
    try {
      await direct.send(to, msg);
    } catch (err) {
      log.debug({ err, to, type: msg.type }, 'direct election message failed; broadcasting it');
      await broadcast(msg);
    }
  };

  return {
    selfId,
    topic,
    broadcast,
    send,
    onMessage(handler) {
      if (handlers.size === 0) attach();
      handlers.add(handler);
      return () => {
        if (!handlers.delete(handler)) return;
        if (handlers.size === 0) detach();
      };
    },
    peers() {
      return pubsub
        .getSubscribers(topic)
        .map((p) => p.toString())
        .filter((id) => id !== selfId);
    },
  };
}
