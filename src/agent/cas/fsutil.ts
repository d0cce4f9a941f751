// Small filesystem steps the store's durability depends on.
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * fsync a directory, so that a name created or removed in it (a rename, a link) survives a power
 * loss. Without it a committed blob can vanish after a crash although its data was synced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * mkdir -p, then fsync the parent of every directory it created (so the new shard directories
 * themselves survive a crash, not only the blob names inside them).
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  // Directories from `first` down to `dir` are new: sync each one's parent.
  let d = dir;
  const parents: string[] = [];
  for (;;) {
    const parent = dirname(d);
    parents.push(parent);
    if (d === first || parent === d) break;
    d = parent;
  }
  for (const p of parents) await fsyncDir(p);
}

export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
