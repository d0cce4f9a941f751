// A real Alertmanager for tests: Debian's prometheus-alertmanager (scripts/install-tools.sh) as a
// child process on 127.0.0.1, with a generated config that sends every alert to one webhook URL
// with a bearer token read from a file (as a Docker secret would give it), short group and repeat
// intervals, and a temp storage dir. Alone it runs without HA gossip (--cluster.listen-address=);
// startAlertmanagerPair() runs two peered on loopback, each delivering its own copy as an HA pair does.
// Alerts go in through its API v2 (POST /api/v2/alerts), as Prometheus sends them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../agent/cluster-harness.js';

export const ALERTMANAGER_BIN = process.env.BZZZ_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerInit {
  /** Where every alert is sent (webhook_configs url). */
  webhookUrl: string;
  /** Bearer token Alertmanager sends, written to a file it reads (credentials_file). */
  token: string;
  /** Route timings. Defaults: group_wait 200ms, group_interval 1s, repeat_interval 1h. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Alert labels the route groups by. Default [cluster, alertname]. */
  groupBy?: string[];
  /** HA gossip: this Alertmanager's cluster port and its peers' 127.0.0.1:port. Unset: no gossip. */
  cluster?: { port: number; peers: number[] };
}

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface Alertmanager {
  readonly url: string;
  readonly process: ChildProcess;
  /** What the process printed (logfmt lines), for failure messages. */
  readonly output: string[];
  /** POST /api/v2/alerts; throws unless Alertmanager answers 200. */
  postAlerts(alerts: PostedAlert[]): Promise<void>;
  stop(): Promise<void>;
}

function configFor(init: AlertmanagerInit, tokenFile: string): string {
  return stringify({
    route: {
      receiver: 'webhook',
      group_by: init.groupBy ?? ['cluster', 'alertname'],
      group_wait: init.groupWait ?? '200ms',
      group_interval: init.groupInterval ?? '1s',
      repeat_interval: init.repeatInterval ?? '1h',
    },
    receivers: [
      {
        name: 'webhook',
        webhook_configs: [
          { url: init.webhookUrl, send_resolved: true, http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile } } },
        ],
      },
    ],
  });
}

async function waitReady(url: string, child: ChildProcess, output: string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus-alertmanager exited with ${child.exitCode}:\n${output.slice(-20).join('')}`);
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus-alertmanager not ready at ${url} within ${timeoutMs} ms:\n${output.slice(-20).join('')}`);
}

/** Starts one Alertmanager and waits until /-/ready answers 200. */
export async function startAlertmanager(init: AlertmanagerInit): Promise<Alertmanager> {
  const dir = await mkdtemp(join(tmpdir(), 'bzzz-alertmanager-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, init.token, { mode: 0o600 });
  await writeFile(join(dir, 'alertmanager.yml'), configFor(init, tokenFile));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gossip =
    init.cluster === undefined
      ? ['--cluster.listen-address=']
      : [
          `--cluster.listen-address=127.0.0.1:${init.cluster.port}`,
          `--cluster.advertise-address=127.0.0.1:${init.cluster.port}`,
          '--cluster.gossip-interval=50ms',
          '--cluster.pushpull-interval=1s',
          '--cluster.peer-timeout=1s',
          ...init.cluster.peers.map((p) => `--cluster.peer=127.0.0.1:${p}`),
        ];
  const child = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      '--log.level=debug',
      ...gossip,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) =>
      reject(
        (err as { code?: string }).code === 'ENOENT'
          ? new Error(`${ALERTMANAGER_BIN} is not installed: run bash scripts/install-tools.sh (Debian's prometheus-alertmanager)`)
          : err,
      ),
    );
  });
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await spawned;
    await waitReady(url, child, output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    process: child,
    output,
    async postAlerts(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`POST ${url}/api/v2/alerts answered ${res.status}: ${await res.text()}`);
    },
    stop,
  };
}

/** Two Alertmanagers peered on loopback (an HA pair): post each alert to both, as Prometheus does. */
export async function startAlertmanagerPair(init: Omit<AlertmanagerInit, 'cluster'>): Promise<[Alertmanager, Alertmanager]> {
  const [p1, p2] = [await freePort(), await freePort()];
  const first = await startAlertmanager({ ...init, cluster: { port: p1, peers: [p2] } });
  try {
    return [first, await startAlertmanager({ ...init, cluster: { port: p2, peers: [p1] } })];
  } catch (err) {
    await first.stop();
    throw err;
  }
}
