// Attacks on the controller's Alertmanager webhook, over real sockets: the handler mounted in the
// controller's HTTP server (startHttp) as `bzzzctl controller run` mounts it. Strangers, wrong and
// borrowed tokens, unknown clusters, oversized, lying, trickling, malformed, wrong-version and
// schema-invalid bodies, and floods are each refused with a reason, and none of them acts.
// Copies of one alert (Alertmanager's retries, an HA peer's copy) act once; resolved alerts never.
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startHttp, type HttpEndpoint } from '../../src/controller/http.js';
import { createControllerMetrics } from '../../src/controller/metrics.js';
import {
  alertmanagerWebhook,
  type AlertAction,
  type AlertmanagerWebhookOptions,
  type WebhookCluster,
} from '../../src/controller/webhook/handler.js';
import { generateApiToken } from '../../src/crypto/api-callers.js';
import type { RollbackTrigger } from '../../src/spec/types.js';
import { alertmanagerPayload } from '../support/alertmanager-payload.js';
import { captureLog } from '../support/capture-log.js';
import { flush } from '../support/flush.js';
import { metric, sleep } from './harness.js';

const triggers: RollbackTrigger[] = [{ name: 'errors', matchers: ['alertname="BzzzErrorRate"'], action: 'rollback-previous' }];
const dev = generateApiToken();
const prod = generateApiToken();

interface Server {
  url: string;
  port: number;
  acts: Array<{ cluster: string; action: AlertAction }>;
  log: ReturnType<typeof captureLog>;
  endpoint: HttpEndpoint;
  /** What act() does; default: records and resolves. */
  behaviour: { act?: (cluster: string, action: AlertAction) => Promise<void> };
}

async function serve(options: Partial<AlertmanagerWebhookOptions> = {}): Promise<Server> {
  const clusters: Record<string, WebhookCluster> = {
    dev: { tokenSha256: dev.tokenSha256, triggers },
    prod: { tokenSha256: prod.tokenSha256, triggers },
    quiet: { triggers }, // no webhook token configured
    broken: { tokenSha256: dev.tokenSha256, triggers: [{ name: 'bad', matchers: ['nope'], action: 'pause' }] },
  };
  const metrics = createControllerMetrics({ defaultMetrics: false });
  const log = captureLog();
  const acts: Server['acts'] = [];
  const behaviour: Server['behaviour'] = {};
  const route = alertmanagerWebhook({
    lookup: async (name) => clusters[name],
    act: async (cluster, action) => {
      acts.push({ cluster, action });
      await behaviour.act?.(cluster, action);
    },
    metrics: metrics.webhook,
    log,
    readTimeoutMs: 500,
    burst: 1000,
    ...options,
  });
  const endpoint = await startHttp({
    listen: '127.0.0.1:0',
    registry: metrics.registry,
    health: () => ({ ok: true, checks: {} }),
    routes: [route],
    log,
  });
  return { url: `http://127.0.0.1:${endpoint.port}`, port: endpoint.port, acts, log, endpoint, behaviour };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** One request on a raw socket, written in pieces; resolves with the status, headers and body of the answer. */
function raw(
  port: number,
  head: string,
  pieces: Array<string | Buffer>,
  everyMs = 0,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const done = (result: { status: number; headers: Record<string, string>; body: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const parse = () => {
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? Number.NaN);
      const body = data.subarray(end + 4).toString('utf8');
      if (Number.isNaN(length) || Buffer.byteLength(body) >= length) done({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      parse();
    });
    // A server that stops reading may make writes fail (EPIPE): what it answered is still read.
    socket.on('error', () => undefined);
    socket.on('close', () => reject(new Error(`closed without a full answer: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`)));
    socket.write(head);
    let i = 0;
    const next = () => {
      if (i >= pieces.length || socket.destroyed) return;
      socket.write(pieces[i++]);
      timer = setTimeout(next, everyMs);
    };
    next();
  });
}

const webhookHead = (cluster: string, headers: Record<string, string>) =>
  `POST /webhooks/alertmanager/${cluster} HTTP/1.1\r\nhost: x\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe('attacks on the controller Alertmanager webhook', () => {
  let s: Server;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(async () => {
    await s.endpoint.close();
  });
  afterEach(async () => {
    // Nothing acts on a refused request, however long one waits.
    await flush();
    await sleep(20);
    s.acts.length = 0;
  });

  const post = (cluster: string, body: unknown, headers: Record<string, string> = bearer(dev.token)) =>
    fetch(`${s.url}/webhooks/alertmanager/${cluster}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const refusedWithoutActing = async (res: Response, status: number, outcome: string, reason: RegExp) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: string; reason: string };
    expect(body.error).toBe(outcome);
    expect(body.reason).toMatch(reason);
    await flush();
    await sleep(20);
    expect(s.acts).toEqual([]);
    return body;
  };

  it('refuses a request without a token, with a wrong token and with another cluster’s token — all alike', async () => {
    const payload = alertmanagerPayload();
    const none = await post('dev', payload, { 'content-type': 'application/json' });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const answers = [
      await refusedWithoutActing(none, 401, 'unauthorized', /Authorization: Bearer/),
      await refusedWithoutActing(await post('dev', payload, bearer('bzzz_wrong')), 401, 'unauthorized', /Bearer/),
      await refusedWithoutActing(await post('dev', payload, bearer(prod.token)), 401, 'unauthorized', /Bearer/),
      await refusedWithoutActing(
        await post('dev', payload, { authorization: `Basic ${dev.token}`, 'content-type': 'application/json' }),
        401,
        'unauthorized',
        /Bearer/,
      ),
      await refusedWithoutActing(
        await post('dev', payload, { ...bearer(''), authorization: `Bearer  ${dev.token}` }),
        401,
        'unauthorized',
        /Bearer/,
      ),
    ];
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
  });

  it('answers an unknown cluster, a cluster without a webhook token and a bad name exactly like a wrong token', async () => {
    const payload = alertmanagerPayload();
    const wrong = await (await post('dev', payload, bearer('bzzz_wrong'))).text();
    for (const cluster of ['nosuch', 'quiet', '..%2F..%2Fdev', 'dev/extra', 'DEV', '']) {
      for (const token of [dev.token, '']) {
        const res = await post(cluster, payload, bearer(token));
        expect(res.status, cluster).toBe(401);
        expect(await res.text()).toBe(wrong);
      }
    }
    expect(s.acts).toEqual([]);
  });

  it('refuses other methods on the webhook path', async () => {
    const res = await fetch(`${s.url}/webhooks/alertmanager/dev`, { headers: bearer(dev.token) });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('refuses a body over 256 KiB, declared or streamed, without reading it', async () => {
    const big = JSON.stringify({ ...alertmanagerPayload(), receiver: 'x'.repeat(300 * 1024) });
    const honest = await raw(s.port, webhookHead('dev', { ...bearer(dev.token), 'content-length': String(Buffer.byteLength(big)) }), [big]);
    expect(honest.status).toBe(413);
    expect(JSON.parse(honest.body)).toMatchObject({ error: 'too_large', reason: expect.stringMatching(/at most 262144/) });
    expect(honest.headers.connection).toBe('close');

    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const pieces = Array.from({ length: 40 }, () => chunk('x'.repeat(16 * 1024)));
    const chunked = await raw(s.port, webhookHead('dev', { ...bearer(dev.token), 'transfer-encoding': 'chunked' }), pieces);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error).toBe('too_large');

    // A stranger's big body is not even looked at: 401 first.
    const stranger = await raw(
      s.port,
      webhookHead('dev', { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) }),
      [big],
    );
    expect(stranger.status).toBe(401);
    expect(s.acts).toEqual([]);
  });

  it('refuses a body that lies about its length: more bytes than declared, or fewer and then silence', async () => {
    const payload = JSON.stringify(alertmanagerPayload());
    // Declares 100 bytes, sends the whole payload and a megabyte more: only 100 bytes are taken as
    // the body (not JSON), and the rest is no HTTP request — the connection is refused and closed.
    const megabyte = Array.from({ length: 64 }, () => 'x'.repeat(16 * 1024));
    const more = await raw(s.port, webhookHead('dev', { ...bearer(dev.token), 'content-length': '100' }), [payload, ...megabyte], 5);
    expect(more.status).toBe(400);
    expect(JSON.parse(more.body)).toMatchObject({ error: 'malformed', reason: expect.stringMatching(/not JSON|Content-Length/) });
    // Declares 100 bytes and sends just them: not JSON, 400 from the webhook itself.
    const cut = await raw(s.port, webhookHead('dev', { ...bearer(dev.token), 'content-length': '100' }), [payload.slice(0, 100)]);
    expect(cut.status).toBe(400);
    expect(JSON.parse(cut.body)).toMatchObject({ error: 'malformed', reason: expect.stringMatching(/not JSON/) });

    // Declares the full length, sends ten bytes and stops: the read deadline answers 408.
    const started = Date.now();
    const fewer = await raw(s.port, webhookHead('dev', { ...bearer(dev.token), 'content-length': String(payload.length) }), [
      payload.slice(0, 10),
    ]);
    expect(fewer.status).toBe(408);
    expect(JSON.parse(fewer.body)).toMatchObject({ error: 'timeout', reason: expect.stringMatching(/within 500 ms/) });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(s.acts).toEqual([]);
  });

  it('cuts off a body that trickles in slower than the read deadline', async () => {
    const payload = JSON.stringify(alertmanagerPayload());
    const pieces = payload.match(/.{1,20}/gs) ?? [];
    const slow = await raw(s.port, webhookHead('dev', { ...bearer(dev.token), 'content-length': String(payload.length) }), pieces, 100);
    expect(slow.status).toBe(408);
    expect(s.acts).toEqual([]);
  });

  it('refuses malformed JSON (400) and a body that is not declared JSON (415)', async () => {
    await refusedWithoutActing(await post('dev', '{"version": "4", "alerts": [}'), 400, 'malformed', /not JSON/);
    await refusedWithoutActing(await post('dev', '', bearer(dev.token)), 400, 'malformed', /not JSON/);
    const text = await post('dev', JSON.stringify(alertmanagerPayload()), {
      authorization: `Bearer ${dev.token}`,
      'content-type': 'text/plain',
    });
    await refusedWithoutActing(text, 415, 'malformed', /text\/plain.*is not application\/json/);
  });

  it('refuses another payload version and a schema-invalid payload with the JSON path (422)', async () => {
    const v3 = await refusedWithoutActing(
      await post('dev', { ...alertmanagerPayload(), version: '3' }),
      422,
      'invalid',
      /\/version: "3" is not "4"/,
    );
    expect(v3.reason).toMatch(/version 4/);
    const bad = alertmanagerPayload();
    (bad.alerts[0] as { status: string }).status = 'pending';
    await refusedWithoutActing(await post('dev', bad), 422, 'invalid', /\/alerts\/0\/status: must be one of firing, resolved/);
    const huge = alertmanagerPayload();
    huge.alerts = Array.from({ length: 501 }, () => huge.alerts[0]);
    await refusedWithoutActing(await post('dev', huge), 422, 'invalid', /\/alerts: .*limit/);
    await refusedWithoutActing(await post('dev', [1, 2]), 422, 'invalid', /^not an Alertmanager webhook payload \(version 4\): \/:/);
  });

  it('acts once on an alert whatever the copies: retries and the HA peer (same group key) are duplicates', async () => {
    const payload = alertmanagerPayload({ fingerprint: '00000000000000a1' });
    const first = await post('dev', payload);
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ outcome: 'accepted', accepted: 1, duplicate: 0, resolved: 0, noMatch: 0 });
    const copies = await Promise.all([post('dev', payload), post('dev', payload), post('dev', { ...payload, receiver: 'peer-am' })]);
    for (const c of copies) {
      expect(c.status).toBe(200);
      expect(await c.json()).toMatchObject({ outcome: 'duplicate', duplicate: 1, accepted: 0 });
    }
    await flush();
    expect(s.acts).toHaveLength(1);
    expect(s.acts[0]).toMatchObject({
      cluster: 'dev',
      action: {
        trigger: 'errors',
        action: 'rollback-previous',
        alert: { name: 'BzzzErrorRate', fingerprint: '00000000000000a1', startsAt: payload.alerts[0].startsAt },
      },
    });
    expect(s.acts[0].action.receivedAt).toBeInstanceOf(Date);

    // Two copies racing each other still act once.
    const racing = alertmanagerPayload({ fingerprint: '00000000000000a2' });
    const both = await Promise.all([post('dev', racing), post('dev', racing)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 202]);
    // The same alert in another cluster is that cluster's own.
    expect((await post('prod', racing, bearer(prod.token))).status).toBe(202);
    // A new firing of the alert (a new startsAt) acts again.
    expect((await post('dev', alertmanagerPayload({ fingerprint: '00000000000000a2', startsAt: '2026-11-30T11:00:00Z' }))).status).toBe(
      202,
    );
    // Keyed on the group key as well (the issue's key): another route's group is another notification.
    expect(
      (await post('dev', alertmanagerPayload({ fingerprint: '00000000000000a2', groupKey: '{}/{team="x"}:{alertname="BzzzErrorRate"}' })))
        .status,
    ).toBe(202);
    await flush();
    expect(s.acts.map((a) => a.cluster)).toEqual(['dev', 'dev', 'prod', 'dev', 'dev']);
  });

  it('never acts on a resolved alert, nor on one no trigger matches', async () => {
    const resolved = await post('dev', alertmanagerPayload({ status: 'resolved', fingerprint: '00000000000000b1' }));
    expect(resolved.status).toBe(200);
    expect(await resolved.json()).toMatchObject({ outcome: 'ignored_resolved', resolved: 1 });
    const other = await post('dev', alertmanagerPayload({ alertname: 'BzzzDiskFull', fingerprint: '00000000000000b2' }));
    expect(await other.json()).toMatchObject({ outcome: 'no_match', noMatch: 1 });
    await flush();
    await sleep(20);
    expect(s.acts).toEqual([]);
  });

  it('answers before the action finishes, and a failed action can be retried by the next copy', async () => {
    let release: () => void = () => undefined;
    s.behaviour.act = () => new Promise<void>((r) => (release = r)); // an action that hangs
    const hanging = await post('dev', alertmanagerPayload({ fingerprint: '00000000000000c1' }));
    expect(hanging.status).toBe(202);
    await flush();
    expect(s.acts).toHaveLength(1);
    release();

    s.behaviour.act = () => Promise.reject(new Error('store unavailable'));
    const payload = alertmanagerPayload({ fingerprint: '00000000000000c2' });
    expect((await post('dev', payload)).status).toBe(202);
    await flush();
    s.behaviour.act = undefined;
    expect((await post('dev', payload)).status).toBe(202); // the failed claim was released
    await flush();
    expect(s.acts.map((a) => a.action.alert.fingerprint)).toEqual(['00000000000000c1', '00000000000000c2', '00000000000000c2']);
    expect(s.log.text()).toContain('store unavailable');
  });

  it('answers 500 naming the trigger when a stored spec has a matcher that cannot be used, and acts on nothing', async () => {
    await refusedWithoutActing(
      await post('broken', alertmanagerPayload()),
      500,
      'error',
      /triggers\[0\] \(bad\)\.matchers\[0\]: "nope" is not a matcher/,
    );
  });

  it('counts every outcome, and never logs a token or the payload', async () => {
    const text = async (outcome: string) => metric(s.url, 'bzzz_operator_webhook_requests_total', `outcome="${outcome}"`);
    for (const outcome of [
      'accepted',
      'duplicate',
      'unauthorized',
      'too_large',
      'malformed',
      'invalid',
      'ignored_resolved',
      'no_match',
      'timeout',
    ]) {
      expect(await text(outcome), outcome).toBeGreaterThan(0);
    }
    const logs = s.log.text();
    for (const secret of [dev.token, prod.token, 'error rate above 5 %', 'http://prometheus:9090']) expect(logs).not.toContain(secret);
  });
});

describe('the controller Alertmanager webhook when its clusters cannot be read', () => {
  it('answers 503 with Retry-After, saying nothing of the cluster or the failure', async () => {
    const s = await serve({
      lookup: () => Promise.reject(new Error('store unreachable: /var/run/docker.sock')),
    });
    try {
      const res = await fetch(`${s.url}/webhooks/alertmanager/dev`, {
        method: 'POST',
        headers: bearer(dev.token),
        body: JSON.stringify(alertmanagerPayload()),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const body = await res.text();
      expect(body).not.toContain('docker.sock');
      expect(JSON.parse(body)).toMatchObject({ error: 'error', reason: expect.stringMatching(/retry/) });
      await flush();
      expect(s.acts).toEqual([]);
    } finally {
      await s.endpoint.close();
    }
  });
});

describe('flooding the controller Alertmanager webhook', () => {
  it('answers 429 with Retry-After once a cluster’s burst is spent, and acts on none of the refused', async () => {
    const s = await serve({ burst: 5, ratePerSecond: 0.5 });
    try {
      const send = (i: number) =>
        fetch(`${s.url}/webhooks/alertmanager/dev`, {
          method: 'POST',
          headers: bearer(dev.token),
          body: JSON.stringify(alertmanagerPayload({ fingerprint: (0xf000 + i).toString(16) })),
        });
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => send(i)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((x) => x === 202)).toHaveLength(5);
      expect(statuses.filter((x) => x === 429)).toHaveLength(25);
      const limited = answers.find((r) => r.status === 429) as Response;
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited.json()).toMatchObject({ error: 'rate_limited', reason: expect.stringMatching(/retry in \d+ s/) });
      await flush();
      await sleep(20);
      expect(s.acts).toHaveLength(5);
      // Other clusters have buckets of their own; strangers spend none of them.
      const strangers = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${s.url}/webhooks/alertmanager/prod`, { method: 'POST', headers: bearer('bzzz_wrong'), body: '{}' }),
        ),
      );
      expect(strangers.every((r) => r.status === 401)).toBe(true);
      const prodAnswer = await fetch(`${s.url}/webhooks/alertmanager/prod`, {
        method: 'POST',
        headers: bearer(prod.token),
        body: JSON.stringify(alertmanagerPayload()),
      });
      expect(prodAnswer.status).toBe(202);
      expect(await metric(s.url, 'bzzz_operator_webhook_requests_total', 'outcome="rate_limited"')).toBe(25);
    } finally {
      await s.endpoint.close();
    }
  });
});
