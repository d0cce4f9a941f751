// Rollouts that roll themselves back on alerts, end to end and all real: agents built from this
// tree on the swarm, a Prometheus scraping their published health ports and evaluating the
// project's own alert rules (stacks/monitoring/alerts.yml, `for:` shortened), an Alertmanager HA
// pair delivering to the controller's webhook with the bearer token from a file, the controller
// (`bzzzctl controller run`) with its Slack URL in --secrets-dir, and a local Slack receiver.
// Between Alertmanager and the controller sits a relay that loses the controller's answer to the
// first delivery, as a network would: Alertmanager retries, and the pair's second member sends its
// own copy — the controller must act once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanup, cli, docker, port, specDir, uniqueName, waitFor, writeSpec, type Controller } from '../integration/harness.js';
import { startAlertmanagerPair, type Alertmanager } from '../support/alertmanager.js';
import { startPrometheus, type PrometheusProcess } from '../support/prometheus.js';
import { buildAgentImage, tagImage, untagImages } from '../support/agent-image.js';
import { alertmanagerPayload } from '../support/alertmanager-payload.js';
import { COMPANIONS_OFF } from '../support/specs.js';
import { spawnLeadingController } from '../support/leading-controller.js';
import { parseDurationMs } from '../../src/spec/units.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { RolloutStore, type RolloutState } from '../../src/store/rollout-store.js';
import type { RolloutStatusView, RevisionView } from '../../src/cli/commands/rollout.js';

/** Published ports of this test's agents (host mode; 29xxx is this test's range). */
const AGENTS = [
  { name: 'a', api: 29471, health: 29481 },
  { name: 'b', api: 29472, health: 29482 },
] as const;
/** alerts.yml's `for:` durations times this: 5m → 15s, 2m → 6s, 10m → 30s. */
const FOR_SCALE = 1 / 20;

/** The project's alert rules with shorter `for:` durations; the expressions stay as they are. */
function testAlertRules(): string {
  const doc = parse(readFileSync(join(ROOT, 'stacks/monitoring/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string; for?: string }> }>;
  };
  for (const g of doc.groups) {
    for (const r of g.rules) {
      if (r.for) r.for = `${Math.max(1, Math.round((parseDurationMs(r.for, 'for') * FOR_SCALE) / 1000))}s`;
    }
  }
  return stringify(doc);
}

interface Release {
  image: string;
  fault?: string;
  watch?: string;
}

function clusterSpec(name: string, prometheusUrl: string, r: Release): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "0.1.0"
  secrets:
    alertmanager_token: { env: BZZZ_E2E_ALERTMANAGER_TOKEN }
    slack_webhook_url: { env: BZZZ_E2E_SLACK_WEBHOOK_URL }
  agent:
    image: ${r.image}
    args: [agent, run]
    instances:
${AGENTS.map((a) => `      - name: ${a.name}\n        publish: { api: ${a.api}, health: ${a.health}, mode: host }`).join('\n')}
    networks: [internal, external]
    role: backend_developer
    election: { heartbeatMs: 1000, timeoutMs: 3000 }
${r.fault ? `    env:\n      BZZZ_FAULT: "${r.fault}"\n` : ''}    resources:
      limits: { cpus: 0.5, memory: 256M }
    stopGracePeriod: 3s
${COMPANIONS_OFF}  updatePolicy:
    parallelism: 1
    delay: 1s
    monitor: 2s
    failureAction: rollback
    maxFailureRatio: 0
    order: stop-first
  upgrade:
    analysis:
      provider:
        prometheus: { url: ${prometheusUrl}, timeout: 2s }
      watch: ${r.watch ?? '8s'}
      rules:
        # Something other than the error rate: the analysis does not see a release that fails requests.
        - name: memory
          query: max(bzzz_memory_usage_ratio{cluster="${name}"})
          failWhen: { above: 0.9 }
          interval: 2s
          noData: pass
  rollback:
    webhook:
      tokenSecret: alertmanager_token
    triggers:
      - name: error-rate
        matchers: ['alertname="BzzzErrorRateHigh"', 'cluster="${name}"']
        action: rollback-previous
      - name: health-checks
        matchers: ['alertname="BzzzHealthCheckFailing"', 'cluster="${name}"']
        action: pause
      - name: anything-else
        matchers: ['cluster="${name}"', 'severity="critical"']
        action: notify
  notifications:
    slack:
      webhookUrlSecret: slack_webhook_url
      channel: "#bzzz-e2e"
`;
}

interface Recorded {
  at: number;
  path: string;
  /** What the receiver answered (0: the answer was lost on purpose). */
  answered: number;
  body: string;
}

interface Receiver {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const closing = (server: Server) => () =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

/** Slack's side of an incoming webhook: records every message; answers `statuses` in turn, then 200 "ok". */
async function slackReceiver(statuses: number[]): Promise<Receiver> {
  const requests: Recorded[] = [];
  const { url, server } = await listen((req, res, body) => {
    const answered = statuses.shift() ?? 200;
    requests.push({ at: Date.now(), path: req.url ?? '', answered, body: body.toString('utf8') });
    res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'internal_error');
  });
  return { url, requests, close: closing(server) };
}

/**
 * Forwards every request to `target` and relays the answer — except the first one, whose answer
 * it loses (the connection is cut once the controller has answered), as a flaky network would.
 */
async function lossyRelay(target: string): Promise<Receiver> {
  const requests: Recorded[] = [];
  const { url, server } = await listen((req, res, body) => {
    const at = Date.now();
    const upstream = request(`${target}${req.url ?? ''}`, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const lose = requests.length === 0;
        requests.push({ at, path: req.url ?? '', answered: lose ? 0 : (answer.statusCode ?? 0), body: body.toString('utf8') });
        if (lose) req.socket.destroy();
        else res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
      });
    });
    upstream.on('error', () => res.writeHead(502).end());
    upstream.end(body);
  });
  return { url, requests, close: closing(server) };
}

/** A POST with node:http (the answer is read even when the server stops reading the body). */
function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('rollouts rolled back by alerts: real agents, Prometheus, an Alertmanager pair, the controller and Slack', () => {
  const name = uniqueName('e2e-alerts');
  const dir = specDir();
  const secretsDir = mkdtempSync(join(tmpdir(), 'bzzz-e2e-secrets-'));
  const token = randomBytes(24).toString('hex');
  const slackSecret = randomBytes(12).toString('hex');
  const store = new ClusterStore(port);
  const rollouts = new RolloutStore(port, store);
  const images: string[] = [];
  let releases: { one: string; two: string; three: string };
  let slack: Receiver;
  let slackUrl: string;
  let controller: Controller;
  let relay: Receiver;
  let pair: [Alertmanager, Alertmanager] | undefined;
  let prometheus: PrometheusProcess | undefined;
  let load: { stop(): Promise<void> } | undefined;
  let generation = 0;

  const env = () => ({ BZZZ_E2E_ALERTMANAGER_TOKEN: token, BZZZ_E2E_SLACK_WEBHOOK_URL: slackUrl });

  async function apply(r: Release, wait: boolean): Promise<number> {
    const file = writeSpec(dir, clusterSpec(name, prometheus!.url, r), `generation-${++generation}.yaml`);
    const res = await cli(['apply', '-f', file, '--timeout', '180s', ...(wait ? [] : ['--no-wait'])], env());
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const rec = await store.get(name);
    expect(rec?.generation).toBe(generation);
    return generation;
  }

  async function rolloutStatus(): Promise<{ code: number; view: RolloutStatusView }> {
    const r = await cli(['rollout', 'status', name, '-o', 'json']);
    return { code: r.code, view: JSON.parse(r.stdout) as RolloutStatusView };
  }

  async function history(): Promise<RevisionView[]> {
    const r = await cli(['rollout', 'history', name, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { revisions: RevisionView[] }).revisions;
  }

  async function phaseOf(gen: number, phases: string[], timeoutMs = 120_000): Promise<RolloutStatusView> {
    return waitFor(
      `generation ${gen} ${phases.join(' or ')}`,
      async () => {
        const { view } = await rolloutStatus();
        return view.generation === gen && phases.includes(view.phase) ? view : undefined;
      },
      timeoutMs,
      250,
    );
  }

  async function agentImages(): Promise<string[]> {
    return Promise.all(
      AGENTS.map(async (a) => {
        const s = JSON.parse(await docker('service', 'inspect', `${name}_agent-${a.name}`))[0];
        const c = s.Spec.TaskTemplate.ContainerSpec;
        const fault = (c.Env as string[] | undefined)?.find((e) => e.startsWith('BZZZ_FAULT='));
        return `${c.Image}${fault ? ` ${fault}` : ''}`;
      }),
    );
  }

  /** The rollout record as the swarm holds it, less the announcing marks the controller sets after every event. */
  async function recordNow(): Promise<RolloutState | undefined> {
    const r = await rollouts.get(name);
    return r && { ...r, log: r.log?.map(({ announced: _a, ...e }) => e) };
  }

  /** How many of the controller's log lines carry this message. */
  function logged(msg: string): number {
    return controller.logs.filter((l) => l.includes(`"msg":"${msg}"`)).length;
  }

  /** What went through the relay: when, the controller's answer, each alert's name and status (for failure messages). */
  function deliveries(): string {
    return relay.requests
      .map((r) => {
        const p = JSON.parse(r.body) as { alerts: Array<{ status: string; labels: Record<string, string> }> };
        return `${new Date(r.at).toISOString().slice(11, 23)} ${r.answered} [${p.alerts.map((a) => `${a.labels.alertname}/${a.labels.instance ?? ''} ${a.status}`).join(', ')}]`;
      })
      .join('; ');
  }

  /** API traffic on every agent, as users make it: the error-rate rule needs requests to judge. */
  function startLoad(apiToken: string): { stop(): Promise<void> } {
    let running = true;
    const loop = (async () => {
      while (running) {
        await Promise.all(
          AGENTS.map((a) =>
            fetch(`http://127.0.0.1:${a.api}/api/election/status`, {
              headers: { authorization: `Bearer ${apiToken}` },
              signal: AbortSignal.timeout(1000),
            }).then(
              (r) => r.arrayBuffer(),
              () => undefined,
            ),
          ),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
      },
    };
  }

  beforeAll(async () => {
    const built = await buildAgentImage(`${name}-1`);
    images.push(built);
    releases = {
      one: built,
      two: await tagImage(built, `bzzz/bzzzctl:${name}-2`),
      three: await tagImage(built, `bzzz/bzzzctl:${name}-3`),
    };
    images.push(releases.two, releases.three);

    // Slack fails the first delivery: the notifier must retry it.
    slack = await slackReceiver([500]);
    slackUrl = `${slack.url}/services/T0E2E/B0E2E/${slackSecret}`;
    writeFileSync(join(secretsDir, `${name}_slack_webhook_url`), `${slackUrl}\n`, { mode: 0o600 });

    // One lease per swarm: on a shared engine, wait for other controllers to stop first.
    controller = await spawnLeadingController([
      '--agents-via',
      'published-ports',
      '--secrets-dir',
      secretsDir,
      '--no-probe-agents',
      '--lease-ttl',
      '3s',
      '--resync',
      '10s',
      // Only this cluster: the backup suite running beside deploys clusters of its own.
      '--clusters',
      name,
    ]);
    relay = await lossyRelay(`http://127.0.0.1:${controller.port}`);
    pair = await startAlertmanagerPair({ webhookUrl: `${relay.url}/webhooks/alertmanager/${name}`, token, groupWait: '200ms' });
    prometheus = await startPrometheus({
      targets: AGENTS.map((a) => `127.0.0.1:${a.health}`),
      scrapeIntervalMs: 1000,
      job: 'bzzz-agents',
      labels: { cluster: name },
      rules: testAlertRules(),
      alertmanagers: pair.map((am) => am.url.replace('http://', '')),
    });

    const first = await apply({ image: releases.one }, true);
    await phaseOf(first, ['Succeeded']);
    const t = await cli(['api-token', name, '--role', 'observer']);
    expect(t.code, t.stderr).toBe(0);
    load = startLoad(t.stdout.trim());
  }, 900_000);

  afterAll(async () => {
    await load?.stop();
    await prometheus?.stop();
    for (const am of pair ?? []) await am.stop();
    await relay?.close();
    controller?.proc.kill('SIGTERM');
    await cleanup(name);
    await slack?.close();
    await untagImages(images);
    rmSync(secretsDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('a good release succeeds, judged by the Prometheus-provider analysis', async () => {
    const gen = await apply({ image: releases.two }, true);
    const view = await phaseOf(gen, ['Succeeded', 'Paused', 'RollingBack', 'RolledBack']);
    expect(view.phase, JSON.stringify(view.cause)).toBe('Succeeded');
    expect(view.stable).toBe(gen - 1);
    const [rule] = view.rules;
    expect(rule).toMatchObject({ name: 'memory', phase: 'Successful' });
    expect(rule.counts.measured).toBeGreaterThan(0);
    expect(rule.counts.failed).toBe(0);
    // Prometheus answered with the agents' memory ratio (a share of the 256M limit).
    expect(rule.last?.value).toBeGreaterThan(0);
    expect(rule.last?.value).toBeLessThan(0.9);
    expect(await agentImages()).toEqual([releases.two, releases.two]);
    expect((await rolloutStatus()).code).toBe(0);
  }, 240_000);

  it('refuses bad input on the live webhook, changing nothing', async () => {
    const before = await recordNow();
    const url = `http://127.0.0.1:${controller.port}/webhooks/alertmanager/${name}`;
    // Each would roll the stack back if it were taken: it names the rollback trigger's alert.
    const base = alertmanagerPayload({ alertname: 'BzzzErrorRateHigh', startsAt: new Date().toISOString() });
    const labels = { ...base.alerts[0].labels, cluster: name };
    const payload = { ...base, alerts: [{ ...base.alerts[0], labels }], commonLabels: labels };
    const json = { 'content-type': 'application/json' };
    const counts = async () => ({
      unauthorized: await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="unauthorized"'),
      too_large: await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="too_large"'),
      invalid: await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="invalid"'),
    });
    const was = await counts();

    const none = await post(url, JSON.stringify(payload), json);
    expect(none.status).toBe(401);
    const wrong = await post(url, JSON.stringify(payload), { ...json, authorization: `Bearer ${token}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toBe(none.body);
    const big = await post(url, JSON.stringify({ ...payload, receiver: 'x'.repeat(300 * 1024) }), {
      ...json,
      authorization: `Bearer ${token}`,
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ error: 'too_large' });
    const v3 = await post(url, JSON.stringify({ ...payload, version: '3' }), { ...json, authorization: `Bearer ${token}` });
    expect(v3.status).toBe(422);
    expect(JSON.parse(v3.body).reason).toMatch(/version 4/);

    expect(await counts()).toEqual({ unauthorized: was.unauthorized + 2, too_large: was.too_large + 1, invalid: was.invalid + 1 });
    expect(await recordNow()).toEqual(before);
    expect((await rolloutStatus()).view.phase).toBe('Succeeded');
  });

  it('a bad release the analysis misses is rolled back by the error-rate alert, once, in under a second', async () => {
    const good = (await store.get(name))!.generation;
    const accepted = await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="accepted"');
    const relayed = relay.requests.length;
    const bad = await apply({ image: releases.three, fault: 'errors' }, false);

    // (It may have succeeded first: an alert also rolls back a release that broke after its watch.)
    const back = await phaseOf(bad, ['RollingBack', 'RolledBack', 'Paused'], 180_000);
    expect(back.cause, JSON.stringify(back)).toMatchObject({ kind: 'alert', trigger: 'error-rate', alert: 'BzzzErrorRateHigh' });
    expect(['RollingBack', 'RolledBack']).toContain(back.phase);
    // Alertmanager's own delivery set it off: the first one through the relay.
    const delivery = relay.requests.slice(relayed).find((r) => r.body.includes('"BzzzErrorRateHigh"') && r.body.includes('"firing"'));
    expect(delivery).toBeDefined();
    const receivedAt = Date.parse(back.cause!.receivedAt!);
    const actedAt = Date.parse(back.cause!.at);
    const count = await controller.metric('bzzz_operator_alert_to_action_seconds_count');
    const sum = await controller.metric('bzzz_operator_alert_to_action_seconds_sum');
    const underOne = await controller.metric('bzzz_operator_alert_to_action_seconds_bucket', 'le="1"');
    console.log(
      `[e2e-alerts] alert delivered → rollback recorded: ${actedAt - delivery!.at} ms as the relay saw it; ` +
        `received → acted ${actedAt - receivedAt} ms; bzzz_operator_alert_to_action_seconds count ${count}, mean ${((sum / count) * 1000).toFixed(1)} ms`,
    );
    expect(count).toBeGreaterThanOrEqual(1);
    expect(underOne).toBe(count);

    const done = await phaseOf(bad, ['RolledBack'], 120_000);
    expect(done.stable).toBe(good);
    expect(done.log.filter((e) => e.kind === 'rolling-back')).toHaveLength(1);
    await waitFor('every agent back on the good revision', async () => {
      const now = await agentImages();
      return now.every((i) => i === releases.two) ? now : undefined;
    });
    expect((await rolloutStatus()).code).toBe(2);

    const revisions = await history();
    const gone = revisions.find((r) => r.revision === bad);
    expect(gone).toMatchObject({ current: true, serving: false, outcome: 'RolledBack' });
    expect(gone?.reason).toMatch(/alert BzzzErrorRateHigh matched trigger error-rate/);
    expect(revisions.find((r) => r.revision === good)).toMatchObject({ serving: true, outcome: 'Succeeded' });

    // Copies: the relay lost the controller's first answer (Alertmanager retries it) and the pair's
    // second member may send its own. The controller took the alert once and saw the rest as copies.
    await waitFor(
      'a copy of the delivery reaching the controller',
      async () => (await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="duplicate"')) >= 1,
      30_000,
    );
    expect(await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="accepted"')).toBeGreaterThan(accepted);
    const firing = relay.requests.slice(relayed).filter((r) => r.body.includes('"BzzzErrorRateHigh"'));
    console.log(`[e2e-alerts] deliveries of BzzzErrorRateHigh through the relay: ${firing.map((r) => r.answered).join(', ')}`);
    expect(firing.length).toBeGreaterThanOrEqual(2);
    const record = (await rollouts.get(name)) as RolloutState;
    expect(record.log?.filter((e) => e.kind === 'rolling-back')).toHaveLength(1);
  }, 360_000);

  it('Slack hears of the rollback with cluster, revision and trigger, despite a failed first delivery; its URL is never logged', async () => {
    const messages = () => slack.requests.map((r) => ({ ...r, json: JSON.parse(r.body) as { text: string; channel?: string } }));
    const rolledBack = await waitFor(
      'a "rolled back" message on Slack',
      async () => messages().find((m) => m.answered === 200 && /rolled back/.test(m.json.text) && /error-rate/.test(m.json.text)),
      30_000,
    );
    const alertNamed = messages().filter((m) => /rolled back/.test(m.json.text) && m.body.includes('BzzzErrorRateHigh'));
    const gen = (await store.get(name))!.generation;
    expect(rolledBack.path).toBe(`/services/T0E2E/B0E2E/${slackSecret}`);
    expect(rolledBack.json.channel).toBe('#bzzz-e2e');
    expect(rolledBack.json.text).toContain(name);
    expect(rolledBack.json.text).toContain(`revision ${gen} → ${gen - 1}`);
    expect(rolledBack.json.text).toContain('an alert set off a trigger');
    expect(alertNamed.length).toBeGreaterThanOrEqual(1);
    // Incoming-webhook format: text plus Block Kit blocks.
    expect(JSON.parse(rolledBack.body).blocks[0]).toMatchObject({ type: 'header' });

    // The first delivery was answered 500 and came again.
    const [first, second] = slack.requests;
    expect(first.answered).toBe(500);
    expect(second.body).toBe(first.body);
    expect(second.answered).toBe(200);
    expect(await controller.metric('bzzz_operator_notifications_total', 'channel="slack",outcome="retried"')).toBeGreaterThanOrEqual(1);

    const logs = controller.logs.join('\n');
    expect(logs).toContain('notification delivered');
    expect(logs).not.toContain(slackSecret);
    expect(logs).not.toContain(slackUrl);
    expect(logs).not.toContain(token);
  }, 60_000);

  it('a pause trigger pauses (exit 3); a notify trigger only records; resolved alerts change nothing', async () => {
    const gen = await apply({ image: releases.two, fault: 'unhealthy', watch: '5m' }, false);
    const paused = await phaseOf(gen, ['Paused', 'RollingBack', 'RolledBack'], 180_000);
    expect(paused.phase, JSON.stringify(paused.cause)).toBe('Paused');
    expect(paused.cause).toMatchObject({ kind: 'alert', trigger: 'health-checks', alert: 'BzzzHealthCheckFailing' });
    expect((await rolloutStatus()).code).toBe(3);

    // A notify trigger: recorded in the rollout's log and announced, the phase unchanged.
    const startsAt = new Date().toISOString();
    await Promise.all(
      (pair ?? []).map((am) =>
        am.postAlerts([{ labels: { alertname: 'BzzzStorageIOErrors', cluster: name, severity: 'critical' }, startsAt }]),
      ),
    );
    const noted = await waitFor('the notify trigger recorded', async () => {
      const r = await rollouts.get(name);
      return r?.log?.find((e) => e.kind === 'alert' && e.cause?.trigger === 'anything-else') ? r : undefined;
    });
    expect(noted.phase).toBe('Paused');
    await waitFor('Slack told of the alert', async () =>
      slack.requests.some((r) => r.answered === 200 && r.body.includes('BzzzStorageIOErrors')),
    );

    // Abort: back to the stable revision; the agents turn healthy and the health alert resolves.
    const acted = logged('alert sets off a trigger');
    const resolvedBefore = await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="ignored_resolved"');
    const relayed = relay.requests.length;
    const abort = await cli(['rollout', 'abort', name]);
    expect(abort.code, abort.stderr).toBe(0);
    await phaseOf(gen, ['Aborted'], 120_000);
    // Resolve the notify trigger's alert too, as Prometheus would (endsAt now).
    await Promise.all(
      (pair ?? []).map((am) =>
        am.postAlerts([
          { labels: { alertname: 'BzzzStorageIOErrors', cluster: name, severity: 'critical' }, startsAt, endsAt: new Date().toISOString() },
        ]),
      ),
    );
    const resolvedThrough = (alert: string) =>
      relay.requests.slice(relayed).some((r) => r.answered === 200 && r.body.includes('"resolved"') && r.body.includes(`"${alert}"`));
    await waitFor(
      'resolved notifications delivered',
      async () =>
        resolvedThrough('BzzzHealthCheckFailing') &&
        resolvedThrough('BzzzStorageIOErrors') &&
        (await controller.metric('bzzz_operator_webhook_requests_total', 'outcome="ignored_resolved"')) >= resolvedBefore + 2,
      120_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; through the relay: ${deliveries()}`);
    });
    // Delivered and answered; nothing acted on them: no trigger set off, and the rollout's log holds
    // the pause, the notify alert and the abort only.
    expect(logged('alert sets off a trigger')).toBe(acted);
    const after = await rollouts.get(name);
    expect(after?.phase).toBe('Aborted');
    expect(after?.log?.filter((e) => e.generation === gen).map((e) => `${e.kind}${e.cause ? ` ${e.cause.kind}` : ''}`)).toEqual([
      'started',
      'paused alert',
      'alert alert',
      'rolling-back manual',
      'aborted manual',
    ]);
  }, 360_000);
});
