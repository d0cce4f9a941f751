// Durable `{term, votedFor}`: the one piece of election state that must survive a restart, or a
// restarted node could vote twice in one term and two admins could win it. Written synchronously
// (temp file + fsync + rename + fsync of the directory) before any message that depends on it is
// sent; this happens a few times per election, so blocking for one fsync keeps the order obvious.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BzzzError } from '../../util/errors.js';
import { MAX_TERM, isTerm } from './terms.js';

export const VOTE_FILE = 'election-vote.json';

export interface PersistedVote {
  readonly term: number;
  readonly votedFor: string | null;
}

export interface VoteStore {
  load(): PersistedVote;
  save(vote: PersistedVote): void;
}

/** The persisted vote cannot be read or written. */
export class ElectionStateError extends BzzzError {}

export function fileVoteStore(dataDir: string): VoteStore {
  const file = join(dataDir, VOTE_FILE);
  return {
    load() {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { term: 0, votedFor: null };
        throw new ElectionStateError(`election state ${file} cannot be read (${(err as Error).message}): fix its permissions`, {
          cause: err,
        });
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw corrupt(file, err);
      }
      if (!isPersistedVote(value)) throw corrupt(file);
      const v = value as PersistedVote;
      return { term: v.term, votedFor: v.votedFor };
    },
    save(vote) {
      if (!isPersistedVote(vote)) {
        throw new ElectionStateError(
          `election state ${file}: refused to write term ${String(vote.term)} / votedFor ${JSON.stringify(vote.votedFor)}: a term is a whole number from 0 to ${MAX_TERM} and votedFor a peer id or null; the file keeps its previous vote`,
        );
      }
      try {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeSync(fd, `${JSON.stringify({ term: vote.term, votedFor: vote.votedFor })}\n`);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, file);
        const dir = openSync(dataDir, 'r');
        try {
          fsyncSync(dir);
        } finally {
          closeSync(dir);
        }
      } catch (err) {
        throw new ElectionStateError(
          `election state ${file} cannot be written (${(err as Error).message}): check that the data directory is writable and not full`,
          { cause: err },
        );
      }
    },
  };
}

const MAX_VOTED_FOR_LENGTH = 256;

/** What load() accepts and save() writes: {term in [0, MAX_TERM], votedFor: a non-empty id or null}. */
export function isPersistedVote(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Partial<Record<string, unknown>>;
  return (
    isTerm(v.term) &&
    (v.votedFor === null || (typeof v.votedFor === 'string' && v.votedFor !== '' && v.votedFor.length <= MAX_VOTED_FOR_LENGTH))
  );
}

/** Keeps the vote in memory only: for tests and embedding; a restart that reuses it keeps the vote. */
export function memoryVoteStore(initial: PersistedVote = { term: 0, votedFor: null }): VoteStore & { current: PersistedVote } {
  const store = {
    current: initial,
    load: () => store.current,
    save: (vote: PersistedVote) => {
      if (!isPersistedVote(vote)) throw new ElectionStateError(`in-memory election state: refused to keep term ${String(vote.term)}`);
      store.current = { term: vote.term, votedFor: vote.votedFor };
    },
  };
  return store;
}

function corrupt(file: string, cause?: unknown): ElectionStateError {
  // Starting from term 0 instead could vote twice in a term this node already voted in.
  return new ElectionStateError(
    `election state ${file} is not {"term": <n>, "votedFor": <peer id or null>}: restore it, or remove it and keep this agent stopped for one election timeout so it cannot vote twice in a term`,
    { cause },
  );
}
