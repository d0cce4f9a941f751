// Slack notifications of rollout events through an incoming webhook (@slack/webhook). The URL is
// itself the credential: it is read from the Docker secret mounted in the controller
// (`<secretsDir>/<file>`), kept in this closure, and never logged or put into an error — every
// failure is rewritten into a SlackDeliveryError that says what happened (HTTP status, network
// error code) and nothing of where.
//
// `notify` never blocks and never throws: events go into a bounded queue (the oldest waiting one
// is dropped when it is full) that one worker delivers in order, retrying what may pass later
// (network errors, timeouts, 429, 5xx) with exponential backoff a bounded number of times. A
// rollback never waits on Slack. `flush()` waits for the queue to drain (tests, shutdown).
import { join } from 'node:path';
import { IncomingWebhook } from '@slack/webhook';
import { systemClock, type Clock } from '../../util/clock.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { readUpTo } from '../../util/read-up-to.js';
import { slackMessage, type RolloutNotification } from './slack-message.js';

export type NotificationOutcome = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface NotificationMetrics {
  notification(channel: string, outcome: NotificationOutcome): void;
}

export interface Notifier {
  /** Queues the event; returns at once. */
  notify(event: RolloutNotification): void;
  /** Resolves once every queued event was delivered or given up. */
  flush(): Promise<void>;
}

export interface SlackNotifierOptions {
  /** The controller's secrets directory (where Docker mounts its secrets, /run/secrets). */
  secretsDir: string;
  /** The secret's file name in it (the spec's `notifications.slack.webhookUrlSecret`, as mounted). */
  file: string;
  channel?: string;
  log?: Logger;
  metrics?: NotificationMetrics;
  clock?: Clock;
  /** Events waiting at most; default 100. */
  maxQueue?: number;
  /** Tries after the first; default 4. */
  retries?: number;
  /** First backoff, doubled each retry up to `maxDelayMs`; defaults 1 s and 30 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** One delivery's time limit; default 10 s. */
  timeoutMs?: number;
}

/** A delivery failure, without the URL. `retryable` says whether trying again may help. */
export class SlackDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SlackDeliveryError';
  }
}

const CHANNEL = 'slack';
const MAX_URL_BYTES = 2048;

export function createSlackNotifier(options: SlackNotifierOptions): Notifier {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLogger();
  const metrics = options.metrics;
  const maxQueue = options.maxQueue ?? 100;
  const retries = options.retries ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const secretPath = join(options.secretsDir, options.file);

  const queue: RolloutNotification[] = [];
  let running: Promise<void> | undefined;
  let webhook: Promise<IncomingWebhook> | undefined;

  const client = (): Promise<IncomingWebhook> => {
    webhook ??= readUrl(secretPath).then((url) => new IncomingWebhook(url, { timeout: timeoutMs, retryConfig: { retries: 0 } }));
    // A missing secret may be mounted later (a service update): read it again next time.
    webhook.catch(() => (webhook = undefined));
    return webhook;
  };

  async function deliver(event: RolloutNotification): Promise<void> {
    const fields = { channel: CHANNEL, event: event.event, cluster: event.cluster, revision: event.revision };
    for (let attempt = 0; ; attempt++) {
      try {
        await send(await client(), slackMessage(event, options.channel));
        metrics?.notification(CHANNEL, 'delivered');
        log.info({ ...fields, attempt: attempt + 1 }, 'notification delivered');
        return;
      } catch (err) {
        const failure = err instanceof SlackDeliveryError ? err : new SlackDeliveryError('Slack delivery failed', false);
        if (!failure.retryable || attempt >= retries) {
          metrics?.notification(CHANNEL, 'failed');
          log.warn({ ...fields, attempts: attempt + 1, err: failure.message }, 'notification not delivered; giving up');
          return;
        }
        const delay = Math.max(failure.retryAfterMs ?? 0, Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
        metrics?.notification(CHANNEL, 'retried');
        log.info({ ...fields, attempt: attempt + 1, retryInMs: delay, err: failure.message }, 'notification failed; retrying');
        await new Promise<void>((resolve) => clock.setTimeout(resolve, delay));
      }
    }
  }

  async function drain(): Promise<void> {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await deliver(next);
    running = undefined;
  }

  return {
    notify(event) {
      if (queue.length >= maxQueue) {
        const dropped = queue.shift();
        metrics?.notification(CHANNEL, 'dropped');
        log.warn({ channel: CHANNEL, event: dropped?.event, cluster: dropped?.cluster }, 'notification queue full; dropped the oldest');
      }
      queue.push(event);
      running ??= drain();
    },
    async flush() {
      while (running !== undefined) await running;
    },
  };
}

/** Sends one message; every failure becomes a SlackDeliveryError that carries no URL. */
async function send(webhook: IncomingWebhook, message: ReturnType<typeof slackMessage>): Promise<void> {
  try {
    await webhook.send(message);
  } catch (err) {
    throw deliveryError(err);
  }
}

/** What a failure of @slack/webhook (or fetch under it) says, minus anything that could hold the URL. */
export function deliveryError(err: unknown): SlackDeliveryError {
  const e = err as { statusCode?: unknown; code?: unknown; original?: { name?: unknown; cause?: { code?: unknown } } } | null;
  if (typeof e?.statusCode === 'number') {
    const status = e.statusCode;
    const retryable = status === 429 || status >= 500;
    return new SlackDeliveryError(`Slack answered HTTP ${status}`, retryable);
  }
  const original = e?.original;
  if (original?.name === 'TimeoutError' || original?.name === 'AbortError')
    return new SlackDeliveryError('Slack did not answer in time', true);
  const code = original?.cause?.code;
  if (typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code)) return new SlackDeliveryError(`Slack could not be reached (${code})`, true);
  return new SlackDeliveryError('Slack could not be reached', true);
}

async function readUrl(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readUpTo(path, MAX_URL_BYTES + 1);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new SlackDeliveryError(`the Slack webhook secret ${path} cannot be read (${typeof code === 'string' ? code : 'error'})`, true);
  }
  const url = bytes.toString('utf8').trim();
  let parsed: URL | undefined;
  try {
    parsed = bytes.length > MAX_URL_BYTES ? undefined : new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new SlackDeliveryError(`the Slack webhook secret ${path} does not hold an http(s) URL`, false);
  }
  return url;
}
