import { describe, expect, it } from 'vitest';
import { planKeys } from '../../../src/reconcilers/keys.js';
import type { Observed } from '../../../src/reconcilers/types.js';
import type { BzzzCluster } from '../../../src/spec/types.js';
import type { Config, Secret } from '../../../src/swarm/api-types.js';

const cluster = (keys?: BzzzCluster['spec']['keys']): BzzzCluster => ({
  apiVersion: 'bzzz.io/v2',
  kind: 'BzzzCluster',
  metadata: { name: 'c' },
  spec: { version: '1', agent: { instances: [{ name: 'a' }] }, keys },
});
const empty: Observed = {
  networks: [],
  secrets: [],
  configs: [],
  state: [],
  services: [],
  lookAlikes: [],
  external: { networks: [], secrets: [], configs: [] },
};
const labels = (logical: string, keyset: string) => ({ 'io.bzzz.logical': logical, 'io.bzzz.keyset': keyset });
const secret = (logical: string, keyset: string, at = '2026-01-01'): Secret => ({
  ID: `${keyset}-${logical}`,
  Version: { Index: 1 },
  CreatedAt: at,
  Spec: { Name: `c_${logical}-${keyset}`, Labels: labels(logical, keyset) },
});
const config = (logical: string, keyset: string, at = '2026-01-01'): Config => ({
  ID: `${keyset}-${logical}`,
  Version: { Index: 1 },
  CreatedAt: at,
  Spec: { Name: `c_${logical}-${keyset}`, Labels: labels(logical, keyset) },
});

function keyset(id: string, shares = 5, at = '2026-01-01'): { secrets: Secret[]; configs: Config[] } {
  return {
    secrets: [
      ...['observer', 'backend_developer', 'senior_software_architect'].map((r) => secret(`bzzz-key-${r}`, id, at)),
      ...Array.from({ length: shares }, (_, i) => secret(`bzzz-share-${i + 1}`, id, at)),
    ],
    configs: ['observer', 'backend_developer', 'senior_software_architect', 'admin'].map((r) => config(`bzzz-pub-${r}`, id, at)),
  };
}

describe('keys plan', () => {
  it('makes a keyset on first apply', () => {
    const p = planKeys(cluster(), empty);
    expect(p.generate).toBe(true);
    expect(p.settings).toEqual({ threshold: 3, shares: 5 });
    expect([...p.secretNames.keys()]).toHaveLength(8);
  });

  it('uses a complete keyset and never makes another', () => {
    const k = keyset('k1');
    const p = planKeys(cluster(), { ...empty, ...k });
    expect(p.generate).toBe(false);
    expect(p.secretNames.get('bzzz-share-2')).toBe('c_bzzz-share-2-k1');
    expect(p.configNames.get('bzzz-pub-admin')).toBe('c_bzzz-pub-admin-k1');
  });

  it('ignores a keyset left half-made by a pass that died, and makes a new one', () => {
    const k = keyset('k1');
    const p = planKeys(cluster(), { ...empty, secrets: k.secrets.slice(0, 5), configs: k.configs });
    expect(p.generate).toBe(true);
  });

  it('follows the split size of the spec', () => {
    const p = planKeys(cluster({ shamir: { threshold: 2, shares: 3 } }), { ...empty, ...keyset('k3', 3) });
    expect(p.generate).toBe(false);
    expect(p.settings).toEqual({ threshold: 2, shares: 3 });
  });

  it('makes nothing when keys.generate is false', () => {
    const p = planKeys(cluster({ generate: false }), empty);
    expect(p.generate).toBe(false);
    expect(p.secretNames.size).toBe(0);
  });
});
