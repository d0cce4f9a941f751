// Index files: which pack holds each chunk, at which plaintext offset, how long. A backup writes
// one after its packs are durable (and one per 64 packs on long runs), prune rewrites them. The
// in-memory ChunkIndex is the union of all index files on disk.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createHasher } from '../crypto/blake3.js';
import { listDir, readBounded, writeFileAtomic } from './files.js';
import { FORMAT_VERSION, HEX64, LIMITS, dirs } from './layout.js';
import type { PackRecord } from './pack-writer.js';
import { openJson, sealJson } from './sealed-json.js';
import { ShapeReader } from './shape.js';

export interface ChunkLocation {
  pack: string;
  offset: number;
  length: number;
}

/** Pack records in index files: at most this many per file (keeps each file under its size limit). */
export const PACKS_PER_INDEX_FILE = 20_000;

export function encodeIndex(packs: readonly PackRecord[]): unknown {
  return {
    version: FORMAT_VERSION,
    packs: packs.map((p) => ({ id: p.id, size: p.size, chunks: p.chunks.map((c) => [c.id, c.offset, c.length]) })),
  };
}

export function parseIndex(value: unknown, file: string): PackRecord[] {
  const r = new ShapeReader(file);
  const o = r.object(value, 'index');
  if (o.version !== FORMAT_VERSION) r.fail('version', `is not ${FORMAT_VERSION}`);
  return r.array(o.packs, 'packs', PACKS_PER_INDEX_FILE).map((pv, i) => {
    const p = r.object(pv, `packs[${i}]`);
    const size = r.int(p.size, `packs[${i}].size`, 1, LIMITS.pack);
    let end = 0;
    const chunks = r.array(p.chunks, `packs[${i}].chunks`, LIMITS.packChunks).map((cv, j) => {
      const f = `packs[${i}].chunks[${j}]`;
      const c = r.array(cv, f, 3);
      if (c.length !== 3) r.fail(f, 'is not [id, offset, length]');
      const offset = r.int(c[1], `${f} offset`, 0, LIMITS.pack);
      const length = r.int(c[2], `${f} length`, 0, LIMITS.pack);
      if (offset < end || offset + length > size) r.fail(f, 'overlaps another chunk or lies past the end of the pack');
      end = offset + length;
      return { id: r.hex64(c[0], `${f} id`), offset, length };
    });
    return { id: r.hex64(p.id, `packs[${i}].id`), size, chunks };
  });
}

/** The union of the index files: chunk → location, pack → record, and which file said so. */
export class ChunkIndex {
  readonly chunks = new Map<string, ChunkLocation>();
  readonly packs = new Map<string, PackRecord>();
  /** Index file name → the packs it lists. */
  readonly files = new Map<string, string[]>();

  add(file: string, records: readonly PackRecord[]): void {
    this.files.set(file, [...(this.files.get(file) ?? []), ...records.map((p) => p.id)]);
    for (const p of records) {
      this.packs.set(p.id, p);
      for (const c of p.chunks) if (!this.chunks.has(c.id)) this.chunks.set(c.id, { pack: p.id, offset: c.offset, length: c.length });
    }
  }
}

export async function writeIndexFile(repo: string, packs: readonly PackRecord[], recipients: readonly string[]): Promise<string> {
  const bytes = sealJson(encodeIndex(packs), recipients);
  const h = createHasher();
  h.update(bytes);
  const name = h.digestHex();
  await writeFileAtomic(join(dirs.index(repo), name), [bytes], dirs.tmp(repo));
  return name;
}

export async function readIndexFile(repo: string, name: string, identities: readonly string[]): Promise<PackRecord[]> {
  const path = join(dirs.index(repo), name);
  const reader = new ShapeReader(`index file ${path}`);
  if (!HEX64.test(name)) reader.fail('name', 'is not 64 hex digits');
  return parseIndex(openJson(await readBounded(path, LIMITS.index, 'index file'), identities, reader), reader.file);
}

/** Every index file, read (all of them again when one was removed since `into` was filled). */
export async function loadIndex(repo: string, identities: readonly string[], into?: ChunkIndex): Promise<ChunkIndex> {
  const names = (await listDir(dirs.index(repo))).filter((n) => !n.startsWith('.'));
  let index = into ?? new ChunkIndex();
  if ([...index.files.keys()].some((f) => !names.includes(f))) index = new ChunkIndex();
  for (const name of names) if (!index.files.has(name)) index.add(name, await readIndexFile(repo, name, identities));
  return index;
}

export async function removeIndexFile(repo: string, name: string): Promise<void> {
  await unlink(join(dirs.index(repo), name)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
