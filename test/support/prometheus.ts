// A real Prometheus (Debian's `prometheus`, installed by scripts/install-tools.sh) for the analysis
// tests: started on a free loopback port with a generated config that scrapes the given targets
// every scrapeIntervalMs, its TSDB in a temp directory; ready when /-/ready answers 200. stop()
// ends it (SIGTERM, then SIGKILL) and removes its directory. Optionally it evaluates alert rules
// (a rule file's text) at the same interval and sends what fires to Alertmanagers.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poll } from '../../src/util/poll.js';
import { freePort } from './ports.js';

export interface PrometheusProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
  /** The last of what it printed, for failure messages. */
  stderr(): string;
}

export interface StartPrometheusOptions {
  /** host:port of each target, scraped at /metrics. */
  targets: string[];
  scrapeIntervalMs?: number;
  readyTimeoutMs?: number;
  /** The scrape job's name. Default test. */
  job?: string;
  /** Labels every scraped series carries (e.g. the cluster's name). */
  labels?: Record<string, string>;
  /** A rule file's text (YAML), evaluated every scrapeIntervalMs. */
  rules?: string;
  /** host:port of the Alertmanagers that firing alerts go to. */
  alertmanagers?: string[];
}

function config(opts: StartPrometheusOptions, intervalMs: number, ruleFile: string | undefined): string {
  // JSON is YAML: no YAML writer needed for a config this small.
  const interval = `${intervalMs}ms`;
  return JSON.stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    ...(ruleFile ? { rule_files: [ruleFile] } : {}),
    ...(opts.alertmanagers?.length ? { alerting: { alertmanagers: [{ static_configs: [{ targets: opts.alertmanagers }] }] } } : {}),
    scrape_configs: [
      {
        job_name: opts.job ?? 'test',
        metrics_path: '/metrics',
        static_configs: [{ targets: opts.targets, ...(opts.labels ? { labels: opts.labels } : {}) }],
      },
    ],
  });
}

async function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'bzzz-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  const ruleFile = opts.rules === undefined ? undefined : join(dir, 'rules.yml');
  if (ruleFile) await writeFile(ruleFile, opts.rules ?? '');
  await writeFile(configFile, config(opts, opts.scrapeIntervalMs ?? 1000, ruleFile));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await exited(child, 10_000))) child.kill('SIGKILL');
      await exited(child, 5_000);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const ready = await poll(
    async () => {
      if (child.exitCode !== null) return false;
      try {
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).status === 200;
      } catch {
        return false;
      }
    },
    { until: (ok) => ok || child.exitCode !== null, deadline: Date.now() + (opts.readyTimeoutMs ?? 30_000), everyMs: 100 },
  );
  if (!ready.value) {
    await stop();
    throw new Error(`prometheus did not get ready at ${url} (exit code ${child.exitCode}); its stderr:\n${stderr}`);
  }
  return { url, stop, stderr: () => stderr };
}
