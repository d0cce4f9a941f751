import { describe, expect, it } from 'vitest';
import { rotationProblems, type RotationItemView } from '../../../src/reconcilers/rotation-status.js';

const DAY = 86_400_000;
const view = (over: Partial<RotationItemView>): RotationItemView => ({
  id: 'secret:app_db',
  periodMs: 30 * DAY,
  overdue: false,
  requested: false,
  automated: true,
  ...over,
});

describe('rotation conditions', () => {
  it.each([
    ['an overdue secret', view({ overdue: true, nextAt: '2026-11-01T00:00:00.000Z' }), ['RotationOverdue']],
    ['a secret on time', view({}), []],
    // Role and admin keys are reported by `keys status` but not rotated by this release: no condition.
    ['overdue admin key', view({ id: 'admin-key', automated: false, overdue: true }), []],
    [
      'a failing run',
      view({ run: { step: 'roll', startedAt: '2026-11-30T00:00:00.000Z', cause: 'schedule', attempts: 3, lastError: 'boom' } }),
      ['RotationFailing'],
    ],
  ] as const)('%s', (_what, v, reasons) => {
    expect(rotationProblems([v]).map((p) => p.reason)).toEqual(reasons);
  });

  it('names the item and when it was due', () => {
    expect(rotationProblems([view({ overdue: true, nextAt: '2026-11-01T00:00:00.000Z' })])[0]?.message).toBe(
      'secret:app_db was due at 2026-11-01T00:00:00.000Z',
    );
  });
});
