// The files closed membership starts from: the member list (--members) and the operator-issued
// peer key (--peer-key). Both are read bounded, and every refusal names the file and what to do.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMemberListFile, loadPeerKeyFile, MembershipError, PeerKeyError } from '../../../src/agent/p2p/index.js';
import { serializeMemberList } from '../../../src/crypto/membership.js';
import { InvalidInputError } from '../../../src/util/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-members-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('member list file', () => {
  it('reads what serializeMemberList wrote', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const file = join(dir, 'members.json');
    await writeFile(file, serializeMemberList('dev', [{ name: 'walnut', peerId, role: 'admin' }]));
    const list = await loadMemberListFile(file);
    expect(list.cluster).toBe('dev');
    expect(list.get(peerId)?.role).toBe('admin');
    expect(list.majority).toBe(1);
  });

  it('refuses an endless file from its first bytes (/dev/zero does not exhaust memory)', async () => {
    await expect(loadMemberListFile('/dev/zero')).rejects.toThrow(MembershipError);
    await expect(loadMemberListFile('/dev/zero')).rejects.toThrow(/member list \/dev\/zero .*more than \d+ bytes/);
  });

  it('names a missing file and the flag that points at it', async () => {
    await expect(loadMemberListFile(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json \(--members, BZZZ_MEMBERS_FILE\) cannot be read/);
  });

  it('refuses a list that is not valid, naming the file', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ version: 1, cluster: 'dev', members: [{ name: 'x', peerId: 'nope', role: 'admin' }] }));
    await expect(loadMemberListFile(file)).rejects.toThrow(InvalidInputError);
    await expect(loadMemberListFile(file)).rejects.toThrow(/bad\.json: member list is not valid:[\s\S]*members\[0\]\.peerId/);
  });
});

describe('peer key file', () => {
  it('reads the Ed25519 key the operator wrote', async () => {
    const key = await generateKeyPair('Ed25519');
    const file = join(dir, 'peer.key');
    await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 });
    expect(peerIdFromPrivateKey(await loadPeerKeyFile(file)).toString()).toBe(peerIdFromPrivateKey(key).toString());
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['a missing file', async () => join(dir, 'missing.key'), /missing\.key \(--peer-key, BZZZ_PEER_KEY_FILE\) cannot be read/],
    ['/dev/zero', async () => '/dev/zero', /\/dev\/zero .*cannot be read \(not a key file/],
    [
      'bytes that are not a key',
      async () => {
        await writeFile(join(dir, 'junk.key'), 'junk');
        return join(dir, 'junk.key');
      },
      /junk\.key is not a libp2p private key/,
    ],
    [
      'a secp256k1 key',
      async () => {
        await writeFile(join(dir, 'k1.key'), privateKeyToProtobuf(await generateKeyPair('secp256k1')));
        return join(dir, 'k1.key');
      },
      /k1\.key is a secp256k1 key; cluster members have Ed25519 keys/,
    ],
  ])('refuses %s', async (_what, make, message) => {
    const file = await make();
    const err = await loadPeerKeyFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerKeyError);
    expect((err as Error).message).toMatch(message);
  });
});
