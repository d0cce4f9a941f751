// A cluster applied the way `bzzzctl apply` applies it (resolve files → write secret versions →
// store the spec as a generation → reconcile passes), on the in-memory port with one injected
// clock shared by the engine and the reconciler: decision tests of whole passes in milliseconds.
import type { BzzzCluster } from '../../src/spec/types.js';
import { loadSpecFile } from '../../src/spec/index.js';
import { resolveApply, storeSpec } from '../../src/cli/resolve-apply.js';
import { createClusterReconciler, type PassReport } from '../../src/reconcilers/cluster.js';
import { createMemorySwarmPort, type MemorySwarmPort, type MemorySwarmPortOptions } from '../../src/swarm/memory-port.js';
import type { Service } from '../../src/swarm/api-types.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { silentLogger } from '../../src/util/log.js';

export const T0 = Date.UTC(2025, 0, 1);

export interface MemoryCluster {
  name: string;
  port: MemorySwarmPort;
  store: ClusterStore;
  /** The spec as loaded from the file; `apply(edit)` stores an edited copy as the next generation. */
  cluster: BzzzCluster;
  /** Stores the spec (edited) as apply does; returns the generation. */
  apply(edit?: (c: BzzzCluster) => void): Promise<{ generation: number; changed: boolean }>;
  /** One reconcile pass; throws when the cluster has no record. */
  pass(): Promise<PassReport>;
  /** Moves the clock of the engine and of the reconciler. */
  advance(ms: number): void;
  now(): number;
  service(shortName: string): Promise<Service>;
  /** A user's own write to a service (`docker service update …`): read, change, write with the version read. */
  userUpdatesService(shortName: string, change: (s: Service['Spec']) => void): Promise<void>;
}

export async function memoryCluster(file: string, opts: MemorySwarmPortOptions = {}): Promise<MemoryCluster> {
  let now = T0;
  const clock = () => new Date(now);
  const port = createMemorySwarmPort({ now: clock, ...opts });
  const store = new ClusterStore(port);
  const loaded = await loadSpecFile(file);
  const name = loaded.cluster.metadata.name;
  const reconciler = createClusterReconciler({ port, store, log: silentLogger(), now: clock });
  const service = async (shortName: string) => {
    const [s] = await port.listServices({ names: [`${name}_${shortName}`] });
    if (!s) throw new Error(`no service ${name}_${shortName}`);
    return s;
  };
  return {
    name,
    port,
    store,
    cluster: loaded.cluster,
    async apply(edit) {
      const cluster = structuredClone(loaded.cluster);
      edit?.(cluster);
      const { generation, changed } = await storeSpec(port, store, await resolveApply({ ...loaded, cluster }, {}), undefined, clock());
      return { generation, changed };
    },
    async pass() {
      const report = await reconciler.pass(name);
      if (!report) throw new Error(`cluster ${name} has no record`);
      return report;
    },
    advance(ms) {
      now += ms;
    },
    now: () => now,
    service,
    async userUpdatesService(shortName, change) {
      const s = await service(shortName);
      const spec = structuredClone(s.Spec);
      change(spec);
      await port.updateService(s.ID, s.Version.Index, spec);
    },
  };
}
