// Reads chunks back out of packs. Random access: the age payload is 64 KiB sealed segments with a
// counter nonce, so a chunk at plaintext offset o needs only the segments that cover it — read
// with one positioned read and opened one by one. Every chunk read is rehashed against its id.
import { type FileHandle, open } from 'node:fs/promises';
import { AGE_CHUNK_SIZE, AGE_SEALED_CHUNK_SIZE, type AgePayload, type AgePayloadOpener, MAX_HEADER_BYTES } from '../crypto/age-stream.js';
import { createHasher } from '../crypto/blake3.js';
import { RepositoryCorruptError } from './errors.js';
import { readAt } from './files.js';
import { LIMITS, packPath } from './layout.js';

interface OpenPackFile {
  fh: FileHandle;
  size: number;
  payload: AgePayload;
}

export function blake3Hex(data: Uint8Array): string {
  const h = createHasher();
  h.update(data);
  return h.digestHex();
}

/** The payload of a pack held whole in memory, segment by segment; `bad` lists segments that did not open. */
export function decryptPackSegments(file: Buffer, payload: AgePayload): { plain: Buffer; bad: number[] } {
  const n = payload.chunkCount(file.length);
  const parts: Buffer[] = [];
  const bad: number[] = [];
  for (let s = 0; s < n; s++) {
    const start = payload.offset + s * AGE_SEALED_CHUNK_SIZE;
    const sealed = file.subarray(start, Math.min(file.length, start + AGE_SEALED_CHUNK_SIZE));
    const plain = payload.openChunk(s, s === n - 1, sealed);
    if (plain) parts.push(plain);
    else {
      bad.push(s);
      // Keep offsets right: a damaged segment reads as zeros of the size it would have had.
      parts.push(Buffer.alloc(Math.max(0, sealed.length - (AGE_SEALED_CHUNK_SIZE - AGE_CHUNK_SIZE))));
    }
  }
  return { plain: Buffer.concat(parts), bad };
}

export class PackReader {
  private readonly files = new Map<string, Promise<OpenPackFile>>();

  constructor(
    private readonly repo: string,
    private readonly opener: AgePayloadOpener,
    /** Open pack files kept (restore reads one pack after another; a few suffice). */
    private readonly keep = 8,
  ) {}

  private async openPack(pack: string): Promise<OpenPackFile> {
    const path = packPath(this.repo, pack);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw new RepositoryCorruptError(`pack ${pack} (${path}) cannot be opened: ${(err as Error).message}`, { cause: err });
    }
    try {
      const { size } = await fh.stat();
      if (size > LIMITS.pack) throw new RepositoryCorruptError(`pack ${pack} is ${size} bytes, over the limit of ${LIMITS.pack}`);
      let head = await readAt(fh, 0, Math.min(size, 4096));
      if (head.indexOf('\n--- ') < 0) head = await readAt(fh, 0, Math.min(size, MAX_HEADER_BYTES + 64));
      let payload: AgePayload;
      try {
        payload = this.opener.open(head);
      } catch (err) {
        throw new RepositoryCorruptError(`pack ${pack}: ${(err as Error).message}`, { cause: err });
      }
      return { fh, size, payload };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private pack(pack: string): Promise<OpenPackFile> {
    let p = this.files.get(pack);
    if (p) {
      // Most recently used last.
      this.files.delete(pack);
      this.files.set(pack, p);
      return p;
    }
    p = this.openPack(pack);
    p.catch(() => this.files.delete(pack));
    this.files.set(pack, p);
    while (this.files.size > this.keep) {
      const [oldest, old] = this.files.entries().next().value as [string, Promise<OpenPackFile>];
      this.files.delete(oldest);
      old.then((f) => f.fh.close()).catch(() => undefined);
    }
    return p;
  }

  /** The plaintext of chunk `id` at `offset`/`length` in `pack`, checked against its id. */
  async readChunk(pack: string, id: string, offset: number, length: number): Promise<Buffer> {
    const f = await this.pack(pack);
    const n = f.payload.chunkCount(f.size);
    const s0 = Math.floor(offset / AGE_CHUNK_SIZE);
    const s1 = Math.floor((offset + Math.max(length, 1) - 1) / AGE_CHUNK_SIZE);
    if (s1 >= n) throw new RepositoryCorruptError(`pack ${pack}: chunk ${id} at ${offset}+${length} lies past the end of the pack`);
    const start = f.payload.offset + s0 * AGE_SEALED_CHUNK_SIZE;
    const sealed = await readAt(f.fh, start, Math.min(f.size, f.payload.offset + (s1 + 1) * AGE_SEALED_CHUNK_SIZE) - start);
    const plains: Buffer[] = [];
    for (let s = s0; s <= s1; s++) {
      const at = (s - s0) * AGE_SEALED_CHUNK_SIZE;
      const plain = f.payload.openChunk(s, s === n - 1, sealed.subarray(at, at + AGE_SEALED_CHUNK_SIZE));
      if (!plain) throw new RepositoryCorruptError(`pack ${pack}: chunk ${id}: payload segment ${s} does not decrypt (altered on disk)`);
      plains.push(plain);
    }
    const all = plains.length === 1 ? (plains[0] as Buffer) : Buffer.concat(plains);
    const from = offset - s0 * AGE_CHUNK_SIZE;
    const data = all.subarray(from, from + length);
    if (data.length !== length || blake3Hex(data) !== id)
      throw new RepositoryCorruptError(`pack ${pack}: chunk ${id} does not match its hash (altered on disk)`);
    return data;
  }

  async close(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    await Promise.allSettled(all.map((p) => p.then((f) => f.fh.close())));
  }
}
