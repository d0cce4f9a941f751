// Shared helpers of the integration tests: the real engine, the real CLI as a user runs it
// (`node bin/bzzzctl.js`, built by `npm run build`), unique cluster names, and cleanup of
// everything a test made (by the ownership label, and by name for foreign objects).
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DockerSwarmPort } from '../../src/swarm/docker-port.js';
import { deleteCluster } from '../../src/ops/teardown.js';

const exec = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/bzzzctl.js');
export const port = new DockerSwarmPort();

export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export function specDir(): string {
  return mkdtempSync(join(tmpdir(), 'bzzz-it-'));
}

export function writeSpec(dir: string, text: string, file = 'cluster.yaml'): string {
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}

/** Removes everything of a cluster and any foreign services named in `extraServices`. */
export async function cleanup(name: string, extraServices: string[] = []): Promise<void> {
  for (const s of extraServices) await docker('service', 'rm', s).catch(() => undefined);
  await deleteCluster(port, name, 60_000).catch(() => undefined);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Docker events for objects whose name starts with `prefix`, collected while `fn` runs (what the engine saw written). */
export async function engineWritesDuring(prefix: string, fn: () => Promise<unknown>): Promise<string[]> {
  // `docker events` has one-second resolution: start on a fresh second so nothing written
  // before `fn` (the end of an earlier step) falls in the window.
  const since = Math.floor(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, since * 1000 - Date.now() + 20));
  await fn();
  const until = Math.ceil(Date.now() / 1000) + 1;
  await new Promise((r) => setTimeout(r, 1100));
  const out = await docker(
    'events',
    '--since',
    String(since),
    '--until',
    String(until),
    '--format',
    '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
    '--filter',
    'type=service',
    '--filter',
    'type=secret',
    '--filter',
    'type=config',
    '--filter',
    'type=network',
  );
  return out.split('\n').filter((l) => l.split(' ')[2]?.startsWith(prefix));
}

export interface Controller {
  proc: ChildProcessWithoutNullStreams;
  port: number;
  /** Its log lines so far (JSON). */
  logs: string[];
  /** The value of one of its metrics now (0 when absent). */
  metric(name: string, labels?: string): Promise<number>;
  /** Whether a log line with this message has been written. */
  logged(msg: string): boolean;
}

/** Starts `bzzzctl controller run` as a real process on a free port; resolves once it serves. */
export async function spawnController(args: string[] = []): Promise<Controller> {
  const proc = spawn(process.execPath, [BIN, 'controller', 'run', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: { ...process.env, BZZZ_LOG_LEVEL: 'debug' },
  });
  const logs: string[] = [];
  let buf = '';
  proc.stderr.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    logs.push(...lines);
  });
  const messages = () =>
    logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg?: string; listen?: string }];
      } catch {
        return []; // not JSON
      }
    });
  const port = await waitFor(
    'controller listening',
    async () => {
      const started = messages().find((j) => j.msg === 'controller started' && j.listen);
      return started ? Number(started.listen!.split(':').pop()) : undefined;
    },
    20_000,
    100,
  );
  return {
    proc,
    port,
    logs,
    metric: async (name, labels) => metricValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), name, labels),
    logged: (msg) => messages().some((j) => j.msg === msg),
  };
}

/** One sample of a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}` : ''}`) && !l.startsWith('#'));
  return line ? Number(line.split(' ').pop()) : 0;
}
