// Decisions: JSON content published for an API caller under the caller's role. The content is
// wrapped with its metadata, signed by this agent's libp2p key (decision-signature.ts),
// age-encrypted to the caller's role and every role above it, stored as a blob, announced on the
// DHT (and replicated) and on bzzz/coordination/v1. Reading fetches the blob from whichever agent
// holds it, decrypts it with the identities this agent may use for the caller, checks the
// signature and the signer's membership and role, then the caller's right to read it.
//
// Authorisation is the caller's, under BZZZ's access matrix (architecture.txt):
//  - publish: the caller's role must be allowed to publish the type (observers publish nothing;
//    architectural decisions need architect or admin). The agent signs as the author, so readers
//    check the AGENT's member role too: an agent publishes for a caller only under the caller's
//    role, only if that role is at or below the agent's own (the agent holds the keys that read
//    what it writes, and signs only for roles it is trusted with), and only types its own role may
//    publish. Otherwise 403, naming the kind of agent to send it to.
//  - read: the caller's role must be allowed to read the decision's (signed) role. The admin key,
//    held while this agent is the elected admin, is used only for admin callers, so admin-only
//    content is never decrypted for anyone else; the agent's own role key may decrypt content
//    above the caller's role, which is then refused without leaving the agent.
// The answer's address is the address asked for — the BLAKE3 of the stored bytes, verified on
// read — never anything from the plaintext.
import type { PrivateKey } from '@libp2p/interface';
import { InvalidInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { ContentStore } from './cas/index.js';
import type { ApiCaller } from '../crypto/api-callers.js';
import {
  AccessDeniedError,
  canRead,
  decryptWithRole,
  encryptForRole,
  type AgeIdentity,
  type Role,
  type RolePublicKeys,
} from '../crypto/index.js';
import {
  ContentRejectedError,
  DECISION_FORMAT_VERSION,
  DECISION_TYPE,
  mayPublish,
  signDecision,
  verifyDecision,
  type Decision,
  type MemberRoles,
} from './decision-signature.js';
import { ForbiddenError, UnavailableError } from './http/errors.js';
import type { AgentMetrics } from './metrics.js';
import type { BlobFetcher } from './p2p/blob-fetcher.js';

export { DECISION_FORMAT_VERSION, mayPublish, type Decision };
/** Largest decision ciphertext read back (content is small; blobs are for bulk data). */
const MAX_DECISION_BLOB_BYTES = 8 * 1024 * 1024;

export interface DecisionKeys {
  publicKeys: RolePublicKeys;
  /** This agent's role identity (absent for a role whose private key is not here). */
  own: AgeIdentity | undefined;
  /** The rebuilt admin identity, while this agent is the elected admin. */
  admin: AgeIdentity | undefined;
}

export interface DecisionServiceComponents {
  store: ContentStore;
  fetcher: BlobFetcher;
  /** Announce on the DHT and start replication of a new blob. */
  announce(address: string): Promise<void>;
  /** Tell the other agents on the coordination topic. */
  notify(body: { address: string; type: string; role: Role; author: string }): Promise<void>;
  /** undefined when the agent runs without role keys (--keys-dir). */
  keys(): DecisionKeys | undefined;
  /** This agent's role (its member role). */
  role: Role;
  selfPeerId: string;
  /** The agent's libp2p key: decisions are signed with it. */
  privateKey: PrivateKey;
  /** The member list; undefined only in the insecure open mode (then signers' claimed roles are taken). */
  members: MemberRoles | undefined;
  metrics: AgentMetrics;
  log: Logger;
  now(): number;
}

export type ReadDecision = Decision & { address: string };

export interface DecisionService {
  publish(type: string, content: unknown, caller: ApiCaller): Promise<{ address: string; type: string; role: Role }>;
  /**
   * AccessDeniedError when the caller may not read it (or no identity here may decrypt it for the
   * caller); ContentRejectedError when it is not a validly signed member decision;
   * BlobUnavailableError when no agent holds it.
   */
  read(address: string, caller: ApiCaller, signal?: AbortSignal): Promise<ReadDecision>;
}

export function createDecisionService(c: DecisionServiceComponents): DecisionService {
  const needKeys = (): DecisionKeys => {
    const k = c.keys();
    if (k === undefined)
      throw new UnavailableError(
        'this agent runs without role keys: start it with --keys-dir (BZZZ_KEYS_DIR) pointing at the output of `bzzzctl keys generate`',
      );
    return k;
  };

  function checkPublish(type: string, content: unknown, caller: ApiCaller): void {
    if (!DECISION_TYPE.test(type)) {
      throw new InvalidInputError(
        `decision type ${JSON.stringify(type.slice(0, 80))} is not valid: use 1-64 of a-z 0-9 _ - starting with a letter (e.g. architectural, code)`,
      );
    }
    if (typeof content !== 'object' || content === null || Array.isArray(content)) {
      throw new InvalidInputError('decision body must be a JSON object, e.g. {"decision": "…", "rationale": "…"}');
    }
    if (!mayPublish(caller.role, type)) {
      throw new ForbiddenError(`caller ${caller.name} (role ${caller.role}) may not publish ${type} decisions (BZZZ access matrix)`);
    }
    if (!canRead(c.role, caller.role)) {
      throw new ForbiddenError(
        `this agent (role ${c.role}) publishes only for roles at or below its own, not for ${caller.role}: send it to an agent of role ${caller.role} or above`,
      );
    }
    if (!mayPublish(c.role, type)) {
      throw new ForbiddenError(
        `this agent (role ${c.role}) signs what it publishes and may not publish ${type} decisions (BZZZ access matrix): send it to an agent with a role that may`,
      );
    }
  }

  async function decryptFor(address: string, ciphertext: Uint8Array, keys: DecisionKeys, caller: ApiCaller): Promise<Uint8Array> {
    // The admin identity only for admin callers: admin-only content is never decrypted for others.
    const identities = [...(caller.role === 'admin' && keys.admin ? [keys.admin] : []), ...(keys.own ? [keys.own] : [])];
    let denied: unknown;
    for (const identity of identities) {
      try {
        return await decryptWithRole(ciphertext, identity);
      } catch (err) {
        if (!(err instanceof AccessDeniedError)) throw err;
        denied = err;
      }
    }
    throw new AccessDeniedError(
      identities.length === 0
        ? `this agent (role ${c.role}) holds no identity that can decrypt content for a ${caller.role} caller: ask an agent whose role may read it`
        : `content ${address} is not readable through this agent (role ${c.role}) by a ${caller.role} caller: ask an agent whose role may read it${
            keys.admin && caller.role !== 'admin' ? ' (the admin key is used for admin callers only)' : ''
          }`,
      { cause: denied },
    );
  }

  return {
    async publish(type, content, caller) {
      checkPublish(type, content, caller);
      const keys = needKeys();
      const decision: Decision = {
        v: DECISION_FORMAT_VERSION,
        type,
        role: caller.role,
        author: c.selfPeerId,
        createdAt: new Date(c.now()).toISOString(),
        publishedFor: caller.name,
        content,
      };
      const plaintext = await signDecision(decision, c.privateKey);
      const ciphertext = await encryptForRole(plaintext, caller.role, keys.publicKeys);
      const { address } = await c.store.put(ciphertext);
      await c.announce(address);
      await c.notify({ address, type, role: caller.role, author: c.selfPeerId });
      return { address, type, role: caller.role };
    },

    async read(address, caller, signal) {
      const keys = needKeys();
      if (!(await c.store.has(address))) await c.fetcher.fetch(address, signal);
      // The store verifies these bytes against `address`: the address IS their BLAKE3.
      const ciphertext = new Uint8Array(await c.store.getVerifiedBuffer(address, MAX_DECISION_BLOB_BYTES));
      const plaintext = await decryptFor(address, ciphertext, keys, caller);
      let decision: Decision;
      try {
        decision = await verifyDecision(address, plaintext, c.members);
      } catch (err) {
        if (err instanceof ContentRejectedError) {
          c.metrics.contentRejectedTotal.inc({ reason: err.reason });
          c.log.warn({ address, reason: err.reason, caller: caller.name }, 'decision refused');
        }
        throw err;
      }
      if (!canRead(caller.role, decision.role)) {
        throw new AccessDeniedError(
          `content ${address} is ${decision.role} content: caller ${caller.name} (role ${caller.role}) may not read it (BZZZ access matrix)`,
        );
      }
      return {
        v: decision.v,
        type: decision.type,
        role: decision.role,
        author: decision.author,
        createdAt: decision.createdAt,
        ...(decision.publishedFor === undefined ? {} : { publishedFor: decision.publishedFor }),
        content: decision.content,
        address,
      };
    },
  };
}
