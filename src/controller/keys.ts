// The keys controller, composed: the rotation reconciler with PostgreSQL reached through the
// running postgres task (exec), its metrics on the controller's registry and its events on Slack
// (failures and overdue items once per due time, not once per pass). Values never reach a log,
// a metric label or a message: the reconciler hands out item ids, steps and error texts only.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterStore } from '../store/cluster-store.js';
import type { RotationStore } from '../store/rotation-store.js';
import type { SwarmPort } from '../swarm/port.js';
import { createRotationReconciler, type PostgresLogins, type RotationEvent } from '../reconcilers/rotation-reconciler.js';
import type { Reconciler } from '../reconcilers/reconciler.js';
import type { Logger } from '../util/log.js';
import type { RolloutNotification } from './notify/slack-message.js';

export interface KeysWiringOptions {
  port: SwarmPort;
  store: ClusterStore;
  rotations: RotationStore;
  postgres?: PostgresLogins;
  registry: Registry;
  log: Logger;
  announce(cluster: string, n: RolloutNotification): void;
  pollMs?: number;
}

export function createKeysWiring(o: KeysWiringOptions): { reconciler: Reconciler } {
  const onEvent = rotationEventSink(o.registry, o.announce);
  return {
    reconciler: createRotationReconciler({
      port: o.port,
      store: o.store,
      rotations: o.rotations,
      ...(o.postgres ? { postgres: o.postgres } : {}),
      log: o.log,
      onEvent,
      ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    }),
  };
}

/**
 * The rotation events as metrics and Slack messages: a start and an end each time, a failed step
 * once until the item next succeeds, an overdue item once per due time (passes repeat them).
 */
export function rotationEventSink(
  registry: Registry,
  announce: (cluster: string, n: RolloutNotification) => void,
): (cluster: string, e: RotationEvent) => void {
  const o = { registry, announce };
  const total = new Counter({
    name: 'bzzz_operator_rotations_total',
    help: 'Rotations finished or failed steps, by item kind (role-keys, admin-key, secret) and outcome (succeeded, failed).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [o.registry],
  });
  const overdue = new Gauge({
    name: 'bzzz_operator_rotation_overdue',
    help: 'Items past their rotation due time and not rotating (1), by cluster and item.',
    labelNames: ['cluster', 'item'] as const,
    registers: [o.registry],
  });
  const duration = new Gauge({
    name: 'bzzz_operator_rotation_last_duration_seconds',
    help: 'How long the last rotation of an item took, start to old version removed.',
    labelNames: ['cluster', 'item'] as const,
    registers: [o.registry],
  });
  const told = new Set<string>();
  const kindOf = (item: string) => (item.startsWith('secret:') ? 'secret' : item);
  const tell = (cluster: string, detail: string) =>
    o.announce(cluster, { event: 'rotation', cluster, revision: 0, at: new Date(), detail });

  function onEvent(cluster: string, e: RotationEvent): void {
    switch (e.kind) {
      case 'started':
        overdue.remove({ cluster, item: e.item });
        tell(cluster, `${e.item}: ${e.cause} rotation started`);
        return;
      case 'succeeded':
        total.inc({ kind: kindOf(e.item), outcome: 'succeeded' });
        duration.set({ cluster, item: e.item }, e.durationMs / 1000);
        for (const k of [...told]) if (k.startsWith(`${cluster}/${e.item}/failed/`)) told.delete(k);
        tell(cluster, `${e.item}: rotated in ${Math.round(e.durationMs / 1000)} s`);
        return;
      case 'failed': {
        total.inc({ kind: kindOf(e.item), outcome: 'failed' });
        const key = `${cluster}/${e.item}/failed/${e.step}`;
        if (!told.has(key)) tell(cluster, `${e.item}: step ${e.step} failed (retried): ${e.error}`);
        told.add(key);
        return;
      }
      case 'overdue': {
        overdue.set({ cluster, item: e.item }, 1);
        const key = `${cluster}/${e.item}/overdue/${e.dueAt}`;
        if (!told.has(key)) tell(cluster, `${e.item}: rotation overdue since ${e.dueAt}`);
        told.add(key);
        return;
      }
    }
  }

  return onEvent;
}
