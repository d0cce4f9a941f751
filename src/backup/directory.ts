// A directory as a backup source and as a restore target. The source walks the tree in sorted
// order with lstat (regular files and directories; symlinks, sockets and devices are skipped) and
// hands over size, mtime, inode and device so an unchanged file is not read again. The target
// writes entries back under its directory and refuses any path that would leave it.
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, utimes } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError } from '../util/errors.js';
import { badRelativePath } from './manifest.js';
import type { BackupSource, RestoreTarget, SourceEntry } from './types.js';

const READ_CHUNK = 4 * 1024 * 1024;

export function directorySource(part: string, dir: string): BackupSource {
  const root = resolve(dir);
  async function* walk(rel: string, signal: AbortSignal): AsyncGenerator<SourceEntry> {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      if (signal.aborted) return;
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(root, path);
      const st = await lstat(full, { bigint: false });
      const common = { path, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, inode: st.ino, dev: st.dev };
      if (st.isDirectory()) {
        yield { ...common, type: 'dir' };
        yield* walk(path, signal);
      } else if (st.isFile()) {
        yield { ...common, type: 'file', size: st.size, open: async () => createReadStream(full, { highWaterMark: READ_CHUNK }) };
      }
    }
  }
  return {
    part,
    async *entries(signal) {
      const st = await lstat(root).catch(() => undefined);
      if (!st?.isDirectory()) throw new InvalidInputError(`backup source ${part}: ${root} is not a directory`);
      yield* walk('', signal);
    },
  };
}

export function directoryTarget(part: string, dir: string): RestoreTarget {
  const root = resolve(dir);
  const dirTimes: { path: string; mtimeMs: number }[] = [];
  function place(path: string): string {
    const why = badRelativePath(path);
    const full = resolve(root, path);
    const rel = relative(root, full);
    if (why || rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || resolve(root, rel) !== full)
      throw new InvalidInputError(`restore into ${root}: entry path "${path.slice(0, 200)}" ${why ?? 'leaves the directory'}; refused`);
    return full;
  }
  /** Refuses to write through a symlink that is already inside the target (it could point anywhere). */
  async function noSymlinkOnTheWay(full: string): Promise<void> {
    const parts = relative(root, full).split(sep);
    let at = root;
    for (const p of parts) {
      at = join(at, p);
      const st = await lstat(at).catch(() => undefined);
      if (!st) return;
      if (st.isSymbolicLink()) throw new InvalidInputError(`restore into ${root}: ${at} is a symlink; refusing to write through it`);
    }
  }
  return {
    part,
    async write(entry, data: Readable | undefined) {
      const full = place(entry.path);
      await noSymlinkOnTheWay(full);
      if (entry.type === 'dir') {
        await mkdir(full, { recursive: true, mode: 0o700 });
        if (entry.mode !== undefined) await chmod(full, entry.mode);
        if (entry.mtimeMs !== undefined) dirTimes.push({ path: full, mtimeMs: entry.mtimeMs });
        return;
      }
      await mkdir(join(full, '..'), { recursive: true, mode: 0o700 });
      const out = createWriteStream(full, { mode: entry.mode ?? 0o600, highWaterMark: READ_CHUNK });
      if (data) await pipeline(data, out);
      else await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
      if (entry.mode !== undefined) await chmod(full, entry.mode);
      if (entry.mtimeMs !== undefined) await utimes(full, entry.mtimeMs / 1000, entry.mtimeMs / 1000);
    },
    async finish() {
      // Directory times last: writing files into a directory moves its mtime.
      for (const d of dirTimes.reverse()) await utimes(d.path, d.mtimeMs / 1000, d.mtimeMs / 1000).catch(() => undefined);
      dirTimes.length = 0;
    },
  };
}
