// Fuzzing the decoders that read bytes from peers (fast-check, bounded runs): the election wire
// decoder, the proof parser, the agent's GossipSub message decoder, and a closed election fed a
// stream of arbitrary well-formed messages from members. None may throw or hang; whatever they
// accept is well-formed; the election's term never passes MAX_TERM and its vote stays writable
// and readable (a restart always works).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createBallots,
  createElection,
  decodeElectionMessage,
  encodeElectionMessage,
  isPersistedVote,
  MAX_TERM,
  memoryVoteStore,
  parseElectionMessage,
  parseElectionProof,
  type ElectionClock,
  type ElectionMessage,
} from '../../../../src/agent/election/index.js';
import { decodeAgentMessage, MAX_BODY_DEPTH, MAX_PUBSUB_MESSAGE_BYTES } from '../../../../src/agent/p2p/index.js';
import { silentLogger } from '../../../../src/util/log.js';
import { closedSimKeys } from './sim/cluster.js';
import { memberList } from '../../../../src/crypto/membership.js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

const RUNS = 300;
const enc = new TextEncoder();

/** JSON-ish values shaped like election messages, with hostile numbers and strings. */
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, MAX_TERM, MAX_TERM + 1, -1, 0, 1, 2 ** 53, Number.NaN, Infinity, 1e308),
);
const messageLike = (ids: string[]) =>
  fc.record(
    {
      type: fc.constantFrom('heartbeat', 'heartbeat-ack', 'vote-request', 'vote', 'resign', 'announce', 'coup'),
      term: hostileNumber,
      score: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), hostileNumber),
      seq: hostileNumber,
      roster: fc.array(fc.record({ id: fc.constantFrom(...ids, ''), score: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 4 }),
      to: fc.constantFrom(...ids),
      ok: fc.boolean(),
      electionTerm: hostileNumber,
      prevote: fc.boolean(),
      granted: fc.boolean(),
      handoffTo: fc.oneof(fc.constant(null), fc.constantFrom(...ids)),
      sig: fc.base64String({ minLength: 0, maxLength: 100 }),
    },
    { requiredKeys: ['type', 'term', 'score'] },
  );

describe('decoders never throw, and accept only well-formed input', () => {
  it('decodeElectionMessage on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const m = decodeElectionMessage(bytes);
        if (m !== null) expect(decodeElectionMessage(encodeElectionMessage(m))).toEqual(m);
      }),
      { numRuns: RUNS },
    );
  });

  it('decodeElectionMessage on arbitrary JSON and message-shaped values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), messageLike(['a', 'b'])), (value) => {
        const m = decodeElectionMessage(enc.encode(JSON.stringify(value)));
        if (m === null) return;
        expect(m.term).toBeLessThanOrEqual(MAX_TERM);
        expect(Number.isSafeInteger(m.term) && m.term >= 0).toBe(true);
        expect(parseElectionMessage(JSON.parse(new TextDecoder().decode(encodeElectionMessage(m))))).toEqual(m);
      }),
      { numRuns: RUNS },
    );
  });

  it('parseElectionProof on arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const p = parseElectionProof(value);
        if (p !== null) expect(p.term).toBeLessThanOrEqual(MAX_TERM);
      }),
      { numRuns: RUNS },
    );
  });

  it('decodeAgentMessage on arbitrary bytes and JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.jsonValue().map((v) => enc.encode(JSON.stringify(v) ?? '')),
        ),
        (bytes) => {
          const m = decodeAgentMessage(bytes);
          if (m !== null) {
            expect(typeof m.kind).toBe('string');
            expect(Number.isFinite(m.sentAt)).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('deep nesting, huge inputs and invalid UTF-8 are refused quietly', () => {
    const deep = enc.encode(`${'['.repeat(60_000)}${']'.repeat(60_000)}`);
    expect(decodeElectionMessage(deep)).toBeNull();
    expect(decodeAgentMessage(deep.subarray(0, MAX_PUBSUB_MESSAGE_BYTES))).toBeNull();
    expect(decodeAgentMessage(new Uint8Array(MAX_PUBSUB_MESSAGE_BYTES + 1))).toBeNull();
    expect(decodeAgentMessage(new Uint8Array([0x7b, 0xff, 0x7d]))).toBeNull();
    // A body nested deeper than MAX_BODY_DEPTH is refused (handlers that stringify it would blow the stack)…
    const nested = (depth: number) => enc.encode(`{"kind":"x","sentAt":1,"body":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(decodeAgentMessage(nested(5000))).toBeNull();
    expect(decodeAgentMessage(nested(MAX_BODY_DEPTH + 1))).toBeNull();
    // …a reasonable one is not, and brackets inside strings do not count.
    expect(decodeAgentMessage(nested(MAX_BODY_DEPTH))?.kind).toBe('x');
    expect(decodeAgentMessage(enc.encode(JSON.stringify({ kind: 'x', sentAt: 1, body: '[[[[\\"'.repeat(100) })))?.kind).toBe('x');
  });
});

describe('a closed election fed arbitrary member messages', () => {
  it('never throws, keeps its term within MAX_TERM, and always persists a readable vote', async () => {
    const keys = await closedSimKeys(4, 99);
    const ids = keys.map((k) => peerIdFromPrivateKey(k).toString());
    const members = memberList(
      'fuzz',
      ids.map((peerId, i) => ({ name: `n${i}`, peerId, role: 'observer' as const })),
    );
    let now = 0;
    // Timers never fire: only messages drive it (and `now` moves between them).
    const clock: ElectionClock = { now: () => now, setTimeout: () => ({ cancel: () => undefined }) };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...ids.slice(1), 'stranger'), messageLike(ids), fc.nat(2_000)), { maxLength: 40 }),
        async (script) => {
          const store = memoryVoteStore();
          let deliver: ((from: string, msg: ElectionMessage) => void) | undefined;
          const election = createElection({
            transport: {
              selfId: ids[0],
              broadcast: async () => undefined,
              send: async () => undefined,
              onMessage: (h) => {
                deliver = h;
                return () => undefined;
              },
              peers: () => ids.slice(1),
            },
            selfId: ids[0],
            clusterSize: 4,
            heartbeatMs: 100,
            timeoutMs: 500,
            store,
            ballots: createBallots(keys[0], members),
            clock,
            log: silentLogger(),
          });
          await election.start();
          for (const [from, value, dt] of script) {
            now += dt;
            // What the transport hands over has passed the wire decoder, as on the network.
            const msg = decodeElectionMessage(enc.encode(JSON.stringify(value)));
            if (msg !== null) expect(() => deliver!(from, msg)).not.toThrow();
            const s = election.status();
            expect(s.term).toBeLessThanOrEqual(MAX_TERM);
            expect(isPersistedVote(store.current)).toBe(true);
            expect(election.isAdmin(from)).toBe(false); // nobody proved an election
          }
          await election.stop();
        },
      ),
      { numRuns: 100 },
    );
  });
});
