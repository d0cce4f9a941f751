// `bzzzctl controller run` as a real process against the real swarm: apply hands over to it,
// hand-made drift is undone, a blocked apply reports Degraded and converges once unblocked,
// /metrics and /healthz answer, SIGTERM stops it cleanly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  cli,
  docker,
  metricValue,
  port,
  spawnController,
  specDir,
  uniqueName,
  waitFor,
  writeSpec,
  type Controller,
} from './harness.js';
import { leaseIsLive, readLease } from '../../src/store/lease.js';

function spec(name: string, publish: number): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "2.0.0"
  configs:
    settings:
      content: "x=1"
  updatePolicy: { parallelism: 2, delay: 0s, monitor: 1s }
  agent:
    image: bzzz-test/busybox:1
    instances: [{ name: a1 }]
    configs: [{ source: settings }]
    stopGracePeriod: 1s
  services:
    mcpServer:
      image: bzzz-test/busybox:1
      replicas: 2
      ports: [{ target: 8080, published: ${publish} }]
      stopGracePeriod: 1s
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
`;
}

describe('the running controller', () => {
  const name = uniqueName('it-ctl');
  const blocker = `${name}-foreign`;
  const publish = 21000 + Math.floor(Math.random() * 9000);
  const dir = specDir();
  let file: string;
  let ctl: Controller;

  beforeAll(async () => {
    // Drift undone by another controller would be counted there, not here: say so plainly.
    const lease = await readLease(port);
    if (leaseIsLive(lease, Date.now())) {
      throw new Error(
        `another controller (${lease?.holder}) holds the lease; this test runs its own: stop that one first (e.g. docker service rm bzzz-operator_controller)`,
      );
    }
    file = writeSpec(dir, spec(name, publish));
    ctl = await spawnController(['--resync', '5s', '--clusters', name]);
  });
  afterAll(async () => {
    if (ctl && ctl.proc.exitCode === null) ctl.proc.kill('SIGKILL');
    await cleanup(name, [blocker]);
  });

  it('serves /healthz and /metrics', async () => {
    const h = await fetch(`http://127.0.0.1:${ctl.port}/healthz`);
    expect(h.status).toBe(200);
    const m = await (await fetch(`http://127.0.0.1:${ctl.port}/metrics`)).text();
    expect(m).toContain('bzzz_operator_workqueue_depth');
    expect(m).toContain('bzzz_operator_reconcile_total');
  });

  it('apply hands the spec to the controller and waits for it to converge', async () => {
    const r = await cli(['apply', '-f', file, '--timeout', '90s']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('by the controller');
    expect(r.stderr).toContain('reconciles it');
    const services = (await docker('stack', 'services', name, '--format', '{{.Name}} {{.Replicas}}')).trim().split('\n').sort();
    expect(services).toEqual([`${name}_agent-a1 1/1`, `${name}_mcp-server 2/2`]);
  });

  it('undoes `docker service scale` within seconds', async () => {
    await docker('service', 'scale', '--detach', `${name}_mcp-server=4`);
    await waitFor(
      'replicas back to 2',
      async () => {
        const r = JSON.parse(await docker('service', 'inspect', `${name}_mcp-server`))[0];
        return r.Spec.Mode.Replicated.Replicas === 2;
      },
      15_000,
    );
  });

  it('undoes `docker service update --image` within seconds', async () => {
    await docker('service', 'update', '--detach', '--image', 'bzzz-test/busybox:2', `${name}_agent-a1`);
    await waitFor(
      'image back to :1',
      async () => {
        const r = JSON.parse(await docker('service', 'inspect', `${name}_agent-a1`))[0];
        return r.Spec.TaskTemplate.ContainerSpec.Image.startsWith('bzzz-test/busybox:1');
      },
      15_000,
    );
  });

  it('recreates a removed service within seconds', async () => {
    await docker('service', 'rm', `${name}_agent-a1`);
    await waitFor(
      'service recreated',
      async () =>
        (await docker('service', 'ls', '--filter', `name=${name}_agent-a1`, '--format', '{{.Name}}')).trim() === `${name}_agent-a1`,
      15_000,
    );
  });

  it('counts the drift it corrected in /metrics', async () => {
    // The counter moves when the pass ends (after its status write), which can be a few ms after
    // the recreated service is already listed: wait for it rather than read once.
    const corrected = await waitFor(
      'three drift corrections counted',
      async () => {
        const m = await (await fetch(`http://127.0.0.1:${ctl.port}/metrics`)).text();
        const n = metricValue(m, 'bzzz_operator_drift_corrections_total', `cluster="${name}"`);
        return n >= 3 ? n : undefined;
      },
      10_000,
      100,
    );
    expect(corrected).toBeGreaterThanOrEqual(3);
  });

  it('a port taken by a foreign service makes the cluster Degraded with the reason; it converges once the port is free', async () => {
    const port2 = publish + 1;
    await docker('service', 'create', '--detach', '--name', blocker, '--publish', `${port2}:8080`, 'bzzz-test/busybox:1');
    const next = writeSpec(
      dir,
      spec(name, publish).replace(
        `replicas: 2\n      ports: [{ target: 8080, published: ${publish} }]`,
        `replicas: 2\n      ports: [{ target: 8080, published: ${publish} }, { target: 8081, published: ${port2} }]`,
      ),
      'next.yaml',
    );
    const r = await cli(['apply', '-f', next, '--timeout', '8s', '-o', 'json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    const degraded = doc.status.conditions.find((c: { type: string }) => c.type === 'Degraded');
    expect(degraded.status).toBe('True');
    expect(degraded.message).toContain(`${name}_mcp-server`);
    expect(degraded.message).toMatch(new RegExp(`${port2}`));
    const st = await cli(['status', name]);
    expect(st.stdout).toContain('Degraded');

    await docker('service', 'rm', blocker);
    await waitFor(
      'Ready after the port is freed',
      async () => {
        const s = JSON.parse((await cli(['status', name, '-o', 'json'])).stdout);
        return s.ready && s.generation === 2;
      },
      60_000,
      500,
    );
    const ports = JSON.parse(await docker('service', 'inspect', `${name}_mcp-server`))[0]
      .Spec.EndpointSpec.Ports.map((p: { PublishedPort: number }) => p.PublishedPort)
      .sort();
    expect(ports).toEqual([publish, port2]);
  });

  it('stops cleanly on SIGTERM and releases its lease', async () => {
    const exited = new Promise<number | null>((res) => ctl.proc.on('exit', (code) => res(code)));
    ctl.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const st = JSON.parse((await cli(['status', name, '-o', 'json'])).stdout);
    expect(st.controller.running).toBe(false);
  });
});
