// The admin key split t-of-n with Shamir's secret sharing (`shamir-secret-sharing`, audited).
// That library's `combine` returns WRONG BYTES WITH NO ERROR when given fewer shares than the
// threshold (or shares of different splits), so every rebuild here is checked against the known
// admin public key before it is returned: a caller gets the admin identity or a named error,
// never a wrong key. Pure apart from randomness; no I/O.
import { randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { InvalidInputError } from '../util/errors.js';
import { AgeIdentity, assertAgeRecipient, isAgeRecipient } from './age-identity.js';
import { InsufficientSharesError, InvalidKeyError, ShareMismatchError } from './errors.js';

export const SHARE_FORMAT_VERSION = 1;
export const MAX_SHARES = 255;

/** One holder's share of the admin key, with the metadata needed to check it belongs. */
export interface AdminKeyShare {
  version: typeof SHARE_FORMAT_VERSION;
  /** Random id of the split this share came from: shares of different splits never combine. */
  splitId: string;
  /** 1-based position in the split (share-<index>.json). */
  index: number;
  threshold: number;
  shares: number;
  /** The admin public key the shares rebuild: the rebuilt identity must map to it. */
  adminRecipient: string;
  /** Secret share bytes (the library's format: y values then the x coordinate). */
  share: Uint8Array;
}

export function validateSplitParameters(threshold: number, shares: number): void {
  if (!Number.isInteger(threshold) || threshold < 2) {
    throw new InvalidInputError(`threshold ${threshold}: must be an integer of at least 2 (a 1-of-n split is the key itself)`);
  }
  if (!Number.isInteger(shares) || shares < threshold || shares > MAX_SHARES) {
    throw new InvalidInputError(`shares ${shares}: must be an integer from the threshold (${threshold}) to ${MAX_SHARES}`);
  }
}

export async function splitAdminKey(identity: AgeIdentity, threshold: number, shares: number): Promise<AdminKeyShare[]> {
  validateSplitParameters(threshold, shares);
  const secret = new TextEncoder().encode(identity.exposeSecret());
  try {
    const parts = await split(secret, shares, threshold);
    const splitId = randomBytes(16).toString('hex');
    return parts.map((share, i) => ({
      version: SHARE_FORMAT_VERSION,
      splitId,
      index: i + 1,
      threshold,
      shares,
      adminRecipient: identity.recipient,
      share,
    }));
  } finally {
    secret.fill(0);
  }
}

/**
 * Rebuild the admin identity from shares, in memory. Checks that the shares belong together and
 * are at least `threshold` distinct ones (InsufficientSharesError otherwise), then that the result
 * maps to `adminRecipient` (ShareMismatchError otherwise: a corrupt or forged share).
 */
export async function combineAdminKey(shares: readonly AdminKeyShare[], adminRecipient: string): Promise<AgeIdentity> {
  assertAgeRecipient(adminRecipient, 'admin public key');
  const distinct = distinctShares(shares, adminRecipient);
  const threshold = distinct[0]?.threshold;
  if (threshold === undefined) {
    throw new InsufficientSharesError(`admin key ${adminRecipient}: no shares given; gather shares from the share holders`);
  }
  if (distinct.length < threshold) {
    throw new InsufficientSharesError(
      `admin key ${adminRecipient}: ${distinct.length} distinct share(s), ${threshold} needed; gather shares from more holders`,
    );
  }
  const bytes = await combine(distinct.map((s) => s.share));
  let identity: AgeIdentity;
  try {
    identity = await AgeIdentity.parse(new TextDecoder().decode(bytes), 'rebuilt admin key');
  } catch {
    throw new ShareMismatchError(
      `admin key ${adminRecipient}: shares ${indexList(distinct)} do not rebuild a valid key; at least one of them is corrupt or forged — use shares from other holders`,
    );
  } finally {
    bytes.fill(0);
  }
  if (identity.recipient !== adminRecipient) {
    throw new ShareMismatchError(
      `admin key ${adminRecipient}: shares ${indexList(distinct)} rebuild a different key; at least one of them is corrupt or forged — use shares from other holders`,
    );
  }
  return identity;
}

/**
 * Try every `threshold`-sized subset of `candidates` (which may hold corrupt or forged shares, or
 * shares of several splits) and return the admin identity from the first one that verifies, or
 * undefined. `mustInclude` limits the search to subsets with that share, so a caller adding one
 * share at a time tries each subset once.
 */
export async function findAdminKey(
  candidates: readonly AdminKeyShare[],
  adminRecipient: string,
  threshold: number,
  mustInclude?: AdminKeyShare,
): Promise<AgeIdentity | undefined> {
  const bySplit = new Map<string, AdminKeyShare[]>();
  for (const s of candidates) {
    if (s.adminRecipient !== adminRecipient || s.threshold !== threshold) continue;
    const group = bySplit.get(s.splitId) ?? [];
    if (!group.some((g) => g.index === s.index && sameBytes(g.share, s.share))) group.push(s);
    bySplit.set(s.splitId, group);
  }
  for (const group of bySplit.values()) {
    if (mustInclude && !group.includes(mustInclude)) continue;
    for (const subset of subsets(group, threshold, mustInclude)) {
      try {
        return await combineAdminKey(subset, adminRecipient);
      } catch (err) {
        if (!(err instanceof ShareMismatchError) && !(err instanceof InsufficientSharesError)) throw err;
      }
    }
  }
  return undefined;
}

/** Metadata checks; identical duplicates are dropped, conflicting ones refused. */
function distinctShares(shares: readonly AdminKeyShare[], adminRecipient: string): AdminKeyShare[] {
  const out: AdminKeyShare[] = [];
  const first = shares[0];
  for (const s of shares) {
    if (s.version !== SHARE_FORMAT_VERSION) {
      throw new ShareMismatchError(
        `share ${s.index}: format version ${String(s.version)}, this agent reads version ${SHARE_FORMAT_VERSION}`,
      );
    }
    if (s.adminRecipient !== adminRecipient) {
      throw new ShareMismatchError(
        `share ${s.index}: belongs to admin key ${s.adminRecipient}, not ${adminRecipient}; use the shares of the current split`,
      );
    }
    if (first && (s.splitId !== first.splitId || s.threshold !== first.threshold || s.shares !== first.shares)) {
      throw new ShareMismatchError(
        `share ${s.index}: from split ${s.splitId} (${s.threshold}-of-${s.shares}), share ${first.index} from split ${first.splitId} (${first.threshold}-of-${first.shares}); shares of different splits never combine`,
      );
    }
    const same = out.find((o) => o.index === s.index || xCoordinate(o) === xCoordinate(s));
    if (same) {
      if (same.index === s.index && sameBytes(same.share, s.share)) continue;
      throw new ShareMismatchError(
        `share ${s.index}: two different shares claim the same position in split ${s.splitId}; one of them is corrupt or forged`,
      );
    }
    if (first && s.share.byteLength !== first.share.byteLength) {
      throw new ShareMismatchError(
        `share ${s.index}: ${s.share.byteLength} bytes, share ${first.index} has ${first.share.byteLength}; one of them is corrupt`,
      );
    }
    out.push(s);
  }
  return out;
}

function xCoordinate(s: AdminKeyShare): number | undefined {
  return s.share[s.share.byteLength - 1];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}

function indexList(shares: readonly AdminKeyShare[]): string {
  return shares
    .map((s) => s.index)
    .sort((a, b) => a - b)
    .join(', ');
}

function* subsets<T>(items: readonly T[], size: number, mustInclude?: T): Generator<T[]> {
  const pool = mustInclude ? items.filter((i) => i !== mustInclude) : [...items];
  const k = mustInclude ? size - 1 : size;
  if (k < 0 || k > pool.length) return;
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    const pick = idx.map((i) => pool[i] as T);
    yield mustInclude ? [mustInclude, ...pick] : pick;
    let i = k - 1;
    while (i >= 0 && idx[i] === pool.length - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}

// ---- the share file format: {version, splitId, index, threshold, shares, adminRecipient, share: base64}

export function serializeShare(s: AdminKeyShare): string {
  const { version, splitId, index, threshold, shares, adminRecipient } = s;
  return `${JSON.stringify({ version, splitId, index, threshold, shares, adminRecipient, share: Buffer.from(s.share).toString('base64') }, null, 2)}\n`;
}

/** Parse and check a share file's text; `what` names it (a file path, a peer) in errors. */
export function parseShare(text: string, what: string): AdminKeyShare {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidKeyError(`${what}: not JSON; a share file is what 'bzzzctl keys generate' writes to shares/share-<i>.json`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InvalidKeyError(`${what}: expected a JSON object with version, splitId, index, threshold, shares, adminRecipient and share`);
  }
  const o = v as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new InvalidKeyError(`${what}: field ${field} ${want}; restore the share file from the generated keys`);
  };
  if (o.version !== SHARE_FORMAT_VERSION) bad('version', `must be ${SHARE_FORMAT_VERSION}`);
  if (typeof o.splitId !== 'string' || !/^[0-9a-f]{32}$/.test(o.splitId)) bad('splitId', 'must be 32 hex characters');
  const int = (x: unknown, lo: number, hi: number): x is number => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;
  if (!int(o.threshold, 2, MAX_SHARES)) bad('threshold', `must be an integer from 2 to ${MAX_SHARES}`);
  if (!int(o.shares, o.threshold as number, MAX_SHARES)) bad('shares', `must be an integer from threshold to ${MAX_SHARES}`);
  if (!int(o.index, 1, o.shares as number)) bad('index', 'must be an integer from 1 to shares');
  if (!isAgeRecipient(o.adminRecipient)) bad('adminRecipient', 'must be an age1… public key');
  if (typeof o.share !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(o.share)) bad('share', 'must be base64');
  const share = new Uint8Array(Buffer.from(o.share as string, 'base64'));
  if (share.byteLength < 2) bad('share', 'is too short to be a share');
  return {
    version: SHARE_FORMAT_VERSION,
    splitId: o.splitId as string,
    index: o.index as number,
    threshold: o.threshold as number,
    shares: o.shares as number,
    adminRecipient: o.adminRecipient as string,
    share,
  };
}
