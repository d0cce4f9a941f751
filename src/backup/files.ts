// File I/O with the repository's guarantees: every write is atomic and durable (tmp file, fsync,
// rename, fsync of the directory), every read is bounded and names the file when it fails.
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { RepositoryCorruptError } from './errors.js';

/** A fresh name in `tmpDir` for a file being written. */
export function tmpName(tmpDir: string, hint: string): string {
  return join(tmpDir, `${hint}-${randomBytes(8).toString('hex')}.tmp`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all buffers to `fh` from its current position, in as few calls as the OS allows. */
export async function writeAll(fh: FileHandle, bufs: readonly Buffer[]): Promise<void> {
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length > 0) {
    // writev takes at most IOV_MAX (1024) buffers.
    const batch = rest.slice(0, 1000);
    let { bytesWritten } = await fh.writev(batch);
    const left: Buffer[] = [];
    for (const b of batch) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        left.push(b.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    rest = [...left, ...rest.slice(batch.length)];
  }
}

/** Creates `path` (it must not exist) with `bufs` as its content, fsynced before this returns. */
export async function writeNewDurable(path: string, bufs: readonly Buffer[]): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await writeAll(fh, bufs);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `bufs` as the file `dest`, atomically: a reader sees the old file or the whole new one,
 * and after it returns the new one survives a crash. `tmpDir` must be on the same filesystem.
 */
export async function writeFileAtomic(dest: string, bufs: readonly Buffer[], tmpDir: string): Promise<void> {
  const tmp = tmpName(tmpDir, basename(dest));
  await writeNewDurable(tmp, bufs);
  await mkdir(dirname(dest), { recursive: true });
  await rename(tmp, dest);
  await fsyncDir(dirname(dest));
}

/** `length` bytes from `pos` (fewer at the end of the file). */
export async function readAt(fh: FileHandle, pos: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, pos + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** The whole file, refused (naming it) when larger than `limit` bytes. */
export async function readBounded(path: string, limit: number, what: string): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new RepositoryCorruptError(`${what} ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    const { size } = await fh.stat();
    if (size > limit)
      throw new RepositoryCorruptError(`${what} ${path} is ${size} bytes, over the limit of ${limit}: not a file this repository wrote`);
    return await readAt(fh, 0, size);
  } finally {
    await fh.close();
  }
}

/** Names in a directory; an empty list when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
