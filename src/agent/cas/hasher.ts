// BLAKE3 over the native binding: the code lives in src/crypto/blake3.ts (the operator computes
// addresses too, and may not import the agent); re-exported here for the store.
export { createHasher, hashBytes, type IncrementalHasher } from '../../crypto/blake3.js';
