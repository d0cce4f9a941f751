// A PostgreSQL password rotation on the real swarm: PostgreSQL (bzzz/postgres:15), two consumer
// tasks that connect every 100 ms with the conninfo they mount and print ok or FAIL, the cluster
// reconciler rolling them one at a time and the rotation reconciler driving the journal — a new
// rotation reconciler on every pass in the second rotation (a controller killed after each step,
// nothing in memory). No controller and no lease: both reconcilers are driven here, so this file
// runs beside others' controllers. `bzzzctl keys rotate|status` run as a user runs them (npm run build). Every value the run generated is read back from the tasks
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
import { cleanup, cli, docker, port, specDir, uniqueName, waitFor, writeSpec } from '../harness.js';

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
  const ps = await docker('service', 'ps', '--no-trunc', `${name}_content-resolver`).catch(() => '');
  const mounts = await docker(
    'service',
    'inspect',
    '--format',
    '{{json .Spec.TaskTemplate.ContainerSpec.Secrets}} {{json .UpdateStatus}}',
    `${name}_content-resolver`,
  ).catch(() => '');
  const secrets = await docker(
    'secret',
    'ls',
    '--filter',
    `name=${name}_postgres_app`,
    '--format',
    '{{.Name}} {{.CreatedAt}} {{.Labels}}',
  ).catch(() => '');
  throw new Error(
    `${secrets}\nrotation did not finish in ${timeoutMs} ms: ${JSON.stringify(await journal())}\n${ps}\n${mounts}\n${log.lines.slice(-8).join('\n')}`,
  );
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

    // Second rotation, asked for with `bzzzctl keys rotate`, under a controller killed every pass.
    const asked = await cli(['keys', 'rotate', name, '--secret', 'postgres_app']);
    expect(asked.stdout).toContain('rotation requested');
    expect((await cli(['keys', 'rotate', name, '--admin'])).stderr).toMatch(/not run by this release/);
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
    const status = await cli(['keys', 'status', name]);
    expect(status.stdout).toMatch(/secret:postgres_app .*last succeeded/);
    expect(status.stdout).toContain('(login app_b)');
    const json = await cli(['keys', 'status', name, '-o', 'json']);
    for (const text of [log.text(), record, JSON.stringify(rec?.status ?? {}), status.stdout, json.stdout])
      expect(text).not.toContain(password);
    expect(log.lines.length).toBeGreaterThan(5);
  });
});
