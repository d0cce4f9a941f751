// Restoring a snapshot: each part's entries in snapshot order to its target, file data streamed
// chunk by chunk from the packs (each chunk rehashed; the next one read while the current one is
// written).
import { Readable } from 'node:stream';
import { InvalidInputError } from '../util/errors.js';
import type { RepoContext } from './context.js';
import { RepositoryCorruptError, throwIfAborted } from './errors.js';
import { type ChunkIndex, loadIndex } from './index-file.js';
import type { ManifestEntry } from './manifest.js';
import type { PackReader } from './pack-reader.js';
import { ProgressReporter } from './progress.js';
import type { ProgressListener, RestoreTarget } from './types.js';

export interface RestoreOptions {
  parts?: readonly string[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Chunks read ahead of the one being written. */
const READ_AHEAD = 4;

async function* fileData(
  entry: ManifestEntry,
  index: ChunkIndex,
  reader: PackReader,
  progress: ProgressReporter,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const read = (id: string) => {
    const loc = index.chunks.get(id);
    if (!loc) throw new RepositoryCorruptError(`chunk ${id} of ${entry.path} is in no index file; run verify`);
    return reader.readChunk(loc.pack, id, loc.offset, loc.length);
  };
  // Reads run ahead of the writes by a few chunks (~4 MiB of the 1 MiB average), so the disk
  // reads and decryption of what comes next overlap the writing of what came before.
  const ahead: Promise<Buffer>[] = [];
  let queued = 0;
  const fill = () => {
    while (ahead.length < READ_AHEAD && queued < entry.chunks.length) {
      const p = read(entry.chunks[queued++] as string);
      // A read ahead that fails is observed on its turn; until then it must not be unhandled.
      p.catch(() => undefined);
      ahead.push(p);
    }
  };
  for (let i = 0; i < entry.chunks.length; i++) {
    throwIfAborted(signal, 'restore');
    fill();
    const data = await (ahead.shift() as Promise<Buffer>);
    progress.p.bytes += data.length;
    progress.p.chunks++;
    progress.tick();
    yield data;
  }
}

export async function runRestore(
  ctx: RepoContext,
  reader: PackReader,
  snapshotId: string,
  targets: readonly RestoreTarget[],
  opts: RestoreOptions,
): Promise<{ files: number; bytes: number }> {
  const signal = opts.signal ?? new AbortController().signal;
  const summary = await ctx.snapshots.find(snapshotId);
  const manifest = await ctx.snapshots.manifest(summary.id);
  const names = manifest.parts.map((p) => p.name);
  const wanted = opts.parts ?? names;
  const unknown = wanted.filter((p) => !names.includes(p));
  if (unknown.length > 0)
    throw new InvalidInputError(
      `restore: snapshot ${summary.id.slice(0, 16)} has no part ${unknown.join(', ')} (it has ${names.join(', ')})`,
    );
  const missing = wanted.filter((p) => !targets.some((t) => t.part === p));
  if (missing.length > 0)
    throw new InvalidInputError(`restore: no restore target for part ${missing.join(', ')}; give one per part restored`);
  ctx.index = await loadIndex(ctx.dir, ctx.identities, ctx.index);
  const index = ctx.index;
  const parts = manifest.parts.filter((p) => wanted.includes(p.name));
  // Nothing is written when a chunk is missing from the index: check first.
  for (const p of parts)
    for (const e of p.entries)
      for (const c of e.chunks)
        if (!index.chunks.has(c))
          throw new RepositoryCorruptError(`restore: chunk ${c} of ${p.name}/${e.path} is in no index file; run verify`);
  const total = parts.reduce((n, p) => n + p.entries.reduce((m, e) => m + e.size, 0), 0);
  const progress = new ProgressReporter('restore', opts.onProgress, total);
  let files = 0;
  for (const part of parts) {
    const target = targets.find((t) => t.part === part.name) as RestoreTarget;
    for (const e of part.entries) {
      throwIfAborted(signal, 'restore');
      progress.p.current = `${part.name}/${e.path}`;
      const meta = { path: e.path, type: e.type, mode: e.mode, mtimeMs: e.mtimeMs, size: e.size, inode: e.inode, dev: e.dev };
      if (e.type === 'dir') {
        await target.write(meta, undefined, signal);
        continue;
      }
      await target.write(meta, Readable.from(fileData(e, index, reader, progress, signal), { objectMode: false }), signal);
      files++;
      progress.p.files = files;
      progress.tick();
    }
    await target.finish(signal);
  }
  progress.p.current = undefined;
  progress.done();
  return { files, bytes: progress.p.bytes };
}
