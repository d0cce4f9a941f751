// The backup repository's contract, shared by the repository (src/backup), the sources and
// restore targets that know the cluster (src/ops/backup-*.ts), the controller and the CLI.
//
// A snapshot is a tree of entries under named parts: `swarm/…` (spec generations, service
// definitions, configs, secret values), `postgres/<db>.sql`, `content/<agent>/…`, or any
// directory (`files/…`, the benchmark's data set). Each part comes from a BackupSource and goes
// back through a RestoreTarget. The repository never knows what a part means.
import type { Readable } from 'node:stream';

/** One file (or directory) a source hands to the repository. Paths are POSIX, relative, no `..`. */
export interface SourceEntry {
  /** Path inside the part, e.g. `bzzz_v2.sql` or `cas/ab/cd…`. */
  path: string;
  type: 'file' | 'dir';
  /** Unix mode bits (permission part), when the source has them. */
  mode?: number;
  /** Modification time in ms since the epoch, when the source has one. */
  mtimeMs?: number;
  /** Size in bytes when known before reading (files on disk); streams from `docker exec` have none. */
  size?: number;
  /**
   * Device and inode, when on disk: with size and mtime they let a backup reuse the parent
   * snapshot's chunk list for an unchanged file without reading it (restic's change detection).
   */
  inode?: number;
  dev?: number;
  /** The file's bytes; called at most once, only for files the parent snapshot cannot vouch for. */
  open?(): Promise<Readable>;
}

/** A named part of a backup (`swarm`, `postgres`, `content`, `files`). */
export interface BackupSource {
  readonly part: string;
  /** Entries in a stable order. Throwing fails the backup (the repository stays consistent). */
  entries(signal: AbortSignal): AsyncIterable<SourceEntry>;
}

/** Where a restored part goes: a directory, a database, a cluster's swarm objects, agents. */
export interface RestoreTarget {
  readonly part: string;
  /** Called once per entry of the part, in snapshot order; `data` is undefined for directories. */
  write(entry: Omit<SourceEntry, 'open'>, data: Readable | undefined, signal: AbortSignal): Promise<void>;
  /** After the last entry (e.g. run the SQL, apply the spec). */
  finish(signal: AbortSignal): Promise<void>;
}

/** Progress of a long repository operation (backup, verify, restore, prune), for bars and JSON lines. */
export interface Progress {
  op: 'backup' | 'verify' | 'restore' | 'prune';
  /** Bytes read from sources (backup), read from packs (verify/prune) or written (restore). */
  bytes: number;
  /** Bytes known in total, when known (for ETA). */
  totalBytes?: number;
  chunks: number;
  /** Of `chunks`, how many were new (backup) or bad (verify). */
  newChunks?: number;
  files: number;
  /** Current part and path, for people. */
  current?: string;
}

export type ProgressListener = (p: Progress) => void;

export interface SnapshotSummary {
  /** Snapshot id: hex BLAKE3 of its manifest file, first 16 hex digits shown to people. */
  id: string;
  /** The cluster it belongs to. */
  cluster: string;
  time: string;
  /** Why it was taken: `schedule`, `manual`, `drill`… */
  reason: string;
  parts: string[];
  files: number;
  bytes: number;
  /** Bytes this snapshot added to the repository (new chunks, before encryption overhead). */
  addedBytes: number;
  tags?: Record<string, string>;
}

export interface VerifyReport {
  ok: boolean;
  packsChecked: number;
  packsTotal: number;
  chunksChecked: number;
  /** Each problem names the file (pack, index, snapshot) and what is wrong with it. */
  problems: string[];
}

/** Retention in the style of restic's `forget --keep-*`: a snapshot is kept if any rule keeps it. */
export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}
