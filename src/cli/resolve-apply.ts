// What `apply` stores and writes, resolved from the user's files and environment:
// the StoredSpec document (no secret values: only their content versions) and the values of
// file/env secrets, which only the CLI can read (the controller never sees the user's files).
import type { LoadedSpec } from '../spec/index.js';
import { readConfigValues, readSecretValues } from '../spec/index.js';
import { stateFromConfigs, type ClusterStore, type StoredSpec } from '../store/cluster-store.js';
import type { Secret } from '../swarm/api-types.js';
import type { Observed } from '../reconcilers/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { ownedBy, secretHash8, stableHash, versionedName } from '../swarm/labels.js';
import { secretLabels } from '../reconcilers/secrets.js';
import { newOwnerKey, provingPort } from '../swarm/ownership.js';
import { compareStrings } from '../util/compare.js';
import { tokenSha256 } from '../crypto/api-callers.js';
import { hostname, userInfo } from 'node:os';
import type { AppliedBy } from '../spec/rollout.js';

export interface ResolvedApply {
  doc: Omit<StoredSpec, 'generation' | 'appliedAt'>;
  /** Logical → value of file/env secrets. Kept in memory only, never logged. */
  secretValues: Map<string, Buffer>;
}

export async function resolveApply(loaded: LoadedSpec, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedApply> {
  const cluster = loaded.cluster;
  const [secretValues, configValues] = await Promise.all([
    readSecretValues(cluster, loaded.baseDir, env),
    readConfigValues(cluster, loaded.baseDir, env),
  ]);
  const secretVersions: Record<string, string> = {};
  for (const [logical, value] of [...secretValues].sort(([a], [b]) => compareStrings(a, b))) {
    secretVersions[logical] = secretHash8(cluster.metadata.name, logical, value);
  }
  const configContents: Record<string, string> = {};
  for (const [logical, value] of [...configValues].sort(([a], [b]) => compareStrings(a, b))) {
    configContents[logical] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  // Bearer tokens — the declared API callers' (the agents compare against them) and the
  // Alertmanager webhook's (the controller does): only their SHA-256 is stored.
  const apiTokenHashes: Record<string, string> = {};
  const webhook = cluster.spec.rollback?.webhook?.tokenSecret;
  for (const logical of [...(cluster.spec.agent.api?.callers ?? []).map((c) => c.token), ...(webhook ? [webhook] : [])]) {
    const value = secretValues.get(logical);
    if (value) apiTokenHashes[logical] = tokenSha256(value.toString('utf8').trim());
  }
  const specHash = stableHash({ cluster, secretVersions, configContents });
  return {
    doc: {
      cluster,
      secretVersions,
      configContents,
      ...(Object.keys(apiTokenHashes).length ? { apiTokenHashes } : {}),
      specHash,
      appliedBy: appliedBy(),
    },
    secretValues,
  };
}

/** Writes the file/env secret versions that are not in the swarm yet (`owned`: the cluster's secrets, when just listed). Returns the names written. */
async function writeSecretVersions(port: SwarmPort, r: ResolvedApply, owned?: Secret[]): Promise<string[]> {
  const cluster = r.doc.cluster.metadata.name;
  const existing = new Set((owned ?? (await port.listSecrets({ labels: ownedBy(cluster) }))).map((s) => s.Spec.Name));
  const spec = r.doc.cluster.spec.secrets ?? {};
  const todo = [...r.secretValues].filter(([logical]) => !existing.has(versionedName(cluster, logical, r.doc.secretVersions[logical])));
  await Promise.all(
    todo.map(([logical, value]) => {
      const hash8 = r.doc.secretVersions[logical];
      return port.createSecret({
        Name: versionedName(cluster, logical, hash8),
        Labels: secretLabels(cluster, logical, hash8, spec[logical]?.file ? 'file' : 'env'),
        Data: value.toString('base64'),
      });
    }),
  );
  return todo.map(([logical]) => versionedName(cluster, logical, r.doc.secretVersions[logical]));
}

/**
 * What apply and up store: the file/env secret versions the swarm does not have yet, then the
 * spec as a new generation (the current one when nothing changed). `summary` is for people.
 * `observed`: the cluster as the caller just read it (its secrets, record and stored specs),
 * which saves reading them again.
 */
export async function storeSpec(
  port: SwarmPort,
  store: ClusterStore,
  r: ResolvedApply,
  observed?: Pick<Observed, 'secrets' | 'state'>,
  now: Date = new Date(),
): Promise<{ generation: number; changed: boolean; summary: string }> {
  const name = r.doc.cluster.metadata.name;
  const known = observed && stateFromConfigs(name, observed.state);
  // The secret versions are written before the spec is stored, so a new cluster's ownership key
  // is chosen here and handed to the store, which writes it into the new cluster record.
  const rec = known ? known.record : await store.get(name);
  const key = rec ? rec.ownerKey : newOwnerKey();
  await writeSecretVersions(key ? provingPort(port, name, key) : port, r, observed?.secrets);
  const { generation, changed } = await store.putSpec(r.doc, now, known, key);
  return {
    generation,
    changed,
    summary: `${name}: ${changed ? `stored generation ${generation}` : `unchanged (generation ${generation})`}`,
  };
}

/** Who applies: the user and host `rollout history` shows (not part of the spec hash). */
export function appliedBy(via: AppliedBy['via'] = 'apply', fromRevision?: number): AppliedBy {
  let user = process.env.SUDO_USER ?? process.env.USER ?? '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= `uid ${process.getuid?.() ?? '?'}`;
  }
  return { user, host: hostname(), ...(via !== 'apply' ? { via } : {}), ...(fromRevision !== undefined ? { fromRevision } : {}) };
}
