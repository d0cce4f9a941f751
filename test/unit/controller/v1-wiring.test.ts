// Rollback to v1 in the controller (src/controller/v1.ts), on the in-memory port: a rollback-to-v1
// alert asks for a plan to v1 once — its dedupe key kept on the plan record, so a second delivery,
// even to a restarted controller, asks nothing — and not at all while the cluster is on v1 or on its
// way; the webhook's action routes there (rollouts.ts); a finished plan is announced as Slack hears
// of it (v1Notification), naming the failed step and the side that serves.
import { describe, expect, it } from 'vitest';
import { createV1Wiring, v1Notification } from '../../../src/controller/v1.js';
import { createRolloutWiring } from '../../../src/controller/rollouts.js';
import { createControllerMetrics } from '../../../src/controller/metrics.js';
import type { AlertAction } from '../../../src/controller/webhook/handler.js';
import type { RolloutNotification } from '../../../src/controller/notify/slack-message.js';
import { finishStep, requestPlan, startStep, type StepOutcome } from '../../../src/reconcilers/v1-plan.js';
import type { V1SideFactory } from '../../../src/reconcilers/v1-reconciler.js';
import type { HostUnitReport, V1HostTarget } from '../../../src/hosts/types.js';
import type { RolloutCause } from '../../../src/spec/rollout.js';
import type { BzzzCluster } from '../../../src/spec/types.js';
import { nextStep } from '../../../src/reconcilers/v1-plan.js';
import type { V1PlanState, V1StepName } from '../../../src/spec/v1.js';
import { RolloutStore } from '../../../src/store/rollout-store.js';
import { V1Store } from '../../../src/store/v1-store.js';
import { silentLogger } from '../../../src/util/log.js';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.js';

const DEV = 'stacks/examples/dev.yaml';
const HOST_KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const HOSTS = ['walnut', 'ironwood', 'acacia'];

const withV1 = (x: BzzzCluster) => {
  x.spec.secrets = { ...x.spec.secrets, v1_ssh_key: { external: 'v1-key' } };
  x.spec.v1 = {
    ssh: { privateKeySecret: 'v1_ssh_key' },
    hosts: HOSTS.map((name, i) => ({ name, address: `10.0.0.${i + 1}`, hostKey: HOST_KEY })),
  };
};

const alert = (fingerprint = 'f1', startsAt = '2026-11-30T10:00:00Z'): AlertAction => ({
  trigger: 'meltdown',
  action: 'rollback-to-v1',
  alert: { name: 'BzzzDown', fingerprint, startsAt, labels: { alertname: 'BzzzDown' } },
  receivedAt: new Date('2026-11-30T10:00:05Z'),
});

/** v1 hosts that start (acacia's unit failing when told), no proxy; `during` runs inside each start. */
function fakeSide(o: { failAcacia?: boolean; during?: () => Promise<void> } = {}): V1SideFactory {
  const units = new Map<string, string>();
  const report = (t: V1HostTarget): HostUnitReport => ({
    host: t.name,
    unit: t.unit,
    state: { activeState: units.get(t.name) ?? 'inactive', subState: 'dead', loadState: 'loaded', mainPid: 0 },
  });
  return async (_cluster, v1) => {
    const targets = v1.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: 22,
      user: 'root',
      hostKey: h.hostKey,
      timeoutMs: 1000,
      unit: `bzzz@${h.name}.service`,
    }));
    return {
      targets,
      hosts: {
        status: async (hosts) => hosts.map(report),
        start: async (hosts) => {
          for (const t of hosts) units.set(t.name, o.failAcacia && t.name === 'acacia' ? 'failed' : 'active');
          await o.during?.();
          return hosts.map(report);
        },
        stop: async (hosts) => {
          for (const t of hosts) units.set(t.name, 'inactive');
          return hosts.map(report);
        },
      },
      mesh: {
        verify: async () => ({ ok: true, hosts: HOSTS.map((host) => ({ host, healthy: true, peers: 2 })) }),
        check: async () => ({ ok: true, hosts: [] }),
      },
    };
  };
}

interface Rig {
  c: MemoryCluster;
  plans: V1Store;
  announced: Array<[string, RolloutNotification]>;
  wiring(side?: V1SideFactory): ReturnType<typeof createV1Wiring>;
  /** Cluster and v1 passes in turn until the plan is no longer Running. */
  run(w: ReturnType<typeof createV1Wiring>): Promise<V1PlanState>;
}

async function rig(): Promise<Rig> {
  const c = await memoryCluster(DEV);
  await c.port.createSecret({ Name: 'v1-key', Data: Buffer.from('key').toString('base64') });
  await c.apply(withV1);
  await c.pass();
  const plans = new V1Store(c.port, c.store);
  const announced: Array<[string, RolloutNotification]> = [];
  const signal = new AbortController().signal;
  return {
    c,
    plans,
    announced,
    wiring: (side = fakeSide()) =>
      createV1Wiring({
        port: c.port,
        store: c.store,
        plans,
        side,
        log: silentLogger(),
        announce: (cl, n) => announced.push([cl, n]),
        pollMs: 1,
      }),
    async run(w) {
      for (let i = 0; i < 60; i++) {
        await c.pass();
        await w.reconciler.reconcile(c.name, signal);
        const plan = await plans.get(c.name);
        if (plan && plan.phase !== 'Running') return plan;
        c.advance(1000);
      }
      throw new Error('plan still running');
    },
  };
}

const KEY = 'meltdown/f1/2026-11-30T10:00:00Z';

describe('a rollback-to-v1 alert', () => {
  it('GIVEN the same alert delivered twice, then to a restarted controller THEN one plan to v1 is asked for, with the alert as cause and its key on the record', async () => {
    const k = await rig();
    expect(await k.wiring().fromAlert(k.c.name, alert())).toBe(true);
    expect(await k.wiring().fromAlert(k.c.name, alert())).toBe(false);
    const restarted = k.wiring();
    expect(await restarted.fromAlert(k.c.name, alert())).toBe(false);
    const plan = await k.plans.get(k.c.name);
    expect(plan).toMatchObject({
      id: 1,
      to: 'v1',
      phase: 'Running',
      cause: {
        kind: 'alert',
        trigger: 'meltdown',
        alert: 'BzzzDown',
        message: 'alert BzzzDown matched trigger meltdown (rollback-to-v1)',
        receivedAt: '2026-11-30T10:00:05.000Z',
      },
      handledAlerts: [KEY],
    });
    expect(plan?.steps.every((s) => s.state === 'pending')).toBe(true);
  });

  it('GIVEN a plan to v1 running, then done WHEN other alerts arrive THEN nothing is asked for (their keys kept, the plan untouched)', async () => {
    const k = await rig();
    const w = k.wiring();
    expect(await w.fromAlert(k.c.name, alert('f1'))).toBe(true);
    expect(await w.fromAlert(k.c.name, alert('f2'))).toBe(false);
    let plan = await k.plans.get(k.c.name);
    expect(plan).toMatchObject({ id: 1, phase: 'Running', handledAlerts: [KEY, 'meltdown/f2/2026-11-30T10:00:00Z'] });
    plan = await k.run(w);
    expect(plan.phase).toBe('Done');
    expect(await w.fromAlert(k.c.name, alert('f3'))).toBe(false);
    plan = await k.plans.get(k.c.name);
    expect(plan).toMatchObject({ id: 1, phase: 'Done' });
    expect(plan?.handledAlerts).toContain('meltdown/f3/2026-11-30T10:00:00Z');
  });

  it('GIVEN a plan back to v2 running WHEN the alert arrives THEN refused (nothing asked), but recorded so a redelivery stays quiet', async () => {
    const k = await rig();
    const w = k.wiring();
    await w.fromAlert(k.c.name, alert('f1'));
    await k.run(w);
    const cause: RolloutCause = { kind: 'manual', message: 'bzzzctl rollback --to v2', at: new Date(0).toISOString() };
    await k.plans.update(k.c.name, (current) => requestPlan(current, { to: 'v2', cause, now: new Date(k.c.now()) }));
    expect(await w.fromAlert(k.c.name, alert('f2'))).toBe(false);
    const plan = await k.plans.get(k.c.name);
    expect(plan).toMatchObject({ id: 2, to: 'v2', phase: 'Running' });
    expect(plan?.handledAlerts).toContain('meltdown/f2/2026-11-30T10:00:00Z');
  });

  it('GIVEN an alert arriving while a step runs WHEN the step is journaled THEN its key is not lost: after the plan failed, its redelivery asks nothing', async () => {
    const k = await rig();
    let w: ReturnType<typeof createV1Wiring> | undefined;
    let asked: boolean | undefined;
    w = k.wiring(
      fakeSide({
        failAcacia: true,
        during: async () => {
          asked ??= await w!.fromAlert(k.c.name, alert('f2'));
        },
      }),
    );
    expect(await w.fromAlert(k.c.name, alert('f1'))).toBe(true);
    const plan = await k.run(w);
    expect(asked).toBe(false);
    expect(plan.phase).toBe('Failed');
    expect(plan.handledAlerts).toEqual([KEY, 'meltdown/f2/2026-11-30T10:00:00Z']);
    // Alertmanager repeats a firing alert: the one seen during the plan must not start another.
    expect(await w.fromAlert(k.c.name, alert('f2'))).toBe(false);
    // A new firing of it (another startsAt) does.
    expect(await w.fromAlert(k.c.name, alert('f2', '2026-11-30T11:00:00Z'))).toBe(true);
    expect((await k.plans.get(k.c.name))?.id).toBe(2);
  });

  it("GIVEN the webhook's rollback-to-v1 action THEN the rollout wiring hands it to the v1 wiring and queues the cluster only when a plan was asked for; the rollout record is untouched", async () => {
    const k = await rig();
    const v1 = k.wiring();
    const rollouts = new RolloutStore(k.c.port, k.c.store);
    const queued: string[] = [];
    const make = (toV1?: typeof v1.fromAlert) => {
      const w = createRolloutWiring({
        port: k.c.port,
        store: k.c.store,
        rollouts,
        metrics: createControllerMetrics({ defaultMetrics: false }),
        log: silentLogger(),
        secretsDir: '/nonexistent',
        ...(toV1 ? { toV1 } : {}),
      });
      w.onAction((cluster, reason) => queued.push(`${cluster}: ${reason}`));
      return w;
    };
    const before = await rollouts.get(k.c.name);
    await make().webhook.act(k.c.name, alert());
    expect(await k.plans.get(k.c.name)).toBeUndefined();
    expect(queued).toEqual([]);
    const w = make((cluster, action) => v1.fromAlert(cluster, action));
    await w.webhook.act(k.c.name, alert());
    await w.webhook.act(k.c.name, alert());
    expect(queued).toEqual([`${k.c.name}: alert BzzzDown`]);
    expect(await k.plans.get(k.c.name)).toMatchObject({ id: 1, to: 'v1' });
    expect(await rollouts.get(k.c.name)).toEqual(before);
  });
});

describe('v1Notification', () => {
  const NOW = new Date('2026-12-01T12:00:00Z');
  const ALERT_CAUSE: RolloutCause = {
    kind: 'alert',
    trigger: 'meltdown',
    alert: 'BzzzDown',
    message: 'alert BzzzDown matched trigger meltdown (rollback-to-v1)',
    at: NOW.toISOString(),
  };

  function drive(
    plan: V1PlanState,
    outcomes: Partial<Record<V1StepName, StepOutcome>> = {},
    details: Partial<Record<V1StepName, string>> = {},
  ) {
    let p = plan;
    for (let step = nextStep(p); step; step = nextStep(p)) {
      p = startStep(p, step.name, NOW);
      // what the notify step hands the listener: the plan before notify finishes
      if (step.name === 'notify') return p;
      p = finishStep(p, step.name, outcomes[step.name] ?? { ok: true, ...(details[step.name] ? { detail: details[step.name] } : {}) }, NOW);
    }
    return p;
  }
  const toV1 = () => ({ ...requestPlan(undefined, { to: 'v1', cause: ALERT_CAUSE, now: NOW })!, v2: { generation: 7, services: {} } });

  it('GIVEN a plan to v1 done THEN on-v1, with the alert as cause and what each step did', () => {
    const p = drive(toV1(), {}, { 'start-v1': 'walnut: active; ironwood: active; acacia: active', 'switch-proxy': 'haproxy serves v1' });
    const n = v1Notification('c', { ...p, phase: 'Done', finishedAt: NOW.toISOString() });
    expect(n).toMatchObject({ cluster: 'c', event: 'on-v1', revision: 7, cause: 'alert', rule: 'meltdown', at: NOW });
    expect(n.detail).toBe(
      'alert BzzzDown matched trigger meltdown (rollback-to-v1)\nstart-v1: walnut: active; ironwood: active; acacia: active\nswitch-proxy: haproxy serves v1',
    );
    // as the notify step sees it (still Running): the same
    expect(v1Notification('c', p).event).toBe('on-v1');
  });

  it('GIVEN a plan to v1 that failed at start-v1 THEN v1-failed, naming the step, its detail, and v2 serving', () => {
    const p = drive(toV1(), { 'start-v1': { ok: false, detail: '2 of 3 v1 host(s) came up, 3 needed: acacia: failed' } });
    const n = v1Notification('c', p);
    expect(n).toMatchObject({ event: 'v1-failed', cause: 'alert', rule: 'meltdown' });
    expect(n.detail).toBe('switch to v1 failed at start-v1: 2 of 3 v1 host(s) came up, 3 needed: acacia: failed; v2 goes on serving');
  });

  it('GIVEN a plan to v1 that failed at stop-v2, after the switch THEN v1-failed saying v1 serves', () => {
    const p = drive(toV1(), { 'stop-v2': { ok: false, detail: 'v2 still running after 121 s: bzzz-dev_postgres 1/0' } });
    expect(v1Notification('c', p).detail).toBe(
      'switch to v1 failed at stop-v2: v2 still running after 121 s: bzzz-dev_postgres 1/0; v1 serves (the switch was made)',
    );
  });

  it('GIVEN a manual plan to v2 done, and one failed THEN on-v2; v1-failed with v1 serving', () => {
    const onV1 = { ...drive(toV1()), phase: 'Done' as const, parked: true };
    const manual: RolloutCause = { kind: 'manual', message: 'bzzzctl rollback --to v2', at: NOW.toISOString(), by: 'ops@walnut' };
    const back = requestPlan(onV1, { to: 'v2', cause: manual, now: NOW })!;
    const done = v1Notification('c', drive(back));
    expect(done).toMatchObject({ event: 'on-v2', cause: 'manual', revision: 7 });
    expect(done.rule).toBeUndefined();
    const failed = v1Notification('c', drive(back, { 'start-v2': { ok: false, detail: 'v2 did not come back within 301 s' } }));
    expect(failed.event).toBe('v1-failed');
    expect(failed.detail).toBe('switch to v2 failed at start-v2: v2 did not come back within 301 s; v1 goes on serving');
  });

  it('GIVEN a plan failed at a step WHEN the reconciler announces it THEN Slack hears v1-failed once, naming acacia', async () => {
    const k = await rig();
    const w = k.wiring(fakeSide({ failAcacia: true }));
    await w.fromAlert(k.c.name, alert());
    await k.run(w);
    expect(k.announced).toHaveLength(1);
    const [cluster, n] = k.announced[0];
    expect(cluster).toBe(k.c.name);
    expect(n).toMatchObject({ event: 'v1-failed', cause: 'alert', rule: 'meltdown', revision: 1 });
    expect(n.detail).toMatch(
      /^switch to v1 failed at start-v1: 2 of 3 v1 host\(s\) came up, 3 needed: .*acacia: bzzz@acacia\.service failed.*; v2 goes on serving$/,
    );
  });
});
