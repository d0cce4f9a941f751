// What the controller's webhook will receive from a real Alertmanager (Debian's
// prometheus-alertmanager, scripts/install-tools.sh): payload version "4", the bearer token read
// from a file, retries until a 2xx, and — from an HA pair — copies that share the dedupe key
// (group key, fingerprint, startsAt). The receiver is a local HTTP server that records requests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../agent/cluster-harness.js';
import { startAlertmanager, startAlertmanagerPair, type Alertmanager } from '../support/alertmanager.js';

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  fingerprint: string;
}
interface WebhookPayload {
  version: string;
  groupKey: string;
  status: string;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: WebhookAlert[];
}
interface Delivery {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  answered: number;
  payload: WebhookPayload;
}

/** Records every POST; answers `statuses` in turn, then 200. */
async function recordingReceiver(statuses: number[] = []): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = statuses.shift() ?? 200;
      deliveries.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        answered,
        payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload,
      });
      res.writeHead(answered, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/alertmanager/c1`,
    deliveries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const TOKEN = 'test-token-3f9c2a';
const alert = (name: string) => ({
  labels: { alertname: name, cluster: 'c1', severity: 'critical', instance: 'walnut:8081' },
  annotations: { summary: `${name} in c1` },
  startsAt: new Date(Date.now() - 60_000).toISOString(),
});

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('a real Alertmanager delivering to a webhook', () => {
  it('delivers a posted alert with payload version "4" and the bearer token from its file', async () => {
    const receiver = await recordingReceiver();
    cleanup.push(receiver.close);
    const am: Alertmanager = await startAlertmanager({ webhookUrl: receiver.url, token: TOKEN });
    cleanup.push(am.stop);

    await am.postAlerts([alert('BzzzErrorRateHigh')]);
    const [d] = await waitFor('a delivery', () => (receiver.deliveries.length > 0 ? receiver.deliveries : undefined), 20_000);
    expect(d.path).toBe('/webhooks/alertmanager/c1');
    expect(d.authorization).toBe(`Bearer ${TOKEN}`);
    expect(d.contentType).toContain('application/json');
    expect(d.payload).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'webhook',
      groupLabels: { alertname: 'BzzzErrorRateHigh', cluster: 'c1' },
      commonLabels: { alertname: 'BzzzErrorRateHigh', cluster: 'c1', severity: 'critical' },
    });
    expect(d.payload.groupKey).toContain('alertname="BzzzErrorRateHigh"');
    expect(d.payload.alerts).toHaveLength(1);
    expect(d.payload.alerts[0]).toMatchObject({ status: 'firing', labels: { instance: 'walnut:8081' } });
    expect(d.payload.alerts[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('retries when the receiver answers 500, until it gets a 2xx, with the same alert', async () => {
    const receiver = await recordingReceiver([500, 500]);
    cleanup.push(receiver.close);
    const am = await startAlertmanager({ webhookUrl: receiver.url, token: TOKEN });
    cleanup.push(am.stop);

    await am.postAlerts([alert('BzzzHealthCheckFailing')]);
    const deliveries = await waitFor(
      'a delivery answered 200',
      () => (receiver.deliveries.some((d) => d.answered === 200) ? receiver.deliveries : undefined),
      30_000,
    );
    expect(deliveries.map((d) => d.answered)).toEqual([500, 500, 200]);
    const keys = new Set(deliveries.map((d) => `${d.payload.groupKey}|${d.payload.alerts[0].fingerprint}|${d.payload.alerts[0].startsAt}`));
    expect(keys.size).toBe(1);
    expect(deliveries.every((d) => d.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('an HA pair: every copy it sends carries the same group key, fingerprint and startsAt', async () => {
    const receiver = await recordingReceiver();
    cleanup.push(receiver.close);
    const pair = await startAlertmanagerPair({ webhookUrl: receiver.url, token: TOKEN });
    cleanup.push(pair[0].stop, pair[1].stop);

    const a = alert('BzzzMemoryHigh');
    await Promise.all(pair.map((am) => am.postAlerts([a])));
    await waitFor('a delivery', () => (receiver.deliveries.length > 0 ? true : undefined), 20_000);
    // The second member waits a peer timeout (1 s) before it sends its own copy, unless the first one's
    // notification log reached it: give it that long.
    await new Promise((r) => setTimeout(r, 2_500));
    const keys = new Set(
      receiver.deliveries.map((d) => `${d.payload.groupKey}|${d.payload.alerts[0].fingerprint}|${d.payload.alerts[0].startsAt}`),
    );
    expect(receiver.deliveries.length).toBeGreaterThanOrEqual(1);
    expect(keys.size).toBe(1);
    expect(new Date(receiver.deliveries[0].payload.alerts[0].startsAt).getTime()).toBe(new Date(a.startsAt).getTime());
  });
});
