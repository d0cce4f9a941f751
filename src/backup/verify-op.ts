// Checking a repository. Structure: every index file and manifest reads, every chunk a snapshot
// needs is in the index, every indexed pack is on disk with the size the index says. With
// readData: every pack (or a random subset) is read whole, its bytes hashed against its name,
// its payload opened segment by segment and every chunk rehashed — so one flipped byte names the
// pack and exactly the chunks it damaged, and the rest of the pack is still checked.
import { randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { AGE_CHUNK_SIZE } from '../crypto/age-stream.js';
import { createHasher } from '../crypto/blake3.js';
import type { RepoContext } from './context.js';
import { throwIfAborted } from './errors.js';
import { fileSize, listDir, readBounded } from './files.js';
import { ChunkIndex, readIndexFile } from './index-file.js';
import { LIMITS, dirs, packPath } from './layout.js';
import { blake3Hex, decryptPackSegments } from './pack-reader.js';
import { decodeTrailer } from './pack-format.js';
import type { PackRecord } from './pack-writer.js';
import { ProgressReporter } from './progress.js';
import type { ProgressListener, VerifyReport } from './types.js';

export interface VerifyOptions {
  readData?: boolean | { subsetPercent: number };
  /**
   * Without readData: also hash every pack file against its name (reads every pack, needs no
   * key). readData always does this for the packs it reads.
   */
  checkPackNames?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Problems reported at most (a wholly broken repository must not make a report of millions of lines). */
const MAX_PROBLEMS = 1000;

function pickSubset<T>(items: readonly T[], percent: number): T[] {
  if (percent >= 100) return [...items];
  const n = Math.min(items.length, Math.max(items.length > 0 && percent > 0 ? 1 : 0, Math.ceil((items.length * percent) / 100)));
  const pool = [...items];
  for (let i = 0; i < n; i++) {
    const j = i + randomInt(pool.length - i);
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}

/** Problems with one pack read whole; empty when every chunk checks out. */
export function checkPackData(ctx: RepoContext, pack: PackRecord, file: Buffer): string[] {
  const problems: string[] = [];
  const name = `pack ${pack.id}`;
  if (blake3Hex(file) !== pack.id) problems.push(`${name}: its bytes do not hash to its name (altered on disk)`);
  let payload: ReturnType<RepoContext['opener']['open']>;
  try {
    payload = ctx.opener.open(file);
  } catch (err) {
    problems.push(`${name}: the age header does not open (${(err as Error).message}); all ${pack.chunks.length} chunks in it are lost`);
    for (const c of pack.chunks) problems.push(`${name}: chunk ${c.id} unreadable (damaged header)`);
    return problems;
  }
  const { plain, bad } = decryptPackSegments(file, payload);
  const badSet = new Set(bad);
  for (const s of bad)
    problems.push(`${name}: payload segment ${s} (plaintext bytes ${s * AGE_CHUNK_SIZE}…) does not decrypt: altered on disk`);
  for (const c of pack.chunks) {
    const s0 = Math.floor(c.offset / AGE_CHUNK_SIZE);
    const s1 = Math.floor((c.offset + Math.max(1, c.length) - 1) / AGE_CHUNK_SIZE);
    let damaged = false;
    for (let s = s0; s <= s1; s++) if (badSet.has(s)) damaged = true;
    if (damaged) problems.push(`${name}: chunk ${c.id} (offset ${c.offset}, ${c.length} bytes) is damaged`);
    else if (blake3Hex(plain.subarray(c.offset, c.offset + c.length)) !== c.id)
      problems.push(`${name}: chunk ${c.id} (offset ${c.offset}, ${c.length} bytes) does not match its hash`);
  }
  const lastSeg = payload.chunkCount(file.length) - 1;
  if (!badSet.has(lastSeg)) {
    const trailer = decodeTrailer(plain);
    if (typeof trailer === 'string') problems.push(`${name}: ${trailer}`);
    else if (
      trailer.length !== pack.chunks.length ||
      trailer.some((t, i) => t.id !== pack.chunks[i]?.id || t.offset !== pack.chunks[i]?.offset)
    )
      problems.push(`${name}: the chunk list inside the pack differs from the index`);
  }
  return problems;
}

export async function runVerify(ctx: RepoContext, opts: VerifyOptions): Promise<VerifyReport> {
  const signal = opts.signal ?? new AbortController().signal;
  const problems: string[] = [];
  const add = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else if (problems.length === MAX_PROBLEMS) problems.push(`… more problems not listed (over ${MAX_PROBLEMS})`);
  };
  // Index files, each read again from disk (a verify trusts nothing cached).
  const index = new ChunkIndex();
  for (const name of (await listDir(dirs.index(ctx.dir))).filter((n) => !n.startsWith('.'))) {
    try {
      index.add(name, await readIndexFile(ctx.dir, name, ctx.identities));
    } catch (err) {
      add(`index file ${name}: ${(err as Error).message}`);
    }
  }
  ctx.index = index;
  // Snapshots: each chunk they need must be indexed.
  for (const id of await ctx.snapshots.ids()) {
    throwIfAborted(signal, 'verify');
    try {
      const m = await ctx.snapshots.manifest(id, true);
      for (const p of m.parts)
        for (const e of p.entries)
          for (const c of e.chunks)
            if (!index.chunks.has(c)) add(`snapshot ${id.slice(0, 16)}: ${p.name}/${e.path} needs chunk ${c}, which is in no index file`);
    } catch (err) {
      add(`snapshot ${id.slice(0, 16)}: ${(err as Error).message}`);
    }
  }
  // Packs: present with the indexed size.
  const packs = [...index.packs.values()];
  const present: PackRecord[] = [];
  for (const p of packs) {
    const size = await fileSize(packPath(ctx.dir, p.id));
    if (size === undefined)
      add(`pack ${p.id}: indexed but missing on disk (${packPath(ctx.dir, p.id)}); its ${p.chunks.length} chunks are lost`);
    else if (size !== p.size) add(`pack ${p.id}: ${size} bytes on disk, the index says ${p.size} (truncated or altered)`);
    else present.push(p);
  }
  let packsChecked = 0;
  let chunksChecked = 0;
  if (opts.checkPackNames && !opts.readData) {
    for (const p of present) {
      throwIfAborted(signal, 'verify');
      const h = createHasher();
      for await (const b of createReadStream(packPath(ctx.dir, p.id), { highWaterMark: 4 * 1024 * 1024 })) h.update(b as Buffer);
      if (h.digestHex() !== p.id) add(`pack ${p.id}: its bytes do not hash to its name (altered on disk)`);
    }
  }
  if (opts.readData) {
    const chosen = opts.readData === true ? present : pickSubset(present, opts.readData.subsetPercent);
    const progress = new ProgressReporter(
      'verify',
      opts.onProgress,
      chosen.reduce((n, p) => n + p.size, 0),
    );
    // Read the next pack while this one is checked.
    const read = (p: PackRecord | undefined) => (p ? readBounded(packPath(ctx.dir, p.id), LIMITS.pack, 'pack') : undefined);
    let next = read(chosen[0]);
    for (let i = 0; i < chosen.length; i++) {
      throwIfAborted(signal, 'verify');
      const pack = chosen[i] as PackRecord;
      const current = next as Promise<Buffer>;
      next = read(chosen[i + 1]);
      next?.catch(() => undefined);
      let found: string[];
      try {
        found = checkPackData(ctx, pack, await current);
      } catch (err) {
        found = [`pack ${pack.id}: ${(err as Error).message}`];
      }
      for (const p of found) add(p);
      packsChecked++;
      chunksChecked += pack.chunks.length;
      progress.p.bytes += pack.size;
      progress.p.chunks += pack.chunks.length;
      progress.p.newChunks = (progress.p.newChunks ?? 0) + found.filter((f) => f.includes(': chunk ')).length;
      progress.p.current = pack.id;
      progress.tick();
    }
    progress.p.current = undefined;
    progress.done();
  }
  return { ok: problems.length === 0, packsChecked, packsTotal: packs.length, chunksChecked, problems };
}
