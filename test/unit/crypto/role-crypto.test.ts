import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  AgeIdentity,
  canRead,
  CorruptCiphertextError,
  decryptWithRole,
  encryptForRole,
  InvalidKeyError,
  ROLES,
  type Role,
  type RolePublicKeys,
} from '../../../src/crypto/index.js';

let identities: Record<Role, AgeIdentity>;
let publicKeys: RolePublicKeys;

beforeAll(async () => {
  const entries = await Promise.all(ROLES.map(async (r) => [r, await AgeIdentity.generate()] as const));
  identities = Object.fromEntries(entries) as Record<Role, AgeIdentity>;
  publicKeys = Object.fromEntries(entries.map(([r, id]) => [r, id.recipient])) as RolePublicKeys;
});

describe('role access matrix', () => {
  for (const contentRole of ROLES) {
    for (const readerRole of ROLES) {
      const allowed = canRead(readerRole, contentRole);
      it(`${readerRole} ${allowed ? 'reads' : 'is denied'} ${contentRole} content`, async () => {
        const plaintext = new TextEncoder().encode(`decision authored as ${contentRole}`);
        const ciphertext = await encryptForRole(plaintext, contentRole, publicKeys);
        const attempt = decryptWithRole(ciphertext, identities[readerRole]);
        if (allowed) expect(new TextDecoder().decode(await attempt)).toBe(`decision authored as ${contentRole}`);
        else await expect(attempt).rejects.toBeInstanceOf(AccessDeniedError);
      });
    }
  }
});

describe('age role encryption', () => {
  it('writes binary age files (no armor) that do not contain the plaintext', async () => {
    const ct = await encryptForRole('top secret architecture', 'senior_software_architect', publicKeys);
    expect(new TextDecoder().decode(ct.subarray(0, 21))).toBe('age-encryption.org/v1');
    expect(Buffer.from(ct).includes('top secret')).toBe(false);
    expect(Buffer.from(ct).includes('BEGIN AGE ENCRYPTED FILE')).toBe(false);
  });

  it('reports altered ciphertext as corrupt, not as access denied', async () => {
    const ct = await encryptForRole(new Uint8Array(1000).fill(7), 'observer', publicKeys);
    ct[ct.byteLength - 10] ^= 0xff;
    await expect(decryptWithRole(ct, identities.observer)).rejects.toBeInstanceOf(CorruptCiphertextError);
    await expect(decryptWithRole(new TextEncoder().encode('not age'), identities.observer)).rejects.toBeInstanceOf(CorruptCiphertextError);
  });

  it('refuses a missing or malformed role public key, naming the role', async () => {
    const broken = { ...publicKeys, admin: 'age1notakey' };
    await expect(encryptForRole('x', 'observer', broken)).rejects.toThrow(/public key of role admin/);
    await expect(encryptForRole('x', 'observer', broken)).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('never shows the private key when an identity is printed, logged or serialised', async () => {
    const id = identities.backend_developer;
    const secret = id.exposeSecret();
    expect(secret.startsWith('AGE-SECRET-KEY-1')).toBe(true);
    for (const shown of [String(id), `${id}`, JSON.stringify({ id }), inspect(id), inspect({ nested: { id } })]) {
      expect(shown).not.toContain(secret);
      expect(shown).toContain(id.recipient);
    }
  });

  it('parses an identity string back to the same recipient and rejects bad ones without quoting them', async () => {
    const id = identities.observer;
    expect((await AgeIdentity.parse(`  ${id.exposeSecret()}\n`)).recipient).toBe(id.recipient);
    const tampered = `${id.exposeSecret().slice(0, -1)}${id.exposeSecret().endsWith('Q') ? 'P' : 'Q'}`;
    const err = await AgeIdentity.parse(tampered, 'roles/observer.key').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect((err as Error).message).toContain('roles/observer.key');
    expect((err as Error).message).not.toContain(tampered.slice(16, 40));
  });
});
