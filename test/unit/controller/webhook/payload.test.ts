// The version 4 payload schema: Alertmanager's own shape passes; wrong versions, shapes and sizes
// are refused with the JSON path.
import { describe, expect, it } from 'vitest';
import { checkPayload } from '../../../../src/controller/webhook/payload.js';
import { alertmanagerPayload } from '../../../support/alertmanager-payload.js';

describe('checkPayload', () => {
  it('accepts what Alertmanager sends', () => {
    expect(checkPayload(alertmanagerPayload())).toMatchObject({ ok: true });
  });

  it.each([
    ['wrong version', (p: Record<string, unknown>) => (p.version = '3'), '/version', /"3" is not "4"/],
    ['no version', (p: Record<string, unknown>) => delete p.version, '/version', /is not "4"|required/],
    ['no alerts', (p: Record<string, unknown>) => (p.alerts = []), '/alerts', /fewer than 1/],
    [
      'bad alert status',
      (p: ReturnType<typeof alertmanagerPayload>) => ((p.alerts[0] as { status: string }).status = 'pending'),
      '/alerts/0/status',
      /firing, resolved/,
    ],
    [
      'no fingerprint',
      (p: ReturnType<typeof alertmanagerPayload>) => delete (p.alerts[0] as Partial<(typeof p.alerts)[0]>).fingerprint,
      '/alerts/0/fingerprint',
      /required/,
    ],
    ['bad startsAt', (p: ReturnType<typeof alertmanagerPayload>) => (p.alerts[0].startsAt = 'yesterday'), '/alerts/0/startsAt', /pattern/],
    [
      'label not a string',
      (p: ReturnType<typeof alertmanagerPayload>) => ((p.alerts[0].labels as Record<string, unknown>).severity = 5),
      '/alerts/0/labels/severity',
      /string/,
    ],
    [
      'too long a label',
      (p: ReturnType<typeof alertmanagerPayload>) => (p.alerts[0].labels.job = 'x'.repeat(1025)),
      '/alerts/0/labels/job',
      /limit/,
    ],
    [
      'too many labels',
      (p: ReturnType<typeof alertmanagerPayload>) => {
        for (let i = 0; i < 65; i++) (p.alerts[0].labels as Record<string, string>)[`l${i}`] = 'v';
      },
      '/alerts/0/labels',
      /limit/,
    ],
    [
      'too many alerts',
      (p: ReturnType<typeof alertmanagerPayload>) => {
        p.alerts = Array.from({ length: 501 }, () => p.alerts[0]);
      },
      '/alerts',
      /limit/,
    ],
  ])('refuses %s with its path', (_name, mutate, path, reason) => {
    const p = alertmanagerPayload();
    mutate(p as never);
    const r = checkPayload(p);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.path).toBe(path);
      expect(r.reason).toMatch(reason);
      expect(r.reason.startsWith(path)).toBe(true);
    }
  });

  it('refuses what is not an object', () => {
    for (const body of [null, [], 'x', 4]) expect(checkPayload(body)).toMatchObject({ ok: false, path: '' });
  });
});
