// The rollout reconciler and the webhook's actions, on the in-memory port: a rollout starts,
// watches and succeeds with its revision recorded; an alert's rollback is one recorded, deduped
// transition (a second delivery of the same alert, even to a restarted controller, acts no more);
// an action that cannot apply is recorded with the reason; events reach the notifier once.
import { describe, expect, it } from 'vitest';
import { memoryCluster, type MemoryCluster } from '../../support/memory-cluster.js';
import { RolloutStore } from '../../../src/store/rollout-store.js';
import { createRolloutReconciler } from '../../../src/reconcilers/rollout-reconciler.js';
import { createRolloutWiring, notification } from '../../../src/controller/rollouts.js';
import { createControllerMetrics } from '../../../src/controller/metrics.js';
import type { AlertAction } from '../../../src/controller/webhook/handler.js';
import type { RolloutLogEntry } from '../../../src/store/rollout-store.js';
import { silentLogger } from '../../../src/util/log.js';

const DEV = 'stacks/examples/dev.yaml';

/** dev.yaml without analysis: the rollout is judged by the swarm and the watch window alone. */
async function cluster(): Promise<{ c: MemoryCluster; rollouts: RolloutStore; events: RolloutLogEntry[]; reconcile(): Promise<void> }> {
  const c = await memoryCluster(DEV);
  const rollouts = new RolloutStore(c.port, c.store);
  const events: RolloutLogEntry[] = [];
  const reconciler = createRolloutReconciler({
    port: c.port,
    store: c.store,
    rollouts,
    onEvent: (_cluster, e) => events.push(e),
    log: silentLogger(),
    now: () => new Date(c.now()),
  });
  return { c, rollouts, events, reconcile: async () => void (await reconciler.reconcile(c.name, new AbortController().signal)) };
}

const noAnalysis = (x: MemoryCluster['cluster']) => {
  delete x.spec.upgrade;
};

async function converge(c: MemoryCluster, reconcile: () => Promise<void>, rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await c.pass();
    await reconcile();
    c.advance(1000);
  }
}

describe('the rollout reconciler on the in-memory port', () => {
  it('GIVEN a first generation applied WHEN it converges THEN its rollout starts, succeeds, is announced once each, and its revision is recorded with the images it ran', async () => {
    const { c, rollouts, events, reconcile } = await cluster();
    await c.apply(noAnalysis);
    await converge(c, reconcile);
    const r = await rollouts.get(c.name);
    expect(r).toMatchObject({ generation: 1, phase: 'Succeeded' });
    expect(r?.stable).toBeUndefined();
    expect(events.map((e) => e.kind)).toEqual(['started', 'succeeded']);
    expect(r?.log?.every((e) => e.announced)).toBe(true);
    const [rev] = await rollouts.revisions(c.name);
    expect(rev.record).toMatchObject({ outcome: 'Succeeded' });
    expect(rev.record?.images?.[`${c.name}_agent-a`]).toMatch(/^bzzz\/bzzzctl:v0\.1\.0/);
    expect(rev.spec.appliedBy?.user).toBeTruthy();
  });

  it('GIVEN generation 1 succeeded WHEN generation 2 is applied THEN its rollout starts over stable generation 1 and succeeds in turn', async () => {
    const { c, rollouts, reconcile } = await cluster();
    await c.apply(noAnalysis);
    await converge(c, reconcile);
    await c.apply((x) => {
      noAnalysis(x);
      x.spec.agent.env = { ...x.spec.agent.env, RELEASE: '2' };
    });
    await converge(c, reconcile, 8);
    expect(await rollouts.get(c.name)).toMatchObject({ generation: 2, stable: 1, phase: 'Succeeded' });
    expect((await rollouts.revisions(c.name)).map((r) => r.record?.outcome)).toEqual(['Succeeded', 'Succeeded']);
  });
});

describe("the webhook's actions on rollouts", () => {
  async function rolledOut2() {
    const k = await cluster();
    await k.c.apply(noAnalysis);
    await converge(k.c, k.reconcile);
    await k.c.apply((x) => {
      noAnalysis(x);
      x.spec.agent.env = { ...x.spec.agent.env, RELEASE: '2' };
    });
    await k.reconcile(); // generation 2's rollout starts
    const queued: string[] = [];
    const wiring = () => {
      const w = createRolloutWiring({
        port: k.c.port,
        store: k.c.store,
        rollouts: k.rollouts,
        metrics: createControllerMetrics({ defaultMetrics: false }),
        log: silentLogger(),
        secretsDir: '/nonexistent',
      });
      w.onAction((cluster, reason) => queued.push(`${cluster}: ${reason}`));
      return w;
    };
    return { ...k, queued, wiring };
  }
  const alert = (action: AlertAction['action'], fingerprint = 'f1'): AlertAction => ({
    trigger: 'errors',
    action,
    alert: { name: 'BzzzErrorRateHigh', fingerprint, startsAt: '2026-11-30T10:00:00Z', labels: { alertname: 'BzzzErrorRateHigh' } },
    receivedAt: new Date(),
  });

  it('GIVEN generation 2 rolling out WHEN a rollback alert arrives, twice and then again at a restarted controller THEN it rolls back once, with the alert as cause, and queues the cluster once', async () => {
    const { c, rollouts, queued, wiring } = await rolledOut2();
    await wiring().webhook.act(c.name, alert('rollback-previous'));
    await wiring().webhook.act(c.name, alert('rollback-previous'));
    const restarted = wiring();
    await restarted.webhook.act(c.name, alert('rollback-previous'));
    const r = await rollouts.get(c.name);
    expect(r).toMatchObject({
      generation: 2,
      stable: 1,
      phase: 'RollingBack',
      cause: { kind: 'alert', trigger: 'errors', alert: 'BzzzErrorRateHigh' },
    });
    expect(r?.log?.filter((e) => e.kind === 'rolling-back')).toHaveLength(1);
    expect(queued).toEqual([`${c.name}: alert BzzzErrorRateHigh`]);
    // The cluster reconciler then serves generation 1's spec.
    await c.pass();
    await c.pass();
    expect((await c.service('agent-a')).Spec.TaskTemplate.ContainerSpec.Env ?? []).not.toContain('RELEASE=2');
  });

  it('GIVEN no stable revision to go back to WHEN a rollback alert arrives THEN nothing rolls back and the alert is recorded with the reason', async () => {
    const { c, rollouts, reconcile } = await cluster();
    await c.apply(noAnalysis);
    await reconcile(); // generation 1's rollout starts: nothing ran before it
    const wiring = () =>
      createRolloutWiring({
        port: c.port,
        store: c.store,
        rollouts,
        metrics: createControllerMetrics({ defaultMetrics: false }),
        log: silentLogger(),
        secretsDir: '/nonexistent',
      });
    await wiring().webhook.act(c.name, alert('rollback-previous'));
    const r = await rollouts.get(c.name);
    expect(r?.phase).toBe('Progressing');
    expect(r?.log?.at(-1)).toMatchObject({
      kind: 'alert',
      cause: { kind: 'alert', message: expect.stringMatching(/not acted on: generation 1 has no earlier good revision/) },
    });
  });

  it('GIVEN a rollout in progress WHEN a notify alert and a pause alert arrive THEN the first is recorded only, the second pauses it', async () => {
    const { c, rollouts, wiring } = await rolledOut2();
    await wiring().webhook.act(c.name, alert('notify', 'n1'));
    expect((await rollouts.get(c.name))?.phase).toBe('Progressing');
    await wiring().webhook.act(c.name, alert('pause', 'p1'));
    const r = await rollouts.get(c.name);
    expect(r).toMatchObject({ phase: 'Paused', pausedFrom: 'Progressing', cause: { kind: 'alert' } });
    expect(r?.log?.slice(-2).map((e) => e.kind)).toEqual(['alert', 'paused']);
  });

  it('GIVEN a cluster whose spec names a webhook token WHEN the webhook looks it up THEN it gets the stored hash and triggers, never the token', async () => {
    const { c, wiring } = await rolledOut2();
    const found = await wiring().webhook.lookup(c.name);
    expect(found).toMatchObject({ triggers: [], lastRolloutStartedAt: expect.any(Date) });
    expect(found?.tokenSha256).toBeUndefined();
    expect(await wiring().webhook.lookup('no-such-cluster')).toBeUndefined();
  });
});

describe('what Slack hears of rollout events', () => {
  const at = '2026-11-30T10:00:00.000Z';
  it.each<[string, RolloutLogEntry, object | undefined]>([
    ['started', { kind: 'started', at, generation: 3, stable: 2 }, { event: 'started', revision: 3 }],
    [
      'an analysis rollback',
      {
        kind: 'rolling-back',
        at,
        generation: 3,
        stable: 2,
        cause: { kind: 'analysis', rule: 'error-rate', value: 0.2, threshold: 0.05, message: 'above', at },
      },
      { event: 'rolled-back', revision: 3, toRevision: 2, cause: 'analysis', rule: 'error-rate', value: 0.2, threshold: '0.05' },
    ],
    [
      'an abort',
      { kind: 'aborted', at, generation: 3, stable: 2, cause: { kind: 'manual', by: 'ops@h', message: 'abort by ops@h', at } },
      { event: 'rolled-back', cause: 'abort', toRevision: 2 },
    ],
    [
      'an alert to notify',
      { kind: 'alert', at, generation: 3, cause: { kind: 'alert', trigger: 't', alert: 'A', message: 'm', at } },
      { event: 'alert', rule: 't' },
    ],
  ])('%s', (_, entry, expected) => {
    expect(notification('c1', entry)).toMatchObject({ cluster: 'c1', ...expected });
  });
});
