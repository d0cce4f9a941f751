// The cluster's key and secret rotations, kept in the swarm like its rollout and migration
// (register.ts): <cluster>_bzzz-rotation, a label holding every item's last result, the version
// in use and the journal of the rotation under way. A controller killed mid-rotation reads the
// step it was at from here and runs it again (every step is idempotent). The cluster reconciler
// reads it too (rotationFromConfigs): a rotated secret's services mount the version it names.
// Secret VALUES are never in it: names of Docker secrets and login roles only.
import type { Config } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { RotationState } from '../spec/rotation.js';
import type { ClusterStore } from './cluster-store.js';
import { Register, registerFromConfigs, type RegisterKind } from './register.js';

export const ROTATION_LABEL = 'io.bzzz.rotation';
const ROTATION_KIND: RegisterKind = { component: 'bzzz-rotation', kind: 'rotation', label: ROTATION_LABEL, what: 'rotation journal' };

export class RotationStore extends Register<RotationState> {
  constructor(port: SwarmPort, clusters: ClusterStore) {
    super(port, clusters, ROTATION_KIND);
  }
}

export function rotationFromConfigs(cluster: string, configs: readonly Config[]): RotationState | undefined {
  return registerFromConfigs<RotationState>(ROTATION_KIND, cluster, configs);
}

/**
 * The Docker secret each rotated logical secret's services mount (the run's new version once it
 * is activated, else the current one), and the versions a run still needs kept (not pruned).
 */
export function rotatedSecretNames(state: RotationState | undefined): { mount: Map<string, string>; keep: Set<string> } {
  const mount = new Map<string, string>();
  const keep = new Set<string>();
  for (const [id, item] of Object.entries(state?.items ?? {})) {
    if (!id.startsWith('secret:') || !item) continue;
    const logical = id.slice('secret:'.length);
    const run = item.run;
    const activated = run?.next && run.step !== 'stage';
    const name = activated ? run.next?.secret : item.current;
    if (name) mount.set(logical, name);
    if (item.current) keep.add(item.current);
    if (run?.next) keep.add(run.next.secret);
    if (run?.previous) keep.add(run.previous.secret);
  }
  return { mount, keep };
}
