// Content addresses: `blake3:<64 lowercase hex>`, where the hex is exactly what `b3sum` prints
// for the bytes. One parser so every door (HTTP, peers, CLI) accepts and refuses the same strings.
import { ADDRESS_PREFIX, addressFromHex, type BlobAddress } from '../../crypto/blake3.js';
import { InvalidAddressError } from './errors.js';

export { ADDRESS_PREFIX, addressFromHex, type BlobAddress };

const HEX64 = /^[0-9a-f]{64}$/i;

/**
 * Parses `blake3:<hex>` or bare `<hex>` (64 hex digits, any case) into the canonical lowercase
 * address. Anything else throws InvalidAddressError.
 */
export function parseAddress(input: string): BlobAddress {
  if (typeof input !== 'string') {
    throw new InvalidAddressError(`content address must be a string like "blake3:<64 hex digits>", got ${typeof input}`);
  }
  const hex = input.startsWith(ADDRESS_PREFIX) ? input.slice(ADDRESS_PREFIX.length) : input;
  if (!HEX64.test(hex)) {
    throw new InvalidAddressError(
      `content address ${JSON.stringify(shorten(input))} is not valid: expected "blake3:" followed by 64 hex digits` +
        ` (what b3sum prints for the bytes), or the 64 hex digits alone`,
    );
  }
  return `${ADDRESS_PREFIX}${hex.toLowerCase()}`;
}

/** True if `input` would parse. */
export function isAddress(input: string): boolean {
  return typeof input === 'string' && HEX64.test(input.startsWith(ADDRESS_PREFIX) ? input.slice(ADDRESS_PREFIX.length) : input);
}

/** The 64 lowercase hex digits of a canonical address. */
export function addressHex(address: BlobAddress): string {
  return address.slice(ADDRESS_PREFIX.length);
}

// Error messages echo the input so people see what was wrong, but never a whole request body.
function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
