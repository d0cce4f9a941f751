import { describe, expect, it } from 'vitest';
import { withDefaults } from '../../../src/spec/index.js';
import type { BzzzCluster, UpdatePolicy } from '../../../src/spec/index.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const minimal = (): BzzzCluster => ({
  apiVersion: 'bzzz.io/v2',
  kind: 'BzzzCluster',
  metadata: { name: 'lab' },
  spec: {
    version: '2.0.0',
    registry: 'registry.example.com',
    agent: {
      instances: [
        { name: 'a', node: 'n1', publish: { p2p: 9101 } },
        { name: 'b', publish: { api: 8090 } },
      ],
    },
  },
});

const update = (order: UpdatePolicy['order']): UpdatePolicy => ({
  parallelism: 1,
  delay: '10s',
  monitor: '30s',
  failureAction: 'rollback',
  maxFailureRatio: 0,
  order,
});
const rollback = (order: UpdatePolicy['order']): UpdatePolicy => ({
  parallelism: 1,
  delay: '0s',
  monitor: '30s',
  failureAction: 'pause',
  maxFailureRatio: 0,
  order,
});

describe('withDefaults', () => {
  it('GIVEN a minimal spec THEN every default of the plan is filled in', () => {
    expect(withDefaults(minimal())).toEqual({
      apiVersion: 'bzzz.io/v2',
      kind: 'BzzzCluster',
      metadata: { name: 'lab' },
      spec: {
        version: '2.0.0',
        registry: 'registry.example.com',
        networks: {
          external: { external: false, driver: 'overlay', internal: false, attachable: true, encrypted: false },
          internal: { external: false, driver: 'overlay', internal: true, attachable: true, encrypted: false },
        },
        agent: {
          image: 'registry.example.com/bzzz:v2.0.0',
          instances: [
            { name: 'a', node: 'n1', publish: { p2p: 9101, mode: 'host' } },
            { name: 'b', publish: { api: 8090, mode: 'ingress' } },
          ],
          agentPorts: { p2p: 9000, api: 8080, health: 8081 },
          networks: ['internal'],
          role: 'observer',
          election: { heartbeatMs: 5000, timeoutMs: 15000 },
          replicationFactor: 3,
          update: update('stop-first'),
          rollback: rollback('stop-first'),
        },
        services: {
          mcpServer: {
            enabled: true,
            replicas: 3,
            image: 'registry.example.com/bzzz-mcp:v2.0.0',
            networks: ['internal'],
            ports: [{ target: 3001, published: 3001, protocol: 'tcp', mode: 'ingress' }],
            update: update('start-first'),
            rollback: rollback('start-first'),
          },
          openaiProxy: {
            enabled: true,
            replicas: 2,
            image: 'registry.example.com/bzzz-openai-proxy:v2.0.0',
            networks: ['internal'],
            ports: [{ target: 3002, published: 3002, protocol: 'tcp', mode: 'ingress' }],
            rateLimitRpm: 1000,
            apiKeySecret: 'openai_api_key',
            update: update('start-first'),
            rollback: rollback('start-first'),
          },
          contentResolver: {
            enabled: true,
            replicas: 3,
            image: 'registry.example.com/bzzz-resolver:v2.0.0',
            networks: ['internal'],
            ports: [{ target: 3003, published: 3003, protocol: 'tcp', mode: 'ingress' }],
            update: update('start-first'),
            rollback: rollback('start-first'),
          },
          postgres: {
            enabled: true,
            replicas: 1,
            image: 'postgres:15-alpine',
            networks: ['internal'],
            database: 'bzzz_v2',
            userSecret: 'postgres_user',
            passwordSecret: 'postgres_password',
            update: update('stop-first'),
            rollback: rollback('stop-first'),
          },
          redis: {
            enabled: true,
            replicas: 1,
            image: 'redis:7-alpine',
            networks: ['internal'],
            update: update('stop-first'),
            rollback: rollback('stop-first'),
          },
        },
        ingress: { traefik: { enabled: true, network: 'external' } },
        updatePolicy: update('start-first'),
        rollbackPolicy: rollback('start-first'),
      },
    });
  });

  it('does not modify its input and gives the same output twice', () => {
    const input = deepFreeze(minimal());
    const a = withDefaults(input);
    const b = withDefaults(input);
    expect(a).toEqual(b);
    expect(input).toEqual(minimal());
    a.spec.agent.instances[0].name = 'changed';
    expect(b.spec.agent.instances[0].name).toBe('a'); // no shared objects between outputs
  });

  it('keeps a disabled companion disabled, without defaults that would require its secrets', () => {
    const spec = minimal();
    spec.spec.services = { openaiProxy: { enabled: false, replicas: 5 }, postgres: { enabled: false } };
    const out = withDefaults(spec).spec.services!;
    expect(out.openaiProxy).toEqual({ enabled: false, replicas: 5 });
    expect(out.postgres).toEqual({ enabled: false });
    expect(out.redis?.enabled).toBe(true);
  });

  it('lets the user override: explicit values win, a component update overrides the cluster policy', () => {
    const spec = minimal();
    delete spec.spec.registry;
    spec.spec.updatePolicy = { delay: '5s', order: 'start-first' };
    spec.spec.services = {
      redis: { image: 'bzzz/redis:7', replicas: 2, update: { order: 'start-first' }, ports: [] },
      mcpServer: { ports: [{ target: 3001, published: 13001 }] },
    };
    spec.spec.agent.image = 'bzzz/bzzzctl';
    const out = withDefaults(spec).spec;
    expect(out.agent.image).toBe('bzzz/bzzzctl:v2.0.0');
    expect(out.services?.mcpServer?.image).toBe('bzzz-mcp:v2.0.0');
    expect(out.services?.mcpServer?.ports).toEqual([{ target: 3001, published: 13001, protocol: 'tcp', mode: 'ingress' }]);
    expect(out.services?.redis).toMatchObject({ image: 'bzzz/redis:7', replicas: 2, ports: [] });
    expect(out.services?.redis?.update).toEqual({ ...update('start-first'), delay: '5s' });
    // the cluster-wide start-first does not reach postgres: two tasks must not share its data
    expect(out.services?.postgres?.update?.order).toBe('stop-first');
    expect(out.services?.mcpServer?.update?.delay).toBe('5s');
  });

  it('fills networks only when none are declared, and normalises declared ones', () => {
    const spec = minimal();
    spec.spec.networks = { tengig: { external: true }, internal: { internal: true } };
    expect(withDefaults(spec).spec.networks).toEqual({
      tengig: { external: true, name: 'tengig' },
      internal: { external: false, driver: 'overlay', internal: true, attachable: false, encrypted: false },
    });
  });

  it('fills secret generation settings and mount targets', () => {
    const spec = minimal();
    spec.spec.secrets = { pw: { generate: {} }, key: { env: 'KEY' } };
    spec.spec.configs = { cfg: { content: 'x' } };
    spec.spec.agent.secrets = [{ source: 'pw' }];
    spec.spec.agent.configs = [{ source: 'cfg' }];
    const out = withDefaults(spec).spec;
    expect(out.secrets).toEqual({ pw: { generate: { length: 32, encoding: 'hex' } }, key: { env: 'KEY' } });
    expect(out.agent.secrets).toEqual([{ source: 'pw', target: 'pw' }]);
    expect(out.agent.configs).toEqual([{ source: 'cfg', target: '/cfg' }]);
  });
});
