// Alerts → actions: resolved never acts, first match wins, windows after a rollout.
import { describe, expect, it } from 'vitest';
import { compileTriggers, decideAlert, decideAlerts } from '../../../../src/controller/webhook/triggers.js';
import type { Alert } from '../../../../src/controller/webhook/payload.js';
import type { RollbackTrigger } from '../../../../src/spec/types.js';

const alert = (labels: Record<string, string>, status: Alert['status'] = 'firing'): Alert => ({
  status,
  labels,
  startsAt: '2026-11-30T10:00:00Z',
  fingerprint: 'abcdef0123456789',
});

const spec: RollbackTrigger[] = [
  { name: 'errors-after-rollout', matchers: ['alertname="BzzzErrorRate"'], action: 'rollback-previous', window: '30m' },
  { name: 'critical', matchers: ['severity="critical"', 'env!="dev"'], action: 'pause' },
  { name: 'anything', matchers: ['alertname=~".+"'], action: 'notify' },
];
const triggers = compileTriggers(spec);
const now = new Date('2026-11-30T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

describe('decideAlert', () => {
  it('never acts on a resolved alert, whatever matches', () => {
    const d = decideAlert(alert({ alertname: 'BzzzErrorRate', severity: 'critical' }, 'resolved'), triggers, {
      now,
      lastRolloutStartedAt: minutesAgo(1),
    });
    expect(d.outcome).toBe('resolved');
  });

  it('takes the first trigger whose matchers all hold', () => {
    const d = decideAlert(alert({ alertname: 'BzzzErrorRate', severity: 'critical' }), triggers, {
      now,
      lastRolloutStartedAt: minutesAgo(5),
    });
    expect(d.outcome === 'act' && d.trigger.name).toBe('errors-after-rollout');
    expect(d.outcome === 'act' && d.trigger.action).toBe('rollback-previous');
  });

  it('needs every matcher of a trigger', () => {
    const d = decideAlert(alert({ alertname: 'BzzzMemory', severity: 'critical', env: 'dev' }), triggers, { now });
    expect(d.outcome === 'act' && d.trigger.name).toBe('anything');
  });

  it('passes over a trigger whose window has closed, to the next that matches', () => {
    const d = decideAlert(alert({ alertname: 'BzzzErrorRate' }), triggers, { now, lastRolloutStartedAt: minutesAgo(31) });
    expect(d.outcome === 'act' && d.trigger.name).toBe('anything');
  });

  it('acts at the window edge, and treats a rollout that starts "later" (clock skew) as just started', () => {
    expect(decideAlert(alert({ alertname: 'BzzzErrorRate' }), triggers, { now, lastRolloutStartedAt: minutesAgo(30) }).outcome).toBe('act');
    const skew = decideAlert(alert({ alertname: 'BzzzErrorRate' }), triggers, { now, lastRolloutStartedAt: minutesAgo(-1) });
    expect(skew.outcome === 'act' && skew.trigger.name).toBe('errors-after-rollout');
  });

  it('keeps a windowed trigger closed when no rollout is known', () => {
    const only = compileTriggers([spec[0]]);
    const d = decideAlert(alert({ alertname: 'BzzzErrorRate' }), only, { now });
    expect(d).toMatchObject({ outcome: 'no_match', outsideWindow: ['errors-after-rollout'] });
  });

  it('reports no match when nothing matches', () => {
    expect(decideAlert(alert({ severity: 'info' }), triggers, { now }).outcome).toBe('no_match');
    expect(decideAlert(alert({ alertname: 'X' }), [], { now }).outcome).toBe('no_match');
  });

  it('decides each alert of a payload on its own', () => {
    const out = decideAlerts(
      [alert({ alertname: 'BzzzErrorRate' }), alert({ alertname: 'BzzzErrorRate' }, 'resolved'), alert({ job: 'x' })],
      triggers,
      { now, lastRolloutStartedAt: minutesAgo(1) },
    );
    expect(out.map((d) => d.outcome)).toEqual(['act', 'resolved', 'no_match']);
  });
});

describe('compileTriggers', () => {
  it('names the trigger and matcher of a bad matcher, and of a bad window', () => {
    expect(() => compileTriggers([{ name: 'x', matchers: ['ok="1"', 'bad'], action: 'pause' }])).toThrow(
      /spec\.rollback\.triggers\[0\] \(x\)\.matchers\[1\]: "bad" is not a matcher/,
    );
    expect(() => compileTriggers([{ name: 'y', matchers: [], action: 'pause', window: 'soon' }])).toThrow(
      /spec\.rollback\.triggers\[0\] \(y\)\.window: "soon" is not a duration/,
    );
  });
});
