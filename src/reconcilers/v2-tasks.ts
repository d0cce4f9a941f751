// What the v2 services of a cluster run now: each owned service with its running tasks. The v1
// plan (parking v2 for a rollback) and the migration (parking and unparking it) both wait on it.
import type { Service, Task } from '../swarm/api-types.js';
import { ownedBy } from '../swarm/labels.js';
import type { SwarmPort } from '../swarm/port.js';

export interface V2Tasks {
  services: Service[];
  /** Service ID → tasks in state running. */
  running: Map<string, number>;
}

export async function v2Tasks(port: SwarmPort, cluster: string): Promise<V2Tasks> {
  const services = await port.listServices({ labels: ownedBy(cluster) });
  const tasks: Task[] = services.length ? await port.listTasks({ services: services.map((s) => s.ID) }) : [];
  const running = new Map<string, number>();
  for (const t of tasks) if (t.Status.State === 'running') running.set(t.ServiceID, (running.get(t.ServiceID) ?? 0) + 1);
  return { services, running };
}

export function replicasOf(s: Service): number {
  return s.Spec.Mode?.Replicated?.Replicas ?? 0;
}

/** Services still up: replicas asked for, or tasks still running. */
export function stillUp(t: V2Tasks): Service[] {
  return t.services.filter((s) => replicasOf(s) > 0 || (t.running.get(s.ID) ?? 0) > 0);
}
