// Rollout events as Slack incoming-webhook messages: a plain `text` (what notifications and
// clients without blocks show) and Block Kit `blocks`. Pure: an event in, a message out. Every
// string from outside (rule names, reasons, cluster names) is escaped for Slack's mrkdwn and cut
// to Slack's block limits, so a message is never refused for its size or read as markup.

export type RollbackCause = 'analysis' | 'alert' | 'swarm' | 'engine' | 'manual' | 'abort';
/** on-v1, on-v2, v1-failed: a switch between v2 and the v1 systemd services finished or failed. */
export type RolloutEventKind =
  | 'started'
  | 'succeeded'
  | 'paused'
  | 'rolled-back'
  | 'alert'
  | 'on-v1'
  | 'on-v2'
  | 'v1-failed'
  | 'migration'
  | 'rotation'
  | 'backup-failed'
  | 'backup-missed'
  | 'verify-failed'
  | 'drill-failed';

export interface RolloutNotification {
  event: RolloutEventKind;
  cluster: string;
  /** The revision the rollout is about (for a rollback: the one given up). */
  revision: number;
  /** For a rollback: the revision brought back. */
  toRevision?: number;
  /** Why it paused or rolled back. */
  cause?: RollbackCause;
  /** The analysis rule or alert trigger that decided it. */
  rule?: string;
  /** The value seen, as measured (a number) or as the rule shows it. */
  value?: number | string;
  /** The rule's threshold, as written, e.g. "> 5 %" or "200 % of baseline". */
  threshold?: string;
  /** More words for people: the engine's reason, the alert's name, who ran the command. */
  detail?: string;
  at: Date;
}

/** The parts of Slack's message format this sends (incoming webhooks: `text` and/or `blocks`). */
export interface SlackText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text?: SlackText; fields?: SlackText[] }
  | { type: 'context'; elements: SlackText[] };
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
  channel?: string;
}

// Slack's limits: header text 150 characters, a section's text 3000, a field 2000, 10 fields.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;

const TITLE: Record<RolloutEventKind, { icon: string; words: string }> = {
  started: { icon: ':arrows_counterclockwise:', words: 'rollout started' },
  succeeded: { icon: ':white_check_mark:', words: 'rollout succeeded' },
  paused: { icon: ':double_vertical_bar:', words: 'rollout paused' },
  'rolled-back': { icon: ':rewind:', words: 'rolled back' },
  alert: { icon: ':rotating_light:', words: 'alert' },
  'on-v1': { icon: ':rewind:', words: 'rolled back to v1' },
  'on-v2': { icon: ':fast_forward:', words: 'back on v2' },
  'v1-failed': { icon: ':x:', words: 'switch between v1 and v2 failed' },
  migration: { icon: ':truck:', words: 'migration' },
  rotation: { icon: ':key:', words: 'rotation' },
  'backup-failed': { icon: ':x:', words: 'backup failed' },
  'backup-missed': { icon: ':warning:', words: 'backup slots missed' },
  'verify-failed': { icon: ':x:', words: 'backup verification failed' },
  'drill-failed': { icon: ':x:', words: 'restore drill failed' },
};

const CAUSE: Record<RollbackCause, string> = {
  analysis: 'metric analysis failed',
  alert: 'an alert set off a trigger',
  swarm: 'Swarm paused or rolled back a service',
  engine: 'the engine refused the generation',
  manual: 'manual undo',
  abort: 'rollout aborted',
};

export function slackMessage(n: RolloutNotification, channel?: string): SlackMessage {
  const title = `${n.cluster}: ${TITLE[n.event].words}${n.revision > 0 ? ` (revision ${n.revision}${n.toRevision !== undefined ? ` → ${n.toRevision}` : ''})` : ''}`;
  const because = n.cause === undefined ? '' : ` because ${CAUSE[n.cause]}`;
  const ruleText =
    n.rule === undefined
      ? ''
      : `: ${n.rule}${n.value !== undefined ? ` = ${formatValue(n.value)}` : ''}${n.threshold !== undefined ? ` (threshold ${n.threshold})` : ''}`;
  const text = cut(`${TITLE[n.event].icon} ${escapeMrkdwn(`${title}${because}${ruleText}`)}`, SECTION_MAX);

  const fields: SlackText[] = [
    field('Cluster', n.cluster),
    field('Revision', n.toRevision !== undefined ? `${n.revision} → ${n.toRevision}` : String(n.revision)),
  ];
  if (n.cause !== undefined) fields.push(field('Cause', `${n.cause} (${CAUSE[n.cause]})`));
  if (n.rule !== undefined) fields.push(field('Rule', n.rule));
  if (n.value !== undefined) fields.push(field('Value', formatValue(n.value)));
  if (n.threshold !== undefined) fields.push(field('Threshold', n.threshold));

  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${TITLE[n.event].words}: ${n.cluster}`, HEADER_MAX) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(`${title}${because}`), SECTION_MAX) }, fields },
  ];
  if (n.detail !== undefined && n.detail !== '')
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(n.detail), SECTION_MAX) } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `bzzz-operator · ${n.at.toISOString()}` }] });
  return channel === undefined ? { text, blocks } : { text, blocks, channel };
}

function field(name: string, value: string): SlackText {
  return { type: 'mrkdwn', text: cut(`*${name}*\n${escapeMrkdwn(value)}`, FIELD_MAX) };
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Slack's three control characters in mrkdwn. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
