// A PostgreSQL password rotation on the real swarm: PostgreSQL (bzzz/postgres:15), two consumer
// tasks that connect every 100 ms with the conninfo they mount and print ok or FAIL, the cluster
// reconciler rolling them one at a time and the rotation reconciler driving the journal — a new
// rotation reconciler on every pass in the second rotation (a controller killed after each step,
// nothing in memory). No controller and no lease: both reconcilers are driven here, so this file
// runs beside others' controllers. Every value the run generated is read back from the tasks
// and searched for in every log line, the journal and the status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../../src/spec/index.js';
import { resolveApply, storeSpec } from '../../../src/cli/resolve-apply.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { RotationStore } from '../../../src/store/rotation-store.js';
import { createClusterReconciler } from '../../../src/reconcilers/cluster.js';
import { createRotationReconciler } from '../../../src/reconcilers/rotation-reconciler.js';
import { DockerExec } from '../../../src/swarm/exec.js';
import { postgresLoginsViaExec } from '../../../src/ops/postgres-logins.js';
import { captureLog } from '../../support/capture-log.js';
import { rotationSpec } from '../../support/pg-rotation-spec.js';
import { cleanup, docker, port, specDir, uniqueName, waitFor, writeSpec } from '../harness.js';

const name = uniqueName('kd-pgrot');
const log = captureLog();
const store = new ClusterStore(port);
const rotations = new RotationStore(port, store);
const postgres = postgresLoginsViaExec(new DockerExec(port));
const signal = new AbortController().signal;

async function consumerLogs(): Promise<string[]> {
  const out = await docker('service', 'logs', '--raw', `${name}_content-resolver`).catch((e: { stdout?: string }) => e.stdout ?? '');
  return out.split('\n').filter((l) => l.trim() !== '');
}

async function journal() {
  return (await rotations.get(name))?.items['secret:postgres_app'];
}

/** Both reconcilers, one pass each every 300 ms, until `done` (a fresh rotation reconciler per pass when `restart`). */
async function drive(done: () => Promise<boolean>, restart: boolean, timeoutMs = 60_000): Promise<void> {
  const cluster = createClusterReconciler({ port, store, log: log.child({ component: 'reconciler' }) });
  const make = () => createRotationReconciler({ port, store, rotations, postgres, log: log.child({ component: 'keys' }), pollMs: 300 });
  let keys = make();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (restart) keys = make();
    await keys.reconcile(name, signal);
    await cluster.pass(name);
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`rotation did not finish in ${timeoutMs} ms: ${JSON.stringify(await journal())}`);
}

beforeAll(async () => {
  const loaded = await loadSpecFile(writeSpec(specDir(), rotationSpec(name)));
  await storeSpec(port, store, await resolveApply(loaded, {}));
});
afterAll(async () => {
  await cleanup(name);
});

describe('PostgreSQL password rotation on the swarm', () => {
  it('alternates app_a → app_b while clients keep connecting, with no failed connection and no value in any log', async () => {
    // First rotation: the initial value is no login yet; it makes app_a at once.
    await drive(async () => (await journal())?.login === 'app_a' && !(await journal())?.run, false, 120_000);
    await waitFor(
      'consumers connecting as app_a',
      async () => (await consumerLogs()).filter((l) => l === 'ok').length > 20,
      60_000,
      500,
    ).catch(async (err) => {
      const ps = await docker('service', 'ps', '--no-trunc', `${name}_content-resolver`).catch(() => '');
      throw new Error(`${err}\n${ps}\n${(await consumerLogs()).slice(-10).join('\n')}`);
    });

    // Second rotation, asked for as `bzzzctl keys rotate --secret` asks, under a controller killed every pass.
    await rotations.update(name, (s) => {
      const item = s?.items['secret:postgres_app'];
      return s && item
        ? { ...s, items: { ...s.items, 'secret:postgres_app': { ...item, requested: { at: new Date().toISOString(), by: 'test' } } } }
        : undefined;
    });
    const before = (await consumerLogs()).length;
    await drive(async () => (await journal())?.login === 'app_b' && !(await journal())?.run, true, 120_000);
    await waitFor('consumers connecting as app_b', async () => (await consumerLogs()).length > before + 20, 30_000, 500);

    const lines = await consumerLogs();
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(lines.filter((l) => l === 'ok').length).toBeGreaterThan(40);

    // app_a is disabled: a login with it is refused now.
    const tasks = await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}_content-resolver`);
    const container = tasks.trim().split('\n')[0]!;
    const value = (await docker('exec', container, 'cat', '/run/secrets/postgres_app')).trim();
    expect(value).toMatch(/^user=app_b password=\S{24}$/);
    const roles = await docker(
      'exec',
      (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}_postgres`)).trim(),
      'sh',
      '-c',
      `psql -U "$(cat "$POSTGRES_USER_FILE")" -d bzzz_v2 -XAtc "select rolname || ':' || rolcanlogin from pg_roles where rolname like 'app%' order by 1"`,
    );
    expect(roles.trim().split('\n')).toEqual(['app_a:false', 'app_b:true']);

    // No generated value anywhere: log lines, the journal, the cluster's status.
    const password = value.split('password=')[1]!;
    const rec = await store.get(name);
    const record = JSON.stringify(await rotations.get(name));
    for (const text of [log.text(), record, JSON.stringify(rec?.status ?? {})]) expect(text).not.toContain(password);
    expect(log.lines.length).toBeGreaterThan(5);
  });
});
