// Taking a snapshot: walk the sources, reuse the parent snapshot's chunk lists for files whose
// size, mtime, inode and device are unchanged (nothing read), chunk and hash the rest, store only
// chunks the repository lacks. Write order: packs (durable) → index file → manifest; the process
// dying anywhere leaves a repository whose snapshots are all complete.
import { createHasher } from '../crypto/blake3.js';
import { InvalidInputError } from '../util/errors.js';
import { chunkStream } from './chunker.js';
import type { RepoContext } from './context.js';
import { throwIfAborted } from './errors.js';
import { loadIndex, writeIndexFile } from './index-file.js';
import { FORMAT_VERSION } from './layout.js';
import { type Manifest, type ManifestEntry, type ManifestPart, badRelativePath, summaryOf } from './manifest.js';
import { Packer, type PackRecord } from './pack-writer.js';
import { ProgressReporter } from './progress.js';
import type { BackupSource, ProgressListener, SnapshotSummary, SourceEntry } from './types.js';

export interface BackupOptions {
  cluster: string;
  reason: string;
  tags?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Time recorded in the snapshot (default: now). */
  now?: Date;
}

/** Packs written since the last index file: one is written every this many, so a long run that dies keeps most of its work. */
const PACKS_PER_INTERIM_INDEX = 64;

function unchanged(e: SourceEntry, p: ManifestEntry | undefined): p is ManifestEntry {
  return (
    p !== undefined &&
    p.type === 'file' &&
    e.size !== undefined &&
    e.mtimeMs !== undefined &&
    e.inode !== undefined &&
    e.size === p.size &&
    e.mtimeMs === p.mtimeMs &&
    e.inode === p.inode &&
    e.dev === p.dev
  );
}

/** The latest snapshot of the cluster with the same parts: its entries by part and path. */
async function parentOf(
  ctx: RepoContext,
  cluster: string,
  parts: string[],
): Promise<{ id?: string; parts: Map<string, Map<string, ManifestEntry>> }> {
  const key = [...parts].sort().join('\0');
  const candidates = (await ctx.snapshots.list(cluster)).filter((s) => [...s.parts].sort().join('\0') === key);
  const parent = candidates.at(-1);
  const out = new Map<string, Map<string, ManifestEntry>>();
  if (!parent) return { parts: out };
  const m = await ctx.snapshots.manifest(parent.id);
  for (const part of m.parts) out.set(part.name, new Map(part.entries.map((e) => [e.path, e])));
  return { id: parent.id, parts: out };
}

export async function runBackup(
  ctx: RepoContext,
  sources: readonly BackupSource[],
  opts: BackupOptions,
  lock?: { assertHeld(): Promise<void> },
): Promise<SnapshotSummary> {
  const names = sources.map((s) => s.part);
  if (names.length === 0) throw new InvalidInputError('backup: no sources given');
  if (new Set(names).size !== names.length) throw new InvalidInputError(`backup: part names repeat (${names.join(', ')})`);
  for (const n of names)
    if (badRelativePath(n) || n.includes('/')) throw new InvalidInputError(`backup: part name "${n.slice(0, 80)}" is not a plain name`);
  const signal = opts.signal ?? new AbortController().signal;
  ctx.index = await loadIndex(ctx.dir, ctx.identities, ctx.index);
  const index = ctx.index;
  const { id: parentId, parts: parents } = await parentOf(ctx, opts.cluster, names);
  const progress = new ProgressReporter('backup', opts.onProgress);
  const packer = new Packer(ctx.dir, ctx.recipients, ctx.config.packSize);
  const newPacks: PackRecord[] = [];
  let addedBytes = 0;
  const flushIndex = async (all: boolean) => {
    newPacks.push(...(all ? await packer.flush() : await packer.drainWritten()));
    if (newPacks.length === 0 || (!all && newPacks.length < PACKS_PER_INTERIM_INDEX)) return;
    const records = newPacks.splice(0);
    const name = await writeIndexFile(ctx.dir, records, ctx.recipients);
    index.add(name, records);
  };

  const parts: ManifestPart[] = [];
  try {
    for (const source of sources) {
      const before = parents.get(source.part);
      const entries: ManifestEntry[] = [];
      const seen = new Set<string>();
      for await (const e of source.entries(signal)) {
        throwIfAborted(signal, 'backup');
        const why = badRelativePath(e.path);
        if (why) throw new InvalidInputError(`backup: part ${source.part}: entry path "${e.path.slice(0, 200)}" ${why}`);
        if (seen.has(e.path)) throw new InvalidInputError(`backup: part ${source.part}: entry ${e.path} appears twice`);
        seen.add(e.path);
        progress.p.current = `${source.part}/${e.path}`;
        const meta = { path: e.path, type: e.type, mode: e.mode, mtimeMs: e.mtimeMs, inode: e.inode, dev: e.dev };
        if (e.type === 'dir') {
          entries.push({ ...meta, size: 0, chunks: [] });
          continue;
        }
        const prev = before?.get(e.path);
        if (unchanged(e, prev) && prev.chunks.every((c) => index.chunks.has(c))) {
          entries.push({ ...meta, size: prev.size, chunks: prev.chunks });
          progress.p.bytes += prev.size;
          progress.p.chunks += prev.chunks.length;
          progress.p.files++;
          progress.tick();
          continue;
        }
        if (!e.open) throw new InvalidInputError(`backup: part ${source.part}: file ${e.path} has no data (open() missing)`);
        const chunks: string[] = [];
        let size = 0;
        for await (const data of chunkStream(await e.open(), ctx.chunker)) {
          throwIfAborted(signal, 'backup');
          const h = createHasher();
          h.update(data);
          const id = h.digestHex();
          chunks.push(id);
          size += data.length;
          progress.p.bytes += data.length;
          progress.p.chunks++;
          if (!index.chunks.has(id) && !packer.has(id)) {
            await packer.add(id, data);
            addedBytes += data.length;
            progress.p.newChunks = (progress.p.newChunks ?? 0) + 1;
            await flushIndex(false);
          }
          progress.tick();
        }
        entries.push({ ...meta, size, chunks });
        progress.p.files++;
        progress.tick();
      }
      parts.push({ name: source.part, entries });
    }
    throwIfAborted(signal, 'backup');
    await flushIndex(true);
  } catch (err) {
    await packer.abandon();
    throw err;
  }
  const files = parts.reduce((n, p) => n + p.entries.filter((e) => e.type === 'file').length, 0);
  const bytes = parts.reduce((n, p) => n + p.entries.reduce((m, e) => m + e.size, 0), 0);
  const manifest: Manifest = {
    version: FORMAT_VERSION,
    cluster: opts.cluster,
    time: (opts.now ?? new Date()).toISOString(),
    reason: opts.reason,
    ...(opts.tags ? { tags: opts.tags } : {}),
    ...(parentId ? { parent: parentId } : {}),
    parts,
    files,
    bytes,
    addedBytes,
  };
  // The manifest commits the snapshot: only while the lock is still ours.
  await lock?.assertHeld();
  const id = await ctx.snapshots.write(manifest);
  progress.p.current = undefined;
  progress.done();
  ctx.log.info({ snapshot: id.slice(0, 16), cluster: opts.cluster, files, bytes, addedBytes }, 'backup snapshot written');
  return summaryOf(id, manifest);
}
