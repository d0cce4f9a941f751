// The election's direct channel between two real libp2p nodes on 127.0.0.1: one-peer answers
// arrive in order over one reused stream, attributed to the connection's authenticated peer; a
// bad frame kills only that stream; an unreachable peer makes send reject (the transport then
// broadcasts instead).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ELECTION_PROTOCOL, encodeElectionMessage, type ElectionMessage } from '../../../src/agent/election/index.js';
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
  return b
    .getConnections(a.peerId)
    .flatMap((c) => c.streams)
    .filter((s) => s.protocol === ELECTION_PROTOCOL).length;
}

describe('election direct channel', () => {
  it('delivers many messages in order over one stream, from the authenticated peer', async () => {
    // Sent without waiting, so several frames share one chunk at the receiver; one large heartbeat
    // (a full roster) spans chunks.
    const roster = Array.from({ length: 128 }, (_, i) => ({ id: `12D3KooW${'x'.repeat(44)}${i}`, score: 0.5 }));
    const big: ElectionMessage = { type: 'heartbeat', term: 1, score: 0.5, seq: 100, roster };
    const sends: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) sends.push(chA.send(b.peerId.toString(), i === 100 ? big : ack(i)));
    await Promise.all(sends);
    await until('200 messages at B', () => atB.length >= 200);
    expect(atB.map((x) => (x.msg.type === 'heartbeat-ack' || x.msg.type === 'heartbeat' ? x.msg.seq : -1))).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    expect(atB[99].msg).toEqual(big);
    expect(new Set(atB.map((x) => x.from))).toEqual(new Set([a.peerId.toString()]));
    expect(inboundElectionStreamsAtB()).toBe(1);
  });

  it('reassembles frames that arrive split across chunks and joined in one chunk', async () => {
    atB.length = 0;
    const frames = [ack(501), ack(502), ack(503)].map((m) => {
      const body = encodeElectionMessage(m);
      const f = new Uint8Array(4 + body.byteLength);
      new DataView(f.buffer).setUint32(0, body.byteLength);
      f.set(body, 4);
      return f;
    });
    const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.byteLength;
    }
    // Chunks: 2 bytes of the first length prefix | the rest of frame 1 and half of frame 2 | the rest.
    const cut = frames[0].byteLength + frames[1].byteLength / 2;
    const stream = await a.dialProtocol(b.peerId, ELECTION_PROTOCOL);
    for (const chunk of [all.subarray(0, 2), all.subarray(2, cut), all.subarray(cut)]) {
      stream.send(chunk);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until('three messages at B', () => atB.length === 3);
    expect(atB.map((x) => (x.msg.type === 'heartbeat-ack' ? x.msg.seq : -1))).toEqual([501, 502, 503]);
    await stream.close();
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
