// Removing what no snapshot needs. Packs whose chunks are all unused are deleted; packs partly
// used are repacked (their used chunks copied into new packs). Crash-safe order: new packs →
// new index files (listing every pack kept) → old index files removed → unneeded packs removed.
// Dying in between leaves chunks indexed twice or packs unreferenced, both harmless; the next
// prune finishes the job. Leftovers of crashed runs (tmp files, packs no index lists) go too.
import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoContext } from './context.js';
import { throwIfAborted } from './errors.js';
import { fileSize, fsyncDir, listDir } from './files.js';
import { PACKS_PER_INDEX_FILE, loadIndex, removeIndexFile, writeIndexFile } from './index-file.js';
import { HEX64, dirs, packPath } from './layout.js';
import type { PackReader } from './pack-reader.js';
import { Packer, type PackRecord } from './pack-writer.js';
import { ProgressReporter } from './progress.js';
import type { ProgressListener } from './types.js';

export interface PruneOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

async function packsOnDisk(repo: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await listDir(dirs.data(repo)))
    for (const name of await listDir(join(dirs.data(repo), sub))) if (HEX64.test(name)) out.push(name);
  return out;
}

export async function runPrune(
  ctx: RepoContext,
  reader: PackReader,
  opts: PruneOptions,
  lock?: { assertHeld(): Promise<void> },
): Promise<{ packsRemoved: number; bytesFreed: number }> {
  const signal = opts.signal ?? new AbortController().signal;
  const progress = new ProgressReporter('prune', opts.onProgress);
  let bytesFreed = 0;
  // Leftovers of interrupted writes (we hold the exclusive lock: nobody is writing).
  for (const name of await readdir(dirs.tmp(ctx.dir)).catch(() => [] as string[])) {
    const path = join(dirs.tmp(ctx.dir), name);
    bytesFreed += (await fileSize(path)) ?? 0;
    await rm(path, { force: true });
  }
  ctx.index = await loadIndex(ctx.dir, ctx.identities);
  const index = ctx.index;
  const used = new Set<string>();
  for (const id of await ctx.snapshots.ids())
    for (const p of (await ctx.snapshots.manifest(id)).parts) for (const e of p.entries) for (const c of e.chunks) used.add(c);

  // Each used chunk is kept at one location: the index's (the first pack that listed it).
  const keep: PackRecord[] = [];
  const repack: PackRecord[] = [];
  const drop: PackRecord[] = [];
  for (const p of index.packs.values()) {
    const live = p.chunks.filter((c) => used.has(c.id) && index.chunks.get(c.id)?.pack === p.id).length;
    if (live === p.chunks.length) keep.push(p);
    else if (live === 0) drop.push(p);
    else repack.push(p);
  }
  let packsRemoved = 0;
  const indexed = new Set(index.packs.keys());
  for (const id of await packsOnDisk(ctx.dir)) {
    if (indexed.has(id)) continue;
    bytesFreed += (await fileSize(packPath(ctx.dir, id))) ?? 0;
    await unlink(packPath(ctx.dir, id)).catch(() => undefined);
    packsRemoved++;
  }
  if (repack.length === 0 && drop.length === 0) {
    progress.done();
    return { packsRemoved, bytesFreed };
  }

  const packer = new Packer(ctx.dir, ctx.recipients, ctx.config.packSize);
  try {
    for (const p of repack) {
      for (const c of p.chunks) {
        throwIfAborted(signal, 'prune');
        if (!used.has(c.id) || index.chunks.get(c.id)?.pack !== p.id || packer.has(c.id)) continue;
        const data = await reader.readChunk(p.id, c.id, c.offset, c.length);
        await packer.add(c.id, data);
        progress.p.bytes += c.length;
        progress.p.chunks++;
        progress.tick();
      }
    }
  } catch (err) {
    await packer.abandon();
    throw err;
  }
  const fresh = await packer.flush();
  // Deleting starts here: only while the lock is still ours.
  await lock?.assertHeld();
  const oldFiles = [...index.files.keys()];
  const all = [...keep, ...fresh];
  for (let i = 0; i < all.length; i += PACKS_PER_INDEX_FILE)
    await writeIndexFile(ctx.dir, all.slice(i, i + PACKS_PER_INDEX_FILE), ctx.recipients);
  for (const f of oldFiles) await removeIndexFile(ctx.dir, f);
  await fsyncDir(dirs.index(ctx.dir));
  await reader.close();
  for (const p of [...repack, ...drop]) {
    await unlink(packPath(ctx.dir, p.id)).catch(() => undefined);
    bytesFreed += p.size;
    packsRemoved++;
  }
  bytesFreed -= fresh.reduce((n, p) => n + p.size, 0);
  ctx.index = await loadIndex(ctx.dir, ctx.identities);
  progress.done();
  ctx.log.info({ packsRemoved, bytesFreed, repacked: repack.length }, 'backup repository pruned');
  return { packsRemoved, bytesFreed };
}
