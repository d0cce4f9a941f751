import { describe, expect, it } from 'vitest';
import type { BzzzCluster } from '../../../src/spec/types.js';
import { buildNetworks, buildServices, type ObjectRefs } from '../../../src/convert/services.js';
import { diffProjections, projectService } from '../../../src/convert/project.js';
import type { ServiceSpec } from '../../../src/swarm/api-types.js';

const refs: ObjectRefs = {
  secretName: (l) => `c1_${l}-0000aaaa`,
  configName: (l) => `c1_${l}-1111bbbb`,
  networkName: (l) => `c1_${l}`,
};

function cluster(): BzzzCluster {
  return {
    apiVersion: 'bzzz.io/v2',
    kind: 'BzzzCluster',
    metadata: { name: 'c1' },
    spec: {
      version: '2.0.0',
      nodes: [{ name: 'walnut' }, { name: 'ironwood', hostname: 'ironwood.lan' }, { name: 'acacia' }],
      networks: { internal: { internal: true, attachable: true }, tengig: { external: true } },
      secrets: { pg_password: { generate: { length: 16 } } },
      configs: { settings: { content: 'x=1' } },
      updatePolicy: { parallelism: 1, delay: '10s', monitor: '30s', failureAction: 'rollback', maxFailureRatio: 0, order: 'stop-first' },
      agent: {
        image: 'bzzz/bzzzctl:v2.0.0',
        networks: ['internal'],
        instances: [
          { name: 'walnut', node: 'walnut', publish: { p2p: 9000 } },
          { name: 'ironwood', node: 'ironwood' },
        ],
        configs: [{ source: 'settings', target: '/etc/bzzz/settings' }],
        election: { heartbeatMs: 5000, timeoutMs: 15000 },
      },
      services: {
        postgres: {
          enabled: true,
          image: 'postgres:15-alpine',
          replicas: 1,
          networks: ['internal'],
          passwordSecret: 'pg_password',
          placement: { nodes: ['walnut', 'acacia'] },
        },
        redis: { enabled: false },
      },
    },
  };
}

describe('desired services', () => {
  const services = buildServices(cluster(), refs);

  it('names each object <cluster>_<component> and labels it as the operator owns it', () => {
    expect(services.map((s) => s.spec.Name)).toEqual(['c1_agent-ironwood', 'c1_agent-walnut', 'c1_postgres']);
    for (const s of services) {
      expect(s.spec.Labels).toMatchObject({
        'io.bzzz.managed-by': 'bzzz-operator',
        'io.bzzz.cluster': 'c1',
        'com.docker.stack.namespace': 'c1',
      });
    }
  });

  it('pins agent instances to their node and publishes host-mode ports there', () => {
    const walnut = services.find((s) => s.spec.Name === 'c1_agent-walnut')!.spec;
    expect(walnut.TaskTemplate.Placement?.Constraints).toEqual(['node.hostname == walnut']);
    expect(walnut.EndpointSpec?.Ports).toEqual([{ Protocol: 'tcp', TargetPort: 9000, PublishedPort: 9000, PublishMode: 'host' }]);
    const ironwood = services.find((s) => s.spec.Name === 'c1_agent-ironwood')!.spec;
    expect(ironwood.TaskTemplate.Placement?.Constraints).toEqual(['node.hostname == ironwood.lan']);
    expect(ironwood.TaskTemplate.ContainerSpec.Env).toContain('BZZZ_BOOTSTRAP_PEERS=agent-walnut:9000');
    expect(ironwood.TaskTemplate.ContainerSpec.Env).toContain('BZZZ_CLUSTER_SIZE=2');
    expect(ironwood.TaskTemplate.Networks).toEqual([{ Target: 'c1_internal', Aliases: ['agent-ironwood'] }]);
  });

  it('expresses "any of these nodes" as excluding every other known node (swarm constraints are ANDed)', () => {
    const pg = services.find((s) => s.spec.Name === 'c1_postgres')!.spec;
    expect(pg.TaskTemplate.Placement?.Constraints).toEqual(['node.hostname != ironwood.lan']);
    expect(pg.TaskTemplate.ContainerSpec.Secrets).toEqual([
      { File: { Name: 'pg_password', UID: '0', GID: '0', Mode: 0o444 }, SecretID: '', SecretName: 'c1_pg_password-0000aaaa' },
    ]);
    expect(pg.TaskTemplate.ContainerSpec.Env).toContain('POSTGRES_PASSWORD_FILE=/run/secrets/pg_password');
  });

  it('is deterministic: the same spec gives the same objects and spec-hash', () => {
    expect(buildServices(cluster(), refs)).toEqual(services);
  });

  it('a disabled companion is absent', () => {
    expect(services.some((s) => s.component === 'redis')).toBe(false);
  });

  it("networks: the cluster's overlays are created, external ones only referenced", () => {
    const nets = buildNetworks(cluster());
    expect(nets.map((n) => [n.name, n.external])).toEqual([
      ['c1_internal', false],
      ['tengig', true],
    ]);
    expect(nets[0].create).toMatchObject({ Driver: 'overlay', Internal: true, Attachable: true });
  });
});

describe('projection and diff', () => {
  const desired = buildServices(cluster(), refs).find((s) => s.spec.Name === 'c1_postgres')!.spec;

  /** The same spec as the engine answers it: IDs filled in, network IDs, a pinned digest, zero values omitted. */
  function asEngineReturns(spec: ServiceSpec): ServiceSpec {
    const s: ServiceSpec = JSON.parse(JSON.stringify(spec));
    s.TaskTemplate.ContainerSpec.Image += `@sha256:${'a'.repeat(64)}`;
    s.TaskTemplate.ContainerSpec.Isolation = 'default';
    s.TaskTemplate.ContainerSpec.Secrets = s.TaskTemplate.ContainerSpec.Secrets?.map((r) => ({ ...r, SecretID: 'sid123' }));
    s.TaskTemplate.Networks = s.TaskTemplate.Networks?.map((n) => ({ ...n, Target: 'netid-internal' }));
    s.TaskTemplate.ForceUpdate = 0;
    delete s.UpdateConfig!.MaxFailureRatio;
    return s;
  }
  const networkName = (x: string) => (x === 'netid-internal' ? 'c1_internal' : x);

  it('an engine-returned copy of the desired spec projects equal (no write on an unchanged spec)', () => {
    expect(diffProjections(projectService(asEngineReturns(desired), { networkName }), projectService(desired))).toEqual([]);
  });

  it('hand-made drift shows up field by field', () => {
    const drifted = asEngineReturns(desired);
    drifted.Mode = { Replicated: { Replicas: 3 } };
    drifted.TaskTemplate.ContainerSpec.Image = 'postgres:16';
    const changes = diffProjections(projectService(drifted, { networkName }), projectService(desired));
    expect(changes).toEqual([
      { field: 'image', from: 'postgres:16', to: 'postgres:15-alpine' },
      { field: 'replicas', from: 3, to: 1 },
    ]);
  });
});
