// The content store's public surface. Addresses passed in may be `blake3:<hex>` or bare hex
// (parsed with parseAddress: InvalidAddressError otherwise); addresses handed out are canonical.
import type { Logger } from '../../util/log.js';
import type { BlobAddress } from './address.js';
import type { PutSource } from './write-temp.js';

export type { PutSource };

/** Time, injected (quarantine file names). */
export interface StoreClock {
  now(): number;
}

export interface ContentStoreInit {
  /** Directory that holds blobs/, tmp/ and quarantine/. Created if missing. One process owns it. */
  root: string;
  log?: Logger;
  clock?: StoreClock;
  /** Size of the chunks get() yields and verify() reads. Default 1 MiB. */
  readChunkBytes?: number;
  /** Bytes gathered before one write call during put(). Default 4 MiB. */
  writeBatchBytes?: number;
  /** During put(), start a background fdatasync after each this many bytes written. Default 32 MiB. */
  syncEveryBytes?: number;
  /** Most bytes the store holds; new content beyond it is refused (StoreFullError 'quota'). Default: no quota. */
  quotaBytes?: number;
  /** Free bytes always left on the store's disk (StoreFullError 'reserve' below it). Default 0. */
  reserveBytes?: number;
  /** Told about every refusal (a metric). */
  onRefused?(reason: 'quota' | 'reserve'): void;
  /** Told about every operation's end (metrics): see StoreOperationEnd. */
  onOperation?(end: StoreOperationEnd): void;
}

export type StoreOp = 'put' | 'get' | 'get_buffer' | 'has' | 'stat' | 'delete' | 'verify' | 'scrub' | 'read';

/**
 * One finished store operation. `ioErrors` counts what the disk did wrong: an errno from the
 * filesystem (EIO, ENOSPC, EACCES, ENOTDIR …; a missing blob is a miss, not an error) or bytes that
 * no longer match their address (corruption: thrown on read, or found by verify and scrub).
 * `read` is the streaming of a blob handed out by get().
 */
export interface StoreOperationEnd {
  op: StoreOp;
  outcome: 'ok' | 'error';
  ioErrors?: { kind: 'errno' | 'corruption'; count: number };
}

export interface PutOptions {
  /** The address the bytes must have (content fetched from a peer): on mismatch, BlobMismatchError and nothing is kept. */
  expected?: string;
  /** Refuse content longer than this (BlobTooLargeError), e.g. from an untrusted peer. */
  maxBytes?: number;
  /** The size the source announced (Content-Length): refused up front when it cannot fit. */
  declaredBytes?: number;
  signal?: AbortSignal;
}

export interface PutResult {
  address: BlobAddress;
  size: number;
  /** False when the store already held a verified copy (nothing was rewritten). */
  created: boolean;
}

export interface BlobReader {
  address: BlobAddress;
  size: number;
  /**
   * The blob's bytes, hashed as they stream. If they do not match the address, the iteration
   * throws BlobCorruptedError before the last chunk is yielded, and the blob is quarantined.
   * Iterate it to the end or call `return()`; nothing is held open until iteration starts.
   */
  stream: AsyncGenerator<Uint8Array, void, undefined>;
}

export interface BlobStat {
  address: BlobAddress;
  size: number;
  mtimeMs: number;
}

/** Result of a full re-hash of one blob. `corrupted` blobs have been moved to quarantine. */
export type VerifyResult = 'ok' | 'corrupted' | 'missing';

export interface ScrubResult {
  checked: number;
  ok: number;
  corrupted: number;
  /** Listed but gone before it was read (deleted meanwhile). */
  missing: number;
  /** Bytes re-hashed. */
  bytes: number;
  /** True if the signal stopped the scrub before every blob was checked. */
  aborted: boolean;
}

export interface StoreStats {
  /** Blobs held (committed, not quarantined). */
  blobs: number;
  /** Sum of their sizes. */
  bytes: number;
  /** Corrupted blobs detected (and quarantined) since this store was opened. */
  corruptions: number;
  /** Files in the quarantine directory. */
  quarantined: number;
}

export interface ContentStore {
  readonly root: string;
  put(source: PutSource, opts?: PutOptions): Promise<PutResult>;
  /** Throws BlobNotFoundError if absent. */
  get(address: string): Promise<BlobReader>;
  /** A small blob, wholly verified before any byte is returned. BlobTooLargeError above maxBytes. */
  getVerifiedBuffer(address: string, maxBytes: number): Promise<Buffer>;
  has(address: string): Promise<boolean>;
  stat(address: string): Promise<BlobStat | undefined>;
  /** True if a blob was removed. */
  delete(address: string): Promise<boolean>;
  /** Every committed address (order: by hex). */
  list(): AsyncIterable<BlobAddress>;
  verify(address: string): Promise<VerifyResult>;
  /** Verify every blob, one at a time. */
  scrub(opts?: { signal?: AbortSignal }): Promise<ScrubResult>;
  stats(): StoreStats;
  /** Called once per blob moved to quarantine (the p2p layer fetches it again). Returns unsubscribe. */
  onCorruption(listener: (address: BlobAddress) => void): () => void;
  /** Refuse new operations, stop scrubs, wait for operations in flight. */
  close(): Promise<void>;
}
