// Decisions: JSON content an agent publishes under its role. The content is wrapped with its
// metadata, age-encrypted to the author's role and every role above it, stored as a blob,
// announced on the DHT (and replicated) and on bzzz/coordination/v1. Reading fetches the blob
// from whichever agent holds it and decrypts it with the identities this agent has: its role's,
// and the admin key while it is the elected admin and has rebuilt it.
//
// Who may publish follows BZZZ's access matrix (architecture.txt): observers only read;
// architectural decisions need the senior_software_architect role or admin.
import { InvalidInputError } from '../util/errors.js';
import type { ContentStore } from './cas/index.js';
import { AccessDeniedError, decryptWithRole, encryptForRole, type AgeIdentity, type Role, type RolePublicKeys } from '../crypto/index.js';
import { ForbiddenError, UnavailableError } from './http/errors.js';
import type { BlobFetcher } from './p2p/blob-fetcher.js';

export const DECISION_FORMAT_VERSION = 1;
const TYPE = /^[a-z][a-z0-9_-]{0,63}$/;
/** Largest decision ciphertext read back (content is small; blobs are for bulk data). */
const MAX_DECISION_BLOB_BYTES = 8 * 1024 * 1024;

export interface Decision {
  v: typeof DECISION_FORMAT_VERSION;
  type: string;
  /** Role the author published under: readable by it and the roles above. */
  role: Role;
  /** Author's peer ID. */
  author: string;
  createdAt: string;
  content: unknown;
}

export interface DecisionKeys {
  publicKeys: RolePublicKeys;
  /** Identities this agent may decrypt with now, strongest first. */
  identities: AgeIdentity[];
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
  role: Role;
  selfPeerId: string;
  now(): number;
}

export interface DecisionService {
  publish(type: string, content: unknown): Promise<{ address: string; type: string; role: Role }>;
  /** AccessDeniedError when no identity of this agent may read it; BlobUnavailableError when no agent holds it. */
  read(address: string, signal?: AbortSignal): Promise<Decision & { address: string }>;
}

/** BZZZ's matrix: observers publish no decisions; architectural ones need architect or admin. */
export function mayPublish(role: Role, type: string): boolean {
  if (role === 'observer') return false;
  if (type === 'architectural' || type === 'architecture') return role === 'senior_software_architect' || role === 'admin';
  return true;
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
  return {
    async publish(type, content) {
      if (!TYPE.test(type)) {
        throw new InvalidInputError(
          `decision type ${JSON.stringify(type.slice(0, 80))} is not valid: use 1-64 of a-z 0-9 _ - starting with a letter (e.g. architectural, code)`,
        );
      }
      if (typeof content !== 'object' || content === null || Array.isArray(content)) {
        throw new InvalidInputError('decision body must be a JSON object, e.g. {"decision": "…", "rationale": "…"}');
      }
      if (!mayPublish(c.role, type)) {
        throw new ForbiddenError(
          `role ${c.role} may not publish ${type} decisions (BZZZ access matrix): send it to an agent with a role that may`,
        );
      }
      const keys = needKeys();
      const decision: Decision = {
        v: DECISION_FORMAT_VERSION,
        type,
        role: c.role,
        author: c.selfPeerId,
        createdAt: new Date(c.now()).toISOString(),
        content,
      };
      const ciphertext = await encryptForRole(JSON.stringify(decision), c.role, keys.publicKeys);
      const { address } = await c.store.put(ciphertext);
      await c.announce(address);
      await c.notify({ address, type, role: c.role, author: c.selfPeerId });
      return { address, type, role: c.role };
    },

    async read(address, signal) {
      const keys = needKeys();
      if (!(await c.store.has(address))) await c.fetcher.fetch(address, signal);
      const ciphertext = new Uint8Array(await c.store.getVerifiedBuffer(address, MAX_DECISION_BLOB_BYTES));
      let denied: unknown;
      for (const identity of keys.identities) {
        try {
          const plain = await decryptWithRole(ciphertext, identity);
          const d = JSON.parse(new TextDecoder().decode(plain)) as Decision;
          return { address, ...d };
        } catch (err) {
          if (!(err instanceof AccessDeniedError)) throw err;
          denied = err;
        }
      }
      throw new AccessDeniedError(
        keys.identities.length === 0
          ? `this agent (role ${c.role}) holds no identity that can decrypt content: role ${c.role} has no private key here (admin reads only while elected and holding the rebuilt admin key)`
          : `content ${address} is not readable by role ${c.role}${keys.identities.length > 1 ? ' or the admin key' : ''}: ask an agent whose role may read it`,
        { cause: denied },
      );
    },
  };
}
