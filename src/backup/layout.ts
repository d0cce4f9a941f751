// Where things live in a repository directory, and the size limits of every file read from it (a
// repository may be hostile: a huge or malformed file is a clear error naming it, never an OOM).
//
//   bzzz-backup            plaintext marker: format name and version (isRepository without keys)
//   config                 age: repository id, chunker seed and sizes
//   data/<2 hex>/<64 hex>  packs: age files named by the BLAKE3 of their bytes
//   index/<64 hex>         age: chunk → pack, offset, length (named by BLAKE3 of their bytes)
//   snapshots/<64 hex>     age: one manifest per snapshot (id = BLAKE3 of the file)
//   locks/<name>.json      plaintext: holder, time, expiry
//   tmp/                   files being written; renamed into place when complete
import { join } from 'node:path';

export const MARKER_FILE = 'bzzz-backup';
export const MARKER_TEXT = 'bzzz-backup repository v1\n';
export const FORMAT_VERSION = 1;

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const LIMITS = {
  marker: 1 * KiB,
  config: 64 * KiB,
  index: 256 * MiB,
  manifest: 512 * MiB,
  lock: 4 * KiB,
  /** A pack holds ~16 MiB plus at most one 8 MiB chunk and its chunk list. */
  pack: 64 * MiB,
  /** Chunks listed in one pack's trailer. */
  packChunks: 100_000,
} as const;

export const HEX64 = /^[0-9a-f]{64}$/;

export const dirs = {
  data: (repo: string) => join(repo, 'data'),
  index: (repo: string) => join(repo, 'index'),
  snapshots: (repo: string) => join(repo, 'snapshots'),
  locks: (repo: string) => join(repo, 'locks'),
  tmp: (repo: string) => join(repo, 'tmp'),
};

export function packPath(repo: string, id: string): string {
  return join(repo, 'data', id.slice(0, 2), id);
}
