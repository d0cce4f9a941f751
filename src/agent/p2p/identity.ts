// The agent's libp2p identity: an Ed25519 key kept in the data directory (mode 0600) so the peer
// ID survives restarts — allowlists, bootstrap multiaddrs and the election's member list name it.
import { chmod, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { BzzzError } from '../../util/errors.js';

export const PEER_KEY_FILE = 'peer.key';

export class PeerKeyError extends BzzzError {}

export interface PeerKeyResult {
  privateKey: PrivateKey;
  /** True when no key was found and a new identity was made. */
  created: boolean;
}

/** Reads `<dataDir>/peer.key`, or creates it (temp + fsync + rename, 0600) when absent. */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PeerKeyResult> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, PEER_KEY_FILE);
  let bytes: Buffer | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new PeerKeyError(
        `peer identity ${file} cannot be read (${(err as Error).message}): fix its permissions, or remove it to make a new identity`,
        { cause: err },
      );
    }
  }
  if (bytes !== undefined) {
    let privateKey: PrivateKey;
    try {
      privateKey = privateKeyFromProtobuf(bytes);
    } catch (err) {
      throw new PeerKeyError(
        `peer identity ${file} is not a libp2p private key: restore it from a backup, or remove it to make a new identity (the peer ID changes)`,
        { cause: err },
      );
    }
    // A key readable by others is a key others can impersonate: tighten it rather than refuse.
    if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
    return { privateKey, created: false };
  }
  const privateKey = await generateKeyPair('Ed25519');
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(privateKeyToProtobuf(privateKey));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  return { privateKey, created: true };
}

/**
 * Reads the peer key the operator handed over (`--peer-key`, a Docker secret): the libp2p Ed25519
 * private key in protobuf bytes. Never created here: a missing or wrong file is the operator's to fix.
 */
export async function loadPeerKeyFile(file: string): Promise<PrivateKey> {
  let bytes: Buffer;
  try {
    const s = await stat(file);
    // An Ed25519 key in protobuf is ~68 bytes: anything much larger is not one (and is not read whole).
    if (!s.isFile() || s.size > MAX_PEER_KEY_BYTES)
      throw new Error(`not a key file (${s.isFile() ? `${s.size} bytes` : 'not a regular file'})`);
    bytes = await readFile(file);
  } catch (err) {
    throw new PeerKeyError(
      `peer key ${file} (--peer-key, BZZZ_PEER_KEY_FILE) cannot be read (${(err as Error).message}): point it at the agent's key secret the operator generated`,
      { cause: err },
    );
  }
  let privateKey: PrivateKey;
  try {
    privateKey = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new PeerKeyError(`peer key ${file} is not a libp2p private key in protobuf form: use the key file the operator generated`, {
      cause: err,
    });
  } finally {
    bytes.fill(0);
  }
  if (privateKey.type !== 'Ed25519') {
    throw new PeerKeyError(
      `peer key ${file} is a ${privateKey.type} key; cluster members have Ed25519 keys: use the key the operator generated`,
    );
  }
  return privateKey;
}

const MAX_PEER_KEY_BYTES = 4 * 1024;
