// Where things live under the store's root. Blobs are sharded two levels deep by the first
// four hex digits (256 × 256 directories) so no directory grows to millions of entries.
//
//   <root>/blobs/ab/cd/abcd…   committed blobs (the name is the commit: rename/link)
//   <root>/tmp/               in-progress writes; anything here at open is a crash leftover
//   <root>/quarantine/        blobs that failed verification, kept for inspection, never served
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { addressHex, type BlobAddress } from './address.js';

export interface StoreLayout {
  readonly root: string;
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;
  /** Directory holding one blob. */
  shardDir(address: BlobAddress): string;
  /** Committed path of one blob. */
  blobPath(address: BlobAddress): string;
  /** A fresh, unique temp file path for one write. */
  tempPath(): string;
  /** Where a corrupted blob is moved: its hex, the time, and a random suffix (never collides). */
  quarantinePath(address: BlobAddress, nowMs: number): string;
}

export function storeLayout(root: string): StoreLayout {
  const blobsDir = join(root, 'blobs');
  const tmpDir = join(root, 'tmp');
  const quarantineDir = join(root, 'quarantine');
  const shardDir = (address: BlobAddress): string => {
    const hex = addressHex(address);
    return join(blobsDir, hex.slice(0, 2), hex.slice(2, 4));
  };
  return {
    root,
    blobsDir,
    tmpDir,
    quarantineDir,
    shardDir,
    blobPath: (address) => join(shardDir(address), addressHex(address)),
    tempPath: () => join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.part`),
    quarantinePath: (address, nowMs) => join(quarantineDir, `${addressHex(address)}.${nowMs}.${randomBytes(4).toString('hex')}`),
  };
}

export const SHARD_NAME = /^[0-9a-f]{2}$/;
export const BLOB_NAME = /^[0-9a-f]{64}$/;
