// Writes chunks into packs. Encryption and hashing run as chunks arrive (synchronous, native);
// a full pack's ciphertext is written to disk in the background in one large write while the
// next pack fills, with at most two packs in flight (memory ~3 packs). A pack appears under its
// final name (BLAKE3 of its bytes) only once it is complete and durable; until the index lists
// it, it is unreferenced and harmless.
import { rename } from 'node:fs/promises';
import { createHasher } from '../crypto/blake3.js';
import { AgeEncryptor } from '../crypto/age-stream.js';
import { fsyncDir, tmpName, writeNewDurable } from './files.js';
import { dirs, packPath } from './layout.js';
import { type PackChunk, encodeTrailer } from './pack-format.js';
import { dirname } from 'node:path';

/** A pack on disk: what an index file records. */
export interface PackRecord {
  id: string;
  /** Bytes of the pack file. */
  size: number;
  chunks: PackChunk[];
}

class OpenPack {
  readonly chunks: PackChunk[] = [];
  readonly out: Buffer[] = [];
  plainBytes = 0;
  private readonly enc: AgeEncryptor;
  private readonly hasher = createHasher();
  private readonly emit = (b: Buffer) => {
    this.out.push(b);
    this.hasher.update(b);
  };

  constructor(recipients: readonly string[]) {
    this.enc = new AgeEncryptor(recipients);
  }

  add(id: string, data: Buffer): void {
    this.chunks.push({ id, offset: this.plainBytes, length: data.length });
    this.enc.update(data, this.emit);
    this.plainBytes += data.length;
  }

  seal(): { id: string; bytes: Buffer[]; size: number } {
    this.enc.update(encodeTrailer(this.chunks), this.emit);
    this.enc.final(this.emit);
    return { id: this.hasher.digestHex(), bytes: this.out, size: this.out.reduce((n, b) => n + b.length, 0) };
  }
}

export class Packer {
  private current?: OpenPack;
  private readonly inFlight: Promise<PackRecord>[] = [];
  private readonly pendingIds = new Set<string>();
  private readonly written: PackRecord[] = [];
  private readonly touchedDirs = new Set<string>();

  constructor(
    private readonly repo: string,
    private readonly recipients: readonly string[],
    private readonly packSize: number,
  ) {}

  /** True when the chunk is already in a pack of this packer (written or not yet). */
  has(id: string): boolean {
    return this.pendingIds.has(id);
  }

  /** Adds a chunk (encrypted before this returns: `data` may be reused once the promise resolves). */
  async add(id: string, data: Buffer): Promise<void> {
    this.current ??= new OpenPack(this.recipients);
    this.current.add(id, data);
    this.pendingIds.add(id);
    if (this.current.plainBytes >= this.packSize) await this.sealCurrent();
  }

  private async sealCurrent(): Promise<void> {
    const pack = this.current;
    if (!pack) return;
    this.current = undefined;
    const sealed = pack.seal();
    const record: PackRecord = { id: sealed.id, size: sealed.size, chunks: pack.chunks };
    const writing = this.writePack(record, sealed.bytes);
    // Observed later (flush, or the bound below); a failure before then must not be an unhandled rejection.
    writing.catch(() => undefined);
    this.inFlight.push(writing);
    // Two packs on their way to disk at most: wait for the oldest before filling another.
    while (this.inFlight.length > 2) this.written.push(await (this.inFlight.shift() as Promise<PackRecord>));
  }

  private async writePack(record: PackRecord, bytes: Buffer[]): Promise<PackRecord> {
    const tmp = tmpName(dirs.tmp(this.repo), 'pack');
    await writeNewDurable(tmp, bytes);
    const dest = packPath(this.repo, record.id);
    await rename(tmp, dest);
    this.touchedDirs.add(dirname(dest));
    return record;
  }

  /** Packs completed since the last call (durable, renamed into place; their directories fsynced). */
  async drainWritten(): Promise<PackRecord[]> {
    const out = this.written.splice(0);
    await this.syncDirs();
    return out;
  }

  /** Seals the open pack and waits for every pack: all of them, durable, in write order. */
  async flush(): Promise<PackRecord[]> {
    await this.sealCurrent();
    while (this.inFlight.length > 0) this.written.push(await (this.inFlight.shift() as Promise<PackRecord>));
    return this.drainWritten();
  }

  /** Waits for writes in flight without sealing (after a failure: leaves no promise unobserved). */
  async abandon(): Promise<void> {
    this.current = undefined;
    await Promise.allSettled(this.inFlight.splice(0));
  }

  private async syncDirs(): Promise<void> {
    const list = [...this.touchedDirs];
    this.touchedDirs.clear();
    await Promise.all(list.map((d) => fsyncDir(d)));
  }
}
