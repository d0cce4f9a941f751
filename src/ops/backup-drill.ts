// A restore drill: a snapshot is worth what a restore of it gives back. The snapshot is restored
// into a scratch cluster `<cluster>-drill-<6 hex>` beside the live one (its own networks,
// secrets, volumes; no published ports, no schedules, no v1 hosts), the scratch copy is compared
// with the live cluster — per table rows and checksum, per agent blob counts — and the scratch
// cluster is torn down whatever happened. The repository is the caller's: `restore` puts a
// snapshot's parts into the targets it is given.
// What the live cluster wrote after the snapshot shows as a difference: drill right after a backup.
import { randomBytes } from 'node:crypto';
import type { RestoreTarget } from '../backup/types.js';
import type { BzzzCluster } from '../spec/types.js';
import { ClusterStore } from '../store/cluster-store.js';
import type { ServiceExec } from '../swarm/exec.js';
import type { SwarmPort } from '../swarm/port.js';
import { errorMessage, InvalidInputError } from '../util/errors.js';
import type { Converge } from './backup-converge.js';
import { countBlobs } from './backup-content.js';
import { compareTables, tableFingerprints, type TableCheck } from './backup-drill-compare.js';
import { clusterTargets, selectParts } from './backup-parts.js';
import { listDatabases } from './backup-postgres.js';
import { deleteCluster } from './teardown.js';
import { enabledComponents } from '../spec/index.js';

export type { TableCheck } from './backup-drill-compare.js';

export interface ContentCheck {
  instance: string;
  blobsLive: number;
  blobsRestored: number;
  match: boolean;
}

export interface DrillOptions {
  port: SwarmPort;
  exec: ServiceExec;
  /** The live cluster the snapshot was taken of. */
  cluster: string;
  /**
   * Restores the snapshot's parts named by `targets` into them (each entry of part `t.part`
   * through t.write, then t.finish). Called twice: the swarm part, then the others (they
   * restore into the tasks the swarm part brought up).
   */
  restore(targets: RestoreTarget[], signal: AbortSignal): Promise<void>;
  /** Parts to drill (default all the cluster has); the swarm part is always restored. */
  include?: readonly string[];
  /** How the scratch cluster is brought up (default in-process reconcile). */
  converge?: Converge;
  signal?: AbortSignal;
  /** Default `<cluster>-drill-<6 hex>`. */
  scratchName?: string;
  teardownTimeoutMs?: number;
  progress?(line: string): void;
}

export interface DrillReport {
  ok: boolean;
  cluster: string;
  scratch: string;
  parts: string[];
  tables: TableCheck[];
  content: ContentCheck[];
  /** Each failed step or difference, for people. */
  problems: string[];
  teardown: { clean: boolean; leftovers: string[] };
  durationMs: number;
}

/**
 * The longest scratch name: Docker names objects at most 64 characters, and the longest the
 * cluster gets is `<name>_bzzz-pub-senior_software_architect-<hash8>` (43 after the name).
 */
export const MAX_SCRATCH_NAME = 20;

/** `<cluster>-drill-<6 hex>`, the cluster part shortened so the whole fits MAX_SCRATCH_NAME. */
export function scratchName(cluster: string, hex = randomBytes(3).toString('hex')): string {
  const suffix = `-drill-${hex}`;
  const head = cluster.slice(0, MAX_SCRATCH_NAME - suffix.length).replace(/-+$/, '');
  return `${head || 'c'}${suffix}`;
}

/** The spec a scratch copy runs: no host ports (the live cluster holds them), no schedules, notifications, v1 hosts or migration. */
export function scratchSpec(cluster: BzzzCluster): BzzzCluster {
  const c = structuredClone(cluster);
  c.spec.agent.instances = c.spec.agent.instances.map(({ publish: _publish, ...rest }) => rest);
  for (const svc of Object.values(c.spec.services ?? {})) {
    if (svc && typeof svc === 'object' && 'ports' in svc) delete (svc as { ports?: unknown }).ports;
  }
  for (const key of ['backups', 'notifications', 'v1', 'migration', 'rollback'] as const) delete c.spec[key];
  return c;
}

export async function runDrill(o: DrillOptions): Promise<DrillReport> {
  const started = Date.now();
  const signal = o.signal ?? new AbortController().signal;
  const say = o.progress ?? (() => {});
  const scratch = o.scratchName ?? scratchName(o.cluster);
  const store = new ClusterStore(o.port);
  const live = await store.get(o.cluster);
  if (!live) throw new InvalidInputError(`cluster ${o.cluster} is not in the swarm: a drill compares a restore with the live cluster`);
  if (await store.get(scratch))
    throw new InvalidInputError(`cluster ${scratch} exists already: the drill restores only into a cluster of its own`);
  const spec = (await store.getSpec(o.cluster, live.generation)).cluster;
  const has = new Set([
    'swarm',
    ...(enabledComponents(spec).some((c) => c.key === 'postgres') ? ['postgres'] : []),
    ...(spec.spec.agent.instances.length ? ['content'] : []),
  ]);
  const parts = selectParts(o.include).filter((p) => has.has(p));
  if (!parts.includes('swarm')) parts.unshift('swarm');
  const report: DrillReport = {
    ok: false,
    cluster: o.cluster,
    scratch,
    parts,
    tables: [],
    content: [],
    problems: [],
    teardown: { clean: false, leftovers: [] },
    durationMs: 0,
  };
  const targets = clusterTargets({
    port: o.port,
    exec: o.exec,
    name: scratch,
    include: parts,
    converge: o.converge,
    transform: scratchSpec,
  });
  try {
    say(`restoring the swarm part into ${scratch}`);
    await o.restore(
      targets.filter((t) => t.part === 'swarm'),
      signal,
    );
    const rest = targets.filter((t) => t.part !== 'swarm');
    if (rest.length) {
      say(`restoring ${rest.map((t) => t.part).join(', ')} into ${scratch}`);
      await o.restore(rest, signal);
    }
    if (parts.includes('postgres')) report.tables = await comparePostgres(o, scratch, report.problems, signal);
    if (parts.includes('content'))
      report.content = await compareContent(
        o,
        scratch,
        spec.spec.agent.instances.map((i) => i.name),
        signal,
      );
  } catch (err) {
    report.problems.push(`restore into ${scratch} failed: ${errorMessage(err)}`);
  } finally {
    say(`removing ${scratch}`);
    try {
      const removed = await deleteCluster(o.port, scratch, o.teardownTimeoutMs ?? 120_000);
      // The scratch name is the drill's own: whatever carries it, proven or not (a restore that
      // failed before its record was written), was left by this drill.
      const left = [...removed.leftovers, ...removed.lookAlikes];
      report.teardown = { clean: left.length === 0, leftovers: left };
    } catch (err) {
      report.teardown = { clean: false, leftovers: [`teardown of ${scratch} failed: ${errorMessage(err)}`] };
    }
  }
  for (const t of report.tables.filter((x) => !x.checksumMatch)) {
    report.problems.push(
      `table ${t.database}.${t.table}: ${t.rowsLive ?? 'no'} rows live, ${t.rowsRestored ?? 'no'} restored${t.rowsLive === t.rowsRestored ? ', checksums differ' : ''}`,
    );
  }
  for (const c of report.content.filter((x) => !x.match))
    report.problems.push(`agent ${c.instance}: ${c.blobsLive} blobs live, ${c.blobsRestored} restored`);
  if (!report.teardown.clean)
    report.problems.push(
      `scratch cluster ${scratch} left behind: ${report.teardown.leftovers.join(', ')}: remove it with bzzzctl delete ${scratch}`,
    );
  report.ok = report.problems.length === 0;
  report.durationMs = Date.now() - started;
  return report;
}

async function comparePostgres(o: DrillOptions, scratch: string, problems: string[], signal: AbortSignal): Promise<TableCheck[]> {
  const [liveDbs, restoredDbs] = await Promise.all([listDatabases(o.exec, o.cluster, signal), listDatabases(o.exec, scratch, signal)]);
  for (const db of liveDbs.filter((d) => !restoredDbs.includes(d))) problems.push(`database ${db} is live but not in the restore`);
  const checks: TableCheck[] = [];
  for (const db of liveDbs.filter((d) => restoredDbs.includes(d))) {
    const [l, r] = await Promise.all([tableFingerprints(o.exec, o.cluster, db, signal), tableFingerprints(o.exec, scratch, db, signal)]);
    checks.push(...compareTables(db, l, r));
  }
  return checks;
}

async function compareContent(o: DrillOptions, scratch: string, instances: string[], signal: AbortSignal): Promise<ContentCheck[]> {
  const out: ContentCheck[] = [];
  for (const instance of instances) {
    const [blobsLive, blobsRestored] = await Promise.all([
      countBlobs(o.exec, o.cluster, instance, signal),
      countBlobs(o.exec, scratch, instance, signal),
    ]);
    out.push({ instance, blobsLive, blobsRestored, match: blobsLive === blobsRestored });
  }
  return out;
}
