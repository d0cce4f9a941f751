// The backup repository: content-defined chunks (FastCDC, BLAKE3 ids) in age-encrypted packs, an
// index, a manifest per snapshot, locks that never stay stale. See repository.ts for the format.
export type {
  BackupSource,
  Progress,
  ProgressListener,
  RestoreTarget,
  RetentionPolicy,
  SnapshotSummary,
  SourceEntry,
  VerifyReport,
} from './types.js';
export { type OpenOptions, type Repository, initRepository, isRepository, openRepository } from './repository.js';
export type { BackupOptions } from './backup-op.js';
export type { RestoreOptions } from './restore-op.js';
export type { VerifyOptions } from './verify-op.js';
export type { PruneOptions } from './prune-op.js';
export { BackupAbortedError, BackupLockedError, RepositoryCorruptError, RepositoryPathError, SnapshotNotFoundError } from './errors.js';
export { directorySource, directoryTarget } from './directory.js';
export { applyRetention } from './retention.js';
