// Rollouts that roll themselves back, on the real swarm with real agents and a real controller
// (`bzzzctl controller run --agents-via published-ports` as a child process, scraping the agents'
// /metrics on their published health ports). One cluster — two agents and Redis, the "whole
// stack" — goes through one release after another, each a new generation, as a user would drive
// it: apply, `bzzzctl rollout status|history|undo|pause|resume|abort`, `bzzzctl status`, and
// `docker service inspect` to see what really runs. A bad release is a spec change that sets the
// agents' fault switch (BZZZ_FAULT, src/agent/fault-spec.ts) while the test keeps calling their
// API, so the error-rate rule has data to judge.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  cleanup,
  cli,
  docker,
  engineWritesDuring,
  port,
  specDir,
  uniqueName,
  waitFor,
  writeSpec,
  type Controller,
} from '../integration/harness.js';
import { ensureImages } from '../../src/images/index.js';
import { spawnLeadingController } from '../support/leading-controller.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { RolloutStore } from '../../src/store/rollout-store.js';
import type { ClusterStatusView } from '../../src/cli/commands/status.js';
import type { RolloutStatusView, RevisionView } from '../../src/cli/commands/rollout.js';
import { silentLogger } from '../../src/util/log.js';

const exec = promisify(execFile);

/** This tree's agent (BZZZ_FAULT with `after`), under a tag of this file's own: never another test's image. */
const IMAGE = 'bzzz/bzzzctl:e2e-rollout';
const API = { a: 28410, b: 28411 } as const;
const HEALTH = { a: 28420, b: 28421 } as const;
const CONTROLLER_ARGS = ['--agents-via', 'published-ports', '--resync', '5s', '--lease-ttl', '6s'];
const ME = `${process.env.SUDO_USER ?? process.env.USER ?? userInfo().username}@${hostname()}`;

interface Release {
  release: number;
  fault?: string;
  /** Wait between agent instances (spec.agent.update.delay). */
  agentDelay?: string;
  /** spec.upgrade.analysis.watch. Default 20s. */
  watch?: string;
}

function spec(name: string, r: Release): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "0.1.0"
  configs:
    bzzz_config:
      content: |
        p2p:
          mdns: false
  agent:
    image: ${IMAGE}
    args: [agent, run]
    instances:
      - name: a
        publish: { api: ${API.a}, health: ${HEALTH.a}, mode: host }
      - name: b
        publish: { api: ${API.b}, health: ${HEALTH.b}, mode: host }
    networks: [internal, external]
    role: backend_developer
    election: { heartbeatMs: 1000, timeoutMs: 3000 }
    env:
      RELEASE: "${r.release}"${r.fault ? `\n      BZZZ_FAULT: "${r.fault}"` : ''}
    configs:
      - source: bzzz_config
        target: /app/config/bzzz.yaml
    stopGracePeriod: 2s
    update: { parallelism: 1, delay: ${r.agentDelay ?? '0s'}, monitor: 2s, failureAction: rollback }
  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis:
      image: bzzz/redis:7
      env:
        RELEASE: "${r.release}"
      stopGracePeriod: 2s
  updatePolicy: { parallelism: 1, delay: 0s, monitor: 2s, failureAction: rollback, maxFailureRatio: 0 }
  upgrade:
    analysis:
      watch: ${r.watch ?? '20s'}
      rules:
        - name: error-rate
          query: sum(rate(bzzz_errors_total{component="http"})) / sum(rate(bzzz_http_request_duration_seconds_count{server="api"}))
          failWhen: { above: 0.05 }
          interval: 2s
          failureLimit: 0
          nan: pass # no API call between two scrapes: nothing to judge
          noData: pass # no API call since the agents started
          consecutiveErrorLimit: 15 # 30 s of no agent answering (a first deploy starting) before inconclusive
`;
}

async function rolloutStatus(name: string): Promise<{ code: number; view: RolloutStatusView; stderr: string }> {
  const r = await cli(['rollout', 'status', name, '-o', 'json']);
  return { code: r.code, view: JSON.parse(r.stdout) as RolloutStatusView, stderr: r.stderr };
}

/** `rollout status --watch` until the rollout settles (succeeded, rolled back, aborted or paused). */
async function watchRollout(name: string, timeout = '150s'): Promise<{ code: number; view: RolloutStatusView }> {
  const r = await cli(['rollout', 'status', name, '--watch', '--timeout', timeout, '-o', 'json']);
  if (!r.stdout) throw new Error(`rollout status --watch printed nothing (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  return { code: r.code, view: JSON.parse(r.stdout) as RolloutStatusView };
}

async function history(name: string): Promise<RevisionView[]> {
  const r = await cli(['rollout', 'history', name, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { revisions: RevisionView[] }).revisions;
}

async function clusterStatus(name: string): Promise<ClusterStatusView> {
  const r = await cli(['status', name, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as ClusterStatusView;
}

interface Inspected {
  version: number;
  image: string;
  env: Record<string, string>;
  updateState?: string;
  updateCompletedAt?: string;
}

async function inspect(service: string): Promise<Inspected> {
  const s = JSON.parse(await docker('service', 'inspect', service))[0];
  const env = Object.fromEntries(
    ((s.Spec.TaskTemplate.ContainerSpec.Env ?? []) as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  return {
    version: s.Version.Index,
    image: s.Spec.TaskTemplate.ContainerSpec.Image,
    env,
    updateState: s.UpdateStatus?.State,
    updateCompletedAt: s.UpdateStatus?.CompletedAt,
  };
}

describe('rollouts on the real swarm: analysed, rolled back by themselves, driven from the CLI', () => {
  const name = uniqueName('e2e-ro');
  const services = [`${name}_agent-a`, `${name}_agent-b`, `${name}_redis`];
  const dir = specDir();
  const rollouts = new RolloutStore(port, new ClusterStore(port));
  let ctl: Controller;
  /** The log lines of controllers killed earlier (BZZZ_E2E_LOG=FILE keeps every controller's log). */
  const ctlLogs: string[] = [];
  let traffic: { stop(): Promise<number> } | undefined;
  const file = (r: Release, as = `release-${r.release}.yaml`) => writeSpec(dir, spec(name, r), as);

  /** Every service of the stack runs release `n`'s spec, with no fault (or the given one). */
  async function stackRuns(n: number, fault?: string): Promise<boolean> {
    const all = await Promise.all(services.map(inspect));
    return all.every((s) => s.env.RELEASE === String(n) && (s.image.startsWith('bzzz/redis') || s.env.BZZZ_FAULT === fault));
  }

  async function phaseOf(generation: number): Promise<string | undefined> {
    const r = await rollouts.get(name);
    return r?.generation === generation ? r.phase : undefined;
  }

  /**
   * This file's controller, once it holds the lease: there is one lease per swarm, and a controller
   * of another test on this engine would otherwise run these rollouts (with its own flags).
   */
  beforeAll(async () => {
    await exec(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
    const images = await ensureImages({ images: [IMAGE, 'bzzz/redis:7'], root: ROOT, log: silentLogger() });
    expect(images.missing).toEqual([]);
    ctl = await spawnLeadingController([...CONTROLLER_ARGS, '--clusters', name]);

    const r = await cli(['apply', '-f', file({ release: 1 }), '--timeout', '150s']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const token = await cli(['api-token', name, '--role', 'observer']);
    expect(token.code, token.stderr).toBe(0);
    traffic = startTraffic(token.stdout.trim());
    // The first rollout has nothing to roll back to; it must succeed to become the stable revision.
    const first = await watchRollout(name);
    expect(first.view, JSON.stringify(first.view)).toMatchObject({ phase: 'Succeeded' });
  }, 900_000);

  afterAll(async () => {
    if (process.env.BZZZ_E2E_LOG) writeFileSync(process.env.BZZZ_E2E_LOG, `${ctlLogs.join('\n')}\n${ctl?.logs.join('\n') ?? ''}\n`);
    await traffic?.stop();
    if (ctl && ctl.proc.exitCode === null) {
      const exited = new Promise((res) => ctl.proc.on('exit', res));
      ctl.proc.kill('SIGTERM');
      await exited;
    }
    await cleanup(name);
  }, 120_000);

  it('a good release: rollout status --watch exits 0, history shows it Succeeded, by whom, with its images', async () => {
    const r = await cli(['apply', '-f', file({ release: 2 }), '--timeout', '120s']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const w = await watchRollout(name);
    expect(w.code).toBe(0);
    expect(w.view).toMatchObject({ generation: 2, phase: 'Succeeded', stable: 1 });
    expect(w.view.rules.map((x) => [x.name, x.phase])).toEqual([['error-rate', 'Successful']]);
    expect(w.view.rules[0].counts.measured).toBeGreaterThan(3);
    expect(await stackRuns(2)).toBe(true);

    const rev = (await history(name)).find((x) => x.revision === 2);
    expect(rev).toMatchObject({ current: true, serving: true, outcome: 'Succeeded', appliedBy: ME });
    expect(rev?.images).toEqual({ [`${name}_agent-a`]: IMAGE, [`${name}_agent-b`]: IMAGE, [`${name}_redis`]: 'bzzz/redis:7' });
    const text = await cli(['rollout', 'history', name]);
    expect(text.stdout).toMatch(/2 \(current\)\s+\S+\s+\S+\s+Succeeded/);
  }, 240_000);

  it('rollout undo brings the previous revision back as a new generation; an unknown --to-revision is refused', async () => {
    const refused = await cli(['rollout', 'undo', name, '--to-revision', '99']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--to-revision 99: revision 99 is not kept (kept: 1, 2)');
    expect((await clusterStatus(name)).generation).toBe(2);

    const r = await cli(['rollout', 'undo', name, '--timeout', '120s']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toContain(`bzzzcluster/${name}: revision 1 stored as generation 3`);
    expect(await stackRuns(1)).toBe(true);
    const w = await watchRollout(name);
    expect(w.code).toBe(0);
    expect(w.view).toMatchObject({ generation: 3, phase: 'Succeeded', stable: 2 });
    expect(w.view.log.find((e) => e.kind === 'started')?.cause?.message).toContain('undo to revision 1');
    const rev = (await history(name)).find((x) => x.revision === 3);
    expect(rev).toMatchObject({ current: true, outcome: 'Succeeded', via: 'undo of revision 1', appliedBy: ME });
    expect((await cli(['rollout', 'history', name])).stdout).toContain('(undo of revision 1)');
  }, 240_000);

  it('a bad release (API errors) is rolled back by the controller, the whole stack, and is not rolled forward again', async () => {
    const bad = file({ release: 4, fault: 'errors' });
    const r = await cli(['apply', '-f', bad, '--timeout', '150s']);
    expect(r.code, r.stdout + r.stderr.slice(-3000)).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('error-rate');

    const w = await watchRollout(name);
    expect(w.code).toBe(2);
    expect(w.view).toMatchObject({ generation: 4, phase: 'RolledBack', stable: 3, cause: { kind: 'analysis', rule: 'error-rate' } });
    expect(w.view.cause?.value).toBeGreaterThan(0.05);
    // Every service — both agents and Redis — runs generation 3's spec (revision 1's) again.
    await waitFor('the whole stack back on release 1', () => stackRuns(1), 60_000, 500);
    for (const s of services) expect((await inspect(s)).env.BZZZ_FAULT).toBeUndefined();

    const st = await clusterStatus(name);
    expect(st.generation).toBe(4);
    expect(st.ready).toBe(false);
    const failed = st.conditions.find((c) => c.type === 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'RolledBack' });
    expect(failed?.message).toMatch(/generation 4 rolled back to generation 3: analysis rule error-rate saw [\d.]+ \(threshold 0\.05\)/);
    expect(st.conditions.find((c) => c.type === 'Ready')?.status).toBe('False');

    // The same bad file again: no new generation, nothing written, still failing.
    const before = await Promise.all(services.map(inspect));
    const writes = await engineWritesDuring(`${name}_`, async () => {
      const again = await cli(['apply', '-f', bad, '--timeout', '20s']);
      expect(again.code).not.toBe(0);
      expect(again.stdout + again.stderr).toContain('error-rate');
    });
    expect(writes.filter((w) => w.startsWith('service'))).toEqual([]);
    expect((await clusterStatus(name)).generation).toBe(4);
    expect((await Promise.all(services.map(inspect))).map((s) => s.version)).toEqual(before.map((s) => s.version));

    const rev = (await history(name)).find((x) => x.revision === 4);
    expect(rev).toMatchObject({ current: true, serving: false, outcome: 'RolledBack' });
    expect(rev?.reason).toContain('error-rate');
    expect((await history(name)).find((x) => x.revision === 3)?.serving).toBe(true);
  }, 300_000);

  it('a release that breaks inside the watch window is rolled back after it converged', async () => {
    // The agents' API fails from 50 s after each one started: past the ~35 s this stack takes to
    // converge here, inside the 60 s watch window that follows.
    const r = await cli(['apply', '-f', file({ release: 5, fault: 'errors,after=50s', watch: '60s' }), '--no-wait']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const w = await watchRollout(name);
    expect(w.code).toBe(2);
    expect(w.view).toMatchObject({ generation: 5, phase: 'RolledBack', stable: 3, cause: { kind: 'analysis', rule: 'error-rate' } });
    expect(w.view.convergedAt).toBeDefined();
    expect(Date.parse(w.view.cause!.at)).toBeGreaterThan(Date.parse(w.view.convergedAt!));
    await waitFor('the whole stack back on release 1', () => stackRuns(1), 60_000, 500);
  }, 240_000);

  it('pause holds the next instance, resume goes on, abort rolls back', async () => {
    // Ten seconds between the agent instances: the pause lands before the second one moves.
    const r = await cli(['apply', '-f', file({ release: 6, agentDelay: '10s' }), '--no-wait']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    await waitFor('the rollout of generation 6 to start', async () => (await phaseOf(6)) === 'Progressing', 90_000, 100);
    const paused = await cli(['rollout', 'pause', name]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain(`${name}: pause recorded`);
    const pausedAt = Date.now();
    const st = await rolloutStatus(name);
    expect(st.code).toBe(3);
    expect(st.view).toMatchObject({ generation: 6, phase: 'Paused', cause: { kind: 'manual', by: ME } });
    await waitFor(
      'status to say the rollout is paused',
      async () => (await clusterStatus(name)).conditions.some((c) => c.type === 'Progressing' && c.reason === 'RolloutPaused'),
      30_000,
      300,
    );
    // Past the moment agent b would have been updated (a done + the 10 s delay): it has not been.
    const a = await inspect(`${name}_agent-a`);
    const due = Math.max(pausedAt, Date.parse(a.updateCompletedAt ?? '') || 0) + 10_000 + 4000;
    const bBefore = await inspect(`${name}_agent-b`);
    expect(bBefore.env.RELEASE).toBe('1');
    await waitFor('the time agent b was due', async () => Date.now() > due, 30_000, 500);
    const bAfter = await inspect(`${name}_agent-b`);
    expect(bAfter.version).toBe(bBefore.version);
    expect(bAfter.env.RELEASE).toBe('1');
    expect((await rolloutStatus(name)).view.phase).toBe('Paused');

    const resumed = await cli(['rollout', 'resume', name]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const w = await watchRollout(name);
    expect(w.code).toBe(0);
    expect(w.view).toMatchObject({ generation: 6, phase: 'Succeeded' });
    expect(await stackRuns(6)).toBe(true);
    expect(w.view.log.map((e) => e.kind)).toEqual(['started', 'paused', 'resumed', 'succeeded']);

    // Abort: a new release stopped by hand, the stack back on release 6.
    const next = await cli(['apply', '-f', file({ release: 7 }), '--no-wait']);
    expect(next.code, next.stderr.slice(-3000)).toBe(0);
    await waitFor('the rollout of generation 7 to start', async () => (await phaseOf(7)) === 'Progressing', 90_000, 100);
    const aborted = await cli(['rollout', 'abort', name]);
    expect(aborted.code, aborted.stderr).toBe(0);
    const back = await watchRollout(name);
    expect(back.code).toBe(2);
    expect(back.view).toMatchObject({ generation: 7, phase: 'Aborted', stable: 6, cause: { kind: 'manual', by: ME } });
    await waitFor('the whole stack back on release 6', () => stackRuns(6), 60_000, 500);
    expect((await history(name)).find((x) => x.revision === 7)).toMatchObject({ outcome: 'Aborted' });
  }, 300_000);

  it('a controller killed (SIGKILL) mid-rollback: the next one finishes the rollback, once', async () => {
    const r = await cli(['apply', '-f', file({ release: 8, fault: 'errors' }), '--no-wait']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    await waitFor('the rollout of generation 8 to be rolling back', async () => (await phaseOf(8)) === 'RollingBack', 120_000, 50);
    const killed = new Promise((res) => ctl.proc.on('exit', (_code, signal) => res(signal)));
    ctl.proc.kill('SIGKILL');
    expect(await killed).toBe('SIGKILL');
    expect(await phaseOf(8)).toBe('RollingBack');

    ctlLogs.push(...ctl.logs);
    ctl = await spawnLeadingController([...CONTROLLER_ARGS, '--clusters', name]);
    const w = await watchRollout(name);
    expect(w.code).toBe(2);
    expect(w.view).toMatchObject({ generation: 8, phase: 'RolledBack', stable: 6, cause: { kind: 'analysis', rule: 'error-rate' } });
    await waitFor('the whole stack back on release 6', () => stackRuns(6), 60_000, 500);
    const kinds = w.view.log.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'rolling-back')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'rolled-back')).toHaveLength(1);
    expect((await history(name)).find((x) => x.revision === 8)).toMatchObject({ outcome: 'RolledBack' });
  }, 240_000);
});

/** Authenticated API calls to both agents, a few every 100 ms, until stopped: the error-rate rule's data. */
function startTraffic(token: string): { stop(): Promise<number> } {
  let on = true;
  let sent = 0;
  const loop = (async () => {
    while (on) {
      await Promise.all(
        Object.values(API).map((p) =>
          fetch(`http://127.0.0.1:${p}/api/election/status`, {
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(1000),
          }).then(
            (r) => r.arrayBuffer(),
            () => undefined, // an agent restarting: nothing answers for a moment
          ),
        ),
      );
      sent++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return sent;
    },
  };
}
