// Where the operator puts each agent's keys: names of the key secrets/configs and the files in
// the container. Shared by the desired-service builder and the keys reconciler.
import type { BzzzCluster } from '../spec/types.js';

export const KEYSET_LABEL = 'io.bzzz.keyset';
export const KEYS_DIR = '/run/bzzz-keys';
/**
 * The user the bzzzctl image runs agents as (stacks/images/Dockerfile: uid/gid 10001). Private
 * key files are mounted 0400 and owned by it, so no other user in the container can read them.
 */
export const AGENT_UID = '10001';

export const keyLogical = {
  pub: (role: string) => `bzzz-pub-${role}`,
  key: (role: string) => `bzzz-key-${role}`,
  share: (index: number) => `bzzz-share-${index}`,
};

/** The access objects of src/reconcilers/access.ts: identities, member list, API callers. */
export const accessLogical = {
  peer: (instance: string) => `bzzz-peer-${instance}`,
  members: 'bzzz-members',
  callers: 'bzzz-api-callers',
};

/** Where an agent finds them (and the env vars that tell it). */
export const ACCESS_FILES = {
  peerKey: `${KEYS_DIR}/peer.key`,
  members: `${KEYS_DIR}/members.json`,
  callers: `${KEYS_DIR}/api-callers.json`,
};

export interface ShamirSettings {
  threshold: number;
  shares: number;
}

/** Whether the operator makes keys for this cluster, and the split it uses. */
export function keySettings(cluster: BzzzCluster): ShamirSettings | undefined {
  const keys = cluster.spec.keys;
  if (keys?.generate === false || cluster.spec.agent.instances.length === 0) return undefined;
  return { threshold: keys?.shamir?.threshold ?? 3, shares: keys?.shamir?.shares ?? 5 };
}
