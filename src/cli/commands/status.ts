// bzzzctl status [NAME] [-o json|yaml]: what the swarm holds for each cluster — generation,
// observedGeneration, conditions, and each component's desired and running tasks.
import { cliContext } from '../context.js';
import type { ClusterStatus } from '../../spec/status.js';
import { leaseIsLive, readLease } from '../../store/lease.js';
import { printDocument, printLines, table, type OutputFormat } from '../output.js';
import { NotFoundError } from '../../util/errors.js';
import { isReady } from '../../reconcilers/status.js';
import { EXIT_OK } from '../../util/exit-codes.js';

export interface ClusterStatusView {
  name: string;
  generation: number;
  observedGeneration: number;
  ready: boolean;
  conditions: ClusterStatus['conditions'];
  components: ClusterStatus['components'];
  /** What the agents report (present once a controller on the cluster network has asked them). */
  agents: NonNullable<ClusterStatus['agents']>;
  /** Objects labelled as the cluster's without its ownership proof: left alone. */
  lookAlikes: string[];
}

export function formatStatusLine(name: string, s: ClusterStatus | undefined): string {
  if (!s) return `${name}: waiting for the first reconcile`;
  const running = s.components.reduce((n, c) => n + Math.min(c.running, c.desired), 0);
  const desired = s.components.reduce((n, c) => n + c.desired, 0);
  const ready = s.conditions.find((c) => c.type === 'Ready');
  const degraded = s.conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
  const what =
    ready?.status === 'True'
      ? 'Ready'
      : s.failure
        ? `Failed (generation ${s.failure.generation}: ${s.failure.message})`
        : degraded
          ? `Degraded (${degraded.reason})`
          : `Progressing (${ready?.reason ?? '…'})`;
  return `${name}: ${running}/${desired} tasks running, ${what}`;
}

export async function statusCommand(name: string | undefined, opts: { output: OutputFormat }): Promise<number> {
  const { port, store } = cliContext();
  const names = name ? [name] : await store.listClusters();
  const views: ClusterStatusView[] = [];
  for (const n of names) {
    const rec = await store.get(n);
    if (!rec)
      throw new NotFoundError(
        `cluster ${n} not found: bzzzctl status lists the clusters stored in this swarm (apply one with bzzzctl apply -f FILE)`,
      );
    const s = rec.status;
    views.push({
      name: n,
      generation: rec.generation,
      observedGeneration: s?.observedGeneration ?? 0,
      ready: isReady(s, rec.generation),
      conditions: s?.conditions ?? [],
      components: s?.components ?? [],
      agents: s?.agents ?? [],
      lookAlikes: s?.lookAlikes ?? [],
    });
  }
  const lease = await readLease(port);
  const controller = leaseIsLive(lease, Date.now()) ? { running: true, holder: lease?.holder } : { running: false };
  if (opts.output !== 'text') {
    printDocument(name ? { ...views[0], controller } : { clusters: views, controller }, opts.output);
    return EXIT_OK;
  }
  const lines: string[] = [];
  if (!views.length) lines.push('no clusters: apply one with bzzzctl apply -f FILE');
  for (const v of views) {
    lines.push(
      `Cluster:     ${v.name}`,
      `Generation:  ${v.generation} (observed ${v.observedGeneration})`,
      `Controller:  ${controller.running ? `running (${controller.holder})` : 'not running'}`,
      'Conditions:',
    );
    lines.push(
      ...table(
        ['  TYPE', 'STATUS', 'REASON', 'MESSAGE'],
        v.conditions.map((c) => [`  ${c.type}`, c.status, c.reason, c.message]),
      ),
    );
    lines.push('Components:');
    lines.push(
      ...table(
        ['  SERVICE', 'COMPONENT', 'IMAGE', 'TASKS', 'UPDATE'],
        v.components.map((c) => [
          `  ${c.service}`,
          c.component,
          c.image,
          `${c.running}/${c.desired}`,
          c.update ? `${c.update}${c.updateMessage ? `: ${c.updateMessage}` : ''}` : '',
        ]),
      ),
    );
    if (v.lookAlikes.length) {
      lines.push(`Left alone:  ${v.lookAlikes.join(', ')} (labelled as this cluster's, without its ownership proof)`);
    }
    if (v.agents.length) {
      lines.push('Agents:');
      lines.push(
        ...table(
          ['  AGENT', 'HEALTHY', 'PEERS', 'ADMIN', 'TERM', 'SCORE', 'REPLICATION'],
          v.agents.map((a) => [
            `  ${a.name}`,
            a.healthy ? 'yes' : `no${a.error ? ` (${a.error})` : ''}`,
            String(a.peers),
            a.admin ? 'admin' : '',
            a.term === undefined ? '' : String(a.term),
            a.score === undefined ? '' : String(a.score),
            a.replicationFactor === undefined ? '' : String(a.replicationFactor),
          ]),
        ),
      );
    }
    lines.push('');
  }
  printLines(lines);
  return EXIT_OK;
}
