// Rollout events as Slack messages: the fields a person needs, escaped, within Slack's limits.
import { describe, expect, it } from 'vitest';
import { slackMessage, type RolloutNotification } from '../../../../src/controller/notify/slack-message.js';

const at = new Date('2026-11-30T12:00:00Z');
const texts = (m: ReturnType<typeof slackMessage>) => JSON.stringify(m.blocks);

describe('slackMessage', () => {
  it('says a rollout started, with cluster and revision', () => {
    const m = slackMessage({ event: 'started', cluster: 'dev', revision: 7, at });
    expect(m.text).toBe(':arrows_counterclockwise: dev: rollout started (revision 7)');
    expect(m.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'rollout started: dev' } });
    expect(texts(m)).toContain('*Cluster*\\ndev');
    expect(texts(m)).toContain('*Revision*\\n7');
    expect(m.blocks.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'bzzz-operator · 2026-11-30T12:00:00.000Z' }] });
    expect(m).not.toHaveProperty('channel');
  });

  it('says a rollback with its cause, rule, value and threshold', () => {
    const n: RolloutNotification = {
      event: 'rolled-back',
      cluster: 'prod',
      revision: 8,
      toRevision: 7,
      cause: 'analysis',
      rule: 'error-rate',
      value: 0.0712345,
      threshold: '> 0.05',
      at,
    };
    const m = slackMessage(n, '#ops');
    expect(m.channel).toBe('#ops');
    expect(m.text).toBe(
      ':rewind: prod: rolled back (revision 8 → 7) because metric analysis failed: error-rate = 0.07123 (threshold &gt; 0.05)',
    );
    const fields = (m.blocks[1] as { fields: Array<{ text: string }> }).fields.map((f) => f.text);
    expect(fields).toEqual([
      '*Cluster*\nprod',
      '*Revision*\n8 → 7',
      '*Cause*\nanalysis (metric analysis failed)',
      '*Rule*\nerror-rate',
      '*Value*\n0.07123',
      '*Threshold*\n&gt; 0.05',
    ]);
  });

  it.each([
    ['alert', 'an alert set off a trigger'],
    ['swarm', 'Swarm paused or rolled back a service'],
    ['manual', 'manual undo'],
    ['abort', 'rollout aborted'],
  ] as const)('names the cause %s', (cause, words) => {
    expect(slackMessage({ event: 'rolled-back', cluster: 'c', revision: 2, toRevision: 1, cause, at }).text).toContain(words);
  });

  it('says succeeded and paused', () => {
    expect(slackMessage({ event: 'succeeded', cluster: 'c', revision: 3, at }).text).toContain('rollout succeeded (revision 3)');
    const p = slackMessage({
      event: 'paused',
      cluster: 'c',
      revision: 3,
      cause: 'analysis',
      rule: 'latency',
      value: 'NaN',
      threshold: 'inconclusive',
      at,
    });
    expect(p.text).toContain('rollout paused (revision 3) because metric analysis failed: latency = NaN (threshold inconclusive)');
  });

  it('escapes markup from outside and keeps to Slack limits', () => {
    const m = slackMessage({
      event: 'paused',
      cluster: 'c',
      revision: 1,
      rule: '<!channel> & <http://evil|x>',
      detail: 'x'.repeat(5000),
      at,
    });
    expect(texts(m)).not.toContain('<!channel>');
    expect(texts(m)).toContain('&lt;!channel&gt; &amp; &lt;http://evil|x&gt;');
    const detail = m.blocks[2] as { text: { text: string } };
    expect(detail.text.text.length).toBe(3000);
    const long = slackMessage({ event: 'started', cluster: 'c'.repeat(200), revision: 1, at });
    expect((long.blocks[0] as { text: { text: string } }).text.text.length).toBe(150);
  });
});
