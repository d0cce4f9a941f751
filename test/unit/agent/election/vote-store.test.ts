import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createElection,
  ElectionStateError,
  fileVoteStore,
  MAX_TERM,
  memoryVoteStore,
  VOTE_FILE,
} from '../../../../src/agent/election/index.js';
import { InvalidInputError } from '../../../../src/util/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bzzz-vote-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('file vote store', () => {
  it('starts at term 0 with no vote, and reads back what it wrote, leaving no temp file', () => {
    const store = fileVoteStore(join(dir, 'data'));
    expect(store.load()).toEqual({ term: 0, votedFor: null });
    store.save({ term: 7, votedFor: '12D3KooWpeer' });
    expect(fileVoteStore(join(dir, 'data')).load()).toEqual({ term: 7, votedFor: '12D3KooWpeer' });
    expect(readdirSync(join(dir, 'data'))).toEqual([VOTE_FILE]);
    expect(JSON.parse(readFileSync(join(dir, 'data', VOTE_FILE), 'utf8'))).toEqual({ term: 7, votedFor: '12D3KooWpeer' });
  });

  it('refuses a corrupted file with a message naming it and what to do', () => {
    writeFileSync(join(dir, VOTE_FILE), '{"term": "seven"}');
    expect(() => fileVoteStore(dir).load()).toThrow(ElectionStateError);
    expect(() => fileVoteStore(dir).load()).toThrow(new RegExp(`${VOTE_FILE}.*restore it`));
  });

  it('an election over a corrupted file refuses to start rather than vote twice', () => {
    writeFileSync(join(dir, VOTE_FILE), 'not json');
    const transport = { selfId: 'a', broadcast: async () => undefined, onMessage: () => () => undefined, peers: () => [] };
    expect(() => createElection({ transport, selfId: 'a', clusterSize: 3, dataDir: dir })).toThrow(ElectionStateError);
  });

  it('never writes what it would refuse to read: an impossible term is refused and the file keeps the last good vote', () => {
    const store = fileVoteStore(dir);
    store.save({ term: 4, votedFor: 'peer-a' });
    for (const term of [Number.MAX_SAFE_INTEGER, MAX_TERM + 1, -1, 1.5, Number.NaN]) {
      expect(() => store.save({ term, votedFor: null }), String(term)).toThrow(ElectionStateError);
      expect(() => store.save({ term, votedFor: null }), String(term)).toThrow(/refused to write term/);
    }
    expect(() => store.save({ term: 5, votedFor: '' })).toThrow(ElectionStateError);
    // A restart reads the last vote it wrote.
    expect(fileVoteStore(dir).load()).toEqual({ term: 4, votedFor: 'peer-a' });
    store.save({ term: MAX_TERM, votedFor: null });
    expect(fileVoteStore(dir).load()).toEqual({ term: MAX_TERM, votedFor: null });
    expect(() => memoryVoteStore().save({ term: Number.MAX_SAFE_INTEGER, votedFor: null })).toThrow(ElectionStateError);
  });

  it('refuses a file with a term above the limit (the poisoned state of issue 7) by name', () => {
    writeFileSync(join(dir, VOTE_FILE), JSON.stringify({ term: Number.MAX_SAFE_INTEGER + 1, votedFor: null }));
    expect(() => fileVoteStore(dir).load()).toThrow(new RegExp(`${VOTE_FILE}.*restore it, or remove it`));
  });

  it('reports a write failure with the file name', () => {
    // A data dir under a regular file cannot be created, whoever runs the test.
    writeFileSync(join(dir, 'file'), '');
    const bad = join(dir, 'file', 'data');
    expect(() => fileVoteStore(bad).save({ term: 1, votedFor: null })).toThrow(ElectionStateError);
    expect(() => fileVoteStore(bad).save({ term: 1, votedFor: null })).toThrow(new RegExp(`${bad}/${VOTE_FILE} cannot be written`));
  });
});

describe('election settings', () => {
  const transport = { selfId: 'a', broadcast: async () => undefined, onMessage: () => () => undefined, peers: () => [] };
  it('refuse a timeout not above twice the heartbeat, a bad cluster size, a missing data dir, a mismatched id', () => {
    expect(() => createElection({ transport, selfId: 'a', clusterSize: 3, dataDir: dir, heartbeatMs: 5000, timeoutMs: 10000 })).toThrow(
      /timeoutMs 10000 must be more than twice heartbeatMs/,
    );
    expect(() => createElection({ transport, selfId: 'a', clusterSize: 0, dataDir: dir })).toThrow(/clusterSize 0/);
    expect(() => createElection({ transport, selfId: 'a', clusterSize: 3 })).toThrow(InvalidInputError);
    expect(() => createElection({ transport, selfId: 'b', clusterSize: 3, dataDir: dir })).toThrow(/differs from the transport/);
  });
});
