// Who may call an agent's HTTP API, and with which role. The operator generates one random bearer
// token per caller, hands each caller its own token as a Docker secret, and gives every agent this
// callers file (a Docker config) holding only the SHA-256 of each token: an agent can check a
// token but never learn one, and a leaked callers file gives nobody access. `bzzzctl agent run`
// takes it from `--api-callers FILE`. Pure: parse, look up, make tokens; no I/O.
//
// File format (JSON, at most MAX_CALLERS_BYTES):
//   { "version": 1,
//     "callers": [ { "name": "ci", "role": "backend_developer", "tokenSha256": "<64 hex>" }, … ] }
//
// Why bearer tokens and not mutual TLS: the API sits behind Swarm's overlay and is called by
// scripts, the MCP server and curl; a token in a Docker secret needs no PKI, no certificate
// rotation and no client library support, and it is revoked by removing one line here.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from '../util/errors.js';
import { isRole, ROLES, type Role } from './roles.js';

export const CALLERS_FORMAT_VERSION = 1;
/** 1000 callers of ~150 bytes each, with room to spare. */
export const MAX_CALLERS_BYTES = 256 * 1024;
export const MAX_CALLERS = 1000;
/** A token of 32 random bytes, base64url: `bzzz_` + 43 characters. */
export const TOKEN_PREFIX = 'bzzz_';
/** Longest Authorization value looked at: anything longer is not one of our tokens. */
export const MAX_TOKEN_CHARS = 256;

export interface ApiCaller {
  /** Who it is (for people: logs, audit). Never the token. */
  readonly name: string;
  /** What it may do, under BZZZ's access matrix. */
  readonly role: Role;
}

export interface ApiCallerEntry extends ApiCaller {
  /** Lowercase hex SHA-256 of the caller's token. */
  readonly tokenSha256: string;
}

export interface ApiCallerList {
  readonly callers: readonly ApiCaller[];
  /** The caller this bearer token belongs to, or undefined. Timing-safe: every entry is compared. */
  authenticate(token: string): ApiCaller | undefined;
}

/** The lowercase hex SHA-256 of a token, as the callers file stores it. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token and its hash. The token goes to the caller (a Docker secret); the hash to the callers file. */
export function generateApiToken(): { token: string; tokenSha256: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, tokenSha256: tokenSha256(token) };
}

export function apiCallerList(entries: readonly ApiCallerEntry[]): ApiCallerList {
  const digests = entries.map((e) => ({ caller: { name: e.name, role: e.role } as ApiCaller, digest: Buffer.from(e.tokenSha256, 'hex') }));
  return {
    callers: digests.map((d) => d.caller),
    authenticate(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
      const presented = createHash('sha256').update(token, 'utf8').digest();
      // Compare against every entry, whatever matched: the time taken says nothing about which
      // entry (or how much of a hash) matched.
      let found: ApiCaller | undefined;
      for (const d of digests) {
        if (timingSafeEqual(presented, d.digest) && found === undefined) found = d.caller;
      }
      return found;
    },
  };
}

/** Serialises a callers file the way `parseApiCallers` reads it (sorted by name: deterministic). */
export function serializeApiCallers(entries: readonly ApiCallerEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${JSON.stringify(
    { version: CALLERS_FORMAT_VERSION, callers: sorted.map((e) => ({ name: e.name, role: e.role, tokenSha256: e.tokenSha256 })) },
    null,
    2,
  )}\n`;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.@-]{0,62}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Parses a callers file's text. `source` names it in errors (a path or "the API callers config").
 * Every problem is collected and reported at once; nothing partial is returned. Errors never
 * quote a hash (it is not secret, but it is nobody's business either).
 */
export function parseApiCallers(text: string, source: string): ApiCallerList {
  if (Buffer.byteLength(text) > MAX_CALLERS_BYTES) {
    throw new InvalidInputError(`${source}: API callers file is over ${MAX_CALLERS_BYTES} bytes: it is not a BZZZ callers file`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${source}: not JSON (${(err as Error).message}): write the file the operator produced`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidInputError(`${source}: expected an object {version, callers}`);
  }
  const obj = doc as { version?: unknown; callers?: unknown };
  const problems: string[] = [];
  if (obj.version !== CALLERS_FORMAT_VERSION) problems.push(`version: ${JSON.stringify(obj.version)} is not ${CALLERS_FORMAT_VERSION}`);
  const entries: ApiCallerEntry[] = [];
  if (!Array.isArray(obj.callers) || obj.callers.length === 0) {
    problems.push('callers: expected a non-empty list of {name, role, tokenSha256}');
  } else if (obj.callers.length > MAX_CALLERS) {
    problems.push(`callers: ${obj.callers.length} entries, at most ${MAX_CALLERS}`);
  } else {
    const names = new Set<string>();
    const hashes = new Set<string>();
    obj.callers.forEach((c: unknown, i: number) => {
      const at = `callers[${i}]`;
      const e = (typeof c === 'object' && c !== null ? c : {}) as {
        name?: unknown;
        role?: unknown;
        tokenSha256?: unknown;
        token?: unknown;
      };
      if (typeof e.name !== 'string' || !NAME.test(e.name)) {
        problems.push(`${at}.name: expected a name of letters, digits, '_', '.', '@', '-' (at most 63)`);
        return;
      }
      if ('token' in e) {
        problems.push(`${at}.token (${e.name}): the callers file holds only tokenSha256, never a token: remove it and rotate that token`);
      }
      if (!isRole(e.role)) problems.push(`${at}.role (${e.name}): ${JSON.stringify(e.role)} is not one of ${ROLES.join(', ')}`);
      const hash = typeof e.tokenSha256 === 'string' ? e.tokenSha256 : '';
      if (!SHA256_HEX.test(hash))
        problems.push(`${at}.tokenSha256 (${e.name}): expected 64 lowercase hex digits (the SHA-256 of the token)`);
      if (names.has(e.name)) problems.push(`${at}.name: ${e.name} is listed twice`);
      if (hashes.has(hash)) problems.push(`${at}.tokenSha256 (${e.name}): the same token is given to two callers: generate one per caller`);
      names.add(e.name);
      if (SHA256_HEX.test(hash)) hashes.add(hash);
      if (isRole(e.role) && SHA256_HEX.test(hash)) entries.push({ name: e.name, role: e.role, tokenSha256: hash });
    });
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`${source}: API callers file is not valid:\n  ${problems.join('\n  ')}`);
  }
  return apiCallerList(entries);
}
