// The controller service mounts each cluster's backup repository at its own path (what `bzzzctl
// up` passes for spec.backups.repository), beside the Docker socket; a deploy for another
// cluster keeps the first one's repository, and the same deploy again writes nothing.
import { describe, expect, it } from 'vitest';
import { ensureOperatorService, OPERATOR_SERVICE } from '../../../src/ops/operator-service.js';
import { createMemorySwarmPort } from '../../../src/swarm/memory-port.js';

describe('controller service: backup repositories', () => {
  it('mounts them, keeps other clusters’ ones, and is unchanged when asked again', async () => {
    const port = createMemorySwarmPort();
    const base = { image: 'bzzz-operator:test', networks: [] };
    expect(await ensureOperatorService(port, { ...base, cluster: 'a', repositories: ['/srv/backups/a'] })).toBe('created');
    expect(await ensureOperatorService(port, { ...base, cluster: 'b', repositories: ['/mnt/nfs/b'] })).toBe('updated');
    const [svc] = await port.listServices({ names: [OPERATOR_SERVICE] });
    expect(svc.Spec.TaskTemplate.ContainerSpec.Mounts?.map((m) => `${m.Type} ${m.Source} → ${m.Target}`)).toEqual([
      'bind /var/run/docker.sock → /var/run/docker.sock',
      'bind /mnt/nfs/b → /mnt/nfs/b',
      'bind /srv/backups/a → /srv/backups/a',
    ]);
    expect(await ensureOperatorService(port, { ...base, cluster: 'b', repositories: ['/mnt/nfs/b'] })).toBe('unchanged');
  });
});
