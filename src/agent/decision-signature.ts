// Signed decisions. The author's agent signs the decision with its libp2p Ed25519 key; readers
// check the signature against the author's peer ID and check that the author is a member whose
// role may publish the decision's type (and may publish for the decision's role).
//
// Sign inside the encryption (sign, then encrypt), not over the ciphertext, because:
//  - a decision's author, type and role are as confidential as its content: replicas live on
//    agents of every role, and an outer signature would tell each of them who wrote what;
//  - the signature covers exactly what a reader acts on — type, role (the audience), author,
//    time, content — and the reader checks the signed role, not the age recipients, so copying a
//    signed decision into a new ciphertext for other recipients ("surreptitious forwarding")
//    does not widen who may read it: a lower-role reader is still refused;
//  - the cost, that a forged blob is found only after decryption, is bounded: decisions are read
//    whole only up to a few MiB, and agents act on nothing they could not decrypt.
//
// Plaintext format: {"format":"bzzz-signed-decision/1","payload":"<decision JSON>","signature":"<base64>"}
// where the signature is over DOMAIN ‖ UTF-8(payload): the exact bytes that are parsed, so no
// canonical JSON is needed, and the domain keeps a decision signature from meaning anything else
// signed with the same peer key (DHT records, GossipSub messages).
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { BzzzError } from '../util/errors.js';
import { canRead, isRole, type Role } from '../crypto/roles.js';

export const SIGNED_DECISION_FORMAT = 'bzzz-signed-decision/1';
const DOMAIN = new TextEncoder().encode('bzzz/decision/v1\0');
export const DECISION_FORMAT_VERSION = 1;
export const DECISION_TYPE = /^[a-z][a-z0-9_-]{0,63}$/;

export interface Decision {
  v: typeof DECISION_FORMAT_VERSION;
  type: string;
  /** Role the decision was published under: readable by it and the roles above. */
  role: Role;
  /** Author's (signing agent's) peer ID. */
  author: string;
  createdAt: string;
  /** The API caller the agent published it for (its name in the callers file). */
  publishedFor?: string;
  content: unknown;
}

/** Who a member is, as the member list says (the operator's list, src/crypto/membership.ts). */
export interface MemberRoles {
  get(peerId: string): { readonly role: Role } | undefined;
}

export const REJECT_REASONS = ['unsigned', 'malformed', 'bad_signature', 'not_member', 'role_may_not_publish'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Content that is not a decision a member was allowed to sign. Refused (422), counted by reason. */
export class ContentRejectedError extends BzzzError {
  constructor(
    readonly address: string,
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(`content ${address} was refused (${reason}): ${detail}; it is not served as a decision`);
  }
}

/** BZZZ's matrix: observers publish no decisions; architectural ones need architect or admin. */
export function mayPublish(role: Role, type: string): boolean {
  if (role === 'observer') return false;
  if (type === 'architectural' || type === 'architecture') return role === 'senior_software_architect' || role === 'admin';
  return true;
}

function signedBytes(payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const out = new Uint8Array(DOMAIN.byteLength + body.byteLength);
  out.set(DOMAIN, 0);
  out.set(body, DOMAIN.byteLength);
  return out;
}

/** The plaintext to encrypt: the decision, signed with the author's key. */
export async function signDecision(decision: Decision, key: PrivateKey): Promise<string> {
  const payload = JSON.stringify(decision);
  const signature = await key.sign(signedBytes(payload));
  return JSON.stringify({ format: SIGNED_DECISION_FORMAT, payload, signature: Buffer.from(signature).toString('base64') });
}

/**
 * Checks a decrypted plaintext and returns the decision, or throws ContentRejectedError. With
 * `members` undefined (insecure open cluster only) the signature is still checked, but the
 * signer's role is the one it claims.
 */
export async function verifyDecision(address: string, plaintext: Uint8Array, members: MemberRoles | undefined): Promise<Decision> {
  const reject = (reason: RejectReason, detail: string): never => {
    throw new ContentRejectedError(address, reason, detail);
  };
  let envelope: unknown;
  try {
    envelope = JSON.parse(new TextDecoder().decode(plaintext));
  } catch {
    return reject('malformed', 'the plaintext is not JSON');
  }
  const e = (typeof envelope === 'object' && envelope !== null ? envelope : {}) as Record<string, unknown>;
  if (e.format !== SIGNED_DECISION_FORMAT || typeof e.payload !== 'string' || typeof e.signature !== 'string') {
    return reject('unsigned', 'it carries no author signature (decisions are signed by their author since format 1)');
  }
  let d: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(e.payload);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    d = parsed as Record<string, unknown>;
  } catch {
    return reject('malformed', 'the signed payload is not a JSON object');
  }
  if (
    d.v !== DECISION_FORMAT_VERSION ||
    typeof d.type !== 'string' ||
    !DECISION_TYPE.test(d.type) ||
    !isRole(d.role) ||
    typeof d.author !== 'string' ||
    typeof d.createdAt !== 'string' ||
    (d.publishedFor !== undefined && typeof d.publishedFor !== 'string') ||
    !('content' in d)
  ) {
    return reject('malformed', 'the signed payload is not a version 1 decision {v, type, role, author, createdAt, content}');
  }
  let valid = false;
  try {
    const publicKey = peerIdFromString(d.author).publicKey;
    if (publicKey === undefined) throw new Error('no public key in the peer ID');
    valid = await publicKey.verify(signedBytes(e.payload), Buffer.from(e.signature, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) return reject('bad_signature', 'the signature does not verify with the author peer ID');
  const decision: Decision = {
    v: DECISION_FORMAT_VERSION,
    type: d.type,
    role: d.role,
    author: d.author,
    createdAt: d.createdAt,
    ...(d.publishedFor === undefined ? {} : { publishedFor: d.publishedFor as string }),
    content: d.content,
  };
  const signerRole = members === undefined ? decision.role : members.get(decision.author)?.role;
  if (signerRole === undefined) return reject('not_member', `its signer ${decision.author} is not on the member list`);
  if (!mayPublish(signerRole, decision.type) || !canRead(signerRole, decision.role)) {
    return reject(
      'role_may_not_publish',
      `its signer is a ${signerRole}, which may not publish ${decision.type} decisions for role ${decision.role} (BZZZ access matrix)`,
    );
  }
  return decision;
}
