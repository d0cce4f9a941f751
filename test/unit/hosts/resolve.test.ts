// spec.v1 → targets with defaults: ssh user root, port 22, timeout 10s, unit bzzz@{host}.service.
import { describe, expect, it } from 'vitest';
import { createV1Side, resolveV1 } from '../../../src/hosts/index.js';
import type { V1Spec } from '../../../src/spec/types.js';
import { InvalidInputError } from '../../../src/util/errors.js';
import { keyPair } from './fake-ssh-server.js';

const KEY = 'SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA';

function spec(over: Partial<V1Spec> = {}): V1Spec {
  return {
    ssh: { privateKeySecret: 'v1_ssh_key' },
    hosts: [
      { name: 'walnut', address: '10.0.0.1', hostKey: KEY },
      { name: 'ironwood', address: '10.0.0.2', hostKey: KEY, port: 2222, user: 'bzzz', unit: 'bzzz.service' },
      { name: 'acacia', address: '10.0.0.3', hostKey: KEY },
    ],
    ...over,
  };
}

describe('resolveV1', () => {
  it('applies the defaults and replaces {host}', () => {
    const r = resolveV1(spec());
    expect(r.hosts).toEqual([
      { name: 'walnut', address: '10.0.0.1', port: 22, user: 'root', hostKey: KEY, timeoutMs: 10_000, unit: 'bzzz@walnut.service' },
      { name: 'ironwood', address: '10.0.0.2', port: 2222, user: 'bzzz', hostKey: KEY, timeoutMs: 10_000, unit: 'bzzz.service' },
      { name: 'acacia', address: '10.0.0.3', port: 22, user: 'root', hostKey: KEY, timeoutMs: 10_000, unit: 'bzzz@acacia.service' },
    ]);
    expect(r.mesh).toMatchObject({
      port: 8081,
      path: '/health',
      metricsPath: '/metrics',
      peersMetric: 'bzzz_p2p_connected_peers',
      minPeers: 2,
      timeoutMs: 30_000,
    });
    expect(r.minHosts).toBe(3);
    expect(r.proxy).toBeUndefined();
  });

  it('takes the SSH defaults from spec.v1.ssh and a unit template from spec.v1.unit', () => {
    const r = resolveV1(spec({ ssh: { privateKeySecret: 'k', user: 'ops', port: 2200, timeout: '2500ms' }, unit: 'bzzz-{host}.service' }));
    expect(r.hosts[0]).toMatchObject({ user: 'ops', port: 2200, timeoutMs: 2500, unit: 'bzzz-walnut.service' });
    expect(r.hosts[1]).toMatchObject({ user: 'bzzz', port: 2222, unit: 'bzzz.service' });
  });

  it('resolves the HAProxy switch with its defaults', () => {
    const r = resolveV1(
      spec({
        proxy: { haproxy: { host: { address: '10.0.0.9', hostKey: KEY }, backend: 'bzzz', v1Servers: ['v1a'], v2Servers: ['v2a'] } },
      }),
    );
    expect(r.proxy).toEqual({
      kind: 'haproxy',
      target: { name: 'proxy', address: '10.0.0.9', port: 22, user: 'root', hostKey: KEY, timeoutMs: 10_000 },
      socket: '/run/haproxy/admin.sock',
      backend: 'bzzz',
      v1Servers: ['v1a'],
      v2Servers: ['v2a'],
      weight: 100,
    });
  });

  it('refuses what the schema cannot: a host listed twice, both proxies, a bad path', () => {
    const s = spec();
    s.hosts.push({ ...s.hosts[0] });
    expect(() => resolveV1(s)).toThrow('spec.v1.hosts[3].name: walnut is listed twice');
    const host = { address: '10.0.0.9', hostKey: KEY };
    expect(() =>
      resolveV1(
        spec({
          proxy: {
            haproxy: { host, backend: 'b', v1Servers: ['a'], v2Servers: ['b'] },
            traefik: { host, file: '/etc/traefik/dynamic/bzzz.yml', service: 's', v1Urls: ['http://x'], v2Service: 'y' },
          },
        }),
      ),
    ).toThrow(/either haproxy or traefik/);
    expect(() => resolveV1(spec({ verify: { path: 'health' } }))).toThrow(InvalidInputError);
    expect(() => resolveV1(spec({ unit: 'bzzz@{host}' }))).toThrow(/not a systemd service name/);
  });
});

describe('createV1Side', () => {
  it('builds the ports for a valid key, and refuses a bad one naming the secret but not its content', () => {
    const side = createV1Side({
      v1: spec({
        proxy: {
          traefik: {
            host: { address: '10.0.0.9', hostKey: KEY },
            file: '/etc/traefik/dynamic/bzzz.yml',
            service: 'bzzz',
            v1Urls: ['http://10.0.0.1:8080'],
            v2Service: 'bzzz@swarm',
          },
        },
      }),
      privateKey: keyPair().private,
    });
    expect(side.targets.map((t) => t.unit)).toEqual(['bzzz@walnut.service', 'bzzz.service', 'bzzz@acacia.service']);
    expect(side.proxy).toBeDefined();
    expect(() => createV1Side({ v1: spec(), privateKey: 'not-a-key-s3cr3t' })).toThrow(/secret v1_ssh_key/);
    expect(() => createV1Side({ v1: spec(), privateKey: 'not-a-key-s3cr3t' })).not.toThrow(/s3cr3t/);
  });
});
