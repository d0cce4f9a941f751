// The agent's BLAKE3 content-addressed store: independent of libp2p (the p2p layer provides,
// fetches and replicates on top of it).
export { ADDRESS_PREFIX, addressHex, isAddress, parseAddress, type BlobAddress } from './address.js';
export { createHasher, hashBytes, type IncrementalHasher } from './hasher.js';
export {
  BlobCorruptedError,
  BlobMismatchError,
  BlobNotFoundError,
  BlobTooLargeError,
  InvalidAddressError,
  StoreClosedError,
  StoreFullError,
} from './errors.js';
export { createContentStore } from './store.js';
export type {
  BlobReader,
  BlobStat,
  ContentStore,
  ContentStoreInit,
  PutOptions,
  PutResult,
  PutSource,
  ScrubResult,
  StoreClock,
  StoreStats,
  VerifyResult,
} from './types.js';
