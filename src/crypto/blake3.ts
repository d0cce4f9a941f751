// BLAKE3 content addresses, shared by the agent's content store and the operator (which computes
// an address locally before it stores a blob, and checks the agents' answers against it).
// The native @napi-rs/blake-hash binding (~4.7 GiB/s on one thread here; the `blake3@2` npm
// package falls back to WASM at ~0.5 GiB/s, too slow for the store's target).
// Output equals `b3sum` (default 32-byte output, unkeyed).
import { Blake3Hasher } from '@napi-rs/blake-hash';

export const ADDRESS_PREFIX = 'blake3:';

/** The canonical form of a content address: `blake3:<64 lowercase hex>`. */
export type BlobAddress = `blake3:${string}`;

const CANONICAL = /^blake3:[0-9a-f]{64}$/;

/** True for the canonical form only (what the store answers): `blake3:` and 64 lowercase hex digits. */
export function isCanonicalAddress(input: unknown): input is BlobAddress {
  return typeof input === 'string' && CANONICAL.test(input);
}

/** The address of a 32-byte BLAKE3 digest given as lowercase hex. */
export function addressFromHex(hex: string): BlobAddress {
  return `${ADDRESS_PREFIX}${hex}`;
}

/** An incremental BLAKE3 hash: feed chunks in order, read the result any time. */
export interface IncrementalHasher {
  update(chunk: Uint8Array): void;
  /** 64 lowercase hex digits of the bytes fed so far (does not end the hash). */
  digestHex(): string;
  /** The content address of the bytes fed so far. */
  address(): BlobAddress;
  /** Number of bytes fed so far. */
  readonly bytes: number;
}

export function createHasher(): IncrementalHasher {
  const native = new Blake3Hasher();
  let bytes = 0;
  return {
    update(chunk) {
      // An empty update is a no-op for BLAKE3; skip the native call.
      if (chunk.byteLength === 0) return;
      // A Buffer view over the same memory (no copy): the binding's typings take Buffer.
      native.update(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      bytes += chunk.byteLength;
    },
    digestHex: () => native.digest('hex'),
    address: () => addressFromHex(native.digest('hex')),
    get bytes() {
      return bytes;
    },
  };
}

/** The content address of some bytes held in memory. */
export function hashBytes(bytes: Uint8Array): BlobAddress {
  const h = createHasher();
  h.update(bytes);
  return h.address();
}
