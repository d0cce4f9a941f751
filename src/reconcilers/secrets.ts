// Secrets: immutable, so each value version is its own Docker secret `<cluster>_<logical>-<hash8>`.
// Values from files or env vars are written by `bzzzctl apply` (the controller never sees the
// user's files); generated values are made here, once, and kept until rotated. External secrets
// are only checked. Old versions are pruned once no service refers to them.
import { randomBytes, randomInt } from 'node:crypto';
import type { BzzzCluster, SecretSpec } from '../spec/types.js';
import type { Secret } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, ownerLabels, secretHash8, versionedName } from '../swarm/labels.js';
import type { Change, IdIndex, Observed, Problem } from './types.js';
import { failures } from './problems.js';
import { compareStrings } from '../util/compare.js';
import { rotatedSecretNames, rotationFromConfigs } from '../store/rotation-store.js';

export interface GeneratedSecret {
  logical: string;
  spec: NonNullable<SecretSpec['generate']>;
}

export interface SecretPlan {
  /** Logical → Docker secret name services should mount (pending generated ones get a placeholder). */
  names: Map<string, string>;
  generate: GeneratedSecret[];
  changes: Change[];
  problems: Problem[];
}

export const PENDING = '(generated)';
/** On a version a rotation made: the rotation's id. Such a version is mounted only once the rotation journal names it. */
export const STAGED_LABEL = 'io.bzzz.rotation-id';

/** Labels of a secret version the operator writes (by apply for file/env, by the controller for generated). */
export function secretLabels(
  cluster: string,
  logical: string,
  hash8: string,
  source: 'file' | 'env' | 'generated',
): Record<string, string> {
  return { ...ownerLabels(cluster, `secret-${logical}`), [L.logical]: logical, [L.contentHash]: hash8, [L.source]: source };
}

export function planSecrets(cluster: BzzzCluster, versions: Record<string, string>, observed: Observed): SecretPlan {
  const name = cluster.metadata.name;
  const names = new Map<string, string>();
  const generate: GeneratedSecret[] = [];
  const changes: Change[] = [];
  const problems: Problem[] = [];
  const owned = new Set(observed.secrets.map((s) => s.Spec.Name));
  const external = new Set(observed.external.secrets.map((s) => s.Spec.Name));
  // A rotated secret's services mount the version its rotation journal names: a new version is
  // made (staged) before the consumer accepts it and is mounted only once the journal says so.
  const rotated = rotatedSecretNames(rotationFromConfigs(name, observed.state)).mount;
  for (const [logical, s] of Object.entries(cluster.spec.secrets ?? {}).sort(([a], [b]) => compareStrings(a, b))) {
    if (s.external) {
      names.set(logical, s.external);
      if (!external.has(s.external)) {
        problems.push({
          object: `secret ${s.external}`,
          reason: 'ExternalSecretMissing',
          message: `secret ${s.external} (spec.secrets.${logical}.external) does not exist: create it with docker secret create ${s.external} FILE`,
        });
      }
    } else if (s.generate) {
      const versions = observed.secrets.filter((x) => x.Spec.Labels?.[L.logical] === logical && x.Spec.Labels?.[L.source] === 'generated');
      const pinned = rotated.get(logical);
      const existing = versions.find((x) => x.Spec.Name === pinned) ?? newest(versions.filter((x) => !x.Spec.Labels?.[STAGED_LABEL]));
      if (existing) names.set(logical, existing.Spec.Name);
      else if (pinned) {
        // The rotation journal owns this secret's versions: never make a competing one (it would
        // be mounted, unrotated, behind the rotation's back). A version missing from one listing
        // is looked for again on the next pass.
        names.set(logical, pinned);
        problems.push({
          object: `secret ${pinned}`,
          reason: 'SecretMissing',
          message: `secret ${pinned}, the version of ${logical} its rotation journal names, is not in the swarm: bzzzctl keys rotate ${name} --secret ${logical} makes a new one`,
        });
      } else {
        names.set(logical, `${name}_${logical}-${PENDING}`);
        generate.push({ logical, spec: s.generate });
        changes.push({ action: 'create', kind: 'secret', name: `${name}_${logical}-${PENDING}`, reason: 'generated value' });
      }
    } else {
      const hash8 = versions[logical];
      const n = hash8 ? versionedName(name, logical, hash8) : `${name}_${logical}-?`;
      names.set(logical, n);
      if (!hash8 || !owned.has(n)) {
        const from = s.file ? `file ${s.file}` : `env var ${s.env}`;
        problems.push({
          object: `secret ${n}`,
          reason: 'SecretMissing',
          message: `secret ${logical} (value from ${from}) is not in the swarm (removed by hand?): re-run bzzzctl apply -f FILE to write it again`,
        });
      }
    }
  }
  return { names, generate, changes, problems };
}

function newest(list: Secret[]): Secret | undefined {
  return [...list].sort((a, b) => compareStrings(b.CreatedAt, a.CreatedAt))[0];
}

export function generateValue(g: NonNullable<SecretSpec['generate']>): string {
  const length = g.length ?? 32;
  switch (g.encoding ?? 'alphanumeric') {
    case 'hex':
      return randomBytes(Math.ceil(length / 2))
        .toString('hex')
        .slice(0, length);
    case 'base64':
      return randomBytes(Math.ceil((length * 3) / 4))
        .toString('base64')
        .slice(0, length);
    default: {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      let out = '';
      for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
      return out;
    }
  }
}

/** Creates the generated secrets of the plan; records their names and IDs. */
export async function createGeneratedSecrets(port: SwarmPort, cluster: string, plan: SecretPlan, ids: IdIndex): Promise<Problem[]> {
  const results = await Promise.allSettled(
    plan.generate.map(async (g) => {
      const value = generateValue(g.spec);
      const hash8 = secretHash8(cluster, g.logical, value);
      const secretName = versionedName(cluster, g.logical, hash8);
      const id = await port.createSecret({
        Name: secretName,
        Labels: secretLabels(cluster, g.logical, hash8, 'generated'),
        Data: Buffer.from(value).toString('base64'),
      });
      plan.names.set(g.logical, secretName);
      ids.secrets.set(secretName, id);
    }),
  );
  return failures(
    results,
    plan.generate.map((g) => `secret ${cluster}_${g.logical}`),
    'SecretCreateFailed',
  );
}

/** Owned secret versions that no desired or remaining service refers to. */
export function planSecretPrune(
  observed: Observed,
  wanted: Set<string>,
  stillReferenced: Set<string>,
): Array<{ id: string; name: string; change: Change }> {
  return observed.secrets
    .filter((s) => !wanted.has(s.Spec.Name) && !stillReferenced.has(s.Spec.Name))
    .map((s) => ({
      id: s.ID,
      name: s.Spec.Name,
      change: { action: 'remove', kind: 'secret', name: s.Spec.Name, reason: 'old version, no longer used' } as Change,
    }));
}
