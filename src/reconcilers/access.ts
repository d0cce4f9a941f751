// Who may join the agents' network and call their API (issue 7: closed by default):
//   <cluster>_bzzz-peer-<instance>-<hash8>   secret  the instance's libp2p identity (--peer-key)
//   <cluster>_bzzz-members-<hash8>           config  the member list: peer IDs, names and roles (--members)
//   <cluster>_bzzz-api-callers-<hash8>       config  API callers: names, roles, SHA-256 of tokens (--api-callers)
// The identities and the built-in callers' tokens are derived from the cluster's ownership key
// (src/crypto/derived.ts); callers declared in spec.agent.api.callers bring their own tokens
// (file or env secrets, whose hashes `bzzzctl apply` stored with the spec). Everything is known
// before any write, so diff shows it and the pass is a pure plan plus its writes.
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { configHash8, L, ownerLabels, secretHash8, versionedName } from '../swarm/labels.js';
import { accessLogical } from '../convert/keys-layout.js';
import { isRole, ROLES, type Role } from '../crypto/roles.js';
import { serializeApiCallers, type ApiCallerEntry } from '../crypto/api-callers.js';
import { cliCaller, deriveApiTokenSha256, MIGRATION_CALLER, MIGRATION_CALLER_ROLE, OPERATOR_CALLER } from '../crypto/derive.js';
import type { Member } from '../crypto/membership.js';
import { PENDING } from './secrets.js';
import { failures } from './problems.js';
import type { Change, IdIndex, Observed, Problem } from './types.js';

/** What the derivations produced for one cluster (async; computed before the pure plan). */
export interface AccessMaterial {
  /** Instance → the protobuf bytes of its libp2p private key. */
  peerKeys: Map<string, Uint8Array>;
  membersJson: string;
  callersJson: string;
}

/**
 * Derives the access material of a cluster, or undefined when it has no ownership key yet (a
 * cluster not stored yet: diff shows placeholders) or never will (a record from before keys).
 * `tokenHashes`: SHA-256 of the declared callers' tokens, by secret logical name.
 */
export async function accessMaterial(
  cluster: BzzzCluster,
  ownerKey: string | undefined,
  tokenHashes: Record<string, string> = {},
): Promise<AccessMaterial | undefined> {
  if (ownerKey === undefined || cluster.spec.agent.instances.length === 0) return undefined;
  // Loaded only here: the libp2p key code is not needed on other paths of the CLI.
  const { derivePeerIdentity } = await import('../crypto/peer-identity.js');
  const { serializeMemberList } = await import('../crypto/membership.js');
  const role: Role = isRole(cluster.spec.agent.role) ? cluster.spec.agent.role : 'observer';
  const peerKeys = new Map<string, Uint8Array>();
  const members: Member[] = [];
  for (const inst of cluster.spec.agent.instances) {
    const peer = await derivePeerIdentity(ownerKey, inst.name);
    peerKeys.set(inst.name, peer.keyProtobuf);
    members.push({ name: inst.name, peerId: peer.peerId, role });
  }
  const callers: ApiCallerEntry[] = [
    { name: OPERATOR_CALLER, role: 'observer', tokenSha256: deriveApiTokenSha256(ownerKey, OPERATOR_CALLER) },
    ...ROLES.map((r) => ({ name: cliCaller(r), role: r, tokenSha256: deriveApiTokenSha256(ownerKey, cliCaller(r)) })),
  ];
  // The content import of the migration stores blobs: a caller that may, only while a migration is declared.
  if (cluster.spec.migration !== undefined)
    callers.push({ name: MIGRATION_CALLER, role: MIGRATION_CALLER_ROLE, tokenSha256: deriveApiTokenSha256(ownerKey, MIGRATION_CALLER) });
  for (const c of cluster.spec.agent.api?.callers ?? []) {
    const hash = tokenHashes[c.token];
    if (hash && isRole(c.role)) callers.push({ name: c.name, role: c.role, tokenSha256: hash });
  }
  return {
    peerKeys,
    membersJson: serializeMemberList(cluster.metadata.name, members),
    callersJson: serializeApiCallers(callers),
  };
}

export interface AccessPlan {
  /** Logical → Docker name of the access secrets and configs (placeholders while not derivable). */
  secretNames: Map<string, string>;
  configNames: Map<string, string>;
  createSecrets: Array<{ logical: string; name: string; hash8: string; data: Uint8Array }>;
  createConfigs: Array<{ logical: string; name: string; hash8: string; data: string }>;
  changes: Change[];
  problems: Problem[];
}

export function planAccess(cluster: BzzzCluster, material: AccessMaterial | undefined, observed: Observed): AccessPlan {
  const name = cluster.metadata.name;
  const plan: AccessPlan = {
    secretNames: new Map(),
    configNames: new Map(),
    createSecrets: [],
    createConfigs: [],
    changes: [],
    problems: [],
  };
  if (cluster.spec.agent.instances.length === 0) return plan;
  const ownedSecrets = new Set(observed.secrets.map((s) => s.Spec.Name));
  const ownedConfigs = new Set(observed.configs.map((c) => c.Spec.Name));
  const record = observed.state.some((c) => c.Spec.Labels?.[L.kind] === 'cluster');
  if (!material) {
    // Not stored yet (diff of a new cluster): what apply will make, under placeholder names.
    for (const inst of cluster.spec.agent.instances)
      plan.secretNames.set(accessLogical.peer(inst.name), `${name}_${accessLogical.peer(inst.name)}-${PENDING}`);
    plan.configNames.set(accessLogical.members, `${name}_${accessLogical.members}-${PENDING}`);
    plan.configNames.set(accessLogical.callers, `${name}_${accessLogical.callers}-${PENDING}`);
    if (record) {
      plan.problems.push({
        object: `cluster ${name}`,
        reason: 'NoOwnershipKey',
        message: `cluster ${name} was stored before ownership keys, so its agents' identities cannot be made: delete it (bzzzctl delete ${name}) and apply it again`,
      });
    } else {
      plan.changes.push({ action: 'create', kind: 'secret', name: `${name}_bzzz-peer-*`, reason: 'agent identities, derived' });
      plan.changes.push({ action: 'create', kind: 'config', name: `${name}_${accessLogical.members}-${PENDING}`, reason: 'member list' });
      plan.changes.push({ action: 'create', kind: 'config', name: `${name}_${accessLogical.callers}-${PENDING}`, reason: 'API callers' });
    }
    return plan;
  }
  for (const [instance, key] of material.peerKeys) {
    const logical = accessLogical.peer(instance);
    const hash8 = secretHash8(name, logical, key);
    const n = versionedName(name, logical, hash8);
    plan.secretNames.set(logical, n);
    if (!ownedSecrets.has(n)) {
      plan.createSecrets.push({ logical, name: n, hash8, data: key });
      plan.changes.push({ action: 'create', kind: 'secret', name: n, reason: `identity of agent ${instance}` });
    }
  }
  for (const [logical, data] of [
    [accessLogical.members, material.membersJson],
    [accessLogical.callers, material.callersJson],
  ] as const) {
    const hash8 = configHash8(data);
    const n = versionedName(name, logical, hash8);
    plan.configNames.set(logical, n);
    if (!ownedConfigs.has(n)) {
      plan.createConfigs.push({ logical, name: n, hash8, data });
      plan.changes.push({ action: 'create', kind: 'config', name: n });
    }
  }
  return plan;
}

export async function createAccess(port: SwarmPort, cluster: string, plan: AccessPlan, ids: IdIndex): Promise<Problem[]> {
  const labels = (logical: string, hash8: string) => ({ ...ownerLabels(cluster, 'access'), [L.logical]: logical, [L.contentHash]: hash8 });
  const results = await Promise.allSettled([
    ...plan.createSecrets.map(async (s) => {
      ids.secrets.set(
        s.name,
        await port.createSecret({
          Name: s.name,
          Labels: { ...labels(s.logical, s.hash8), [L.source]: 'derived' },
          Data: Buffer.from(s.data).toString('base64'),
        }),
      );
    }),
    ...plan.createConfigs.map(async (c) => {
      ids.configs.set(
        c.name,
        await port.createConfig({ Name: c.name, Labels: labels(c.logical, c.hash8), Data: Buffer.from(c.data).toString('base64') }),
      );
    }),
  ]);
  return failures(
    results,
    [...plan.createSecrets.map((s) => `secret ${s.name}`), ...plan.createConfigs.map((c) => `config ${c.name}`)],
    'AccessCreateFailed',
  );
}
