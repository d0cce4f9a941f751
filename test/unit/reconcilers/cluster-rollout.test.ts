// The cluster reconciler under a rollout, pass by pass on the in-memory port: stacks/examples/dev.yaml
// applied as generation 1, generation 2 (new agent release and env, new redis image) stored on
// top, and the rollout record (store/rollout-store.ts) written as the rollout controller writes
// it. A rolled-back rollout serves generation 1's stored spec; a paused one, or one not started
// yet for an analysed spec, holds the service writes. Then the rollout record itself: its
// compare-and-swap, and revisions proven the cluster's.
import { describe, expect, it } from 'vitest';
import { resolveApply, storeSpec } from '../../../src/cli/resolve-apply.js';
import { loadSpecFile } from '../../../src/spec/index.js';
import { createClusterReconciler, type PassReport } from '../../../src/reconcilers/cluster.js';
import { decideRollout } from '../../../src/reconcilers/rollout-decide.js';
import type { RolloutCause, RolloutPhase } from '../../../src/spec/rollout.js';
import type { BzzzCluster } from '../../../src/spec/types.js';
import { LookAlikeError, RolloutStore, type RolloutState } from '../../../src/store/rollout-store.js';
import type { Service } from '../../../src/swarm/api-types.js';
import { L, ownedBy, ownerLabels } from '../../../src/swarm/labels.js';
import { OWNER_LABEL } from '../../../src/swarm/ownership.js';
import { ConflictError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/log.js';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.js';

const DEV = 'stacks/examples/dev.yaml';
/** spec.updatePolicy.delay of dev.yaml: agent instances roll one at a time, this far apart. */
const AGENT_DELAY_MS = 2_000;

/** Generation 2: a new agent release with another log level, and a new redis image. */
const release2 = (x: BzzzCluster) => {
  x.spec.version = '0.2.0';
  x.spec.agent.image = 'bzzz/bzzzctl:v0.2.0';
  x.spec.agent.env = { ...x.spec.agent.env, BZZZ_LOG_LEVEL: 'info' };
  x.spec.services!.redis = { ...x.spec.services!.redis, image: 'bzzz/redis:7.2' };
};
const analysed = (x: BzzzCluster) => {
  x.spec.upgrade = { analysis: { rules: [{ name: 'errors', query: 'sum(bzzz_errors_total)', failWhen: { above: 5 } }] } };
};
const GEN1 = [
  'agent-a bzzz/bzzzctl:v0.1.0 BZZZ_LOG_LEVEL=debug',
  'agent-b bzzz/bzzzctl:v0.1.0 BZZZ_LOG_LEVEL=debug',
  'agent-c bzzz/bzzzctl:v0.1.0 BZZZ_LOG_LEVEL=debug',
  'postgres bzzz/postgres:15',
  'redis bzzz/redis:7',
];
const GEN2 = [
  'agent-a bzzz/bzzzctl:v0.2.0 BZZZ_LOG_LEVEL=info',
  'agent-b bzzz/bzzzctl:v0.2.0 BZZZ_LOG_LEVEL=info',
  'agent-c bzzz/bzzzctl:v0.2.0 BZZZ_LOG_LEVEL=info',
  'postgres bzzz/postgres:15',
  'redis bzzz/redis:7.2',
];

/** What each service runs: image and the agents' log level. */
async function running(c: MemoryCluster): Promise<string[]> {
  const services = await c.port.listServices({ labels: ownedBy(c.name) });
  const line = (s: Service) => {
    const env = s.Spec.TaskTemplate.ContainerSpec.Env?.find((e) => e.startsWith('BZZZ_LOG_LEVEL='));
    return [s.Spec.Name.slice(c.name.length + 1), s.Spec.TaskTemplate.ContainerSpec.Image, env].filter(Boolean).join(' ');
  };
  return services.map(line).sort();
}

const serviceWrites = (log: readonly string[]) => log.filter((w) => /Service /.test(w));
const cond = (r: PassReport, type: string) => r.status.conditions.find((x) => x.type === type);

/** `n` passes, the clock moved on by the agents' update delay after each; the last report. */
async function passes(pass: () => Promise<PassReport>, c: MemoryCluster, n: number): Promise<PassReport> {
  let last: PassReport | undefined;
  for (let i = 0; i < n; i++) {
    last = await pass();
    c.advance(AGENT_DELAY_MS);
  }
  return last!;
}

/** dev.yaml applied as generation 1 and converged, then generation 2 stored (not yet reconciled). */
async function generation2(opts: { edit?: (x: BzzzCluster) => void } = {}): Promise<MemoryCluster> {
  const c = await memoryCluster(DEV);
  await c.apply(opts.edit);
  await c.pass();
  expect(await running(c)).toEqual(GEN1);
  expect(
    await c.apply((x) => {
      opts.edit?.(x);
      release2(x);
    }),
  ).toEqual({ generation: 2, changed: true });
  c.port.clearWriteLog();
  return c;
}

const at = (c: MemoryCluster) => new Date(c.now()).toISOString();
const analysisCause = (c: MemoryCluster): RolloutCause => ({
  kind: 'analysis',
  rule: 'errors',
  value: 9,
  threshold: 5,
  message: 'errors above 5',
  at: at(c),
});
const record = (c: MemoryCluster, phase: RolloutPhase, extra: Partial<RolloutState> = {}): RolloutState => ({
  generation: 2,
  stable: 1,
  phase,
  startedAt: at(c),
  ...extra,
});
const writeRollout = (c: MemoryCluster, r: RolloutState) => new RolloutStore(c.port, c.store).update(c.name, () => r);

describe('the cluster reconciler under a rollout', () => {
  it('GIVEN generation 2 half rolled out WHEN its rollout is RollingBack to 1 THEN passes put every service back on generation 1, status says Failed with the cause, the state machine then calls it RolledBack, and a converged rolled-back cluster writes nothing', async () => {
    const c = await generation2();
    const first = await c.pass();
    // The operator rolls agents one at a time: agent-a and redis are on generation 2.
    expect(serviceWrites(first.writeLog)).toEqual(['updateService bzzz-dev_agent-a', 'updateService bzzz-dev_redis']);
    c.advance(AGENT_DELAY_MS);

    const cause = analysisCause(c);
    await writeRollout(c, record(c, 'RollingBack', { cause }));
    c.port.clearWriteLog();
    const back = await passes(() => c.pass(), c, 3);
    expect(serviceWrites(c.port.writeLog).sort()).toEqual(['updateService bzzz-dev_agent-a', 'updateService bzzz-dev_redis']);
    expect(await running(c)).toEqual(GEN1);

    const why =
      'generation 2 rolling back to generation 1: analysis rule errors saw 9 (threshold 5): errors above 5; it is not rolled forward again until the spec changes';
    expect(back.ready).toBe(false);
    expect(back.status).toMatchObject({ observedGeneration: 2, rollout: { generation: 2, phase: 'RollingBack', stable: 1, cause } });
    expect(cond(back, 'Failed')).toMatchObject({ status: 'True', reason: 'RolledBack', message: why });
    expect(cond(back, 'Ready')).toMatchObject({ status: 'False', reason: 'RolledBack', message: why });
    expect(cond(back, 'Progressing')).toMatchObject({ status: 'False', reason: 'Converged' });

    // What the rollout controller does with the status the cluster reconciler stored.
    const stored = (await c.store.get(c.name))?.status;
    const step = decideRollout({
      generation: 2,
      rollout: record(c, 'RollingBack', { cause }),
      status: stored,
      watchMs: 0,
      now: new Date(c.now()),
    });
    expect(step.next?.phase).toBe('RolledBack');
    await writeRollout(c, step.next!);
    c.port.clearWriteLog();
    const rolledBack = await c.pass();
    expect(c.port.writeLog).toEqual(['updateConfig bzzz-dev_bzzz-cluster']); // status only: "rolled back"
    expect(cond(rolledBack, 'Failed')?.message).toMatch(/^generation 2 rolled back to generation 1: /);

    c.port.clearWriteLog();
    c.advance(3_600_000);
    const later = await c.pass();
    expect([c.port.writeLog, later.writes]).toEqual([[], 0]); // not even a status write
    expect(await running(c)).toEqual(GEN1);
  });

  it('GIVEN generation 2 rolled back WHEN a user puts the bad release on an agent by hand THEN the pass puts generation 1 back, and a generation 3 rolls forward', async () => {
    const c = await generation2();
    await writeRollout(c, record(c, 'RolledBack', { cause: analysisCause(c) }));
    await passes(() => c.pass(), c, 2);
    expect(await running(c)).toEqual(GEN1);

    await c.userUpdatesService('agent-b', (s) => void (s.TaskTemplate.ContainerSpec.Image = 'bzzz/bzzzctl:v0.2.0'));
    c.advance(AGENT_DELAY_MS);
    c.port.clearWriteLog();
    await c.pass();
    expect(serviceWrites(c.port.writeLog)).toEqual(['updateService bzzz-dev_agent-b']);
    expect(await running(c)).toEqual(GEN1);

    await c.apply((x) => {
      release2(x);
      x.spec.agent.image = 'bzzz/bzzzctl:v0.2.1';
    });
    const forward = await passes(() => c.pass(), c, 4);
    expect((await running(c)).filter((s) => s.startsWith('agent-'))).toEqual(
      ['a', 'b', 'c'].map((i) => `agent-${i} bzzz/bzzzctl:v0.2.1 BZZZ_LOG_LEVEL=info`),
    );
    expect([forward.generation, forward.ready, cond(forward, 'Failed')]).toEqual([3, true, undefined]);
  });

  // Found by this test: the generation's failure made status say Progressing False while the
  // stable spec was still coming back, so the rollout was RolledBack with agent-c on the bad release.
  it('GIVEN the swarm rolling back the update of agent-b WHEN the state machine drives the rollout pass by pass THEN it is RolledBack only once every agent runs generation 1 again', async () => {
    const c = await memoryCluster(DEV, {
      taskOutcome: ({ service, image }) =>
        service.Spec.Name === 'bzzz-dev_agent-b' && image === 'bzzz/bzzzctl:v0.2.0'
          ? { state: 'rejected', err: 'health check failed' }
          : undefined,
    });
    await c.apply();
    await c.pass();
    await c.apply(release2);
    const store = new RolloutStore(c.port, c.store);
    await writeRollout(c, record(c, 'Progressing'));
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      await c.pass();
      const r = await store.get(c.name);
      const step = decideRollout({
        generation: 2,
        rollout: r,
        status: (await c.store.get(c.name))?.status,
        watchMs: 60_000,
        now: new Date(c.now()),
      });
      if (step.next) await writeRollout(c, step.next);
      const agents = (await running(c)).filter((s) => s.startsWith('agent-') && s.includes('v0.2.0')).map((s) => s.split(' ')[0]);
      seen.push(`${step.next?.phase ?? r?.phase} ${agents.join(',') || '-'}`);
      c.advance(AGENT_DELAY_MS);
    }
    const rolledBack = seen.findIndex((s) => s.startsWith('RolledBack'));
    expect(rolledBack).toBeGreaterThan(0);
    expect(seen.slice(rolledBack)).toEqual(Array(seen.length - rolledBack).fill('RolledBack -'));
    expect((await store.get(c.name))?.cause).toMatchObject({ kind: 'swarm' });
    expect(await running(c)).toEqual(GEN1);
  });

  // Once generation 2 converged, no service uses generation 1's env/file secret version, and only
  // the CLI ever had its value: the prune step keeps the versions of every kept revision, so a
  // rollback during the watch window (or an alert's rollback of a succeeded rollout) can run it.
  it('GIVEN generation 2 converged with a new env secret value WHEN its rollout rolls back THEN generation 1 runs again with its own secret version', async () => {
    const c = await memoryCluster(DEV);
    const loaded = await loadSpecFile(DEV);
    const apply = async (token: string, edit?: (x: BzzzCluster) => void) => {
      const cluster = structuredClone(loaded.cluster);
      cluster.spec.secrets = { ...cluster.spec.secrets, api_token: { env: 'BZZZ_TOKEN' } };
      cluster.spec.agent.secrets = [{ source: 'api_token' }];
      edit?.(cluster);
      await storeSpec(c.port, c.store, await resolveApply({ ...loaded, cluster }, { BZZZ_TOKEN: token }), undefined, new Date(c.now()));
    };
    const tokenOf = async () =>
      (await c.service('agent-a')).Spec.TaskTemplate.ContainerSpec.Secrets?.find((x) => x.File.Name === 'api_token')?.SecretName;
    await apply('one');
    await c.pass();
    const gen1Token = await tokenOf();
    await apply('two', release2);
    await passes(() => c.pass(), c, 4);
    expect(await running(c)).toEqual(GEN2);

    await writeRollout(c, record(c, 'RollingBack', { cause: analysisCause(c) }));
    const back = await passes(() => c.pass(), c, 4);
    expect(back.problems).toEqual([]);
    expect(await running(c)).toEqual(GEN1);
    expect(await tokenOf()).toBe(gen1Token);
  });

  it('GIVEN the rollout of generation 2 Paused WHEN passes run THEN no service is written and status says why and how to go on; resumed, generation 2 rolls out', async () => {
    const c = await generation2();
    const cause = { ...analysisCause(c), message: 'analysis inconclusive: no data for errors' };
    await writeRollout(c, record(c, 'Paused', { pausedFrom: 'Progressing', cause }));
    c.port.clearWriteLog();
    const held = await passes(() => c.pass(), c, 2);
    expect(serviceWrites(c.port.writeLog)).toEqual([]);
    expect(await running(c)).toEqual(GEN1);
    const why =
      'rollout of generation 2 paused: analysis inconclusive: no data for errors; go on with bzzzctl rollout resume, or roll back with bzzzctl rollout abort';
    expect(cond(held, 'Progressing')).toMatchObject({ status: 'True', reason: 'RolloutPaused', message: why });
    expect(cond(held, 'Ready')).toMatchObject({ status: 'False', reason: 'RolloutPaused' });
    expect(cond(held, 'Failed')).toBeUndefined();

    await writeRollout(c, record(c, 'Progressing'));
    const resumed = await passes(() => c.pass(), c, 4);
    expect(await running(c)).toEqual(GEN2);
    expect(resumed.ready).toBe(true);
  });

  it('GIVEN a controller that runs rollouts and an analysed spec WHEN generation 2 is applied THEN its service writes wait until a rollout record of generation 2 exists (the first deploy does not wait)', async () => {
    const c = await memoryCluster(DEV);
    const reconciler = createClusterReconciler({
      port: c.port,
      store: c.store,
      log: silentLogger(),
      now: () => new Date(c.now()),
      rollouts: true,
    });
    const pass = async () => (await reconciler.pass(c.name))!;
    await c.apply(analysed);
    await pass(); // nothing runs yet: nothing to compare with or protect
    expect(await running(c)).toEqual(GEN1);
    await c.apply((x) => {
      analysed(x);
      release2(x);
    });
    c.port.clearWriteLog();

    const waiting = await passes(pass, c, 2);
    expect(serviceWrites(c.port.writeLog)).toEqual([]);
    expect(cond(waiting, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'RolloutHeld',
      message: 'waiting for the rollout of generation 2 to start (baseline measurement)',
    });

    // A rollout record of generation 1 does not start generation 2's.
    await writeRollout(c, record(c, 'Succeeded', { generation: 1, stable: undefined }));
    await pass();
    expect(serviceWrites(c.port.writeLog)).toEqual([]);

    await writeRollout(c, record(c, 'Progressing'));
    const started = await pass();
    expect(serviceWrites(started.writeLog)).toEqual(['updateService bzzz-dev_agent-a', 'updateService bzzz-dev_redis']);
  });

  it('GIVEN a look-alike rollout record (labelled, not proven the cluster’s) saying RollingBack WHEN a pass runs THEN it is ignored and reported', async () => {
    const c = await generation2();
    await c.port.createConfig({
      Name: 'bzzz-dev_bzzz-rollout',
      Labels: { ...ownerLabels(c.name, 'bzzz-rollout'), [L.kind]: 'rollout', 'io.bzzz.rollout': JSON.stringify(record(c, 'RollingBack')) },
      Data: 'e30=',
    });
    const report = await passes(() => c.pass(), c, 4);
    expect(await running(c)).toEqual(GEN2);
    expect(report.status.lookAlikes).toEqual(['config bzzz-dev_bzzz-rollout']);
    expect(report.status.rollout).toBeUndefined();
  });
});

describe('RolloutStore on the in-memory port', () => {
  async function applied(): Promise<{ c: MemoryCluster; a: RolloutStore; b: RolloutStore }> {
    const c = await memoryCluster(DEV);
    await c.apply();
    return { c, a: new RolloutStore(c.port, c.store), b: new RolloutStore(c.port, c.store) };
  }

  it('GIVEN another writer changing the rollout between a read and the write WHEN updated THEN the write is retried on the fresh value and both changes stand', async () => {
    const { c, a, b } = await applied();
    await a.update(c.name, () => record(c, 'Progressing'));
    c.port.beforeNext('updateConfig', async () => {
      await b.update(c.name, (r) => r && { ...r, handledAlerts: ['group/fp/start'] });
    });
    const seen: Array<string[] | undefined> = [];
    const result = await a.update(c.name, (r) => {
      seen.push(r?.handledAlerts);
      return r && { ...r, phase: 'Paused', pausedFrom: 'Progressing' };
    });
    expect(seen).toEqual([undefined, ['group/fp/start']]);
    const both = record(c, 'Paused', { pausedFrom: 'Progressing', handledAlerts: ['group/fp/start'] });
    expect(result).toEqual({ state: both, written: true });
    expect(await a.get(c.name)).toEqual(both);
  });

  it('GIVEN two writers creating the first rollout record at once WHEN the second create loses THEN it retries as an update of the winner', async () => {
    const { c, a, b } = await applied();
    c.port.beforeNext('createConfig', async () => {
      await b.update(c.name, () => record(c, 'Progressing', { handledAlerts: ['k'] }));
    });
    const result = await a.update(c.name, (r) => (r ? { ...r, phase: 'Paused' } : record(c, 'Progressing')));
    expect(result.state).toEqual(record(c, 'Paused', { handledAlerts: ['k'] }));
    expect(await b.get(c.name)).toEqual(result.state);
  });

  it('GIVEN a change that returns nothing WHEN updated THEN nothing is written', async () => {
    const { c, a } = await applied();
    await a.update(c.name, () => record(c, 'Watching'));
    c.port.clearWriteLog();
    expect(await a.update(c.name, () => undefined)).toEqual({ state: record(c, 'Watching'), written: false });
    expect(c.port.writeLog).toEqual([]);
  });

  it('GIVEN a write that keeps conflicting WHEN updated THEN it gives up with a ConflictError that says to retry', async () => {
    const { c, a } = await applied();
    await a.update(c.name, () => record(c, 'Progressing'));
    for (let i = 0; i < 8; i++) c.port.failNext('updateConfig', new ConflictError('version out of date'));
    await expect(a.update(c.name, (r) => r && { ...r, phase: 'Paused' })).rejects.toThrow(
      new ConflictError('cluster bzzz-dev: the rollout changed concurrently too many times; retry'),
    );
  });

  it('GIVEN no cluster applied WHEN a rollout is written THEN it is refused, saying to apply first', async () => {
    const c = await memoryCluster(DEV);
    await expect(writeRollout(c, record(c, 'Progressing'))).rejects.toThrow('cluster bzzz-dev does not exist: apply it first');
  });

  it('GIVEN stored generations and look-alike spec configs WHEN revisions are listed THEN only the proven ones are, with the outcomes marked on them', async () => {
    const { c, a } = await applied();
    await c.apply(release2);
    const [g1] = await c.port.listConfigs({ names: ['bzzz-dev_bzzz-spec-g1'] });
    const lookAlike = (n: number, labels: Record<string, string> = {}) =>
      c.port.createConfig({
        Name: `bzzz-dev_bzzz-spec-g${n}`,
        Labels: { ...ownerLabels(c.name, 'bzzz-spec'), [L.kind]: 'spec', [L.generation]: String(n), ...labels },
        Data: g1.Spec.Data
          ? Buffer.from(Buffer.from(g1.Spec.Data, 'base64').toString('utf8').replace('"generation":1', `"generation":${n}`)).toString(
              'base64',
            )
          : '',
      });
    await lookAlike(3);
    // A proof copied from a real stored spec does not fit another name.
    await lookAlike(4, { [OWNER_LABEL]: g1.Spec.Labels?.[OWNER_LABEL] ?? '' });

    await a.markRevision(c.name, 1, { outcome: 'Succeeded', at: at(c) });
    await a.markRevision(c.name, 2, { outcome: 'RolledBack', at: at(c), reason: 'errors above 5' });
    c.port.clearWriteLog();
    await a.markRevision(c.name, 9, { outcome: 'Failed', at: at(c) }); // pruned or never stored: nothing to annotate
    expect(c.port.writeLog).toEqual([]);

    const revisions = await a.revisions(c.name);
    expect(revisions.map((r) => [r.generation, r.spec.cluster.spec.version, r.record?.outcome])).toEqual([
      [1, '0.1.0', 'Succeeded'],
      [2, '0.2.0', 'RolledBack'],
    ]);
  });
});

// Found by these tests: RolloutStore read and wrote the rollout record and stored specs by name
// alone, so a look-alike holding the name was trusted (while the cluster reconciler ignores it)
// and had its labels rewritten.
describe('RolloutStore and look-alikes', () => {
  it('GIVEN a look-alike rollout record holding the name WHEN the rollout is read and written THEN it is neither trusted nor written', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    const store = new RolloutStore(c.port, c.store);
    await c.port.createConfig({
      Name: 'bzzz-dev_bzzz-rollout',
      Labels: { ...ownerLabels(c.name, 'bzzz-rollout'), [L.kind]: 'rollout', 'io.bzzz.rollout': JSON.stringify(record(c, 'RollingBack')) },
      Data: 'e30=',
    });
    c.port.clearWriteLog();
    expect(await store.get(c.name)).toBeUndefined();
    const err = await store.update(c.name, () => record(c, 'Progressing')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LookAlikeError);
    expect((err as Error).message).toBe(
      "cluster bzzz-dev: config bzzz-dev_bzzz-rollout is labelled as the cluster's but carries no ownership proof, so the rollout cannot be recorded in it; remove it (docker config rm bzzz-dev_bzzz-rollout) if it is not yours",
    );
    expect(c.port.writeLog.filter((w) => w.startsWith('updateConfig'))).toEqual([]);
  });

  it('GIVEN a look-alike stored spec WHEN its revision is marked THEN it is left alone', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    await c.port.createConfig({
      Name: 'bzzz-dev_bzzz-spec-g2',
      Labels: { ...ownerLabels(c.name, 'bzzz-spec'), [L.kind]: 'spec', [L.generation]: '2' },
      Data: 'e30=',
    });
    c.port.clearWriteLog();
    await new RolloutStore(c.port, c.store).markRevision(c.name, 2, { outcome: 'Succeeded', at: at(c) });
    expect(c.port.writeLog).toEqual([]);
  });
});
