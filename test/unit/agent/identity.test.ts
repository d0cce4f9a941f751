import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { loadOrCreatePeerKey, PeerKeyError, PEER_KEY_FILE } from '../../../src/agent/p2p/identity.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('peer identity in the data directory', () => {
  it('GIVEN an empty data dir WHEN loaded twice THEN the same peer ID comes back from a 0600 file', async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'bzzz-id-')), 'data');
    const first = await loadOrCreatePeerKey(dir);
    const second = await loadOrCreatePeerKey(dir);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(peerIdFromPrivateKey(second.privateKey).toString()).toBe(peerIdFromPrivateKey(first.privateKey).toString());
    expect((await stat(join(dir, PEER_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('GIVEN a key file readable by others WHEN loaded THEN it is tightened to 0600', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bzzz-id-'));
    await loadOrCreatePeerKey(dir);
    await chmod(join(dir, PEER_KEY_FILE), 0o644);
    await loadOrCreatePeerKey(dir);
    expect((await stat(join(dir, PEER_KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('GIVEN a damaged key file WHEN loaded THEN PeerKeyError says what to do, without the key bytes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bzzz-id-'));
    await writeFile(join(dir, PEER_KEY_FILE), 'not a key');
    const err = await loadOrCreatePeerKey(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerKeyError);
    expect((err as Error).message).toMatch(/is not a libp2p private key: restore it from a backup, or remove it/);
    expect(await readFile(join(dir, PEER_KEY_FILE), 'utf8')).toBe('not a key');
  });
});
