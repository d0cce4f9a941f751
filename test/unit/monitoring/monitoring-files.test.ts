// stacks/monitoring as Prometheus and Alertmanager themselves read it: promtool checks the rules and
// the scrape config and runs the rules' unit tests (alerts.test.yml: each alert fires on bad series
// and stays quiet on good ones); amtool checks the Alertmanager config. The alert rules read only
// metrics the agent registers. promtool (Debian's prometheus) and amtool (prometheus-alertmanager)
// come from scripts/install-tools.sh.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createAgentMetrics } from '../../../src/agent/metrics.js';

const DIR = resolve(import.meta.dirname, '../../../stacks/monitoring');
const run = promisify(execFile);

async function tool(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(cmd, args, { cwd: DIR, timeout: 60_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(`${cmd} is not installed: run bash scripts/install-tools.sh (it installs it from Debian's packages)`);
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
}

/** Every series name an agent's /metrics can show (histograms as _sum, _count, _bucket). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = await createAgentMetrics().registry.getMetricsAsJSON();
  return new Set(
    metrics.flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_sum`, `${m.name}_count`, `${m.name}_bucket`] : [m.name])),
  );
}

describe('stacks/monitoring', () => {
  it('alerts.yml passes promtool check rules', async () => {
    const r = await tool('promtool', ['check', 'rules', 'alerts.yml']);
    expect(r.out).toContain('SUCCESS: 6 rules found');
    expect(r.code).toBe(0);
  });

  it("alerts.yml's unit tests pass (promtool test rules alerts.test.yml): each alert fires on bad series only", async () => {
    const r = await tool('promtool', ['test', 'rules', 'alerts.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('prometheus.yml passes promtool check config (with alerts.yml)', async () => {
    const r = await tool('promtool', ['check', 'config', 'prometheus.yml']);
    expect(r.out).toContain('is valid prometheus config file syntax');
    expect(r.code).toBe(0);
  });

  it('alertmanager.yml passes amtool check-config', async () => {
    const r = await tool('amtool', ['check-config', 'alertmanager.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('has one alert per seed trigger, with cluster and severity, for: from the plan (5 min health, 10 min memory)', async () => {
    const doc = parse(await readFile(join(DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual([
      'BzzzHealthCheckFailing',
      'BzzzErrorRateHigh',
      'BzzzLatencyAboveBaseline',
      'BzzzMemoryHigh',
      'BzzzStorageIOErrors',
      'BzzzV2Down',
    ]);
    for (const r of rules) {
      // The v1 rollback's alert pages: it hands the cluster back to the v1 hosts.
      expect(r.labels.severity, r.alert).toBe(r.alert === 'BzzzV2Down' ? 'page' : 'critical');
      expect(r.expr, r.alert).toMatch(/by \(cluster\b/);
    }
    const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
    expect(byName.BzzzHealthCheckFailing.for).toBe('5m');
    expect(byName.BzzzMemoryHigh.for).toBe('10m');
    expect(byName.BzzzErrorRateHigh.expr).toContain('> 0.05');
    expect(byName.BzzzLatencyAboveBaseline.expr).toContain('> 2 *');
    expect(byName.BzzzMemoryHigh.expr).toContain('> 0.9');
    expect(byName.BzzzStorageIOErrors.expr).toContain('> 0.01');
    expect(byName.BzzzV2Down.for).toBe('10m');
  });

  it('the rules read only metrics the agent exports (or Prometheus itself: up)', async () => {
    const doc = parse(await readFile(join(DIR, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
    const text = doc.groups.flatMap((g) => g.rules.map((r) => r.expr)).join('\n');
    const exported = await exportedNames();
    const used = new Set([...text.matchAll(/\b(bzzz_[a-z_]+)\{?/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThanOrEqual(7);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it("the example specs' analysis rules are valid PromQL (Prometheus provider) and read only exported metrics", async () => {
    const exported = await exportedNames();
    const examples = resolve(DIR, '../examples');
    const queries: string[] = [];
    for (const file of ['production.yaml', 'dev.yaml']) {
      const doc = parse(await readFile(join(examples, file), 'utf8')) as {
        spec: { upgrade: { analysis: { rules: Array<{ query: string }> } } };
      };
      const rules = doc.spec.upgrade.analysis.rules;
      expect(rules, file).toHaveLength(5);
      queries.push(...rules.map((r) => r.query));
    }
    for (const name of new Set(queries.join('\n').match(/\bbzzz_[a-z_]+/g))) expect(exported, name).toContain(name);
    const dir = await mkdtemp(join(tmpdir(), 'bzzz-promql-'));
    try {
      const promql = parse(await readFile(join(examples, 'production.yaml'), 'utf8')) as {
        spec: { upgrade: { analysis: { rules: Array<{ name: string; query: string }> } } };
      };
      const records = promql.spec.upgrade.analysis.rules.map((r) => ({ record: `bzzz:${r.name.replaceAll('-', '_')}`, expr: r.query }));
      await writeFile(join(dir, 'rules.yml'), stringify({ groups: [{ name: 'analysis', rules: records }] }));
      const r = await tool('promtool', ['check', 'rules', join(dir, 'rules.yml')]);
      expect(r.out).toContain('SUCCESS: 5 rules found');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prometheus.yml scrapes the agents on their health port with a cluster label, as job bzzz-agents', async () => {
    const doc = parse(await readFile(join(DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        job_name: string;
        dns_sd_configs: Array<{ port: number; names: string[] }>;
        relabel_configs: Array<{ target_label: string }>;
      }>;
    };
    const job = doc.scrape_configs.find((j) => j.job_name === 'bzzz-agents');
    expect(job?.dns_sd_configs[0]).toMatchObject({ port: 8081 });
    expect(job?.dns_sd_configs[0].names.every((n) => n.startsWith('tasks.agent-'))).toBe(true);
    expect(job?.relabel_configs.map((r) => r.target_label)).toContain('cluster');
  });

  it("alertmanager.yml sends to the controller's webhook with a bearer token read from a secret file", async () => {
    const doc = parse(await readFile(join(DIR, 'alertmanager.yml'), 'utf8')) as {
      receivers: Array<{ webhook_configs?: Array<{ url: string; http_config: { authorization: { credentials_file: string } } }> }>;
    };
    const hook = doc.receivers.flatMap((r) => r.webhook_configs ?? [])[0];
    expect(hook.url).toMatch(/^http:\/\/[^/]+\/webhooks\/alertmanager\/bzzz-v2$/);
    expect(hook.http_config.authorization.credentials_file).toMatch(/^\/run\/secrets\//);
  });
});
