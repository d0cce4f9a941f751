// Helpers of the attack suite: attackers as processes of their own (their sockets and buffers are
// not the agent's), the agent's open descriptors and resident memory, metrics read over HTTP.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../agent/cluster-harness.js';

export interface Attacker {
  /** Resolves once every connection is open (or was refused). */
  opened: Promise<void>;
  /** Resolves when the attacker gives up: how many of its connections the server closed. */
  done: Promise<{ closedByServer: number; bytesRead: number }>;
  kill(): void;
}

export function spawnAttacker(
  mode: 'stall-uploads' | 'slow-readers',
  apiUrl: string,
  token: string,
  n: number,
  holdMs: number,
  path?: string,
): Attacker {
  const args = [join(REPO_ROOT, 'test/security/attackers/http-flood.mjs'), mode, apiUrl, token, String(n), String(holdMs)];
  if (path !== undefined) args.push(path);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Array<{ event: string; closedByServer?: number; bytesRead?: number }> = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)) as (typeof events)[number]);
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const when = async (event: string) => {
    for (;;) {
      const e = events.find((x) => x.event === event);
      if (e) return e;
      const next = new Promise<void>((r) => waiters.push(r));
      await Promise.race([next, exited]);
      if (proc.exitCode !== null && !events.some((x) => x.event === event)) throw new Error(`attacker exited before "${event}"`);
    }
  };
  return {
    opened: when('opened').then(() => undefined),
    done: when('done').then((e) => ({ closedByServer: e.closedByServer ?? 0, bytesRead: e.bytesRead ?? 0 })),
    kill: () => proc.kill('SIGKILL'),
  };
}

/** Open file descriptors of this process (the in-process agent's, with the test runner's). */
export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Samples `probe` every `everyMs` until stopped; returns the largest value seen. */
export function sampleMax(probe: () => number, everyMs = 50): { stop(): number } {
  let max = probe();
  const t = setInterval(() => {
    max = Math.max(max, probe());
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return Math.max(max, probe());
    },
  };
}

/** One sample of a Prometheus metric from the health port (0 when absent). */
export async function metric(healthUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${healthUrl}/metrics`)).text();
  const series = labels === '' ? name : `${name}{${labels}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
