// The migration's events as Slack hears of them (src/controller/migration.ts migrationNotification):
// one `migration` notification per event, its detail saying what happened in words — the phase
// reached and where from, a walk back, a block or pause with its reason, a resume.
import { describe, expect, it } from 'vitest';
import { migrationNotification } from '../../../src/controller/migration.js';
import { slackMessage } from '../../../src/controller/notify/slack-message.js';
import type { MigrationEvent } from '../../../src/spec/migration.js';

const AT = '2026-12-01T12:00:00.000Z';

describe('migrationNotification', () => {
  it.each<[string, MigrationEvent, string]>([
    [
      'a phase reached',
      { kind: 'phase', at: AT, from: 'parallel', to: 'content-migrated' },
      'phase content-migrated reached (from parallel)',
    ],
    [
      'a phase reached, with detail',
      { kind: 'phase', at: AT, from: 'cutover', to: 'complete', detail: 'v1 archived' },
      'phase complete reached (from cutover): v1 archived',
    ],
    [
      'a walk back',
      {
        kind: 'step-back',
        at: AT,
        from: 'cutover',
        to: 'content-migrated',
        detail: 'targetPhase lowered to parallel during content-migrated → cutover',
      },
      'walking back from cutover to content-migrated: targetPhase lowered to parallel during content-migrated → cutover',
    ],
    [
      'a blocked step',
      {
        kind: 'blocked',
        at: AT,
        from: 'parallel',
        to: 'content-migrated',
        detail: 'parallel → content-migrated: step import:acacia failed: acacia: broken prev_hash at index 7',
      },
      'blocked: parallel → content-migrated: step import:acacia failed: acacia: broken prev_hash at index 7',
    ],
    ['a pause', { kind: 'paused', at: AT, detail: 'bzzzctl migrate pause by ops@walnut' }, 'paused: bzzzctl migrate pause by ops@walnut'],
    ['a resume', { kind: 'resumed', at: AT, detail: 'bzzzctl migrate resume' }, 'resumed: bzzzctl migrate resume'],
    ['a pause without detail', { kind: 'paused', at: AT }, 'paused'],
  ])('GIVEN %s THEN a migration notification saying so', (_name, e, detail) => {
    expect(migrationNotification('bzzz-dev', e)).toEqual({
      event: 'migration',
      cluster: 'bzzz-dev',
      revision: 0,
      at: new Date(AT),
      detail,
    });
  });

  it('GIVEN a notification THEN Slack gets a message naming the cluster and the migration, no revision', () => {
    const m = slackMessage(migrationNotification('bzzz-dev', { kind: 'phase', at: AT, from: 'v1-only', to: 'parallel' }));
    expect(m.text).toMatch(/^:truck: bzzz-dev: migration/);
    expect(m.text).not.toMatch(/revision/);
    expect(JSON.stringify(m.blocks)).toMatch(/phase parallel reached \(from v1-only\)/);
  });
});
