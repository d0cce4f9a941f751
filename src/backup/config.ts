// The repository config: its id and the chunker's random seed and sizes (age-encrypted, so the
// seed, and with it the cut points, stays secret).
import { randomBytes } from 'node:crypto';
import { type ChunkerParams, DEFAULT_CHUNKER } from './chunker.js';
import { FORMAT_VERSION } from './layout.js';
import { ShapeReader } from './shape.js';

export interface RepoConfig {
  version: number;
  id: string;
  createdAt: string;
  chunker: ChunkerParams & { seed: string };
  /** Plaintext bytes after which a pack is closed. */
  packSize: number;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export function newConfig(now: Date, chunker: ChunkerParams = DEFAULT_CHUNKER, packSize = DEFAULT_PACK_SIZE): RepoConfig {
  return {
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    createdAt: now.toISOString(),
    chunker: { ...chunker, seed: randomBytes(32).toString('hex') },
    packSize,
  };
}

export function parseConfig(value: unknown, file: string): RepoConfig {
  const r = new ShapeReader(file);
  const o = r.object(value, 'config');
  const version = r.int(o.version, 'version');
  if (version !== FORMAT_VERSION) r.fail('version', `is ${version}; this program reads version ${FORMAT_VERSION}`);
  const c = r.object(o.chunker, 'chunker');
  const seed = r.string(c.seed, 'chunker.seed', 64);
  if (!/^[0-9a-f]{64}$/.test(seed)) r.fail('chunker.seed', 'is not 32 bytes of hex');
  const min = r.int(c.min, 'chunker.min', 64, 64 * 1024 * 1024);
  const avg = r.int(c.avg, 'chunker.avg', 128, 64 * 1024 * 1024);
  const max = r.int(c.max, 'chunker.max', 256, 64 * 1024 * 1024);
  if (!(min < avg && avg < max) || (avg & (avg - 1)) !== 0) r.fail('chunker', 'sizes are not min < avg < max with avg a power of two');
  return {
    version,
    id: r.string(o.id, 'id', 64),
    createdAt: r.string(o.createdAt, 'createdAt', 64),
    chunker: { seed, min, avg, max },
    packSize: r.int(o.packSize, 'packSize', 1024, 32 * 1024 * 1024),
  };
}
