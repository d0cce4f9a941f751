// Restoring the `swarm` part: the cluster comes back from its backed-up spec, under its own name
// or a new one, with the backed-up secret values — so the role keys and the admin key's shares
// are the same ones (content encrypted before the backup stays readable), and so are the
// database password and every generated secret. It goes the way `bzzzctl apply` goes: secret
// versions written first (with the cluster's ownership proof), the spec stored as a generation,
// then a converge (in-process, or by whoever the caller hands in).
// Secret versions are named by an HMAC keyed with the cluster's name, so under a new name each
// gets its new name (and the spec its new secretVersions); the values do not change.
import { hostname, userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import type { RestoreTarget } from '../backup/types.js';
import type { BzzzCluster } from '../spec/types.js';
import { ClusterStore, type StoredSpec } from '../store/cluster-store.js';
import type { SwarmPort } from '../swarm/port.js';
import { configHash8, L, ownedBy, secretHash8, stableHash, versionedName } from '../swarm/labels.js';
import { newOwnerKey, OWNER_LABEL, provingPort } from '../swarm/ownership.js';
import { KEYSET_LABEL } from '../convert/keys-layout.js';
import { InvalidInputError } from '../util/errors.js';
import { compareStrings } from '../util/compare.js';
import type { ClusterStatus } from '../spec/status.js';
import type { Converge } from './backup-converge.js';
import { SWARM_FORMAT, type BackedUpObject, type ClusterEntry } from './backup-swarm-source.js';

const MAX_ENTRY = 4 * 1024 * 1024;
const MAX_TOTAL = 64 * 1024 * 1024;
const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export interface SwarmTargetOptions {
  port: SwarmPort;
  /** Restore under this name (default: the backed-up cluster's own). */
  name?: string;
  /** Brings the stored generation up (src/ops/backup-converge.ts). */
  converge: Converge;
  /** Changes the spec before it is stored (the drill unpublishes host ports). */
  transform?(cluster: BzzzCluster): BzzzCluster;
}

export interface SwarmRestoreResult {
  /** The cluster the part was restored as. */
  name: string;
  /** The cluster it was backed up from. */
  from: string;
  generation: number;
  /** Secret versions written (existing ones with the same name are kept). */
  secretsWritten: number;
  status?: ClusterStatus;
}

export interface SwarmTarget extends RestoreTarget {
  /** After finish(). */
  readonly result: SwarmRestoreResult | undefined;
}

async function readBounded(path: string, data: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of data) {
    n += (c as Buffer).length;
    if (n > limit) throw new InvalidInputError(`swarm part: entry ${path} is larger than ${limit} bytes: not a backup this version wrote`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson<T>(path: string, bytes: Buffer): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw new InvalidInputError(`swarm part: entry ${path} is not valid JSON (${(err as Error).message})`);
  }
}

/** Labels of a backed-up object, moved to cluster `name` (its ownership proof is made anew). */
function movedLabels(labels: Record<string, string>, name: string, hash8?: string): Record<string, string> {
  const out: Record<string, string> = { ...labels, [L.cluster]: name, [L.stackNamespace]: name };
  delete out[OWNER_LABEL];
  if (hash8) out[L.contentHash] = hash8;
  return out;
}

export function swarmTarget(o: SwarmTargetOptions): SwarmTarget {
  const files = new Map<string, Buffer>();
  let total = 0;
  let result: SwarmRestoreResult | undefined;
  return {
    part: 'swarm',
    get result() {
      return result;
    },
    async write(entry, data) {
      if (entry.type !== 'file' || !data) return;
      const bytes = await readBounded(entry.path, data, MAX_ENTRY);
      total += bytes.length;
      if (total > MAX_TOTAL)
        throw new InvalidInputError(`swarm part: more than ${MAX_TOTAL} bytes in all: not a backup this version wrote`);
      files.set(entry.path, bytes);
    },
    async finish(signal) {
      const clusterBytes = files.get('cluster.json');
      if (!clusterBytes)
        throw new InvalidInputError('swarm part: cluster.json is missing: the snapshot has no swarm part, or it is damaged');
      const backed = parseJson<ClusterEntry>('cluster.json', clusterBytes);
      if (backed.format !== SWARM_FORMAT)
        throw new InvalidInputError(`swarm part: cluster.json has format ${backed.format}; this bzzzctl reads format ${SWARM_FORMAT}`);
      const name = o.name ?? backed.name;
      if (!CLUSTER_NAME.test(name) || name.length > 32)
        throw new InvalidInputError(`restore name ${JSON.stringify(name)} is not a cluster name (a-z, 0-9, "-", at most 32)`);
      const specPath = files.has(`specs/g${backed.generation}.json`)
        ? `specs/g${backed.generation}.json`
        : [...files.keys()].filter((p) => /^specs\/g\d+\.json$/.test(p)).sort((a, b) => Number(b.slice(7, -5)) - Number(a.slice(7, -5)))[0];
      if (!specPath) throw new InvalidInputError(`swarm part: no stored spec (specs/g<N>.json) in the backup of ${backed.name}`);
      const stored = parseJson<StoredSpec>(specPath, files.get(specPath)!);
      const objects = (dir: string) =>
        [...files]
          .filter(([p]) => p.startsWith(`${dir}/`))
          .map(([p, b]) => parseJson<BackedUpObject>(p, b))
          .sort((a, b) => compareStrings(a.CreatedAt, b.CreatedAt));
      const secrets = objects('secrets');
      const configs = objects('configs');

      const store = new ClusterStore(o.port);
      const record = await store.get(name);
      const created: Array<{ kind: 'secret' | 'config'; id: string }> = [];
      // The backed-up ownership key only for the same name with no record left: a cluster
      // under a new name (a drill beside the live one) gets its own identities and tokens.
      const key = record?.ownerKey ?? (name === backed.name && backed.ownerKey ? backed.ownerKey : newOwnerKey());
      const writer = provingPort(o.port, name, key);
      const [existingSecrets, existingConfigs] = await Promise.all([
        o.port.listSecrets({ labels: ownedBy(name) }),
        o.port.listConfigs({ labels: ownedBy(name) }),
      ]);
      const haveSecret = new Set(existingSecrets.map((s) => s.Spec.Name));
      const haveConfig = new Set(existingConfigs.map((c) => c.Spec.Name));

      // Until the spec is stored there is no record, so nothing proves these objects ours (a
      // teardown would leave them as look-alikes): a failure before that removes what was written.
      let generation: number;
      const secretVersions: Record<string, string> = {};
      let secretsWritten = 0;
      try {
        // Secrets: every backed-up version under the new name, oldest first (the reconcilers pick
        // the newest generated value and the newest complete keyset).
        for (const s of secrets) {
          signal.throwIfAborted();
          const logical = s.Labels[L.logical];
          if (!logical) continue;
          const value = Buffer.from(s.Data, 'base64');
          const hash8 = secretHash8(name, logical, value);
          const keyset = s.Labels[KEYSET_LABEL];
          const secretName = versionedName(name, logical, keyset ? `${keyset.slice(0, 4)}${hash8.slice(0, 4)}` : hash8);
          if (stored.secretVersions[logical] !== undefined && s.Labels[L.contentHash] === stored.secretVersions[logical])
            secretVersions[logical] = hash8;
          if (haveSecret.has(secretName)) continue;
          created.push({
            kind: 'secret',
            id: await writer.createSecret({ Name: secretName, Labels: movedLabels(s.Labels, name, hash8), Data: s.Data }),
          });
          haveSecret.add(secretName);
          secretsWritten++;
        }
        // File and env secrets the spec uses must come with the backup, or be there already.
        const missing = Object.entries(stored.secretVersions)
          .filter(
            ([logical, h]) =>
              secretVersions[logical] === undefined && !(name === backed.name && haveSecret.has(versionedName(name, logical, h))),
          )
          .map(([logical]) => logical);
        if (missing.length) {
          throw new InvalidInputError(
            `swarm part: the value of secret(s) ${missing.join(', ')} is not in the backup (see its secrets-unread.json): ` +
              `restore under the old name while they still exist, or apply the spec with their files/env vars`,
          );
        }
        for (const logical of Object.keys(stored.secretVersions)) secretVersions[logical] ??= stored.secretVersions[logical];
        // Public keys of the keyset: the reconcilers make the other configs from the spec.
        for (const c of configs.filter((x) => x.Labels[KEYSET_LABEL] && x.Labels[L.logical])) {
          const hash8 = configHash8(Buffer.from(c.Data, 'base64'));
          const configName = versionedName(name, c.Labels[L.logical], hash8);
          if (haveConfig.has(configName)) continue;
          created.push({
            kind: 'config',
            id: await writer.createConfig({ Name: configName, Labels: movedLabels(c.Labels, name, hash8), Data: c.Data }),
          });
          haveConfig.add(configName);
        }

        const renamed: BzzzCluster = { ...structuredClone(stored.cluster), metadata: { ...stored.cluster.metadata, name } };
        const cluster = o.transform ? o.transform(renamed) : renamed;
        const doc = {
          cluster,
          secretVersions,
          configContents: stored.configContents,
          ...(stored.apiTokenHashes ? { apiTokenHashes: stored.apiTokenHashes } : {}),
          specHash: stableHash({ cluster, secretVersions, configContents: stored.configContents }),
          appliedBy: { user: restoringUser(), host: hostname() },
        };
        ({ generation } = await store.putSpec(doc, new Date(), undefined, key));
      } catch (err) {
        await Promise.all(
          created.map((c) => (c.kind === 'secret' ? o.port.removeSecret(c.id) : o.port.removeConfig(c.id)).catch(() => undefined)),
        );
        throw err;
      }
      const status = await o.converge(name, generation, signal);
      result = { name, from: backed.name, generation, secretsWritten, status };
    },
  };
}

function restoringUser(): string {
  try {
    return process.env.SUDO_USER ?? process.env.USER ?? userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
