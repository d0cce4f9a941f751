// BLAKE3 over the native @napi-rs/blake-hash binding, for any layer that may import crypto (the
// v1 archive in src/hosts, backups). The hex is exactly what `b3sum` prints (32-byte output,
// unkeyed). The content store has its own address-typed wrapper (src/agent/cas/hasher.ts).
import { Blake3Hasher } from '@napi-rs/blake-hash';

/** An incremental BLAKE3 hash: feed chunks in order, read the hex any time. */
export interface Blake3 {
  update(chunk: Uint8Array): void;
  /** 64 lowercase hex digits of the bytes fed so far (does not end the hash). */
  digestHex(): string;
  /** Bytes fed so far. */
  readonly bytes: number;
}

export function createBlake3(): Blake3 {
  const native = new Blake3Hasher();
  let bytes = 0;
  return {
    update(chunk) {
      if (chunk.byteLength === 0) return;
      native.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      bytes += chunk.byteLength;
    },
    digestHex: () => native.digest('hex'),
    get bytes() {
      return bytes;
    },
  };
}

/** BLAKE3 hex of bytes held in memory. */
export function blake3Hex(bytes: Uint8Array): string {
  const h = createBlake3();
  h.update(bytes);
  return h.digestHex();
}
