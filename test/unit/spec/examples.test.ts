import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSpecFile, validateSpecText, formatProblems } from '../../../src/spec/index.js';

const EXAMPLES = ['stacks/examples/dev.yaml', 'stacks/examples/production.yaml'];

describe('example specs', () => {
  it.each(EXAMPLES)('%s validates and points editors at the schema', async (file) => {
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schemas/bzzzcluster.schema.json');
    const result = validateSpecText(text, file);
    expect(result.ok, result.ok ? '' : formatProblems(result.problems, file)).toBe(true);
    const loaded = await loadSpecFile(file);
    expect(loaded.raw.kind).toBe('BzzzCluster');
  });

  it('dev.yaml: three agents on one node publishing their API and health ports in host mode, postgres and redis only', async () => {
    const { cluster } = await loadSpecFile('stacks/examples/dev.yaml');
    expect(cluster.spec.nodes ?? []).toHaveLength(0);
    expect(cluster.spec.agent.instances.map((i) => i.name)).toEqual(['a', 'b', 'c']);
    expect(cluster.spec.agent.image).toBe('bzzz/bzzzctl:v0.1.0');
    const s = cluster.spec.services!;
    expect([s.mcpServer?.enabled, s.openaiProxy?.enabled, s.contentResolver?.enabled]).toEqual([false, false, false]);
    expect(s.postgres).toMatchObject({ enabled: true, image: 'bzzz/postgres:15' });
    expect(s.redis).toMatchObject({ enabled: true, image: 'bzzz/redis:7' });
    expect(Object.values(cluster.spec.secrets ?? {}).some((x) => x.generate)).toBe(true);
    expect(Object.keys(cluster.spec.configs ?? {})).not.toHaveLength(0);
    expect(cluster.spec.agent.instances.map((i) => [i.publish?.api, i.publish?.health, i.publish?.mode])).toEqual([
      [18080, 18180, 'host'],
      [18081, 18181, 'host'],
      [18082, 18182, 'host'],
    ]);
    expect(cluster.spec.agent.networks).toEqual(['internal', 'external']);
  });

  it('production.yaml: walnut, ironwood and acacia each run one pinned agent with host-mode ports', async () => {
    const { cluster } = await loadSpecFile('stacks/examples/production.yaml');
    expect(cluster.metadata.name).toBe('bzzz-v2');
    expect(cluster.spec.nodes?.map((n) => n.name)).toEqual(['walnut', 'ironwood', 'acacia']);
    expect(cluster.spec.agent.instances.map((i) => [i.node, i.publish?.mode])).toEqual([
      ['walnut', 'host'],
      ['ironwood', 'host'],
      ['acacia', 'host'],
    ]);
    expect(cluster.spec.agent.image).toBe('registry.home.deepblack.cloud/bzzz:v2.0.0');
    expect(cluster.spec.networks?.tengig).toMatchObject({ external: true });
    expect(cluster.spec.networks?.internal).toMatchObject({ internal: true, driver: 'overlay' });
    expect(Object.keys(cluster.spec.secrets ?? {}).sort()).toEqual([
      'alertmanager_token',
      'backup_key',
      'openai_api_key',
      'postgres_password',
      'postgres_user',
      'slack_webhook_url',
      'v1_ssh_key',
    ]);
    const s = cluster.spec.services!;
    expect([s.mcpServer, s.openaiProxy, s.contentResolver, s.postgres, s.redis].map((c) => [c?.enabled, c?.replicas])).toEqual([
      [true, 3],
      [true, 2],
      [true, 3],
      [true, 1],
      [true, 1],
    ]);
    expect(s.openaiProxy).toMatchObject({ rateLimitRpm: 1000, apiKeySecret: 'openai_api_key' });
    expect(cluster.spec.updatePolicy).toEqual({
      parallelism: 1,
      delay: '30s',
      monitor: '60s',
      failureAction: 'rollback',
      maxFailureRatio: 0,
      order: 'start-first',
    });
  });

  it('accepts the same spec written as JSON, and points at JSON lines when it is wrong', () => {
    const dev = validateSpecText(readFileSync(EXAMPLES[0], 'utf8'), 'dev.yaml');
    if (!dev.ok) throw new Error('dev.yaml must be valid');
    const json = JSON.stringify(dev.raw, null, 2);
    expect(validateSpecText(json, 'dev.json').ok).toBe(true);
    const bad = json.replace('"name": "bzzz-dev"', '"name": "bzzz-dev",\n    "nmae": "x"');
    const result = validateSpecText(bad, 'dev.json');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = bad.split('\n').findIndex((l) => l.includes('"nmae"')) + 1;
    expect(result.problems).toEqual([
      expect.objectContaining({ path: 'metadata.nmae', line, message: expect.stringContaining('did you mean `name`?') }),
    ]);
  });
});
