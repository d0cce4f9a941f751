// The repository's error classes. Messages name the file or path and say what to do; they never
// quote key material or file contents.
import { BzzzError, InvalidInputError } from '../util/errors.js';

/** Another process holds a lock that conflicts with the one asked for. */
export class BackupLockedError extends BzzzError {
  constructor(
    message: string,
    /** Who holds it: `host/pid`. */
    readonly holder: string,
    /** ISO time it was taken. */
    readonly since: string,
    /** ISO time it expires unless its holder refreshes it. */
    readonly expires: string,
  ) {
    super(message);
  }
}

/** A repository file that is missing, too large, malformed, or fails its hash or decryption. */
export class RepositoryCorruptError extends BzzzError {}

/** The directory is not a repository, or cannot be one (not empty, not writable). */
export class RepositoryPathError extends InvalidInputError {}

/** A snapshot id or prefix that matches none, or more than one. */
export class SnapshotNotFoundError extends InvalidInputError {}

/** The operation was aborted through its AbortSignal; the repository stays consistent. */
export class BackupAbortedError extends BzzzError {
  constructor(what: string) {
    super(`${what} aborted; the repository is consistent (leftovers are removed by prune)`);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new BackupAbortedError(what);
}
