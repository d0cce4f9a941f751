// The election's direct channel between two real libp2p nodes on 127.0.0.1: one-peer answers
// arrive in order over one reused stream, attributed to the connection's authenticated peer; a
// bad frame kills only that stream; an unreachable peer makes send reject (the transport then
// broadcasts instead).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ELECTION_PROTOCOL, type ElectionMessage } from '../../../src/agent/election/index.js';
import { createDirectChannel, type DirectChannel } from '../../../src/agent/election/direct-channel.js';
import { silentLogger } from '../../../src/util/log.js';
import { connectAll, createElectionTestNode, type ElectionTestNode } from './libp2p-node.js';

let a: ElectionTestNode;
let b: ElectionTestNode;
let chA: DirectChannel;
let chB: DirectChannel;
const atB: Array<{ from: string; msg: ElectionMessage }> = [];

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within 10 s: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ack = (seq: number): ElectionMessage => ({ type: 'heartbeat-ack', term: 1, score: 0.5, to: b.peerId.toString(), seq, ok: true });

beforeAll(async () => {
  [a, b] = await Promise.all([createElectionTestNode(), createElectionTestNode()]);
  await connectAll([a, b]);
  chA = createDirectChannel({ libp2p: a, timeoutMs: 2_000, onMessage: () => undefined, log: silentLogger() });
  chB = createDirectChannel({ libp2p: b, timeoutMs: 2_000, onMessage: (from, msg) => atB.push({ from, msg }), log: silentLogger() });
  chA.start();
  chB.start();
  await new Promise((r) => setTimeout(r, 50)); // handle() registration is asynchronous
});

afterAll(async () => {
  chA.stop();
  chB.stop();
  await Promise.all([a.stop(), b.stop()]);
});

function inboundElectionStreamsAtB(): number {
  return b.getConnections(a.peerId).flatMap((c) => c.streams).filter((s) => s.protocol === ELECTION_PROTOCOL).length;
}

describe('election direct channel', () => {
  it('delivers many messages in order over one stream, from the authenticated peer', async () => {
    for (let i = 1; i <= 200; i++) await chA.send(b.peerId.toString(), ack(i));
    await until('200 messages at B', () => atB.length >= 200);
    expect(atB.map((x) => (x.msg.type === 'heartbeat-ack' ? x.msg.seq : -1))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(atB.map((x) => x.from))).toEqual(new Set([a.peerId.toString()]));
    expect(inboundElectionStreamsAtB()).toBe(1);
  });

  it('a frame longer than the limit kills that stream only; the next send opens a new one', async () => {
    atB.length = 0;
    const stream = await a.dialProtocol(b.peerId, ELECTION_PROTOCOL);
    const frame = new Uint8Array(8);
    new DataView(frame.buffer).setUint32(0, 10_000_000);
    stream.send(frame);
    await until('B drops the bad stream', () => stream.status !== 'open' || stream.remoteWriteStatus !== 'writable');
    await chA.send(b.peerId.toString(), ack(1000));
    await until('the next message arrives', () => atB.length === 1);
    expect(atB[0].msg).toMatchObject({ type: 'heartbeat-ack', seq: 1000 });
  });

  it('rejects when the peer cannot be reached, so the transport can broadcast instead', async () => {
    const c = await createElectionTestNode();
    const ch = createDirectChannel({ libp2p: c, timeoutMs: 500, onMessage: () => undefined, log: silentLogger() });
    ch.start();
    try {
      await expect(ch.send(b.peerId.toString(), ack(1))).rejects.toThrow();
    } finally {
      ch.stop();
      await c.stop();
    }
  });
});
