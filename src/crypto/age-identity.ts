// An age X25519 identity (private key) that does not leak by accident: toString, toJSON and
// util.inspect show only its public recipient, so a logged object or an error's context never
// carries `AGE-SECRET-KEY-1…`. The secret string is handed out only by `exposeSecret()`.
import { Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { InvalidKeyError } from './errors.js';

const IDENTITY_PREFIX = 'AGE-SECRET-KEY-1';
// X25519 recipients: "age1" + 58 bech32 characters (32 bytes + checksum). Post-quantum and tag
// recipients are longer and not used here: the Debian `age` 1.1 CLI cannot read them.
const X25519_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export class AgeIdentity {
  readonly #secret: string;
  /** The public key (`age1…`) content is encrypted to. */
  readonly recipient: string;

  private constructor(secret: string, recipient: string) {
    this.#secret = secret;
    this.recipient = recipient;
  }

  static async generate(): Promise<AgeIdentity> {
    const secret = await generateX25519Identity();
    return new AgeIdentity(secret, await identityToRecipient(secret));
  }

  /**
   * Parse `AGE-SECRET-KEY-1…`. `what` names the source (a file, "rebuilt admin key") for the
   * error message; the value itself never appears in it, nor does the library's own error (its
   * checksum messages can quote the input).
   */
  static async parse(secret: string, what = 'age identity'): Promise<AgeIdentity> {
    const s = secret.trim();
    if (!s.startsWith(IDENTITY_PREFIX)) {
      throw new InvalidKeyError(
        `${what}: not an age X25519 identity (expected a line starting with ${IDENTITY_PREFIX}); generate keys with 'bzzzctl keys generate'`,
      );
    }
    let recipient: string;
    try {
      recipient = await identityToRecipient(s);
    } catch {
      throw new InvalidKeyError(
        `${what}: the age identity is malformed (bad length or checksum); restore the file from the generated keys`,
      );
    }
    return new AgeIdentity(s, recipient);
  }

  /** The private key string, for a Decrypter or for writing a 0600 key file. Never log it. */
  exposeSecret(): string {
    return this.#secret;
  }

  toString(): string {
    return `AgeIdentity(${this.recipient})`;
  }

  toJSON(): { recipient: string } {
    return { recipient: this.recipient };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Is `s` an age X25519 recipient (`age1…`) with a valid checksum? */
export function isAgeRecipient(s: unknown): s is string {
  if (typeof s !== 'string' || !X25519_RECIPIENT.test(s)) return false;
  try {
    new Encrypter().addRecipient(s); // decodes the bech32 checksum
    return true;
  } catch {
    return false;
  }
}

export function assertAgeRecipient(s: unknown, what: string): asserts s is string {
  if (!isAgeRecipient(s)) {
    throw new InvalidKeyError(
      `${what}: not an age X25519 recipient (expected age1… of 62 characters, as 'bzzzctl keys generate' writes to roles/*.pub)`,
    );
  }
}
