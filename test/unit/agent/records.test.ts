import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { decodeRecord, encodeRecord, recordKey, selectRecord, validateRecord, InvalidRecordError } from '../../../src/agent/p2p/records.js';
import { providerKeyFor } from '../../../src/agent/p2p/provider-key.js';

describe('DHT records /bzzz/<peer id>/<name>', () => {
  it('GIVEN a record signed by the peer in its key THEN it validates and decodes to the value', async () => {
    const key = await generateKeyPair('Ed25519');
    const id = peerIdFromPrivateKey(key).toString();
    const k = recordKey(id, 'agent');
    const value = new TextEncoder().encode('{"role":"observer"}');
    const rec = await encodeRecord(key, k, value, 1000);
    await expect(validateRecord(k, rec)).resolves.toBeUndefined();
    expect(await decodeRecord(k, rec)).toEqual({ value, writtenAt: 1000 });
  });

  it("GIVEN a record under another peer's name, or altered THEN validation refuses it", async () => {
    const [a, b] = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')];
    const k = recordKey(peerIdFromPrivateKey(a).toString(), 'agent');
    const forged = await encodeRecord(b, k, new Uint8Array([1]), 1);
    await expect(validateRecord(k, forged)).rejects.toThrow(/not signed by that peer/);
    const genuine = JSON.parse(new TextDecoder().decode(await encodeRecord(a, k, new Uint8Array([1]), 1)));
    genuine.t = 2; // replaying with a newer time breaks the signature
    await expect(validateRecord(k, new TextEncoder().encode(JSON.stringify(genuine)))).rejects.toBeInstanceOf(InvalidRecordError);
    await expect(validateRecord(new TextEncoder().encode('/bzzz/x'), forged)).rejects.toThrow(/is not \/bzzz\/<peer id>\/<name>/);
  });

  it('GIVEN several valid copies THEN the newest wins; invalid names are refused', async () => {
    const key = await generateKeyPair('Ed25519');
    const k = recordKey(peerIdFromPrivateKey(key).toString(), 'agent');
    const copies = [
      await encodeRecord(key, k, new Uint8Array([1]), 5),
      await encodeRecord(key, k, new Uint8Array([2]), 9),
      new TextEncoder().encode('junk'),
    ];
    expect(selectRecord(k, copies)).toBe(1);
    expect(() => recordKey('x', '../etc')).toThrow(InvalidRecordError);
  });
});

describe('providerKeyFor', () => {
  it('maps each BLAKE3 address to one raw CIDv1 with a sha2-256 multihash (what js kad-dht can carry)', () => {
    const a = providerKeyFor(`blake3:${'00'.repeat(32)}`);
    expect(a.version).toBe(1);
    expect(a.code).toBe(0x55);
    expect(a.multihash.code).toBe(0x12);
    expect(providerKeyFor(`blake3:${'00'.repeat(32)}`).equals(a)).toBe(true);
    expect(providerKeyFor(`blake3:${'01'.repeat(32)}`).equals(a)).toBe(false);
  });
});
