import { describe, expect, it } from 'vitest';
import {
  decodeElectionMessage,
  encodeElectionMessage,
  MAX_MESSAGE_BYTES,
  parseElectionMessage,
  type ElectionMessage,
} from '../../../../src/agent/election/index.js';

const valid: ElectionMessage[] = [
  { type: 'heartbeat', term: 3, score: 0.5, seq: 7, roster: [] },
  {
    type: 'heartbeat',
    term: 3,
    score: 0.5,
    seq: 8,
    roster: [
      { id: 'peer-a', score: 0.25 },
      { id: 'peer-b', score: 1 },
    ],
  },
  { type: 'heartbeat-ack', term: 3, score: 1, to: 'peer-a', seq: 7, ok: true },
  { type: 'vote-request', term: 3, score: 0, electionTerm: 4, prevote: true },
  { type: 'vote-request', term: 4, score: 0.2, electionTerm: 4, prevote: false },
  { type: 'vote', term: 4, score: 0.2, to: 'peer-b', electionTerm: 4, prevote: false, granted: true },
  { type: 'resign', term: 4, score: 0.2, handoffTo: 'peer-c' },
  { type: 'resign', term: 4, score: 0.2, handoffTo: null },
  { type: 'announce', term: 0, score: 0.9 },
];

describe('election wire messages', () => {
  it('round-trip through the codec unchanged', () => {
    for (const m of valid) expect(decodeElectionMessage(encodeElectionMessage(m))).toEqual(m);
  });

  it('keep only known fields: a sender id written in the payload is dropped', () => {
    const parsed = parseElectionMessage({ type: 'heartbeat', term: 1, score: 0.5, seq: 1, roster: [], from: 'someone-else' });
    expect(parsed).toEqual({ type: 'heartbeat', term: 1, score: 0.5, seq: 1, roster: [] });
  });

  it.each([
    ['not an object', 'heartbeat'],
    ['unknown type', { type: 'coup', term: 1, score: 0 }],
    ['negative term', { type: 'heartbeat', term: -1, score: 0, seq: 1 }],
    ['fractional term', { type: 'heartbeat', term: 1.5, score: 0, seq: 1 }],
    ['score above 1', { type: 'announce', term: 1, score: 2 }],
    ['missing seq', { type: 'heartbeat', term: 1, score: 0, roster: [] }],
    ['missing roster', { type: 'heartbeat', term: 1, score: 0, seq: 1 }],
    ['roster entry without score', { type: 'heartbeat', term: 1, score: 0, seq: 1, roster: [{ id: 'a' }] }],
    [
      'roster too long',
      { type: 'heartbeat', term: 1, score: 0, seq: 1, roster: Array.from({ length: 129 }, (_, i) => ({ id: `p${i}`, score: 0 })) },
    ],
    ['empty to', { type: 'heartbeat-ack', term: 1, score: 0, to: '', seq: 1, ok: true }],
    ['pre-vote for the same term', { type: 'vote-request', term: 1, score: 0, electionTerm: 1, prevote: true }],
    ['real request for another term', { type: 'vote-request', term: 1, score: 0, electionTerm: 2, prevote: false }],
    ['granted not boolean', { type: 'vote', term: 1, score: 0, to: 'a', electionTerm: 1, prevote: false, granted: 'yes' }],
    ['handoffTo a number', { type: 'resign', term: 1, score: 0, handoffTo: 5 }],
    // Issue 7: impossible terms never get past the parser, so nothing can persist them.
    ['resign with term MAX_SAFE_INTEGER', { type: 'resign', term: Number.MAX_SAFE_INTEGER, score: 0, handoffTo: 'a' }],
    ['heartbeat with a term above MAX_TERM', { type: 'heartbeat', term: 2 ** 52 + 1, score: 0, seq: 1, roster: [] }],
    [
      'pre-vote asking for MAX_TERM + 1',
      {
        type: 'vote-request',
        term: Math.floor(Number.MAX_SAFE_INTEGER / 2),
        score: 0,
        electionTerm: Math.floor(Number.MAX_SAFE_INTEGER / 2) + 1,
        prevote: true,
      },
    ],
    [
      'a vote signature that is not a string',
      { type: 'vote', term: 1, score: 0, to: 'a', electionTerm: 1, prevote: false, granted: true, sig: 5 },
    ],
    ['a heartbeat proof that is not a proof', { type: 'heartbeat', term: 1, score: 0, seq: 1, roster: [], proof: { v: 1 } }],
  ])('reject %s', (_what, value) => {
    expect(parseElectionMessage(value)).toBeNull();
  });

  it('reject bytes that are not JSON, not UTF-8, or too large', () => {
    expect(decodeElectionMessage(new TextEncoder().encode('{nope'))).toBeNull();
    expect(decodeElectionMessage(new Uint8Array([0xff, 0xfe, 0x7b]))).toBeNull();
    const big = JSON.stringify({ type: 'announce', term: 1, score: 0, pad: 'x'.repeat(MAX_MESSAGE_BYTES) });
    expect(decodeElectionMessage(new TextEncoder().encode(big))).toBeNull();
  });
});
