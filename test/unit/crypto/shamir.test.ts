import { combine } from 'shamir-secret-sharing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AgeIdentity,
  combineAdminKey,
  decryptWithRole,
  encryptForRole,
  findAdminKey,
  InsufficientSharesError,
  InvalidKeyError,
  parseShare,
  serializeShare,
  ShareMismatchError,
  splitAdminKey,
  type AdminKeyShare,
  type RolePublicKeys,
} from '../../../src/crypto/index.js';
import { InvalidInputError } from '../../../src/util/errors.js';

let admin: AgeIdentity;
let shares: AdminKeyShare[];

beforeAll(async () => {
  admin = await AgeIdentity.generate();
  shares = await splitAdminKey(admin, 3, 5);
});

function subsets<T>(xs: T[], k: number): T[][] {
  if (k === 0) return [[]];
  return xs.flatMap((x, i) => subsets(xs.slice(i + 1), k - 1).map((rest) => [x, ...rest]));
}

describe('Shamir split of the admin key (3-of-5)', () => {
  it('writes five shares with their metadata and none of them is the key', () => {
    expect(shares.map((s) => s.index)).toEqual([1, 2, 3, 4, 5]);
    for (const s of shares) {
      expect(s).toMatchObject({ version: 1, threshold: 3, shares: 5, adminRecipient: admin.recipient, splitId: shares[0]!.splitId });
      expect(new TextDecoder().decode(s.share)).not.toContain('AGE-SECRET-KEY');
    }
  });

  it('rebuilds the admin key from any 3 of the 5 shares, and it decrypts admin-only content', async () => {
    const others = await Promise.all([0, 1, 2].map(() => AgeIdentity.generate()));
    const keys: RolePublicKeys = {
      observer: others[0]!.recipient,
      backend_developer: others[1]!.recipient,
      senior_software_architect: others[2]!.recipient,
      admin: admin.recipient,
    };
    const ct = await encryptForRole('admin only', 'admin', keys);
    const trios = subsets(shares, 3);
    expect(trios).toHaveLength(10);
    for (const trio of trios) {
      const rebuilt = await combineAdminKey(trio, admin.recipient);
      expect(rebuilt.recipient).toBe(admin.recipient);
      expect(new TextDecoder().decode(await decryptWithRole(ct, rebuilt))).toBe('admin only');
    }
  });

  it('rebuilds from more than the threshold too (4 and 5 shares)', async () => {
    expect((await combineAdminKey(shares.slice(0, 4), admin.recipient)).recipient).toBe(admin.recipient);
    expect((await combineAdminKey(shares, admin.recipient)).recipient).toBe(admin.recipient);
  });

  it('does not rebuild from any 2 shares: InsufficientSharesError, never a key', async () => {
    for (const pair of subsets(shares, 2)) {
      await expect(combineAdminKey(pair, admin.recipient)).rejects.toBeInstanceOf(InsufficientSharesError);
    }
  });

  it('catches the library returning wrong bytes for 2 shares when the metadata lies about the threshold', async () => {
    const pair = shares.slice(0, 2);
    // The hazard itself: the library "combines" 2 shares of a 3-of-5 split without complaint.
    const raw = await combine(pair.map((s) => s.share));
    expect(new TextDecoder().decode(raw)).not.toBe(admin.exposeSecret());
    // With forged metadata claiming a 2-of-5 split, the check against the public key still refuses.
    const forged = pair.map((s) => ({ ...s, threshold: 2 }));
    await expect(combineAdminKey(forged, admin.recipient)).rejects.toBeInstanceOf(ShareMismatchError);
  });

  it('refuses an empty list of shares', async () => {
    await expect(combineAdminKey([], admin.recipient)).rejects.toThrow(/no shares given/);
  });

  it('counts a repeated share once', async () => {
    const [a, b] = shares;
    await expect(combineAdminKey([a!, a!, b!], admin.recipient)).rejects.toBeInstanceOf(InsufficientSharesError);
    await expect(combineAdminKey([a!, { ...a!, share: new Uint8Array(a!.share) }, b!, shares[2]!], admin.recipient)).resolves.toMatchObject(
      { recipient: admin.recipient },
    );
  });

  it('refuses a corrupted share instead of returning a wrong key', async () => {
    const bad = { ...shares[1]!, share: new Uint8Array(shares[1]!.share) };
    bad.share[5] ^= 0x01;
    await expect(combineAdminKey([shares[0]!, bad, shares[2]!], admin.recipient)).rejects.toBeInstanceOf(ShareMismatchError);
  });

  it('refuses shares of two different splits of the same key', async () => {
    const other = await splitAdminKey(admin, 3, 5);
    const err = await combineAdminKey([shares[0]!, shares[1]!, other[2]!], admin.recipient).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShareMismatchError);
    expect((err as Error).message).toMatch(/different splits/);
  });

  it('refuses shares of another admin key', async () => {
    const stranger = await AgeIdentity.generate();
    await expect(combineAdminKey(shares.slice(0, 3), stranger.recipient)).rejects.toBeInstanceOf(ShareMismatchError);
  });

  it('refuses two different shares claiming the same index', async () => {
    const clash = { ...shares[1]!, index: 1 };
    await expect(combineAdminKey([shares[0]!, clash, shares[2]!], admin.recipient)).rejects.toBeInstanceOf(ShareMismatchError);
  });

  it('finds a verifying subset among candidates holding a forged share and another split', async () => {
    const forged = { ...shares[0]!, share: new Uint8Array(shares[0]!.share.byteLength).fill(9) };
    const other = await splitAdminKey(admin, 3, 5);
    const candidates = [forged, other[0]!, shares[1]!, other[4]!, shares[3]!, shares[4]!];
    expect((await findAdminKey(candidates, admin.recipient, 3))?.recipient).toBe(admin.recipient);
    expect(await findAdminKey([forged, shares[1]!, shares[3]!], admin.recipient, 3)).toBeUndefined();
    expect(await findAdminKey(shares.slice(0, 2), admin.recipient, 3)).toBeUndefined();
  });

  it('validates the split parameters', async () => {
    await expect(splitAdminKey(admin, 1, 5)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(splitAdminKey(admin, 4, 3)).rejects.toThrow(/shares 3/);
    await expect(splitAdminKey(admin, 3, 256)).rejects.toBeInstanceOf(InvalidInputError);
    expect(await splitAdminKey(admin, 2, 2)).toHaveLength(2);
  });
});

describe('share file format', () => {
  it('round-trips through JSON', () => {
    const text = serializeShare(shares[2]!);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(['adminRecipient', 'index', 'share', 'shares', 'splitId', 'threshold', 'version']);
    expect(parseShare(text, 'share-3.json')).toEqual(shares[2]);
  });

  it('names the file and the field that is wrong, without quoting the share', () => {
    const good = JSON.parse(serializeShare(shares[0]!)) as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, version: 2 }, /field version/],
      [{ ...good, index: 0 }, /field index/],
      [{ ...good, index: 6 }, /field index/],
      [{ ...good, threshold: 1 }, /field threshold/],
      [{ ...good, adminRecipient: 'age1xyz' }, /field adminRecipient/],
      [{ ...good, share: '%%%' }, /field share/],
      [{ ...good, splitId: undefined }, /field splitId/],
    ];
    for (const [obj, re] of cases) {
      const err = (() => {
        try {
          parseShare(JSON.stringify(obj), '/keys/shares/share-1.json');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidKeyError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toContain('/keys/shares/share-1.json');
      expect((err as Error).message).not.toContain(good.share as string);
    }
    expect(() => parseShare('not json', 'x.json')).toThrow(/x\.json: not JSON/);
  });
});
