// Credentials the operator derives from a cluster's ownership key (the random key in the cluster
// record, src/swarm/ownership.ts): each agent instance's libp2p identity (peer-identity.ts) and the
// API tokens of the built-in callers (here). Deriving instead of generating-and-storing keeps
// every pass pure — the member list (peer IDs and roles) and the callers file (token hashes) are
// known at plan time, so `bzzzctl diff` shows them — and lets `bzzzctl api-token` hand a token to
// a user who can reach the swarm's managers, without the operator ever storing one.
//
// Who can read the ownership key can derive these. That is whoever can call the Docker API of a
// manager, who can already read every mounted secret by exec'ing into a task: no boundary is
// lost. A per-purpose HMAC label keeps the derivations independent of each other.
import { createHmac } from 'node:crypto';
import { TOKEN_PREFIX, tokenSha256 } from './api-callers.js';
import type { Role } from './roles.js';

export function deriveBytes(ownerKey: string, purpose: string): Buffer {
  return createHmac('sha256', Buffer.from(ownerKey, 'hex')).update(`bzzz-derive\0${purpose}`).digest();
}

/** The built-in API callers: the controller (it reads election status) and `bzzzctl api-token` per role. */
export const OPERATOR_CALLER = 'bzzz-operator';
export const cliCaller = (role: Role): string => `bzzzctl-${role}`;
/**
 * The controller's caller for the v1 → v2 content import (issue 11): it stores blobs, which an
 * observer may not, so it acts as backend_developer. Only clusters with spec.migration have it.
 */
export const MIGRATION_CALLER = 'bzzz-operator-migrate';
export const MIGRATION_CALLER_ROLE: Role = 'backend_developer';

/** A built-in caller's bearer token. */
export function deriveApiToken(ownerKey: string, caller: string): string {
  return `${TOKEN_PREFIX}${deriveBytes(ownerKey, `api\0${caller}`).toString('base64url')}`;
}

export function deriveApiTokenSha256(ownerKey: string, caller: string): string {
  return tokenSha256(deriveApiToken(ownerKey, caller));
}
