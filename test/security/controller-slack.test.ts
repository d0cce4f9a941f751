// Slack notifications against a local HTTP receiver that plays Slack's incoming webhook: payloads
// checked against the incoming-webhook format; a receiver that fails twice proves retries; one that
// never answers proves the caller is not held up; the webhook URL (the credential) never shows in
// logs or errors, whatever fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createControllerMetrics } from '../../src/controller/metrics.js';
import type { RolloutNotification } from '../../src/controller/notify/slack-message.js';
import { createSlackNotifier, deliveryError, type SlackNotifierOptions } from '../../src/controller/notify/slack.js';
import { captureLog } from '../support/capture-log.js';

/** The secret part of a Slack webhook URL: it must never leave the notifier. */
const SECRET_PATH = '/services/T0SECRET/B0SECRET/xoxSECRETxyz123';
const at = new Date('2026-11-30T12:00:00Z');

interface Receiver {
  url: string;
  bodies: unknown[];
  requests: Array<{ method?: string; contentType?: string; path?: string }>;
  /** Decides the answer to the n-th request (0-based); default 200 "ok". */
  answer: (n: number, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function receiver(answer: Receiver['answer'] = (_n, res) => res.writeHead(200).end('ok')): Promise<Receiver> {
  const r = { bodies: [] as unknown[], requests: [] as Receiver['requests'], answer } as Receiver;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = r.requests.length;
      r.requests.push({ method: req.method, contentType: req.headers['content-type'], path: req.url });
      r.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      r.answer(n, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET_PATH}`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return r;
}

/** Slack's incoming-webhook format, as far as this notifier uses it: text and/or Block Kit blocks. */
function expectSlackIncomingWebhook(body: unknown): void {
  expect(typeof body).toBe('object');
  const m = body as { text?: unknown; blocks?: unknown; channel?: unknown };
  expect(typeof m.text === 'string' || Array.isArray(m.blocks)).toBe(true);
  if (m.text !== undefined) expect(typeof m.text === 'string' && m.text.length > 0 && m.text.length <= 40_000).toBe(true);
  if (m.channel !== undefined) expect(m.channel).toMatch(/^[#@]?[\w.-]+$/);
  const allowed = new Set([
    'text',
    'blocks',
    'channel',
    'username',
    'icon_emoji',
    'icon_url',
    'attachments',
    'unfurl_links',
    'unfurl_media',
    'mrkdwn',
  ]);
  for (const k of Object.keys(m)) expect(allowed.has(k), `unexpected key ${k}`).toBe(true);
  const blocks = (m.blocks ?? []) as Array<Record<string, unknown>>;
  expect(blocks.length).toBeLessThanOrEqual(50);
  const textObject = (t: unknown, max: number) => {
    const o = t as { type: string; text: string };
    expect(['mrkdwn', 'plain_text']).toContain(o.type);
    expect(o.text.length).toBeGreaterThan(0);
    expect(o.text.length).toBeLessThanOrEqual(max);
  };
  for (const b of blocks) {
    expect(['header', 'section', 'context', 'divider']).toContain(b.type);
    if (b.type === 'header') {
      expect((b.text as { type: string }).type).toBe('plain_text');
      textObject(b.text, 150);
    }
    if (b.type === 'section') {
      expect(b.text !== undefined || b.fields !== undefined).toBe(true);
      if (b.text !== undefined) textObject(b.text, 3000);
      const fields = (b.fields ?? []) as unknown[];
      expect(fields.length).toBeLessThanOrEqual(10);
      for (const f of fields) textObject(f, 2000);
    }
    if (b.type === 'context') for (const e of b.elements as unknown[]) textObject(e, 3000);
  }
}

describe('Slack notifications against a local incoming-webhook receiver', () => {
  let dir: string;
  let r: Receiver | undefined;
  let log: ReturnType<typeof captureLog>;
  let metrics: ReturnType<typeof createControllerMetrics>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bzzz-slack-'));
    log = captureLog();
    metrics = createControllerMetrics({ defaultMetrics: false });
  });
  afterEach(async () => {
    await r?.close();
    r = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const notifier = (url: string, over: Partial<SlackNotifierOptions> = {}) => {
    writeFileSync(join(dir, 'slack_url'), `${url}\n`);
    return createSlackNotifier({ secretsDir: dir, file: 'slack_url', log, metrics: metrics.notifications, baseDelayMs: 20, ...over });
  };
  const count = async (outcome: string) => {
    const line = (await metrics.registry.metrics())
      .split('\n')
      .find((l) => l.startsWith(`bzzz_operator_notifications_total{channel="slack",outcome="${outcome}"} `));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };
  const neverLeaks = (...texts: string[]) => {
    for (const t of [log.text(), ...texts]) {
      expect(t).not.toContain('SECRET');
      expect(t).not.toContain(r?.url ?? SECRET_PATH);
    }
  };

  it('delivers every rollout event, in order, in the incoming-webhook format', async () => {
    r = await receiver();
    const n = notifier(r.url, { channel: '#bzzz-ops' });
    const events: RolloutNotification[] = [
      { event: 'started', cluster: 'prod', revision: 8, at },
      { event: 'paused', cluster: 'prod', revision: 8, cause: 'analysis', rule: 'latency', value: 'NaN', threshold: 'inconclusive', at },
      {
        event: 'rolled-back',
        cluster: 'prod',
        revision: 8,
        toRevision: 7,
        cause: 'alert',
        rule: 'errors',
        value: 0.08,
        threshold: '> 0.05',
        at,
      },
      {
        event: 'rolled-back',
        cluster: 'prod',
        revision: 9,
        toRevision: 7,
        cause: 'manual',
        detail: 'bzzzctl rollout undo by ops@walnut',
        at,
      },
      { event: 'rolled-back', cluster: 'prod', revision: 9, toRevision: 7, cause: 'abort', at },
      { event: 'rolled-back', cluster: 'prod', revision: 9, toRevision: 7, cause: 'swarm', at },
      { event: 'succeeded', cluster: 'prod', revision: 10, at },
    ];
    for (const e of events) n.notify(e);
    await n.flush();
    expect(r.bodies).toHaveLength(events.length);
    for (const b of r.bodies) expectSlackIncomingWebhook(b);
    for (const req of r.requests) {
      expect(req.method).toBe('POST');
      expect(req.contentType).toBe('application/json');
      expect(req.path).toBe(SECRET_PATH);
    }
    const texts = r.bodies.map((b) => (b as { text: string }).text);
    expect(texts[0]).toContain('prod: rollout started (revision 8)');
    expect(texts[2]).toContain('rolled back (revision 8 → 7) because an alert set off a trigger: errors = 0.08 (threshold &gt; 0.05)');
    expect(texts[3]).toContain('manual undo');
    expect(texts[4]).toContain('rollout aborted');
    expect(texts[5]).toContain('Swarm paused or rolled back a service');
    expect(texts[6]).toContain('rollout succeeded (revision 10)');
    expect((r.bodies[0] as { channel: string }).channel).toBe('#bzzz-ops');
    expect(await count('delivered')).toBe(events.length);
    neverLeaks();
  });

  it('retries failed deliveries with backoff and counts them', async () => {
    r = await receiver((n, res) => (n < 2 ? res.writeHead(503).end('service unavailable') : res.writeHead(200).end('ok')));
    const n = notifier(r.url);
    n.notify({ event: 'rolled-back', cluster: 'dev', revision: 3, toRevision: 2, cause: 'analysis', at });
    await n.flush();
    expect(r.bodies).toHaveLength(3);
    expect(r.bodies[0]).toEqual(r.bodies[2]);
    expect(await count('retried')).toBe(2);
    expect(await count('delivered')).toBe(1);
    expect(log.text()).toContain('Slack answered HTTP 503');
    neverLeaks();
  });

  it('gives up after the bounded retries, and not at all on a refusal that will not change (4xx)', async () => {
    r = await receiver((n, res) => (n < 10 ? res.writeHead(500).end(`echo ${SECRET_PATH}`) : res.writeHead(200).end('ok')));
    const bounded = notifier(r.url, { retries: 2 });
    bounded.notify({ event: 'started', cluster: 'dev', revision: 1, at });
    await bounded.flush();
    expect(r.bodies).toHaveLength(3);
    expect(await count('failed')).toBe(1);

    r.answer = (_n, res) => res.writeHead(400).end('invalid_payload');
    const before = r.bodies.length;
    bounded.notify({ event: 'started', cluster: 'dev', revision: 2, at });
    await bounded.flush();
    expect(r.bodies.length - before).toBe(1);
    expect(await count('failed')).toBe(2);
    neverLeaks();
  });

  it('never holds up the caller: a receiver that never answers times out in the background', async () => {
    let held = 0;
    r = await receiver(() => {
      held++; // and never answer
    });
    const n = notifier(r.url, { timeoutMs: 200, retries: 1 });
    const returned = n.notify({ event: 'rolled-back', cluster: 'dev', revision: 5, toRevision: 4, cause: 'alert', at });
    expect(returned).toBeUndefined(); // nothing to wait on
    // The caller goes on (a rollback would proceed here) while the delivery hangs at the receiver.
    for (let i = 0; i < 50 && held === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(held).toBe(1);
    await n.flush();
    expect(held).toBe(2);
    expect(await count('failed')).toBe(1);
    expect(log.text()).toContain('Slack did not answer in time');
    neverLeaks();
  });

  it('keeps a bounded queue, dropping the oldest waiting event', async () => {
    let release: Array<() => void> = [];
    r = await receiver((_n, res) => release.push(() => res.writeHead(200).end('ok')));
    const n = notifier(r.url, { maxQueue: 3 });
    for (let i = 1; i <= 10; i++) n.notify({ event: 'started', cluster: 'dev', revision: i, at });
    for (let i = 0; i < 100 && release.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    const drain = setInterval(() => {
      for (const f of release) f();
      release = [];
    }, 5);
    await n.flush();
    clearInterval(drain);
    const revisions = r.bodies.map((b) => JSON.stringify(b).match(/revision (\d+)/)?.[1]);
    expect(revisions).toEqual(['1', '8', '9', '10']);
    expect(await count('dropped')).toBe(6);
  });

  it('says what failed, never where: an unreachable receiver, a bad or missing secret', async () => {
    const closed = await receiver();
    const url = closed.url;
    await closed.close();
    const n = notifier(url, { retries: 1 });
    n.notify({ event: 'started', cluster: 'dev', revision: 1, at });
    await n.flush();
    expect(log.text()).toMatch(/Slack could not be reached \(ECONNREFUSED\)/);

    const bad = notifier(`not a url ${SECRET_PATH}`);
    bad.notify({ event: 'started', cluster: 'dev', revision: 1, at });
    await bad.flush();
    expect(log.text()).toContain('does not hold an http(s) URL');

    const missing = createSlackNotifier({ secretsDir: dir, file: 'nope', log, metrics: metrics.notifications, retries: 0 });
    missing.notify({ event: 'started', cluster: 'dev', revision: 1, at });
    await missing.flush();
    expect(log.text()).toContain(`the Slack webhook secret ${join(dir, 'nope')} cannot be read (ENOENT)`);

    // Whatever fetch or @slack/webhook put in an error, none of it is passed on.
    const leaky = Object.assign(new Error(`Failed to parse URL from http://h${SECRET_PATH}`), {
      original: Object.assign(new TypeError(`fetch failed: http://h${SECRET_PATH}`), { cause: { code: 'ENOTFOUND' } }),
    });
    const wrapped = deliveryError(leaky);
    expect(wrapped.message).toBe('Slack could not be reached (ENOTFOUND)');
    expect(wrapped.cause).toBeUndefined();
    expect(await count('failed')).toBe(3);
    neverLeaks(wrapped.message, String(wrapped.stack));
  });
});
