// The keys controller's events as an operator sees them: counters and gauges on /metrics, and
// Slack told once per failing step and once per due time, however many passes repeat them.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { rotationEventSink } from '../../../src/controller/keys.js';
import type { RolloutNotification } from '../../../src/controller/notify/slack-message.js';

function sink() {
  const registry = new Registry();
  const told: RolloutNotification[] = [];
  return { registry, told, on: rotationEventSink(registry, (_c, n) => told.push(n)) };
}

describe('rotation events', () => {
  it('tells a failing step once until the item succeeds, and counts every failure', async () => {
    const s = sink();
    for (let i = 0; i < 3; i++) s.on('c', { kind: 'failed', item: 'secret:app', step: 'stage', error: 'psql: connection refused' });
    s.on('c', { kind: 'succeeded', item: 'secret:app', durationMs: 12_000 });
    s.on('c', { kind: 'failed', item: 'secret:app', step: 'stage', error: 'psql: connection refused' });
    expect(s.told.map((n) => n.detail)).toEqual([
      'secret:app: step stage failed (retried): psql: connection refused',
      'secret:app: rotated in 12 s',
      'secret:app: step stage failed (retried): psql: connection refused',
    ]);
    expect(s.told.every((n) => n.event === 'rotation')).toBe(true);
    const text = await s.registry.metrics();
    expect(text).toContain('bzzz_operator_rotations_total{kind="secret",outcome="failed"} 4');
    expect(text).toContain('bzzz_operator_rotations_total{kind="secret",outcome="succeeded"} 1');
    expect(text).toContain('bzzz_operator_rotation_last_duration_seconds{cluster="c",item="secret:app"} 12');
  });

  it('tells an overdue item once per due time and clears the gauge when a rotation starts', async () => {
    const s = sink();
    s.on('c', { kind: 'overdue', item: 'admin-key', dueAt: '2026-01-31T00:00:00.000Z' });
    s.on('c', { kind: 'overdue', item: 'admin-key', dueAt: '2026-01-31T00:00:00.000Z' });
    expect(s.told).toHaveLength(1);
    expect(await s.registry.metrics()).toContain('bzzz_operator_rotation_overdue{cluster="c",item="admin-key"} 1');
    s.on('c', { kind: 'started', item: 'admin-key', cause: 'manual' });
    expect(await s.registry.metrics()).not.toContain('bzzz_operator_rotation_overdue{cluster="c"');
  });
});
