// Alert received → stack rollback started (issue 9's target: < 1 s), against Flagger's floor.
//
// A real swarm, a small cluster (1 agent of this tree's image + 1 busybox companion), the real
// controller (startController in-process, agents reached on their published ports), the real CLI
// for every apply. Generation 1 (release 1) is rolled out and succeeds. Then each round:
//   1. apply release k (every service changes) and wait until its rollout is Watching: converged,
//      inside its 10 min watch window — a release that looks fine;
//   2. POST an Alertmanager payload (version 4, a fresh fingerprint) with the bearer token to
//      /webhooks/alertmanager/<cluster> — from this script (t0 = just before the request), or with
//      --alertmanager through a real Alertmanager (Debian's prometheus-alertmanager, group_wait 0s;
//      t0 = just before POST /api/v2/alerts to it, so its own routing and delivery count);
//   3. measure until (a) the rollout record says RollingBack (read in a tight loop, one engine call
//      each, so the figure is at most one read late) and (b) the first service update of the
//      rollback is in the engine (the engine's own timestamp of the first `service update` event
//      of the cluster after t0: the stack had converged on release k and nothing else changes
//      it, so that update is the rollback's — step 4 then sees release 1 everywhere);
//   4. wait until every service runs release 1 again and the rollout says RolledBack.
// Prints median and p90 of (a) and (b) and the ratio to Flagger's floor. Flagger is not run here
// (no Kubernetes): its floor is COMPUTED from its defaults — a canary fails after `threshold`
// failed checks `interval` apart, interval 1m × threshold 5 = 300 s — before its rollback starts.
//
//   npm run bench:rollback-alert                      # 10 rounds, direct POST
//   npm run bench:rollback-alert -- --rounds 5 --alertmanager
//
// Needs: Docker in swarm mode, `npm run build` (the npm script does it; the agent image is built
// from it when not current), no other controller holding the lease (it waits for it).
import { parseArgs } from 'node:util';
import type { RunningController } from '../../src/controller/run.js';
import { startAlertmanager, type Alertmanager } from '../support/alertmanager.js';
import { alertmanagerPayload } from '../support/alertmanager-payload.js';
import { ensureTools } from './tools.mjs';
import {
  allOn,
  apply,
  describe,
  ensureAgentImage,
  load,
  now,
  onExit,
  pickPorts,
  quantile,
  recordEvents,
  removeCluster,
  rolloutOf,
  smallClusterSpec,
  startBenchController,
  stackNow,
  waitFor,
} from './rollout-support.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    alertmanager: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const FLAGGER_INTERVAL_S = 60;
const FLAGGER_THRESHOLD = 5;
const FLAGGER_FLOOR_MS = FLAGGER_INTERVAL_S * FLAGGER_THRESHOLD * 1000;
const ALERT = 'BzzzBenchRollback';

const name = `bench-alert-${Math.random().toString(36).slice(2, 6)}`;
const token = `bench-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const [api, health] = pickPorts(2);
const agents = [{ name: 'a', api: api!, health: health! }];
// The rollout under test: inside a 10 min watch window, with one dry-run rule (measured, decides nothing).
const analysis = `      watch: 10m
      rules:
        - name: health-score
          query: min(bzzz_system_health_score)
          failWhen: { below: 0 }
          interval: 10s
          dryRun: true`;
const spec = (release: number, withAnalysis: boolean) =>
  smallClusterSpec({ name, agents, release, webhookAlert: ALERT, analysis: withAnalysis ? analysis : undefined });

if (args.alertmanager) ensureTools(['prometheus-alertmanager']);
console.log(
  `alert → rollback: cluster ${name}, ${ROUNDS} rounds, ${args.alertmanager ? 'via a real Alertmanager' : 'direct POST'}, load ${load()}`,
);
await ensureAgentImage();

const ctlLog: string[] = [];
let ctl: RunningController | undefined;
let am: Alertmanager | undefined;
const events = recordEvents();
const cleanup = onExit(async () => {
  events.stop();
  await am?.stop();
  await ctl?.stop().catch(() => undefined);
  await removeCluster(name);
});

try {
  ctl = await startBenchController([name], ctlLog);
  const webhook = `http://127.0.0.1:${ctl.port}/webhooks/alertmanager/${name}`;
  if (args.alertmanager) am = await startAlertmanager({ webhookUrl: webhook, token, groupWait: '0s', groupBy: ['alertname', 'n'] });

  // Generation 1: no analysis, so its rollout succeeds once converged: the stable revision.
  await apply(spec(1, false), token);
  await waitFor('release 1 rolled out and succeeded', async () => (await rolloutOf(name))?.phase === 'Succeeded', 180_000, 500);
  await waitFor('release 1 running', async () => allOn(await stackNow(name), '1'), 60_000, 200);

  const toRecord: number[] = [];
  const toEngine: number[] = [];
  const answered: number[] = [];
  const back: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const release = round + 1;
    await apply(spec(release, true), token);
    const rec = await waitFor(
      `release ${release} converged (rollout Watching)`,
      async () => {
        const r = await rolloutOf(name);
        return r && r.phase === 'Watching' && allOn(await stackNow(name), String(release)) ? r : undefined;
      },
      180_000,
      200,
    );
    const startsAt = new Date().toISOString();
    const fingerprint = `${round.toString(16).padStart(4, '0')}${Math.random().toString(16).slice(2, 14)}`;
    const t0 = now();
    if (am) {
      await am.postAlerts([{ labels: { alertname: ALERT, severity: 'critical', n: String(round) }, startsAt }]);
    } else {
      const res = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(
          alertmanagerPayload({ alertname: ALERT, fingerprint, startsAt, groupKey: `{}:{alertname="${ALERT}",n="${round}"}` }),
        ),
      });
      answered.push(now() - t0);
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    }
    let tA = 0;
    for (;;) {
      const r = await rolloutOf(name);
      if (r?.generation === rec.generation && r.phase === 'RollingBack') {
        tA = now();
        break;
      }
      if (now() - t0 > 30_000) throw new Error(`round ${round}: no RollingBack within 30 s (phase ${r?.phase})`);
    }
    const first = await waitFor(
      'the first service update after the alert',
      async () => events.events.find((e) => e.type === 'service' && e.action === 'update' && e.name.startsWith(`${name}_`) && e.at >= t0),
      30_000,
      5,
    );
    await waitFor(
      `round ${round}: every service back on release 1 and the rollout RolledBack`,
      async () => (await rolloutOf(name))?.phase === 'RolledBack' && allOn(await stackNow(name), '1'),
      120_000,
      100,
    ).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; now: ${describe(await stackNow(name))}`);
    });
    back.push(now() - t0);
    toRecord.push(tA - t0);
    toEngine.push(first.at - t0);
    console.log(
      `round ${String(round).padStart(2)}: RollingBack recorded ${(tA - t0).toFixed(1).padStart(6)} ms, first service update (${first.name.slice(name.length + 1)}) ${(first.at - t0).toFixed(1).padStart(6)} ms, whole stack back on release 1 ${((now() - t0) / 1000).toFixed(1)} s`,
    );
  }

  const row = (label: string, xs: number[]) =>
    console.log(
      `${label.padEnd(44)} median ${quantile(xs, 0.5).toFixed(1).padStart(7)} ms   p90 ${quantile(xs, 0.9).toFixed(1).padStart(7)} ms   max ${Math.max(
        ...xs,
      )
        .toFixed(1)
        .padStart(7)} ms`,
    );
  console.log(`\n${ROUNDS} rounds, ${args.alertmanager ? 'through a real Alertmanager (group_wait 0s)' : 'direct POST'}; load ${load()}`);
  if (answered.length) row('webhook answered (202)', answered);
  row('(a) rollout record says RollingBack', toRecord);
  row('(b) first service update in the engine', toEngine);
  row('whole stack back on release 1 (tasks running)', back);
  const med = quantile(toEngine, 0.5);
  console.log(
    `\npeer: Flagger's floor, COMPUTED (not run): analysis interval ${FLAGGER_INTERVAL_S} s × threshold ${FLAGGER_THRESHOLD} = ${FLAGGER_FLOOR_MS / 1000} s before its rollback starts`,
  );
  console.log(
    `ratio (b) median / Flagger's floor: ${(med / FLAGGER_FLOOR_MS).toExponential(2)} (×${(FLAGGER_FLOOR_MS / med).toFixed(0)} sooner)`,
  );
  console.log(
    `target (b) < 1 s: ${quantile(toEngine, 0.9) < 1000 ? 'met (p90)' : med < 1000 ? 'met in the median, not at p90' : 'NOT met'}`,
  );
} catch (err) {
  console.error(`rollout-alert: ${err instanceof Error ? err.message : String(err)}`);
  console.error(`controller log (last 30 lines):\n${ctlLog.slice(-30).join('\n')}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
