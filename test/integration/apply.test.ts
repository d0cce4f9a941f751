// apply / diff / status / delete against the real engine in swarm mode, through the real CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cleanup, cli, docker, engineWritesDuring, port, specDir, uniqueName, waitFor, writeSpec } from './harness.js';

const execDocker = { sync: (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }) };
import { ownedBy } from '../../src/swarm/labels.js';

interface SpecOpts {
  image?: string;
  replicas?: number;
  config?: string;
  secretFile?: boolean;
  mcp?: boolean;
  port?: number;
  redisReplicas?: number;
}

function spec(name: string, o: SpecOpts = {}): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "2.0.0"
  secrets:
    token:
      generate: { length: 24 }
${o.secretFile ? '    api_key:\n      file: api_key.txt\n' : ''}  configs:
    settings:
      content: "${o.config ?? 'level=1'}"
  updatePolicy:
    parallelism: 1
    delay: 1s
    monitor: 1s
    failureAction: rollback
  agent:
    image: ${o.image ?? 'bzzz-test/busybox:1'}
    instances:
      - name: a1
      - name: a2
    configs:
      - source: settings
        target: /etc/bzzz/settings
    secrets:
      - source: token
    stopGracePeriod: 2s
  services:
    mcpServer:
      enabled: ${o.mcp ?? true}
      image: bzzz-test/busybox:1
      replicas: ${o.replicas ?? 2}
      ports:
        - target: 8080
          published: ${o.port ?? 18099}
      stopGracePeriod: 2s
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis:
      image: bzzz-test/busybox:1
      replicas: ${o.redisReplicas ?? 1}
      stopGracePeriod: 2s
      networks: [internal, external]
      ports:
        - target: 8080
          published: ${(o.port ?? 18099) + 1}
          mode: host
`;
}

const names: string[] = [];
const foreign: string[] = [];
afterAll(async () => {
  for (const n of names) await cleanup(n, foreign);
});

function freePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

describe('bzzzctl apply on a real swarm', () => {
  const name = uniqueName('it-apply');
  const dir = specDir();
  const published = freePort();
  let file: string;
  beforeAll(() => {
    names.push(name);
    writeSpec(dir, 'sk-test-not-a-real-key\n', 'api_key.txt');
    file = writeSpec(dir, spec(name, { port: published, secretFile: true }));
  });

  it('creates networks, secrets, configs and services, labelled, visible to docker stack', async () => {
    const r = await cli(['apply', '-f', file, '--timeout', '120s']);
    expect(r.stderr + r.stdout).toContain('in-process');
    expect(r.code, r.stderr + r.stdout).toBe(0);

    const services = (await docker('stack', 'services', name, '--format', '{{.Name}} {{.Replicas}}')).trim().split('\n').sort();
    expect(services).toEqual([`${name}_agent-a1 1/1`, `${name}_agent-a2 1/1`, `${name}_mcp-server 2/2`, `${name}_redis 1/1`]);
    const tasks = (await docker('stack', 'ps', name, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}'))
      .trim()
      .split('\n');
    expect(tasks).toHaveLength(5);
    expect(tasks.every((t) => t.startsWith('Running'))).toBe(true);

    const svc = JSON.parse(await docker('service', 'inspect', `${name}_agent-a1`))[0];
    expect(svc.Spec.Labels).toMatchObject({
      'io.bzzz.managed-by': 'bzzz-operator',
      'io.bzzz.cluster': name,
      'io.bzzz.component': 'agent',
      'com.docker.stack.namespace': name,
    });
    expect(svc.Spec.Labels['io.bzzz.spec-hash']).toMatch(/^[0-9a-f]{16}$/);
    expect(svc.Spec.TaskTemplate.ContainerSpec.Env).toContain(`BZZZ_BOOTSTRAP_PEERS=agent-a2:9000`);
    expect(svc.Spec.UpdateConfig).toMatchObject({ Parallelism: 1, FailureAction: 'rollback', Delay: 1e9, Monitor: 1e9 });

    const all = (await docker('secret', 'ls', '--filter', `label=io.bzzz.cluster=${name}`, '--format', '{{.Name}}'))
      .trim()
      .split('\n')
      .sort();
    const secrets = all.filter((n) => !n.startsWith(`${name}_bzzz-`));
    expect(secrets).toHaveLength(2);
    expect(secrets[0]).toMatch(new RegExp(`^${name}_api_key-[0-9a-f]{8}$`));
    expect(secrets[1]).toMatch(new RegExp(`^${name}_token-[0-9a-f]{8}$`));
    // Role keys (three private roles) and five admin-key shares, made by the operator.
    expect(all.filter((n) => n.startsWith(`${name}_bzzz-key-`))).toHaveLength(3);
    expect(all.filter((n) => n.startsWith(`${name}_bzzz-share-`))).toHaveLength(5);
    // Each agent gets every role's public key, its role's identity and only its own share.
    const mounts = (svcName: string) => {
      const s = JSON.parse(execDocker.sync('service', 'inspect', svcName))[0].Spec.TaskTemplate.ContainerSpec;
      return [
        ...s.Secrets.map(
          (x: { SecretName: string; File: { Name: string } }) => `${x.File.Name}<-${x.SecretName.replace(/-[0-9a-f]{8}$/, '')}`,
        ),
        ...s.Configs.map(
          (x: { ConfigName: string; File: { Name: string } }) => `${x.File.Name}<-${x.ConfigName.replace(/-[0-9a-f]{8}$/, '')}`,
        ),
      ].sort();
    };
    expect(mounts(`${name}_agent-a2`)).toEqual([
      `/etc/bzzz/settings<-${name}_settings`,
      `/run/bzzz-keys/admin.pub<-${name}_bzzz-pub-admin`,
      `/run/bzzz-keys/api-callers.json<-${name}_bzzz-api-callers`,
      `/run/bzzz-keys/backend_developer.pub<-${name}_bzzz-pub-backend_developer`,
      `/run/bzzz-keys/members.json<-${name}_bzzz-members`,
      `/run/bzzz-keys/observer.key<-${name}_bzzz-key-observer`,
      `/run/bzzz-keys/observer.pub<-${name}_bzzz-pub-observer`,
      // Its own libp2p identity only (closed membership).
      `/run/bzzz-keys/peer.key<-${name}_bzzz-peer-a2`,
      `/run/bzzz-keys/senior_software_architect.pub<-${name}_bzzz-pub-senior_software_architect`,
      `/run/bzzz-keys/share.json<-${name}_bzzz-share-2`,
      `token<-${name}_token`,
    ]);
    const configs = (await docker('config', 'ls', '--filter', `label=io.bzzz.cluster=${name}`, '--format', '{{.Name}}')).trim().split('\n');
    expect(configs.filter((c) => c.includes('_settings-'))).toHaveLength(1);
    const nets = (await docker('network', 'ls', '--filter', `label=io.bzzz.cluster=${name}`, '--format', '{{.Name}}'))
      .trim()
      .split('\n')
      .sort();
    expect(nets).toEqual([`${name}_external`, `${name}_internal`]);

    // The published port answers (busybox httpd in the test image). Host mode: the ingress
    // routing mesh does not route on these sandboxed machines, host-mode ports do.
    const body = await waitFor(
      'published port',
      async () => {
        const res = await fetch(`http://127.0.0.1:${published + 1}/`).catch(() => undefined);
        return res?.ok ? res.text() : undefined;
      },
      30_000,
    );
    expect(body).toContain('bzzz-test 1');
  });

  it('re-apply of the same spec writes nothing, and diff is empty', async () => {
    let json = '';
    const events = await engineWritesDuring(`${name}_`, async () => {
      const r = await cli(['apply', '-f', file, '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      json = r.stdout;
    });
    const doc = JSON.parse(json);
    expect(doc.changed).toBe(false);
    expect(doc.engineWrites).toEqual([]);
    expect(events).toEqual([]);

    const d = await cli(['diff', '-f', file]);
    expect(d.stdout).toBe('');
    expect(d.code).toBe(0);
  });

  it('never shows a secret value: not in apply, diff or status output, nor in the stored spec', async () => {
    const value = 'sk-test-not-a-real-key';
    const outputs = await Promise.all([
      cli(['apply', '-f', file, '-o', 'json']),
      cli(['apply', '-f', file]),
      cli(['diff', '-f', file, '-o', 'json']),
      cli(['status', name, '-o', 'yaml']),
      cli(['status', name]),
    ]);
    for (const r of outputs) expect(r.stdout + r.stderr).not.toContain(value);
    const stored = (
      await docker(
        'config',
        'ls',
        '--filter',
        `label=io.bzzz.cluster=${name}`,
        '--filter',
        'label=io.bzzz.kind=spec',
        '--format',
        '{{.Name}}',
      )
    )
      .trim()
      .split('\n');
    for (const c of stored) {
      const data = Buffer.from(
        (await docker('config', 'inspect', c, '--format', '{{json .Spec.Data}}')).trim().replace(/"/g, ''),
        'base64',
      ).toString();
      expect(data).toContain('api_key');
      expect(data).not.toContain(value);
    }
  });

  it('status shows generation, conditions and tasks per component', async () => {
    const r = await cli(['status', name, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.generation).toBe(1);
    expect(s.observedGeneration).toBe(1);
    expect(s.ready).toBe(true);
    expect(s.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual([
      'Ready=True',
      'Progressing=False',
      'Degraded=False',
    ]);
    const mcp = s.components.find((c: { service: string }) => c.service === `${name}_mcp-server`);
    expect(mcp).toMatchObject({ desired: 2, running: 2, image: 'bzzz-test/busybox:1' });
    const text = await cli(['status', name]);
    expect(text.stdout).toContain('Ready');
    expect(text.stdout).toContain(`${name}_agent-a1`);
  });

  it('diff shows per-field changes and exits 1; an image change rolls the service per the update policy', async () => {
    const next = writeSpec(dir, spec(name, { port: published, secretFile: true, image: 'bzzz-test/busybox:2' }), 'next.yaml');
    const d = await cli(['diff', '-f', next]);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain(`~ service ${name}_agent-a1`);
    expect(d.stdout).toContain('image: bzzz-test/busybox:1 → bzzz-test/busybox:2');
    expect(d.stdout).not.toContain('mcp-server');

    const r = await cli(['apply', '-f', next, '--timeout', '120s']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const svc = JSON.parse(await docker('service', 'inspect', `${name}_agent-a1`))[0];
    expect(svc.Spec.TaskTemplate.ContainerSpec.Image).toBe('bzzz-test/busybox:2');
    expect(svc.PreviousSpec.TaskTemplate.ContainerSpec.Image).toBe('bzzz-test/busybox:1');
    expect(svc.UpdateStatus?.State).toBe('completed');
    const running = (
      await docker('service', 'ps', `${name}_agent-a1`, '--filter', 'desired-state=running', '--format', '{{.Image}}')
    ).trim();
    expect(running).toBe('bzzz-test/busybox:2');
    file = next;
  });

  it('a config content change makes a new config version, rolls the service and removes the old version', async () => {
    const before = (
      await docker(
        'config',
        'ls',
        '--filter',
        `label=io.bzzz.logical=settings`,
        '--filter',
        `label=io.bzzz.cluster=${name}`,
        '--format',
        '{{.Name}}',
      )
    ).trim();
    const next = writeSpec(
      dir,
      spec(name, { port: published, secretFile: true, image: 'bzzz-test/busybox:2', config: 'level=2' }),
      'next2.yaml',
    );
    const r = await cli(['apply', '-f', next, '--timeout', '120s']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const after = await waitFor(
      'old config version removed',
      async () => {
        const list = (
          await docker(
            'config',
            'ls',
            '--filter',
            `label=io.bzzz.logical=settings`,
            '--filter',
            `label=io.bzzz.cluster=${name}`,
            '--format',
            '{{.Name}}',
          )
        )
          .trim()
          .split('\n');
        return list.length === 1 && list[0] !== before ? list[0] : undefined;
      },
      30_000,
    );
    const svc = JSON.parse(await docker('service', 'inspect', `${name}_agent-a2`))[0];
    expect(
      svc.Spec.TaskTemplate.ContainerSpec.Configs.map((c: { ConfigName: string }) => c.ConfigName).filter((n: string) =>
        n.includes('_settings-'),
      ),
    ).toEqual([after]);
    const content = await docker('config', 'inspect', after, '--format', '{{printf "%s" .Spec.Data}}');
    expect(content.trim()).toBe('level=2');
    file = next;
  });

  it('a component removed from the spec is pruned', async () => {
    const next = writeSpec(
      dir,
      spec(name, { port: published, secretFile: true, image: 'bzzz-test/busybox:2', config: 'level=2', mcp: false }),
      'next3.yaml',
    );
    const r = await cli(['apply', '-f', next, '--timeout', '120s']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const services = (await docker('stack', 'services', name, '--format', '{{.Name}}')).trim().split('\n').sort();
    expect(services).toEqual([`${name}_agent-a1`, `${name}_agent-a2`, `${name}_redis`]);
    file = next;
  });

  it('delete removes everything the cluster owns and nothing else', async () => {
    const lookalike = `${name}_agent-a1x`;
    foreign.push(lookalike);
    await docker('service', 'create', '--name', lookalike, '--label', `com.example.owner=someone`, 'bzzz-test/busybox:1');
    const r = await cli(['delete', name]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const owned = ownedBy(name);
    const [s, sec, cfg, net] = await Promise.all([
      port.listServices({ labels: owned }),
      port.listSecrets({ labels: owned }),
      port.listConfigs({ labels: owned }),
      port.listNetworks({ labels: owned }),
    ]);
    expect([s.length, sec.length, cfg.length, net.length]).toEqual([0, 0, 0, 0]);
    expect((await docker('service', 'ls', '--filter', `name=${lookalike}`, '--format', '{{.Name}}')).trim()).toBe(lookalike);
    const st = await cli(['status', name]);
    expect(st.code).toBe(2);
    expect(st.stderr).toContain(`cluster ${name} not found`);
  });
});

describe('bad input writes nothing', () => {
  it('an invalid spec is refused with exit 1 and nothing appears in the swarm', async () => {
    const name = uniqueName('it-bad');
    const dir = specDir();
    const file = writeSpec(dir, spec(name).replace('replicas: 2', 'replica: 2').replace('name: a2', 'name: a1'));
    const r = await cli(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/replica/);
    expect(r.stderr + r.stdout).toMatch(/a1/);
    const [s, c] = await Promise.all([port.listServices({ labels: ownedBy(name) }), port.listConfigs({ labels: ownedBy(name) })]);
    expect(s.length + c.length).toBe(0);
  });

  it('a missing secret file names the secret and the file, and writes nothing', async () => {
    const name = uniqueName('it-nofile');
    const dir = specDir();
    const file = writeSpec(dir, spec(name, { secretFile: true }));
    const r = await cli(['apply', '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('api_key');
    expect(r.stderr).toContain('api_key.txt');
    const c = await port.listConfigs({ labels: ownedBy(name) });
    expect(c.length).toBe(0);
  });
});
