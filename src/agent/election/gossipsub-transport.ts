// The election over a libp2p node's GossipSub (`services.pubsub`), on topic bzzz/election/v1.
//
// Authentication: GossipSub with StrictSign drops messages whose signature does not verify, so a
// signed message's `from` is the peer that signed it; that, never anything in the payload, is the
// sender handed to the election. Unsigned or malformed messages are rejected by a topic validator
// (so they are not forwarded either) and ignored if they get through.
//
// GossipSub can only broadcast, and in a full mesh one publish costs about N² transmissions
// (flood-publish plus forwarding). Answers meant for one peer (heartbeat acks, votes) carry `to`;
// when the transport is also given the libp2p node, they go over a direct stream protocol
// (/bzzz/election/1.0.0, one message per stream) instead, where the sender is the connection's
// remote peer, proven by the Noise handshake. If a direct send fails, the answer is broadcast.
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p } from 'libp2p';
import { InvalidInputError } from '../../util/errors.js';
import { logger, type Logger } from '../../util/log.js';
import { decodeElectionMessage, ELECTION_TOPIC, encodeElectionMessage, MAX_MESSAGE_BYTES, type ElectionMessage } from './messages.js';
import type { ElectionTransport } from './types.js';

/** The part of GossipSub the transport uses (its implementation's publish takes per-call options). */
export type ElectionPubSub = Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'getSubscribers' | 'addEventListener' | 'removeEventListener' | 'topicValidators' | 'globalSignaturePolicy'> & {
  publish(topic: string, data: Uint8Array, opts?: { allowPublishToZeroTopicPeers?: boolean }): Promise<unknown>;
};

/** The stream protocol for answers meant for one peer. */
export const ELECTION_PROTOCOL = '/bzzz/election/1.0.0';

/** The part of the libp2p node the direct channel uses. */
export type ElectionDirectNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>;

export interface GossipsubElectionTransportInit {
  pubsub: ElectionPubSub;
  /** Give the node to send one-peer answers directly (recommended: far less traffic than broadcast). */
  libp2p?: ElectionDirectNode;
  /** Bound on one direct send, dial included (default 5 s). */
  directTimeoutMs?: number;
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

  const direct = init.libp2p;
  const directTimeoutMs = init.directTimeoutMs ?? 5_000;
  type Stream = Awaited<ReturnType<ElectionDirectNode['dialProtocol']>>;
  const readDirect = async (stream: Stream, from: string): Promise<void> => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    const timer = setTimeout(() => stream.abort(new Error('election message not finished in time')), directTimeoutMs);
    try {
      for await (const chunk of stream) {
        const bytes = chunk.subarray();
        length += bytes.byteLength;
        if (length > MAX_MESSAGE_BYTES) throw new Error(`election message larger than ${MAX_MESSAGE_BYTES} bytes`);
        chunks.push(bytes);
      }
    } finally {
      clearTimeout(timer);
    }
    const msg = decodeElectionMessage(Buffer.concat(chunks));
    if (msg === null) {
      log.debug({ from }, 'malformed direct election message ignored');
      return;
    }
    await stream.close().catch(() => undefined);
    dispatch(from, msg);
  };

  const attach = (): void => {
    pubsub.topicValidators.set(topic, validator);
    pubsub.addEventListener('message', onPubsubMessage);
    pubsub.subscribe(topic);
    direct?.handle(ELECTION_PROTOCOL, (stream, connection) => {
      const from = connection.remotePeer.toString();
      readDirect(stream, from).catch((err: unknown) => {
        log.debug({ err, from }, 'direct election message failed');
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      });
    }, { maxInboundStreams: 64 }).catch((err: unknown) => log.warn({ err }, 'election direct protocol not registered; answers go by broadcast'));
  };
  const detach = (): void => {
    direct?.unhandle(ELECTION_PROTOCOL).catch(() => undefined);
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
      const signal = AbortSignal.timeout(directTimeoutMs);
      const stream = await direct.dialProtocol(peerIdFromString(to), ELECTION_PROTOCOL, { signal });
      if (!stream.send(encodeElectionMessage(msg))) await stream.onDrain({ signal });
      await stream.close({ signal });
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
      return pubsub.getSubscribers(topic).map((p) => p.toString()).filter((id) => id !== selfId);
    },
  };
}
