// Shared by the content store tests: a fresh store in its own temp dir, and byte sources.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContentStore, type ContentStore, type ContentStoreInit } from '../../../src/agent/cas/index.js';

export interface TempStore {
  dir: string;
  root: string;
  store: ContentStore;
  cleanup(): Promise<void>;
}

export async function tempStore(init: Partial<ContentStoreInit> = {}): Promise<TempStore> {
  const dir = await mkdtemp(join(tmpdir(), 'bzzz-cas-'));
  const root = join(dir, 'store');
  const store = await createContentStore({ root, ...init });
  return {
    dir,
    root,
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Yields `bytes` in chunks of `step`, giving the event loop a turn between chunks. */
export async function* chunked(bytes: Uint8Array, step: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length; off += step) {
    await new Promise((r) => setImmediate(r));
    yield bytes.slice(off, off + step);
  }
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Every file under a directory, relative paths, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1))
    .sort();
}
