// Election answers meant for one peer (heartbeat acks, votes), sent directly over libp2p instead
// of GossipSub, where one publish costs about N² transmissions in a full mesh.
//
// Protocol /bzzz/election/1.0.0: one long-lived stream per peer and direction, carrying frames of
// a 4-byte big-endian length and a JSON election message. Opening a stream per message costs a
// protocol negotiation each time; at a 100 ms heartbeat that doubled the election's CPU.
// The sender is the connection's remote peer, proven by the Noise handshake, never the payload.
// A send that fails drops the stream; the next one opens a new stream.
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p } from 'libp2p';
import type { Logger } from '../../util/log.js';
import { decodeElectionMessage, encodeElectionMessage, MAX_MESSAGE_BYTES, type ElectionMessage } from './messages.js';

export const ELECTION_PROTOCOL = '/bzzz/election/1.0.0';

/** The part of the libp2p node the direct channel uses. */
export type ElectionDirectNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>;

type Stream = Awaited<ReturnType<ElectionDirectNode['dialProtocol']>>;

export interface DirectChannel {
  start(): void;
  stop(): void;
  /** Rejects when the peer cannot be reached directly (the caller falls back to broadcast). */
  send(to: string, msg: ElectionMessage): Promise<void>;
}

export interface DirectChannelInit {
  libp2p: ElectionDirectNode;
  /** Bound on opening a stream (dial included) and on draining one frame. */
  timeoutMs: number;
  onMessage(from: string, msg: ElectionMessage): void;
  log: Logger;
}

export function createDirectChannel(init: DirectChannelInit): DirectChannel {
  const { libp2p, timeoutMs, log } = init;
  const outbound = new Map<string, Promise<Stream>>();
  let running = false;

  const open = (to: string): Promise<Stream> => {
    let s = outbound.get(to);
    if (s === undefined) {
      s = libp2p.dialProtocol(peerIdFromString(to), ELECTION_PROTOCOL, { signal: AbortSignal.timeout(timeoutMs) });
      outbound.set(to, s);
      s.catch(() => outbound.get(to) === s && outbound.delete(to));
    }
    return s;
  };

  const writeFrame = async (to: string, frame: Uint8Array): Promise<void> => {
    const pending = open(to);
    const stream = await pending;
    try {
      if (stream.writeStatus !== 'writable') throw new Error(`stream ${stream.writeStatus}`);
      if (!stream.send(frame)) await stream.onDrain({ signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      if (outbound.get(to) === pending) outbound.delete(to);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  };

  const read = async (stream: Stream, from: string): Promise<void> => {
    let buffer = Buffer.alloc(0);
    for await (const chunk of stream) {
      buffer = Buffer.concat([buffer, chunk.subarray()]);
      while (buffer.length >= 4) {
        const length = buffer.readUInt32BE(0);
        if (length > MAX_MESSAGE_BYTES) throw new Error(`election frame of ${length} bytes is over ${MAX_MESSAGE_BYTES}`);
        if (buffer.length < 4 + length) break;
        const msg = decodeElectionMessage(buffer.subarray(4, 4 + length));
        buffer = buffer.subarray(4 + length);
        if (msg === null) log.debug({ from }, 'malformed direct election message ignored');
        else if (running) init.onMessage(from, msg);
      }
    }
    await stream.close().catch(() => undefined);
  };

  return {
    start() {
      running = true;
      libp2p
        .handle(
          ELECTION_PROTOCOL,
          (stream, connection) => {
            const from = connection.remotePeer.toString();
            read(stream, from).catch((err: unknown) => {
              log.debug({ err, from }, 'direct election stream failed');
              stream.abort(err instanceof Error ? err : new Error(String(err)));
            });
          },
          { maxInboundStreams: 8 },
        )
        .catch((err: unknown) => log.warn({ err }, 'election direct protocol not registered; answers go by broadcast'));
    },
    stop() {
      running = false;
      libp2p.unhandle(ELECTION_PROTOCOL).catch(() => undefined);
      for (const s of outbound.values())
        s.then(
          (stream) => stream.abort(new Error('election stopped')),
          () => undefined,
        );
      outbound.clear();
    },
    async send(to, msg) {
      if (!running) throw new Error('direct channel stopped');
      const body = encodeElectionMessage(msg);
      const frame = new Uint8Array(4 + body.byteLength);
      new DataView(frame.buffer).setUint32(0, body.byteLength);
      frame.set(body, 4);
      try {
        await writeFrame(to, frame);
      } catch {
        // The cached stream may have died with its connection: one retry on a fresh stream.
        await writeFrame(to, frame);
      }
    },
  };
}
