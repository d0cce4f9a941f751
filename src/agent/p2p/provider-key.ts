// The DHT key under which agents announce that they hold a blob.
//
// The natural key would be the BLAKE3 multihash itself (code 0x1e) in a raw CIDv1. js kad-dht 16
// cannot carry it: its ADD_PROVIDER and GET_PROVIDERS handlers parse the wire key with
// CID.decode, which accepts a bare multihash only in CIDv0 form (sha2-256), so a peer answers a
// blake3 key with "Invalid CID" and resets the stream (tried here: provide "succeeds" and
// findProviders on another agent never finds it). So the key is a raw CIDv1 over the sha2-256 of
// the canonical address string `blake3:<hex>`: deterministic, one per blob, and unrelated to any
// public IPFS content (the DHT runs under its own protocol id anyway).
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';

const RAW_CODEC = 0x55;
const SHA2_256 = 0x12;

export function providerKeyFor(address: string): CID {
  const digest = createHash('sha256').update(address, 'utf8').digest();
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, new Uint8Array(digest)));
}
