// Role-scoped encryption with age. Content authored under role R is encrypted to the recipients
// of R and of every role above it (rolesThatCanRead), so an agent needs only its own role's
// identity to read everything it may read, and the ciphertext is a plain binary age file that
// `age -d -i roles/<role>.key` also decrypts.
import { Decrypter, Encrypter } from 'age-encryption';
import { type AgeIdentity, assertAgeRecipient } from './age-identity.js';
import { AccessDeniedError, CorruptCiphertextError } from './errors.js';
import { rolesThatCanRead, type Role } from './roles.js';

/** The public key (`age1…`) of every role. */
export type RolePublicKeys = Record<Role, string>;

// typage reports "no identity matched" with a plain Error; its message is the only signal. The
// access-matrix test pins this against the installed version.
const NO_MATCH = /no identity matched/i;

export async function encryptForRole(plaintext: Uint8Array | string, contentRole: Role, recipients: RolePublicKeys): Promise<Uint8Array> {
  const e = new Encrypter();
  for (const role of rolesThatCanRead(contentRole)) {
    const r = recipients[role];
    assertAgeRecipient(r, `public key of role ${role}`);
    e.addRecipient(r);
  }
  return e.encrypt(plaintext);
}

/** Encrypt to one recipient (an ephemeral key, a backup key): the same age format. */
export async function encryptToRecipient(plaintext: Uint8Array | string, recipient: string): Promise<Uint8Array> {
  assertAgeRecipient(recipient, 'recipient');
  const e = new Encrypter();
  e.addRecipient(recipient);
  return e.encrypt(plaintext);
}

/**
 * Decrypt with one identity. AccessDeniedError when the identity is not among the recipients
 * (its role may not read this content); CorruptCiphertextError when the bytes are not an intact
 * age file.
 */
export async function decryptWithRole(ciphertext: Uint8Array, identity: AgeIdentity): Promise<Uint8Array> {
  const d = new Decrypter();
  d.addIdentity(identity.exposeSecret());
  try {
    return await d.decrypt(ciphertext);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (NO_MATCH.test(msg)) {
      throw new AccessDeniedError(`content is not encrypted to ${identity.recipient}: this role may not read it`);
    }
    throw new CorruptCiphertextError(
      `ciphertext of ${ciphertext.byteLength} bytes is not an intact age file (${msg}); fetch it again from a peer`,
    );
  }
}
