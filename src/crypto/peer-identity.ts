// Each agent instance's libp2p identity, derived from the cluster's ownership key (see derive.ts
// for why derived). Loaded lazily by the operator: the libp2p key code is ES-module only.
import { generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { deriveBytes } from './derive.js';

export interface DerivedPeer {
  /** The libp2p private key in protobuf bytes: the file an agent reads with --peer-key. */
  keyProtobuf: Uint8Array;
  peerId: string;
}

/** Agent instance `instance`'s Ed25519 libp2p identity. */
export async function derivePeerIdentity(ownerKey: string, instance: string): Promise<DerivedPeer> {
  const key = await generateKeyPairFromSeed('Ed25519', deriveBytes(ownerKey, `peer\0${instance}`));
  return { keyProtobuf: privateKeyToProtobuf(key), peerId: peerIdFromPrivateKey(key).toString() };
}
