// One named error class per condition of the crypto module. Messages never contain key
// material: they name the role, file or peer, what was wrong and what to do.
import { BzzzError, InvalidInputError } from '../util/errors.js';

/** The identity given is not among the ciphertext's recipients: its role may not read it. */
export class AccessDeniedError extends BzzzError {}

/** Ciphertext that is not a valid age file, or was altered (bad header MAC, bad payload tag). */
export class CorruptCiphertextError extends BzzzError {}

/** A key, recipient or key file that cannot be parsed or does not match its public key. */
export class InvalidKeyError extends InvalidInputError {}

/** `generateKeys` would overwrite existing key files and `force` was not given. */
export class KeyFilesExistError extends InvalidInputError {}

/** Fewer valid, distinct shares than the threshold: the admin key cannot be rebuilt. */
export class InsufficientSharesError extends BzzzError {}

/**
 * Shares that do not belong together (different splits, admin keys or thresholds, a duplicated
 * index) or that combine into a key other than the known admin public key.
 */
export class ShareMismatchError extends BzzzError {}

/** A share holder refused to hand its share to this peer (not the elected admin, wrong key). */
export class ShareRequestRefusedError extends BzzzError {}

/** What happened with each share holder during a rebuild (no share material). */
export type ShareOutcome =
  | { peer: string; result: 'received'; index: number }
  | { peer: string; result: 'refused' | 'failed' | 'ignored' | 'pending'; reason: string };

/** collectAdminKey ended without a verified rebuild; `outcomes` says what each holder did. */
export class AdminKeyCollectionError extends InsufficientSharesError {
  constructor(
    message: string,
    readonly outcomes: ShareOutcome[],
  ) {
    super(message);
  }
}
