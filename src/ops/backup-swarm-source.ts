// The `swarm` part: what the swarm holds of a cluster, as JSON entries —
//   cluster.json          name, current generation, the ownership key (peer identities and the
//                         built-in API tokens are derived from it: a restore under the same name
//                         keeps them)
//   specs/g<N>.json       every stored spec generation (src/store/cluster-store.ts)
//   services/<name>.json  each service's definition as the engine has it
//   configs/<name>.json   each config the cluster owns (name, labels, data), but the state ones
//   secrets/<name>.json   each secret's labels and value (read from inside tasks: backup-secret-reader.ts)
//   secrets-unread.json   the secrets whose value could not be read, and why
// The repository encrypts every entry. `unread` tells the caller which secrets are missing.
import { Readable } from 'node:stream';
import type { BackupSource, SourceEntry } from '../backup/types.js';
import type { Config, Secret } from '../swarm/api-types.js';
import type { ServiceExec } from '../swarm/exec.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, ownedBy } from '../swarm/labels.js';
import { ClusterStore } from '../store/cluster-store.js';
import { NotFoundError } from '../util/errors.js';
import { compareStrings } from '../util/compare.js';
import { readSecretValues } from './backup-secret-reader.js';

export const SWARM_FORMAT = 1;

export interface ClusterEntry {
  format: number;
  name: string;
  generation: number;
  ownerKey?: string;
}

/** A secret or config as backed up. `Data` is base64, as the Engine API carries it. */
export interface BackedUpObject {
  Name: string;
  Labels: Record<string, string>;
  CreatedAt: string;
  Data: string;
}

export interface SwarmSourceOptions {
  port: SwarmPort;
  exec: ServiceExec;
  cluster: string;
  /** Read secrets no running task mounts through a short-lived reader service (default true). */
  readerService?: boolean;
}

export interface SwarmSource extends BackupSource {
  /** After entries() ran: secret name → why its value is not in the backup. */
  readonly unread: ReadonlyMap<string, string>;
}

function jsonEntry(path: string, value: unknown): SourceEntry {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  return { path, type: 'file', mode: 0o600, size: bytes.length, open: async () => Readable.from([bytes]) };
}

function backedUp(o: Secret | Config, data: string): BackedUpObject {
  return { Name: o.Spec.Name, Labels: o.Spec.Labels ?? {}, CreatedAt: o.CreatedAt, Data: data };
}

export function swarmSource(o: SwarmSourceOptions): SwarmSource {
  let unread = new Map<string, string>();
  return {
    part: 'swarm',
    get unread() {
      return unread;
    },
    async *entries(signal) {
      const store = new ClusterStore(o.port);
      const record = await store.get(o.cluster);
      if (!record)
        throw new NotFoundError(`cluster ${o.cluster} is not in the swarm (no record ${o.cluster}_bzzz-cluster): nothing to back up`);
      const owned = { labels: ownedBy(o.cluster) };
      const [services, secrets, configs] = await Promise.all([
        o.port.listServices(owned),
        o.port.listSecrets(owned),
        o.port.listConfigs(owned),
      ]);
      const generations = configs
        .filter((c) => c.Spec.Labels?.[L.kind] === 'spec')
        .map((c) => Number(c.Spec.Labels?.[L.generation]))
        .filter((g) => Number.isInteger(g) && g > 0)
        .sort((a, b) => a - b);
      const entries: SourceEntry[] = [];
      const cluster: ClusterEntry = {
        format: SWARM_FORMAT,
        name: o.cluster,
        generation: record.generation,
        ...(record.ownerKey ? { ownerKey: record.ownerKey } : {}),
      };
      entries.push(jsonEntry('cluster.json', cluster));
      for (const g of generations) entries.push(jsonEntry(`specs/g${g}.json`, await store.getSpec(o.cluster, g)));
      for (const s of services) entries.push(jsonEntry(`services/${s.Spec.Name}.json`, s.Spec));
      for (const c of configs.filter((x) => !x.Spec.Labels?.[L.kind])) {
        const data = c.Spec.Data ?? (await o.port.inspectConfig(c.ID)).Spec.Data ?? '';
        entries.push(jsonEntry(`configs/${c.Spec.Name}.json`, backedUp(c, data)));
      }
      const read = await readSecretValues(
        { port: o.port, exec: o.exec, cluster: o.cluster, readerService: o.readerService, signal },
        secrets,
        services,
      );
      for (const s of secrets) {
        const value = read.values.get(s.Spec.Name);
        if (value) entries.push(jsonEntry(`secrets/${s.Spec.Name}.json`, backedUp(s, value.toString('base64'))));
      }
      unread = read.unread;
      entries.push(
        jsonEntry(
          'secrets-unread.json',
          [...unread].map(([secret, reason]) => ({ secret, reason })),
        ),
      );
      entries.sort((a, b) => compareStrings(a.path, b.path));
      yield* entries;
    },
  };
}
