// Restart the tasks of services whose image was rebuilt under the same tag (what
// `docker service update --force` does): without a registry there is no digest to pin, so a new
// build of bzzz/bzzzctl:v0.1.0 reaches running services only through a forced rollout. The
// rollout follows each service's update policy; ForceUpdate is not a field the reconciler
// compares, so it never reads as drift.
import type { SwarmPort } from '../swarm/port.js';
import { stripDigest } from '../convert/project.js';

export async function rolloutServicesUsing(
  port: SwarmPort,
  images: string[],
  filter: { labels?: string[]; names?: string[] },
): Promise<string[]> {
  const rebuilt = new Set(images);
  const services = await port.listServices(filter);
  const hit = services.filter((s) => rebuilt.has(stripDigest(s.Spec.TaskTemplate.ContainerSpec.Image)));
  await Promise.all(
    hit.map((s) =>
      port.updateService(s.ID, s.Version.Index, {
        ...s.Spec,
        TaskTemplate: { ...s.Spec.TaskTemplate, ForceUpdate: (s.Spec.TaskTemplate.ForceUpdate ?? 0) + 1 },
      }),
    ),
  );
  return hit.map((s) => s.Spec.Name).sort();
}
