// One named error class per condition of the content store, so callers (HTTP API, fetch from
// peers, health checks) can map them: not found → 404, corrupted → refetch, mismatch → drop peer.
import { BzzzError, InvalidInputError, NotFoundError } from '../../util/errors.js';

/** A string that is not a BLAKE3 content address. */
export class InvalidAddressError extends InvalidInputError {}

/** No blob with this address is in the store. */
export class BlobNotFoundError extends NotFoundError {
  constructor(
    readonly address: string,
    options?: { cause?: unknown },
  ) {
    super(`blob ${address} is not in the content store: put it first, or fetch it from a peer that provides it`, options);
  }
}

/**
 * The bytes on disk no longer hash to the blob's address. The blob has been moved to quarantine
 * (it is not served again); fetch it again from a peer.
 */
export class BlobCorruptedError extends BzzzError {
  constructor(
    readonly address: string,
    readonly actual: string,
  ) {
    super(`blob ${address} is corrupted on disk (its bytes hash to ${actual}): it was moved to quarantine; fetch it again from a peer`);
  }
}

/** A put with `expected` received bytes that hash to something else; nothing was kept. */
export class BlobMismatchError extends BzzzError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content received for ${expected} hashes to ${actual}: it was refused and not stored; fetch it from another peer`);
  }
}

/** A blob is larger than the caller allows (a put's `maxBytes`, or `getVerifiedBuffer`). */
export class BlobTooLargeError extends InvalidInputError {
  constructor(
    readonly address: string | undefined,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(
      `${address === undefined ? 'content' : `blob ${address}`} is larger than the limit of ${maxBytes} bytes` +
        ` (${size}${address === undefined ? '+' : ''} bytes): stream it instead, or raise the limit`,
    );
  }
}

/** The store was closed; the operation was not started. */
export class StoreClosedError extends BzzzError {
  constructor(operation: string) {
    super(`content store is closed: ${operation} was refused; open a new store on the same root`);
  }
}

/**
 * New content refused: the store holds its quota, or the disk is down to the free-space reserve
 * kept for the agent's own state (its election vote file, its logs). Nothing was kept.
 */
export class StoreFullError extends BzzzError {
  constructor(
    readonly reason: 'quota' | 'reserve',
    message: string,
  ) {
    super(message);
  }
}
