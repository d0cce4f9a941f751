// Build hashes: what goes into an image, reduced to one SHA-256. An image records its hash in the
// `io.bzzz.build-hash` label; when the tag already carries the hash of the current inputs, the
// build is skipped. Inputs are hashed by content (paths sorted, each file's relative path, mode's
// executable bit and bytes), so touching a file or copying the tree elsewhere changes nothing.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export const BUILD_HASH_LABEL = 'io.bzzz.build-hash';
export const ROOTFS_HASH_LABEL = 'io.bzzz.rootfs-hash';

/** Canonical JSON: object keys sorted, so equal values hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashValue(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex');
}

/** True when `file` (relative, `/`-separated) is one of `excluded` or inside one of them. */
export function isExcluded(file: string, excluded: readonly string[]): boolean {
  return excluded.some((x) => file === x || file.startsWith(`${x}/`));
}

/** Every regular file under `path` (or `path` itself) but `excluded`, as paths relative to `root`, sorted. */
export async function listFiles(root: string, path: string, excluded: readonly string[] = []): Promise<string[]> {
  const abs = join(root, path);
  const st = await stat(abs);
  if (!st.isDirectory()) return [path];
  const entries = await readdir(abs, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((f) => !isExcluded(f, excluded))
    .sort();
}

async function updateWithFile(h: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
}

/**
 * Hash of the files and directories `paths` (relative to `root`, minus `excluded`) by content. Missing paths are
 * an error: the caller checks for them first and explains what to do.
 */
export async function hashTree(root: string, paths: readonly string[], excluded: readonly string[] = []): Promise<string> {
  const h = createHash('sha256');
  const files = (await Promise.all(paths.map((p) => listFiles(root, p, excluded)))).flat().sort();
  for (const f of files) {
    const st = await stat(join(root, f));
    h.update(`${f}\0${st.mode & 0o111 ? 'x' : '-'}\0${st.size}\0`);
    await updateWithFile(h, join(root, f));
  }
  return h.digest('hex');
}
