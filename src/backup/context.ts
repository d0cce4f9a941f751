// What the operations of an open repository share.
import type { AgePayloadOpener } from '../crypto/age-stream.js';
import type { Logger } from '../util/log.js';
import type { Chunker } from './chunker.js';
import type { RepoConfig } from './config.js';
import type { ChunkIndex } from './index-file.js';
import type { LockOptions } from './lock.js';
import type { SnapshotStore } from './manifest.js';

export interface RepoContext {
  readonly dir: string;
  readonly identities: readonly string[];
  readonly recipients: readonly string[];
  readonly opener: AgePayloadOpener;
  readonly config: RepoConfig;
  readonly chunker: Chunker;
  readonly snapshots: SnapshotStore;
  readonly log: Logger;
  readonly lockOptions: LockOptions;
  /** The index as last loaded; operations reload it (new files only) under their lock. */
  index: ChunkIndex;
}
