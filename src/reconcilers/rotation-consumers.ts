// Which services use a rotated secret and which version each of their live tasks mounts: what
// the rotation's roll step waits on. Pure.
import type { Secret, Service, Task } from '../swarm/api-types.js';
import type { ConsumerView } from './rotation-decide.js';

export function mounts(s: Service, secret: string): boolean {
  return (s.Spec.TaskTemplate.ContainerSpec.Secrets ?? []).some((r) => r.SecretName === secret);
}

/** Every service that mounts a version of `logical`, with the versions its live tasks mount. */
export function consumersOf(
  logical: string,
  versions: readonly Secret[],
  services: readonly Service[],
  tasks: readonly Task[],
): ConsumerView[] {
  const names = new Set(versions.map((v) => v.Spec.Name));
  const out: ConsumerView[] = [];
  for (const s of services) {
    const ref = (s.Spec.TaskTemplate.ContainerSpec.Secrets ?? []).find((r) => names.has(r.SecretName));
    if (!ref) continue;
    // Live = not yet stopped, whatever it was told: a task asked to shut down still runs (and
    // still connects with the old value) until its container has exited.
    // A task told to shut down before it ever started holds nothing.
    const live = tasks.filter(
      (t) => t.ServiceID === s.ID && !isGone(t.Status.State) && !(t.DesiredState !== 'running' && NOT_STARTED.has(t.Status.State)),
    );
    out.push({
      service: s.Spec.Name,
      specVersion: ref.SecretName,
      taskVersions: live.map((t) => (t.Spec.ContainerSpec?.Secrets ?? []).find((r) => names.has(r.SecretName))?.SecretName ?? '?'),
      ...(s.UpdateStatus?.State ? { updateState: s.UpdateStatus.State } : {}),
    });
  }
  void logical;
  return out;
}

const NOT_STARTED = new Set(['new', 'pending', 'assigned', 'accepted', 'allocated', 'ready', 'preparing']);

function isGone(state: string): boolean {
  return ['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove'].includes(state);
}
