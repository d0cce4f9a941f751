// PostgreSQL password rotation on the real swarm: the longest connection-failure window the
// consumers see, for the operator's rotation (two alternating logins: the old one stays valid
// until every consumer task has stopped) against the single-password rotation it replaces (the
// one login's password changed with ALTER ROLE, then the consumers rolled onto the new value —
// what a Vault-style static role does), in the same run on the same cluster.
//
// Two consumer tasks connect every 100 ms with the conninfo they mount and print a timestamped
// ok or FAIL (docker service logs --timestamps). A failure window is, per task, from its first
// FAIL to its next ok (or to the task's last line). Both reconcilers are driven by this script
// (no controller, no lease), as the integration test does.
//
// Run:  npm run bench:pg-rotation [-- --rounds 3]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSpecFile } from '../../src/spec/index.js';
import { resolveApply, storeSpec } from '../../src/cli/resolve-apply.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { RotationStore } from '../../src/store/rotation-store.js';
import { createClusterReconciler } from '../../src/reconcilers/cluster.js';
import { createRotationReconciler } from '../../src/reconcilers/rotation-reconciler.js';
import { DockerSwarmPort } from '../../src/swarm/docker-port.js';
import { DockerExec } from '../../src/swarm/exec.js';
import { postgresLoginsViaExec } from '../../src/ops/postgres-logins.js';
import { deleteCluster } from '../../src/ops/teardown.js';
import { generateValue } from '../../src/reconcilers/secrets.js';
import { silentLogger } from '../../src/util/log.js';
import { rotationSpec } from '../support/pg-rotation-spec.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Math.max(1, Number(values.rounds));
const name = `kd-pgbench-${Math.random().toString(36).slice(2, 7)}`;
const port = new DockerSwarmPort();
const store = new ClusterStore(port);
const rotations = new RotationStore(port, store);
const postgres = postgresLoginsViaExec(new DockerExec(port));
const signal = new AbortController().signal;
const ITEM = 'secret:postgres_app' as const;

async function journal() {
  return (await rotations.get(name))?.items[ITEM];
}

async function drive(until: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const cluster = createClusterReconciler({ port, store, log: silentLogger() });
  const keys = createRotationReconciler({ port, store, rotations, postgres, log: silentLogger(), pollMs: 300 });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await keys.reconcile(name, signal);
    await cluster.pass(name);
    if (await until()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no end in ${timeoutMs} ms: ${JSON.stringify(await journal())}`);
}

async function requestRotation(): Promise<void> {
  await rotations.update(name, (s) => {
    const item = s?.items[ITEM];
    return s && item
      ? { ...s, items: { ...s.items, [ITEM]: { ...item, requested: { at: new Date().toISOString(), by: 'bench' } } } }
      : undefined;
  });
}

async function rotateOnce(): Promise<void> {
  const before = (await journal())?.current;
  await requestRotation();
  await drive(async () => {
    const j = await journal();
    return !!j && !j.run && j.current !== before;
  });
}

interface Line {
  task: string;
  at: number;
  ok: boolean;
}

/**
 * Every consumer line as it comes (`docker service logs -f`): a non-following `docker service
 * logs` hangs at times on this engine, and loses the lines of tasks whose containers the swarm
 * has pruned since.
 */
const seen: Line[] = [];
function follow(): () => void {
  const p = spawn('docker', ['service', 'logs', '-f', '--timestamps', `${name}_content-resolver`]);
  let rest = '';
  p.stdout.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      // <timestamp> <task>@<node>    | ok|FAIL …
      const m = /^(\S+)\s+(\S+)@\S+\s+\|\s+(ok|FAIL)/.exec(l);
      if (m) seen.push({ at: Date.parse(m[1]!), task: m[2]!, ok: m[3] === 'ok' });
    }
  });
  return () => p.kill();
}
async function lines(): Promise<Line[]> {
  return [...seen].sort((x, y) => x.at - y.at);
}

/** Longest FAIL run per task within [from, to], ms; and how many FAIL lines. */
function failureWindow(all: Line[], from: number, to: number): { longestMs: number; failed: number; tries: number } {
  const seen = all.filter((l) => l.at >= from && l.at <= to);
  let longest = 0;
  for (const task of new Set(seen.map((l) => l.task))) {
    let start: number | undefined;
    const mine = seen.filter((l) => l.task === task);
    for (const l of mine) {
      if (!l.ok && start === undefined) start = l.at;
      if (l.ok && start !== undefined) {
        longest = Math.max(longest, l.at - start);
        start = undefined;
      }
    }
    if (start !== undefined) longest = Math.max(longest, (mine.at(-1)?.at ?? start) - start);
  }
  return { longestMs: longest, failed: seen.filter((l) => !l.ok).length, tries: seen.length };
}

let stop = () => {};
const progress = (m: string) => process.stderr.write(`[pg-rotation] ${m}\n`);
const dir = mkdtempSync(join(tmpdir(), 'bench-pgrot-'));
writeFileSync(join(dir, 'cluster.yaml'), rotationSpec(name));
try {
  await storeSpec(port, store, await resolveApply(await loadSpecFile(join(dir, 'cluster.yaml')), {}));
  await drive(async () => (await port.listServices({ names: [`${name}_content-resolver`] })).length > 0, 60_000);
  stop = follow();
  // The first rotation makes login app_a; wait until both consumers connect with it.
  await drive(async () => !!(await journal())?.login && !(await journal())?.run, 180_000);
  for (let i = 0; i < 100 && (await lines()).filter((l) => l.ok).length < 20; i++) await new Promise((r) => setTimeout(r, 500));

  const ours: Array<ReturnType<typeof failureWindow> & { seconds: number }> = [];
  const single: Array<ReturnType<typeof failureWindow> & { seconds: number }> = [];
  for (let r = 0; r < rounds; r++) {
    // Ours: alternate to the other login.
    progress(`round ${r + 1}: ours`);
    let t0 = Date.now();
    await rotateOnce();
    await new Promise((res) => setTimeout(res, 2000));
    ours.push({ ...failureWindow(await lines(), t0, Date.now()), seconds: (Date.now() - t0) / 1000 });

    // Single password: the login in use gets a new password first, then the consumers roll
    // onto a value that works (the rotation to the other login serves as the roll).
    progress(`round ${r + 1}: single password`);
    t0 = Date.now();
    const j = await journal();
    if (!j?.login) throw new Error('no login recorded');
    const cluster = (await store.getSpec(name, (await store.get(name))!.generation)).cluster;
    await postgres.setLogin({ cluster, login: j.login, password: generateValue({ length: 24, encoding: 'alphanumeric' }) });
    await rotateOnce();
    await new Promise((res) => setTimeout(res, 2000));
    single.push({ ...failureWindow(await lines(), t0, Date.now()), seconds: (Date.now() - t0) / 1000 });
  }
  const fmt = (x: { longestMs: number; failed: number; tries: number; seconds: number }) =>
    `longest window ${(x.longestMs / 1000).toFixed(2)} s, ${x.failed}/${x.tries} connections failed, rotation ${x.seconds.toFixed(1)} s`;
  for (let r = 0; r < rounds; r++) {
    console.log(`round ${r + 1}: ours: ${fmt(ours[r]!)} | single password: ${fmt(single[r]!)}`);
  }
  const worst = (xs: typeof ours) => Math.max(...xs.map((x) => x.longestMs)) / 1000;
  console.log(
    `\nlongest failure window over ${rounds} rounds: ours ${worst(ours).toFixed(2)} s, single password ${worst(single).toFixed(2)} s`,
  );
  console.log(
    `failed connections: ours ${ours.reduce((a, x) => a + x.failed, 0)}, single password ${single.reduce((a, x) => a + x.failed, 0)}`,
  );
} finally {
  stop();
  await deleteCluster(port, name, 60_000).catch(() => undefined);
}
