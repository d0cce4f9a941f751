// The cluster's member list: who may join the agents' libp2p network, and with which role. The
// operator writes it (a Docker config mounted into every agent); `bzzzctl agent run` outside the
// operator takes it from `--members FILE`. A peer not on the list can open no stream, publish
// nothing that members accept and is never asked to store or serve anything; a decision's
// signer must be on it with a role that may publish. Pure: parse + look up, no I/O.
//
// File format (JSON, at most MAX_MEMBERS_BYTES):
//   { "version": 1, "cluster": "dev",
//     "members": [ { "name": "walnut", "peerId": "12D3Koo…", "role": "admin" }, … ] }
import { peerIdFromString } from '@libp2p/peer-id';
import { InvalidInputError } from '../util/errors.js';
import { isRole, ROLES, type Role } from './roles.js';

export const MEMBERS_FORMAT_VERSION = 1;
/** 1000 members of ~150 bytes each, with room to spare. */
export const MAX_MEMBERS_BYTES = 256 * 1024;
export const MAX_MEMBERS = 1000;

export interface Member {
  /** The agent's instance name (for people: logs, status). */
  readonly name: string;
  /** Its libp2p peer ID (Ed25519), as the operator generated it. */
  readonly peerId: string;
  readonly role: Role;
}

export interface MemberList {
  readonly cluster: string;
  readonly members: readonly Member[];
  /** The member with this peer ID, if any. */
  get(peerId: string): Member | undefined;
  has(peerId: string): boolean;
  /** How many votes make a majority of the member list. */
  readonly majority: number;
}

export function memberList(cluster: string, members: readonly Member[]): MemberList {
  const byPeer = new Map(members.map((m) => [m.peerId, m]));
  return {
    cluster,
    members,
    get: (peerId) => byPeer.get(peerId),
    has: (peerId) => byPeer.has(peerId),
    majority: Math.floor(members.length / 2) + 1,
  };
}

/** Serialises a member list the way `parseMemberList` reads it (sorted by name: deterministic). */
export function serializeMemberList(cluster: string, members: readonly Member[]): string {
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${JSON.stringify(
    { version: MEMBERS_FORMAT_VERSION, cluster, members: sorted.map((m) => ({ name: m.name, peerId: m.peerId, role: m.role })) },
    null,
    2,
  )}\n`;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/**
 * Parses a member list file's text. `source` names it in errors (a path or "the members config").
 * Every problem is collected and reported at once; nothing partial is returned.
 */
export function parseMemberList(text: string, source: string): MemberList {
  if (Buffer.byteLength(text) > MAX_MEMBERS_BYTES) {
    throw new InvalidInputError(`${source}: member list is over ${MAX_MEMBERS_BYTES} bytes: it is not a BZZZ member list`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${source}: not JSON (${(err as Error).message}): write the file bzzzctl or the operator produced`);
  }
  const problems: string[] = [];
  const obj = doc as { version?: unknown; cluster?: unknown; members?: unknown };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidInputError(`${source}: expected an object {version, cluster, members}`);
  }
  if (obj.version !== MEMBERS_FORMAT_VERSION) problems.push(`version: ${JSON.stringify(obj.version)} is not ${MEMBERS_FORMAT_VERSION}`);
  if (typeof obj.cluster !== 'string' || !NAME.test(obj.cluster)) problems.push('cluster: expected the cluster name');
  const members: Member[] = [];
  if (!Array.isArray(obj.members) || obj.members.length === 0) {
    problems.push('members: expected a non-empty list of {name, peerId, role}');
  } else if (obj.members.length > MAX_MEMBERS) {
    problems.push(`members: ${obj.members.length} entries, at most ${MAX_MEMBERS}`);
  } else {
    const names = new Set<string>();
    const peers = new Set<string>();
    obj.members.forEach((m: unknown, i: number) => {
      const at = `members[${i}]`;
      const e = (m ?? {}) as { name?: unknown; peerId?: unknown; role?: unknown };
      if (typeof e.name !== 'string' || !NAME.test(e.name)) {
        problems.push(`${at}.name: expected a name of letters, digits, '_', '.', '-' (at most 63)`);
        return;
      }
      let peerId: string | undefined;
      try {
        if (typeof e.peerId !== 'string' || e.peerId.length > 128) throw new Error('not a string');
        const id = peerIdFromString(e.peerId);
        if (id.type !== 'Ed25519') throw new Error(`a ${id.type} key; members have Ed25519 keys`);
        peerId = id.toString();
      } catch (err) {
        problems.push(`${at}.peerId (${e.name}): not a libp2p peer ID (${(err as Error).message})`);
      }
      if (!isRole(e.role)) problems.push(`${at}.role (${e.name}): ${JSON.stringify(e.role)} is not one of ${ROLES.join(', ')}`);
      if (names.has(e.name)) problems.push(`${at}.name: ${e.name} is listed twice`);
      if (peerId !== undefined && peers.has(peerId)) problems.push(`${at}.peerId (${e.name}): this peer ID is listed twice`);
      names.add(e.name);
      if (peerId !== undefined) peers.add(peerId);
      if (peerId !== undefined && isRole(e.role)) members.push({ name: e.name, peerId, role: e.role });
    });
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`${source}: member list is not valid:\n  ${problems.join('\n  ')}`);
  }
  return memberList(obj.cluster as string, members);
}
