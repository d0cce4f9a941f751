// POST /webhooks/alertmanager/<cluster>: Alertmanager's webhook receiver on the controller.
//
//   1. authenticate: `Authorization: Bearer <token>`, its SHA-256 compared in constant time with
//      the cluster's stored token hash → 401; an unknown cluster, a cluster without a webhook
//      token and a wrong token get the same answer, so cluster names do not leak;
//   2. rate limit per cluster (token bucket, after authentication so strangers cannot spend a
//      cluster's budget) → 429 with Retry-After;
//   3. content type JSON → 415; body size limit → 413; read deadline → 408; not JSON → 400;
//      not Alertmanager's payload version 4 → 422 with the JSON path;
//   4. decide per alert (triggers.ts), drop copies (dedupe.ts), answer at once (202 when
//      something will be done, 200 when nothing is), and only then act, asynchronously through
//      the injected `act`: the answer never waits on an action.
// Nothing from the payload is logged whole, and the token never is.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_TOKEN_CHARS, tokenSha256 } from '../../crypto/api-callers.js';
import type { RollbackTrigger, TriggerAction } from '../../spec/types.js';
import type { RolloutCause } from '../../spec/rollout.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { json, type HttpRoute } from '../http.js';
import { createTokenBucket, type TokenBucket } from '../token-bucket.js';
import { answerAndClose, readBody } from './body.js';
import { alertKey, createAlertDedupe, type AlertDedupe } from './dedupe.js';
import { checkPayload, type AlertmanagerPayload } from './payload.js';
import { compileTriggers, decideAlerts, type CompiledTrigger } from './triggers.js';

export const WEBHOOK_PREFIX = '/webhooks/alertmanager/';

export type WebhookOutcome =
  | 'accepted'
  | 'duplicate'
  | 'unauthorized'
  | 'too_large'
  | 'malformed'
  | 'invalid'
  | 'rate_limited'
  | 'ignored_resolved'
  | 'no_match'
  | 'timeout'
  | 'error';

export interface WebhookMetrics {
  request(outcome: WebhookOutcome): void;
  /** Seconds from an alert received to its action started (see `observeActionStarted`). */
  alertToAction(seconds: number): void;
}

/** What the handler needs to know of a cluster. */
export interface WebhookCluster {
  /** Hex SHA-256 of the webhook's bearer token; without it every request is refused (401). */
  tokenSha256?: string;
  triggers: readonly RollbackTrigger[];
  lastRolloutStartedAt?: Date;
}

/** One action to take, handed to `act`. Labels come from the payload: untrusted, bounded by the schema. */
export interface AlertAction {
  trigger: string;
  action: TriggerAction;
  alert: { name: string; fingerprint: string; startsAt: string; labels: Record<string, string> };
  receivedAt: Date;
}

/** What an alert's action is deduplicated on: the trigger and the alert (fingerprint + startsAt). */
export function alertActionKey(action: AlertAction): string {
  return `${action.trigger}/${action.alert.fingerprint}/${action.alert.startsAt}`;
}

/** An alert's action as the cause recorded with what it did. */
export function alertCause(action: AlertAction, at: Date): RolloutCause {
  return {
    kind: 'alert',
    trigger: action.trigger,
    alert: action.alert.name,
    message: `alert ${action.alert.name} matched trigger ${action.trigger} (${action.action})`,
    at: at.toISOString(),
    receivedAt: action.receivedAt.toISOString(),
  };
}

export interface AlertmanagerWebhookOptions {
  /** The cluster's token hash, triggers and last rollout; undefined for an unknown cluster. Should answer from memory. */
  lookup(cluster: string): Promise<WebhookCluster | undefined>;
  /** Takes an action; called after the answer was sent, never awaited by the request. A rejection releases the alert's dedupe claim. */
  act(cluster: string, action: AlertAction): Promise<void>;
  clock?: Clock;
  log?: Logger;
  metrics?: WebhookMetrics;
  dedupe?: AlertDedupe;
  /** Default 256 KiB. */
  maxBodyBytes?: number;
  /** Time for the whole body to arrive, default 10 s. */
  readTimeoutMs?: number;
  /** Requests per second per cluster once the burst is spent, default 1. */
  ratePerSecond?: number;
  /** Default 20. */
  burst?: number;
}

export const DEFAULT_WEBHOOK_MAX_BODY_BYTES = 256 * 1024;
export const DEFAULT_WEBHOOK_READ_TIMEOUT_MS = 10_000;

const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** Compared against when there is no real hash, so a refusal takes the same time either way. */
const NO_HASH = Buffer.alloc(32);

/** Records the time from an alert received to its action started; the caller calls it when the action starts. */
export function observeActionStarted(metrics: WebhookMetrics, action: AlertAction, now: Date = new Date()): void {
  metrics.alertToAction((now.getTime() - action.receivedAt.getTime()) / 1000);
}

export function alertmanagerWebhook(options: AlertmanagerWebhookOptions): HttpRoute {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLogger();
  const metrics = options.metrics;
  const dedupe = options.dedupe ?? createAlertDedupe(clock);
  const maxBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_WEBHOOK_READ_TIMEOUT_MS;
  const buckets = new Map<string, TokenBucket>();
  const compiled = new WeakMap<readonly RollbackTrigger[], CompiledTrigger[]>();

  const refuse = (res: ServerResponse, outcome: WebhookOutcome, status: number, reason: string, headers: Record<string, string> = {}) => {
    metrics?.request(outcome);
    log.info({ outcome, status }, 'alertmanager webhook request refused');
    json(res, status, { error: outcome, reason }, headers);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    const receivedAt = new Date(clock.now());
    const cluster = CLUSTER_NAME.test(rest) ? rest : undefined;
    let found: WebhookCluster | undefined;
    try {
      found = cluster === undefined ? undefined : await options.lookup(cluster);
    } catch (err) {
      // Says nothing of the cluster: the caller is not authenticated yet.
      log.error({ err: errorMessage(err) }, 'alertmanager webhook: cluster lookup failed');
      return answerAndClose(req, res, () =>
        refuse(res, 'error', 503, 'the controller cannot read its clusters right now; retry', { 'retry-after': '5' }),
      );
    }
    if (!authenticated(req.headers.authorization, found?.tokenSha256) || cluster === undefined || found === undefined) {
      // Not read: close once answered, so a stranger's body is never taken in.
      return answerAndClose(req, res, () =>
        refuse(res, 'unauthorized', 401, 'a valid "Authorization: Bearer <token>" for this webhook is required', {
          'www-authenticate': 'Bearer realm="bzzz-operator"',
        }),
      );
    }
    const wait = bucket(cluster).tryTake();
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      return answerAndClose(req, res, () =>
        refuse(res, 'rate_limited', 429, `too many webhook requests for this cluster; retry in ${seconds} s`, {
          'retry-after': String(seconds),
        }),
      );
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      return answerAndClose(req, res, () =>
        refuse(res, 'malformed', 415, `content-type ${JSON.stringify(type.slice(0, 64))} is not application/json`),
      );
    }
    const read = await readBody(req, maxBytes, readTimeoutMs);
    if (!read.ok) {
      if (read.status === 0) return void metrics?.request('malformed');
      const outcome = read.status === 413 ? 'too_large' : 'timeout';
      return answerAndClose(req, res, () => refuse(res, outcome, read.status, read.reason));
    }
    let body: unknown;
    try {
      body = JSON.parse(read.body.toString('utf8'));
    } catch (err) {
      return refuse(res, 'malformed', 400, `the body is not JSON (${errorMessage(err).slice(0, 120)})`);
    }
    const check = checkPayload(body);
    if (!check.ok) return refuse(res, 'invalid', 422, `not an Alertmanager webhook payload (version 4): ${check.reason}`);

    let triggers = compiled.get(found.triggers);
    if (triggers === undefined) {
      try {
        triggers = compileTriggers(found.triggers);
      } catch (err) {
        // The spec's checks refuse bad matchers at apply; a stored spec that still has one is the
        // operator's to fix, answered 500 (Alertmanager retries until it is fixed).
        log.error({ cluster, err: errorMessage(err) }, 'alertmanager webhook: the cluster has triggers that cannot be used');
        return refuse(res, 'error', 500, `the cluster's spec.rollback.triggers cannot be used: ${errorMessage(err)}`);
      }
      compiled.set(found.triggers, triggers);
    }
    dispatch(cluster, check.payload, triggers, found.lastRolloutStartedAt, receivedAt, res);
  }

  function dispatch(
    cluster: string,
    payload: AlertmanagerPayload,
    triggers: readonly CompiledTrigger[],
    lastRolloutStartedAt: Date | undefined,
    receivedAt: Date,
    res: ServerResponse,
  ): void {
    const counts = { accepted: 0, duplicate: 0, resolved: 0, noMatch: 0 };
    const actions: Array<{ key: string; action: AlertAction }> = [];
    for (const d of decideAlerts(payload.alerts, triggers, { now: receivedAt, lastRolloutStartedAt })) {
      if (d.outcome === 'resolved') counts.resolved++;
      else if (d.outcome === 'no_match') counts.noMatch++;
      else {
        const { alert } = d;
        const key = alertKey({ cluster, groupKey: payload.groupKey, fingerprint: alert.fingerprint, startsAt: alert.startsAt });
        if (!dedupe.claim(key)) {
          counts.duplicate++;
          continue;
        }
        counts.accepted++;
        const name = alert.labels.alertname ?? '';
        actions.push({
          key,
          action: {
            trigger: d.trigger.name,
            action: d.trigger.action,
            alert: { name, fingerprint: alert.fingerprint, startsAt: alert.startsAt, labels: { ...alert.labels } },
            receivedAt,
          },
        });
      }
    }
    const outcome: WebhookOutcome =
      counts.accepted > 0 ? 'accepted' : counts.duplicate > 0 ? 'duplicate' : counts.noMatch > 0 ? 'no_match' : 'ignored_resolved';
    metrics?.request(outcome);
    json(res, counts.accepted > 0 ? 202 : 200, { outcome, ...counts });
    if (actions.length === 0) return;
    setImmediate(() => {
      for (const { key, action } of actions) {
        log.info(
          {
            cluster,
            trigger: action.trigger,
            action: action.action,
            alertname: action.alert.name.slice(0, 128),
            fingerprint: action.alert.fingerprint,
          },
          'alert sets off a trigger',
        );
        Promise.resolve()
          .then(() => options.act(cluster, action))
          .catch((err: unknown) => {
            dedupe.release(key);
            log.error({ cluster, trigger: action.trigger, action: action.action, err: errorMessage(err) }, 'alert action failed');
          });
      }
    });
  }

  function bucket(cluster: string): TokenBucket {
    let b = buckets.get(cluster);
    if (b === undefined) {
      b = createTokenBucket(clock, options.ratePerSecond ?? 1, options.burst ?? 20);
      buckets.set(cluster, b);
    }
    return b;
  }

  return { prefix: WEBHOOK_PREFIX, methods: ['POST'], handle };
}

/** Constant-time: the presented token's SHA-256 against the stored one (or a stand-in when there is none). */
function authenticated(header: string | undefined, storedSha256: string | undefined): boolean {
  const match = /^Bearer ([^\s]+)$/.exec(header ?? '');
  const token = match && match[1].length <= MAX_TOKEN_CHARS ? match[1] : '';
  const presented = Buffer.from(tokenSha256(token), 'hex');
  const stored = storedSha256 !== undefined && /^[0-9a-f]{64}$/.test(storedSha256) ? Buffer.from(storedSha256, 'hex') : undefined;
  const equal = timingSafeEqual(presented, stored ?? NO_HASH);
  return equal && stored !== undefined && token !== '';
}
