// Bad release → whole stack back on the good revision: bzzz-operator against Swarm's own
// `failure_action: rollback` on the same bad release, in the same run.
//
// Two stacks of the same shape, side by side on the real swarm, each an agent (this tree's image,
// the same /health HEALTHCHECK every 1 s, 3 retries, 10 s start period) and a busybox companion,
// with the same update policy (parallelism 1, delay 0 s, monitor 2 s, failure_action rollback,
// max_failure_ratio 0, stop-first):
//   operator  a BzzzCluster run by the real controller (startController in-process, agents' own
//             /metrics on their published ports), analysis rules measured every 2 s: the API error
//             rate (fails above 5 %, failureLimit 1) and unhealthy agents (fails above 0, failureLimit 1);
//   swarm     the same two services deployed with plain `docker stack deploy` (a compose file, the
//             agent with --insecure-open-cluster since no operator hands it a member list).
// This script sends API traffic to both agents all along (GET /api/election/status, 10 per second
// each). Release 1 is good. Each round, on both stacks one after the other:
//   (a)+(b) a metric-only bad release: release k with BZZZ_FAULT=errors in the agent and a new
//       release marker in every service. Operator: time from the apply until every service runs
//       release 1's spec again. Swarm: `docker stack deploy` of the same release, then watched for
//       --swarm-watch seconds (default 60): it never rolls back, since every health check passes;
//       the script reports what it runs at the end and the API error ratio meanwhile.
//   (c) a release whose health check fails (BZZZ_FAULT=unhealthy: /health answers 503). Swarm rolls
//       the agent's service back by itself: time until the agent runs release 1 again; the
//       companion stays on the new release (the stack is left half-updated). Operator: time until
//       the whole stack runs release 1 again, and why it rolled back (its analysis, or Swarm's
//       rollback of the agent seen in the service's UpdateStatus).
// Between rounds both stacks are brought back to release 1 (and the swarm stack's companion too).
//
//   npm run bench:rollback-release                          # 3 rounds
//   npm run bench:rollback-release -- --rounds 1 --swarm-watch 120
//
// Needs: Docker in swarm mode, `npm run build` (the npm script does it), no other controller
// holding the lease (it waits).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunningController } from '../../src/controller/run.js';
import {
  AGENT_IMAGE,
  allOn,
  apply,
  bzzzctl,
  COMPANION_IMAGE,
  describe,
  docker,
  ensureAgentImage,
  HEALTH,
  HEALTH_CMD,
  load,
  now,
  onExit,
  pickPorts,
  quantile,
  recordEvents,
  removeCluster,
  rolloutOf,
  run,
  sleep,
  smallClusterSpec,
  startBenchController,
  stackNow,
  waitFor,
  type ServiceNow,
} from './rollout-support.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'swarm-watch': { type: 'string', default: '60' },
  },
});
const ROUNDS = Number(args.rounds);
const SWARM_WATCH_MS = Number(args['swarm-watch']) * 1000;

const id = Math.random().toString(36).slice(2, 6);
const opName = `bench-rel-${id}`;
const swName = `bench-swm-${id}`;
const token = `bench-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const [opApi, opHealth, swApi, swHealth] = pickPorts(4);

const analysis = `      watch: 2m
      rules:
        - name: error-rate
          query: sum(rate(bzzz_errors_total{component="http"})) / sum(rate(bzzz_http_request_duration_seconds_count{server="api"}))
          failWhen: { above: 0.05 }
          interval: 2s
          failureLimit: 1
          consecutiveErrorLimit: 15
          nan: pass
          noData: pass
        - name: health-checks
          query: max(bzzz_health_status{status="unhealthy"})
          failWhen: { above: 0 }
          interval: 2s
          failureLimit: 1
          consecutiveErrorLimit: 15
          noData: pass`;
const opSpec = (release: number, fault?: string) =>
  smallClusterSpec({
    name: opName,
    agents: [{ name: 'a', api: opApi!, health: opHealth! }],
    release,
    fault,
    analysis: release === 1 ? undefined : analysis,
  });

const composeFor = (release: number, fault?: string) => {
  const update = `      update_config: { parallelism: 1, delay: 0s, monitor: 2s, failure_action: rollback, max_failure_ratio: 0, order: stop-first }`;
  return `version: "3.8"
services:
  agent:
    image: ${AGENT_IMAGE}
    command: ["agent", "run", "--insecure-open-cluster"]
    environment:
      BENCH_RELEASE: "${release}"
${fault ? `      BZZZ_FAULT: "${fault}"\n` : ''}    healthcheck:
      test: ${JSON.stringify(HEALTH_CMD)}
      interval: ${HEALTH.interval}
      timeout: ${HEALTH.timeout}
      retries: ${HEALTH.retries}
      start_period: ${HEALTH.startPeriod}
    ports:
      - { target: 8080, published: ${swApi}, mode: host }
      - { target: 8081, published: ${swHealth}, mode: host }
    networks: [net]
    stop_grace_period: 2s
    deploy:
      resources: { limits: { cpus: "0.5", memory: 256M } }
${update}
  companion:
    image: ${COMPANION_IMAGE}
    environment:
      BENCH_RELEASE: "${release}"
    networks: [net]
    stop_grace_period: 1s
    deploy:
${update}
networks:
  net: { driver: overlay, attachable: true }
`;
};
const composeDir = mkdtempSync(join(tmpdir(), 'bzzz-bench-swarm-'));
async function stackDeploy(release: number, fault?: string): Promise<void> {
  const file = join(composeDir, `release-${release}.yaml`);
  writeFileSync(file, composeFor(release, fault));
  await docker('stack', 'deploy', '--resolve-image', 'never', '-c', file, swName);
}

// ---------------------------------------------------------------- API traffic, all along

interface Traffic {
  ok: number;
  failed: number;
  refused: number;
}
function traffic(url: string, auth: () => string | undefined, perSecond: number): { counts: Traffic; stop(): void } {
  const counts: Traffic = { ok: 0, failed: 0, refused: 0 };
  const timer = setInterval(() => {
    const a = auth();
    fetch(url, { headers: a ? { authorization: `Bearer ${a}` } : {}, signal: AbortSignal.timeout(2000) }).then(
      async (r) => {
        await r.arrayBuffer();
        if (r.ok) counts.ok++;
        else counts.failed++;
      },
      () => counts.refused++,
    );
  }, 1000 / perSecond);
  return { counts, stop: () => clearInterval(timer) };
}
const snapshot = (t: Traffic): Traffic => ({ ...t });
const since = (t: Traffic, before: Traffic) => {
  const ok = t.ok - before.ok;
  const failed = t.failed - before.failed;
  return `${failed}/${ok + failed} answered requests failed (${ok + failed ? ((100 * failed) / (ok + failed)).toFixed(0) : '-'} %), ${t.refused - before.refused} not answered`;
};

// ---------------------------------------------------------------- run

console.log(
  `bad release → back on the good one: operator cluster ${opName}, plain stack ${swName}, ${ROUNDS} round(s), Swarm watched ${SWARM_WATCH_MS / 1000} s, load ${load()}`,
);
await ensureAgentImage();

const ctlLog: string[] = [];
let ctl: RunningController | undefined;
let apiToken: string | undefined;
const opTraffic = traffic(`http://127.0.0.1:${opApi}/api/election/status`, () => apiToken, 10);
const swTraffic = traffic(`http://127.0.0.1:${swApi}/api/election/status`, () => undefined, 10);
const events = recordEvents();
const cleanup = onExit(async () => {
  opTraffic.stop();
  swTraffic.stop();
  events.stop();
  await ctl?.stop().catch(() => undefined);
  await run('docker', ['stack', 'rm', swName]);
  await removeCluster(opName);
  await waitFor('the plain stack removed', async () => (await stackNow(swName)).length === 0, 60_000, 500).catch(() => undefined);
  // The stack's network goes once its tasks are gone; docker stack rm does not wait for that.
  await sleep(3000);
  await run('docker', ['network', 'rm', `${swName}_net`]);
});

/** Polls until `done` holds of the stack; returns ms since t0 (undefined: not within maxMs). */
async function timeUntil(ns: string, t0: number, maxMs: number, done: (s: ServiceNow[]) => boolean): Promise<number | undefined> {
  while (now() - t0 < maxMs) {
    if (done(await stackNow(ns))) return now() - t0;
    await sleep(100);
  }
  return undefined;
}
const release = (s: ServiceNow[], svc: string) => s.find((x) => x.name.endsWith(`_${svc}`));

interface OpResult {
  backMs: number;
  /** The bad release's agent task running. */
  badMs?: number;
  detectMs: number;
  /** The first service update after the rollback was decided. */
  firstUpdateMs?: number;
  cause: string;
}
const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** Applies a bad release to the operator's cluster; ms until every service runs release 1 again. */
async function operatorRound(rel: number, fault: string): Promise<OpResult> {
  const before = snapshot(opTraffic.counts);
  const t0 = now();
  await apply(opSpec(rel, fault), token);
  let detectMs = 0;
  let badMs: number | undefined;
  const backMs = await timeUntil(opName, t0, 300_000, (s) => {
    if (!detectMs) void rolloutOf(opName).then((r) => r?.phase === 'RollingBack' && !detectMs && (detectMs = now() - t0));
    if (badMs === undefined && release(s, 'agent-a')?.running.some((t) => t.fault === fault)) badMs = now() - t0;
    return allOn(s, '1');
  });
  if (backMs === undefined)
    throw new Error(`operator: release ${rel} (${fault}) not rolled back within 300 s: ${describe(await stackNow(opName))}`);
  const r = await waitFor(
    'rollout RolledBack',
    async () => ((await rolloutOf(opName))?.phase === 'RolledBack' ? await rolloutOf(opName) : undefined),
    60_000,
    200,
  );
  // The decision's own time (the poll above is only an upper bound).
  const decidedAt = r?.cause?.at ? Date.parse(r.cause.at) : t0 + detectMs;
  detectMs = decidedAt - t0;
  const first = events.events.find(
    (e) => e.type === 'service' && e.action === 'update' && e.name.startsWith(`${opName}_`) && e.at >= decidedAt,
  );
  const firstUpdateMs = first ? first.at - t0 : undefined;
  const cause = `${r?.cause?.kind}${r?.cause?.rule ? ` rule ${r.cause.rule}` : ''}${r?.cause?.value !== undefined ? ` value ${Number(r.cause.value).toFixed(2)}` : ''}`;
  console.log(
    `  operator, ${fault.padEnd(9)}: bad agent running ${secs(badMs)}, rollback decided ${secs(detectMs)}, first rollback update ${secs(firstUpdateMs)}, whole stack back on release 1 ${secs(backMs)} (cause: ${cause}; traffic: ${since(opTraffic.counts, before)})`,
  );
  return { backMs, badMs, detectMs, firstUpdateMs, cause };
}

try {
  ctl = await startBenchController([opName], ctlLog);
  await Promise.all([apply(opSpec(1), token), stackDeploy(1)]);
  await waitFor('operator: release 1 succeeded', async () => (await rolloutOf(opName))?.phase === 'Succeeded', 180_000, 500);
  apiToken = (await bzzzctl(['api-token', opName, '--role', 'backend_developer'])).trim();
  await waitFor(
    'both stacks on release 1',
    async () => allOn(await stackNow(opName), '1') && allOn(await stackNow(swName), '1'),
    180_000,
    500,
  );

  const opErrors: OpResult[] = [];
  const opUnhealthy: OpResult[] = [];
  const swUnhealthyAgent: number[] = [];
  const swNeverBack: string[] = [];
  let swRolledBack = 0;
  let rel = 1;
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round} (load ${load()})`);
    // (a) operator, errors
    opErrors.push(await operatorRound(++rel, 'errors'));
    // (b) swarm, errors: watched, never rolled back
    {
      rel++;
      const before = snapshot(swTraffic.counts);
      const t0 = now();
      await stackDeploy(rel, 'errors');
      const updated = await timeUntil(swName, t0, SWARM_WATCH_MS, (s) =>
        s.every((x) => x.update === 'completed' && x.running.every((t) => t.release === String(rel))),
      );
      const backAt = await timeUntil(swName, t0, SWARM_WATCH_MS, (s) => release(s, 'agent')?.release === '1');
      const s = await stackNow(swName);
      const line = `not rolled back after ${((now() - t0) / 1000).toFixed(0)} s: ${describe(s)}; update completed after ${updated === undefined ? '-' : `${(updated / 1000).toFixed(1)} s`}; traffic: ${since(swTraffic.counts, before)}`;
      if (backAt !== undefined) {
        swRolledBack++;
        console.log(`  swarm,    errors   : rolled back after ${(backAt / 1000).toFixed(1)} s`);
      } else swNeverBack.push(line);
      console.log(`  swarm,    errors   : ${line}`);
      await stackDeploy(1);
      await waitFor('plain stack back on release 1', async () => allOn(await stackNow(swName), '1'), 120_000, 200);
    }
    // (c) operator, unhealthy
    opUnhealthy.push(await operatorRound(++rel, 'unhealthy'));
    // (c) swarm, unhealthy: the agent's service rolls back by itself, the companion does not
    {
      rel++;
      const t0 = now();
      await stackDeploy(rel, 'unhealthy');
      let badMs: number | undefined;
      let rollbackMs: number | undefined;
      const agentBack = await timeUntil(swName, t0, 180_000, (s) => {
        const a = release(s, 'agent');
        if (badMs === undefined && a?.running.some((t) => t.fault === 'unhealthy')) badMs = now() - t0;
        if (rollbackMs === undefined && a?.update?.startsWith('rollback')) rollbackMs = now() - t0;
        return (
          !!a &&
          a.release === '1' &&
          !a.fault &&
          a.running.length > 0 &&
          a.running.every((t) => t.release === '1') &&
          a.update === 'rollback_completed'
        );
      });
      const s = await stackNow(swName);
      if (agentBack === undefined) console.log(`  swarm,    unhealthy: the agent NOT rolled back within 180 s: ${describe(s)}`);
      else swUnhealthyAgent.push(agentBack);
      const half = describe(s);
      console.log(
        `  swarm,    unhealthy: bad agent task running ${secs(badMs)}, Swarm's rollback started ${secs(rollbackMs)}, agent service back on release 1 ${secs(agentBack)}; then: ${half}`,
      );
      await stackDeploy(1);
      await waitFor('plain stack back on release 1', async () => allOn(await stackNow(swName), '1'), 120_000, 200);
    }
  }

  const sec = (xs: number[]) =>
    xs.length ? `median ${(quantile(xs, 0.5) / 1000).toFixed(1)} s (${xs.map((x) => (x / 1000).toFixed(1)).join(', ')})` : '-';
  console.log(`\n${ROUNDS} round(s), load ${load()}`);
  console.log(`(a) metric-only bad release (BZZZ_FAULT=errors)`);
  console.log(`    operator: rollback decided ${sec(opErrors.map((r) => r.detectMs))}`);
  console.log(`    operator: whole stack back on release 1 ${sec(opErrors.map((r) => r.backMs))}`);
  console.log(`    causes: ${[...new Set(opErrors.map((r) => r.cause.replace(/ value .*/, '')))].join('; ')}`);
  console.log(
    `(b) swarm failure_action rollback, same release: rolled back in ${swRolledBack} of ${ROUNDS} round(s); ${swNeverBack.length} stayed on the bad release:`,
  );
  for (const l of swNeverBack) console.log(`    ${l}`);
  console.log(`(c) health check fails (BZZZ_FAULT=unhealthy)`);
  console.log(`    swarm: the agent's service back on release 1 ${sec(swUnhealthyAgent)}; the companion stays on the new release`);
  console.log(`    operator: whole stack back on release 1 ${sec(opUnhealthy.map((r) => r.backMs))}`);
  console.log(
    `    operator: rollback decided ${sec(opUnhealthy.map((r) => r.detectMs))}; causes: ${[...new Set(opUnhealthy.map((r) => r.cause.replace(/ value .*/, '')))].join('; ')}`,
  );
  if (swUnhealthyAgent.length && opUnhealthy.length) {
    console.log(
      `    ratio operator (whole stack) / swarm (one service): ${(
        quantile(
          opUnhealthy.map((r) => r.backMs),
          0.5,
        ) / quantile(swUnhealthyAgent, 0.5)
      ).toFixed(2)}`,
    );
  }
} catch (err) {
  console.error(`rollout-bad-release: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`controller log (last 30 lines):\n${ctlLog.slice(-30).join('\n')}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
