// Traefik's file provider: the dynamic config sending all traffic to one side or splitting it by
// weights, read back. No real
// Traefik here (not in Debian bookworm): the shape follows Traefik's weighted services (v2/v3).
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TraefikConfigError, TraefikSwitch, renderTraefikConfig, renderTraefikWeights, traefikView } from '../../../src/hosts/traefik.js';
import { InvalidInputError } from '../../../src/util/errors.js';

const o = { service: 'bzzz', v1Urls: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'], v2Service: 'bzzz-agent@swarm' };

describe('renderTraefikConfig', () => {
  it('writes a weighted service with 100 for the side and 0 for the other, and the v1 servers', () => {
    expect(parse(renderTraefikConfig(o, 'v1'))).toEqual({
      http: {
        services: {
          bzzz: {
            weighted: {
              services: [
                { name: 'bzzz-v1', weight: 100 },
                { name: 'bzzz-agent@swarm', weight: 0 },
              ],
            },
          },
          'bzzz-v1': { loadBalancer: { servers: [{ url: 'http://10.0.0.1:8080' }, { url: 'http://10.0.0.2:8080' }] } },
        },
      },
    });
    expect(parse(renderTraefikConfig(o, 'v2')).http.services.bzzz.weighted.services).toEqual([
      { name: 'bzzz-v1', weight: 0 },
      { name: 'bzzz-agent@swarm', weight: 100 },
    ]);
  });

  it('is deterministic (a switch to the side it serves writes nothing new)', () => {
    expect(renderTraefikConfig(o, 'v1')).toBe(renderTraefikConfig({ ...o }, 'v1'));
  });

  it.each([
    [{ ...o, service: 'bzzz@file' }, /Traefik service/],
    [{ ...o, service: 'a b' }, /Traefik service/],
    [{ ...o, v2Service: 'x\ny: 1' }, /v2 service/],
    [{ ...o, v1Urls: [] }, /v1Urls is empty/],
    [{ ...o, v1Urls: ['ftp://x'] }, /not an http\(s\) URL/],
    [{ ...o, v1Urls: ['http://user:pw@x'] }, /without credentials/],
    [{ ...o, v1Urls: ['http://x\n  evil: 1'] }, /not an http/],
  ])('refuses bad input %#', (bad, msg) => {
    expect(() => renderTraefikConfig(bad, 'v1')).toThrow(InvalidInputError);
    expect(() => renderTraefikConfig(bad, 'v1')).toThrow(msg);
  });
});

describe('traefikView', () => {
  it('reads the side back from what was written', () => {
    expect(traefikView(renderTraefikConfig(o, 'v1'), o)).toEqual({
      kind: 'traefik',
      serving: 'v1',
      servers: [
        { name: 'bzzz-v1', side: 'v1', state: 'up', weight: 100 },
        { name: 'bzzz-agent@swarm', side: 'v2', state: 'down', weight: 0 },
      ],
      v2Percent: 0,
    });
    expect(traefikView(renderTraefikConfig(o, 'v2'), o).serving).toBe('v2');
  });

  it('treats a missing file as serving nothing known, and a file of another shape as an error', () => {
    expect(traefikView(undefined, o).serving).toBe('none');
    expect(() => traefikView('http: {}\n', o)).toThrow(TraefikConfigError);
    expect(() => traefikView('{{{', o)).toThrow(/not YAML/);
  });

  it('counts a weight left out as Traefik’s default 1', () => {
    const text =
      'http:\n  services:\n    bzzz:\n      weighted:\n        services:\n          - name: bzzz-v1\n          - name: bzzz-agent@swarm\n';
    expect(traefikView(text, o).serving).toBe('both');
  });
});

describe('renderTraefikWeights', () => {
  it.each([
    [0, 100, 0, 'v1'],
    [10, 90, 10, 'both'],
    [50, 50, 50, 'both'],
    [100, 0, 100, 'v2'],
  ])('at %i %% writes v1 %i and v2 %i, read back as the same share', (p, w1, w2, serving) => {
    const text = renderTraefikWeights(o, p);
    expect(parse(text).http.services.bzzz.weighted.services).toEqual([
      { name: 'bzzz-v1', weight: w1 },
      { name: 'bzzz-agent@swarm', weight: w2 },
    ]);
    const view = traefikView(text, o);
    expect(view.v2Percent).toBe(p);
    expect(view.serving).toBe(serving);
  });

  it('is the switch’s config at 0 % and 100 %', () => {
    expect(renderTraefikWeights(o, 0)).toBe(renderTraefikConfig(o, 'v1'));
    expect(renderTraefikWeights(o, 100)).toBe(renderTraefikConfig(o, 'v2'));
  });

  it.each([-1, 101, 33.3, Number.NaN])('refuses the share %d, naming it', async (p) => {
    expect(() => renderTraefikWeights(o, p)).toThrow(InvalidInputError);
    expect(() => renderTraefikWeights(o, p)).toThrow(`the v2 share ${p} is not an integer percentage from 0 to 100`);
    const sw = new TraefikSwitch({
      ...o,
      target: { name: 'proxy', address: '127.0.0.1', port: 1, user: 'root', hostKey: 'SHA256:x', timeoutMs: 100 },
      privateKey: '',
      file: '/etc/traefik/dynamic/bzzz.yml',
    });
    await expect(sw.weigh(p)).rejects.toThrow(InvalidInputError);
  });

  it('reads a hand-written weighting back (3 and 1 → 25 %)', () => {
    const text =
      'http:\n  services:\n    bzzz:\n      weighted:\n        services:\n          - name: bzzz-v1\n            weight: 3\n          - name: bzzz-agent@swarm\n            weight: 1\n';
    expect(traefikView(text, o).v2Percent).toBe(25);
  });
});
