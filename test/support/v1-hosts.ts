// BZZZ v1 hosts for the rollback-to-v1 tests and benchmark (issue 10): per test, N containers of
// bzzz-test/v1-host (test/support/v1-host-image.ts) with real systemd as PID 1 and sshd, each with
// the v1 stand-in unit bzzz@<name>.service installed but not started (v1 is off while v2 serves),
// and one proxy container of the same image running Debian's HAProxy under systemd in front of
// them: backend `bzzz` with the v1 hosts' health ports (8081, initially `disabled`, i.e. in
// maintenance) and the v2 servers given by the caller (e.g. the v2 agents' host-mode published
// health ports on the bridge's gateway), every answer carrying `X-Served-By: <server>`.
//
//   const v1 = await startV1Hosts({ v2Servers: [{ name: 'v2-0', address: `${gateway}:${port}` }] });
//   try { ... ssh root@v1.hosts[0].address with v1.privateKey, pinned to v1.hosts[0].hostKey ... }
//   finally { await v1.stop(); }
//
// No --privileged: SYS_ADMIN + NET_ADMIN, seccomp unconfined, the host's cgroup namespace with
// /sys/fs/cgroup bind-mounted rw, tmpfs on /run and /run/lock (DESIGN.md). The v1 agents form a
// closed cluster: each host gets its own libp2p peer key, all get one member list and an API
// callers file (one token per role), and every host's bootstrap peers are the others'
// /ip4/<container ip>/tcp/9000/p2p/<peer id>. Containers carry labels naming this run and its
// process: a later start removes those of runs whose process is gone (a test that died).
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import ssh2 from 'ssh2';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { generateApiToken, ROLES, serializeApiCallers, type Role } from '../../src/crypto/index.js';
import { serializeMemberList } from '../../src/crypto/membership.js';
import { ensureV1HostImage } from './v1-host-image.js';

// Ryuk (testcontainers' reaper container) cannot be pulled here; cleanup is stop() plus the
// stale-run sweep below.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

const execp = promisify(execFile);

export const V1_HOST_NAMES = ['walnut', 'ironwood', 'acacia'] as const;
export const V1_API_PORT = 8080;
export const V1_HEALTH_PORT = 8081;
export const V1_P2P_PORT = 9000;
export const PROXY_PORT = 80;
export const HAPROXY_SOCKET = '/run/haproxy/admin.sock';
export const HAPROXY_STATE_FILE = '/var/lib/haproxy/server-state';
export const HAPROXY_BACKEND = 'bzzz';
const LABEL = 'io.bzzz.test';
const LABEL_RUN = 'io.bzzz.test.run';
const LABEL_PID = 'io.bzzz.test.pid';

/** A host as spec.v1 names it: where to SSH to, as whom, which host key to expect. */
export interface SshHost {
  name: string;
  /** The container's IP on the Docker bridge. */
  address: string;
  sshPort: number;
  user: 'root';
  /** sshd's ed25519 host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:<base64, no padding>`. */
  hostKey: string;
  /** sshd's ed25519 public key line (`ssh-ed25519 AAAA…`), for known_hosts. */
  hostPublicKey: string;
  containerId: string;
}

export interface V1Host extends SshHost {
  /** The v1 unit, not started: `bzzz@<name>.service` (or `bzzz.service` with unit: 'plain'). */
  unit: string;
  /** The v1 agent's libp2p peer ID (its key is /etc/bzzz/peer.key). */
  peerId: string;
  /** http://<address>:8080 and http://<address>:8081 once the unit runs. */
  apiUrl: string;
  healthUrl: string;
}

export interface V2Server {
  /** HAProxy server name (what X-Served-By says). */
  name: string;
  /** host:port HAProxy reaches, e.g. `<bridge gateway>:<published health port>`. */
  address: string;
}

export interface V1HostsOptions {
  /** Default walnut, ironwood, acacia. */
  names?: readonly string[];
  /** The v2 servers in HAProxy's backend (health-checked, in service); default none. */
  v2Servers?: readonly V2Server[];
  /** Which unit the hosts are named with: bzzz@<host>.service (default) or bzzz.service. */
  unit?: 'template' | 'plain';
  /** Progress lines (image build, start). */
  onProgress?: (msg: string) => void;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface V1Hosts {
  image: string;
  hosts: V1Host[];
  /** The HAProxy container (SSH like the hosts; no v1 unit). */
  proxy: SshHost;
  /** HAProxy's frontend: http://<proxy address>:80. */
  proxyUrl: string;
  /** The Docker bridge's gateway: the docker host as the containers reach it (v2's host-mode ports). */
  gateway: string;
  /** ed25519 key root logs in with, OpenSSH format (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  privateKey: string;
  /** Its public half, as in authorized_keys. */
  publicKey: string;
  /** Writes the private key (mode 0600) to `path`, or to a new temp file; resolves to the path. */
  writePrivateKey(path?: string): Promise<string>;
  /** Writes an OpenSSH known_hosts file (every host and the proxy, by address) to `path` or a temp file; resolves to the path. */
  writeKnownHosts(path?: string): Promise<string>;
  /** API tokens of the v1 agents' callers, one per role (`Authorization: Bearer <token>`). */
  tokens: Record<Role, string>;
  host(name: string): V1Host;
  /** `docker exec` argv (no shell) in a host or the proxy. */
  exec(host: SshHost | string, argv: string[]): Promise<ExecResult>;
  /** `systemctl is-active <unit>` (active, inactive, failed, activating…). */
  unitState(host: V1Host | string): Promise<string>;
  /** One HAProxy runtime API command through the admin socket (via docker exec); its answer. */
  haproxy(command: string): Promise<string>;
  /** `show servers state bzzz` parsed: server name → {operational state, admin state, weight, address}. */
  haproxyServers(): Promise<Map<string, { opState: number; adminState: number; weight: number; address: string }>>;
  /** New sshd host keys on a host (sshd restarted); resolves to the new fingerprint. host.hostKey keeps the old one. */
  replaceHostKey(host: SshHost | string): Promise<string>;
  /**
   * Cuts a host off: 'link-down' takes its interface down (connections time out or find no
   * route), 'pause' freezes every process (TCP connects, nothing ever answers).
   */
  makeUnreachable(host: SshHost | string, how?: 'link-down' | 'pause'): Promise<void>;
  /** Undoes makeUnreachable (same address, routes restored). */
  makeReachable(host: SshHost | string): Promise<void>;
  /** Makes the v1 unit fail to start (an override env file the agent refuses: it exits 1). */
  breakUnit(host: V1Host | string): Promise<void>;
  /** Removes that override (and resets the unit's failed state). */
  repairUnit(host: V1Host | string): Promise<void>;
  /** The last lines of a unit's journal on a host. */
  journal(host: SshHost | string, unit: string, lines?: number): Promise<string>;
  /** Removes every container of this run; safe to call twice. */
  stop(): Promise<void>;
}

/** `ssh-keygen -lf` of a public key line (`ssh-ed25519 AAAA… comment`): `SHA256:<base64 without padding>`. */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key line: ${JSON.stringify(publicKeyLine.slice(0, 80))}`);
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** The same fingerprint from the raw key blob (what ssh2's hostVerifier hands over). */
export function sshFingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

class SystemdContainer extends GenericContainer {
  protected override async beforeContainerCreated(): Promise<void> {
    // testcontainers has no setter for the cgroup namespace.
    (this.hostConfig as { CgroupnsMode?: string }).CgroupnsMode = 'host';
  }
}

/** Removes v1 host containers of earlier runs whose process is gone (a test that died). */
export async function removeStaleV1Hosts(): Promise<string[]> {
  const { stdout } = await execp('docker', [
    'ps',
    '-a',
    '--filter',
    `label=${LABEL}=v1-hosts`,
    '--format',
    `{{.ID}} {{.Label "${LABEL_PID}"}}`,
  ]);
  const stale: string[] = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [id, pid] = line.split(' ');
    if (Number(pid) === process.pid || alive(Number(pid))) continue;
    stale.push(id);
  }
  if (stale.length) await execp('docker', ['rm', '-f', '-v', ...stale]).catch(() => undefined);
  return stale;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function startV1Hosts(opts: V1HostsOptions = {}): Promise<V1Hosts> {
  const progress = opts.onProgress ?? (() => {});
  const names = [...(opts.names ?? V1_HOST_NAMES)];
  for (const n of names) {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(n)) throw new Error(`v1 host name ${JSON.stringify(n)}: lowercase letters, digits and -`);
  }
  if (names.includes('proxy')) throw new Error('"proxy" is the HAProxy container');
  await removeStaleV1Hosts();
  const image = await ensureV1HostImage(progress);
  const run = Math.random().toString(36).slice(2, 8);
  const { private: privateKey, public: publicKey } = ssh2.utils.generateKeyPairSync('ed25519', { comment: `bzzz-v1-test-${run}` });

  const started: StartedTestContainer[] = [];
  const byName = new Map<string, StartedTestContainer>();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // By this run's label too: a container whose start was still under way when another failed.
    const { stdout } = await execp('docker', ['ps', '-aq', '--filter', `label=${LABEL_RUN}=${run}`]).catch(() => ({ stdout: '' }));
    const ids = new Set([...started.map((c) => c.getId()), ...stdout.split('\n').filter(Boolean)]);
    if (ids.size) await execp('docker', ['rm', '-f', '-v', ...ids]).catch(() => undefined);
  };

  try {
    const t0 = Date.now();
    const all = [...names, 'proxy'];
    await Promise.all(
      all.map(async (name) => {
        const c = await new SystemdContainer(image)
          .withName(`bzzz-v1-${run}-${name}`)
          .withHostname(name)
          .withLabels({ [LABEL]: 'v1-hosts', [LABEL_RUN]: run, [LABEL_PID]: String(process.pid) })
          .withAddedCapabilities('SYS_ADMIN', 'NET_ADMIN')
          .withSecurityOpt('seccomp=unconfined')
          .withBindMounts([{ source: '/sys/fs/cgroup', target: '/sys/fs/cgroup', mode: 'rw' }])
          .withTmpFs({ '/run': 'rw,exec,mode=755', '/run/lock': 'rw,mode=1777' })
          .withCommand(['/sbin/init'])
          .withStartupTimeout(60_000)
          .start();
        started.push(c);
        byName.set(name, c);
      }),
    );
    const containerOf = (h: SshHost | string): StartedTestContainer => {
      const name = typeof h === 'string' ? h : h.name;
      const c = byName.get(name);
      if (!c) throw new Error(`no v1 test host ${JSON.stringify(name)} (have ${[...byName.keys()].join(', ')})`);
      return c;
    };
    const exec = async (h: SshHost | string, argv: string[]): Promise<ExecResult> => {
      const r = await containerOf(h).exec(argv);
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    };
    const must = async (h: SshHost | string, argv: string[]): Promise<string> => {
      const r = await exec(h, argv);
      if (r.exitCode !== 0) {
        const name = typeof h === 'string' ? h : h.name;
        throw new Error(`${name}: ${argv.join(' ')} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
      }
      return r.stdout;
    };

    // systemd up (running, or degraded: some unit a container cannot run), sshd with its key.
    await Promise.all(
      all.map(async (name) => {
        // Right after the start, systemctl may find no systemd to talk to yet (no answer, or
        // "offline" before systemd has set up /run/systemd/system).
        const deadline = Date.now() + 60_000;
        let r: ExecResult;
        for (;;) {
          r = await exec(name, ['timeout', '60', 'systemctl', 'is-system-running', '--wait']);
          if (!['', 'offline'].includes(r.stdout.trim()) || Date.now() > deadline) break;
          await new Promise((res) => setTimeout(res, 200));
        }
        const state = r.stdout.trim();
        if (state !== 'running' && state !== 'degraded') {
          const failed = await exec(name, ['systemctl', '--failed', '--no-legend']);
          throw new Error(
            `${name}: systemd is ${JSON.stringify(state)} after boot (${r.stderr.trim()}; failed units: ${failed.stdout.trim() || 'none'})`,
          );
        }
        await must(name, ['systemctl', 'is-active', '--quiet', 'ssh.service']);
      }),
    );
    progress(`v1 hosts: ${all.length} containers booted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const gateway = await bridgeGateway();
    const addressOf = (name: string) => containerOf(name).getIpAddress('bridge');
    const sshHost = async (name: string): Promise<SshHost> => {
      const c = containerOf(name);
      await c.copyContentToContainer([{ content: `${publicKey}\n`, target: '/root/.ssh/authorized_keys', mode: 0o600 }]);
      const pub = await must(name, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub']);
      const hostPublicKey = pub.trim().split(/\s+/).slice(0, 2).join(' ');
      return {
        name,
        address: addressOf(name),
        sshPort: 22,
        user: 'root',
        hostKey: sshFingerprint(pub),
        hostPublicKey,
        containerId: c.getId(),
      };
    };

    // The v1 agents' closed cluster: peer keys, member list, API callers.
    const keys = await Promise.all(names.map(() => generateKeyPair('Ed25519')));
    const peerIds = keys.map((k) => peerIdFromPrivateKey(k).toString());
    const members = serializeMemberList(
      'bzzz-v1',
      names.map((name, i) => ({ name, peerId: peerIds[i], role: 'backend_developer' as Role })),
    );
    const tokens = {} as Record<Role, string>;
    const callers = serializeApiCallers(
      ROLES.map((role) => {
        const t = generateApiToken();
        tokens[role] = t.token;
        return { name: `${role}-caller`, role, tokenSha256: t.tokenSha256 };
      }),
    );
    const unitName = (name: string) => (opts.unit === 'plain' ? 'bzzz.service' : `bzzz@${name}.service`);
    const hosts: V1Host[] = await Promise.all(
      names.map(async (name, i) => {
        const base = await sshHost(name);
        const bootstrap = names
          .map((other, j) => (j === i ? undefined : `/ip4/${addressOf(other)}/tcp/${V1_P2P_PORT}/p2p/${peerIds[j]}`))
          .filter((x): x is string => x !== undefined);
        const env = [
          '# BZZZ v1 agent settings (written by test/support/v1-hosts.ts)',
          'BZZZ_HOST=0.0.0.0',
          `BZZZ_P2P_PORT=${V1_P2P_PORT}`,
          `BZZZ_API_PORT=${V1_API_PORT}`,
          `BZZZ_HEALTH_PORT=${V1_HEALTH_PORT}`,
          `BZZZ_BOOTSTRAP_PEERS=${bootstrap.join(',')}`,
          'BZZZ_ROLE=backend_developer',
          'BZZZ_MEMBERS_FILE=/etc/bzzz/members.json',
          'BZZZ_PEER_KEY_FILE=/etc/bzzz/peer.key',
          'BZZZ_API_CALLERS_FILE=/etc/bzzz/api-callers.json',
          `BZZZ_REPLICATION_FACTOR=${Math.min(3, names.length)}`,
          'BZZZ_SHUTDOWN_GRACE_MS=2000',
          // The v1 hosts are small containers: the store keeps no disk reserve.
          'BZZZ_STORE_RESERVE=0',
          '',
        ].join('\n');
        const c = containerOf(name);
        await c.copyContentToContainer([
          { content: env, target: '/etc/bzzz/bzzz.env', mode: 0o644 },
          { content: members, target: '/etc/bzzz/members.json', mode: 0o644 },
          { content: callers, target: '/etc/bzzz/api-callers.json', mode: 0o640 },
          { content: Buffer.from(privateKeyToProtobuf(keys[i])), target: '/etc/bzzz/peer.key', mode: 0o600 },
        ]);
        await must(name, ['chown', '-R', 'bzzz:bzzz', '/etc/bzzz']);
        return {
          ...base,
          unit: unitName(name),
          peerId: peerIds[i],
          apiUrl: `http://${base.address}:${V1_API_PORT}`,
          healthUrl: `http://${base.address}:${V1_HEALTH_PORT}`,
        };
      }),
    );

    // The proxy: HAProxy under systemd, v1 servers in maintenance, v2 servers serving.
    const proxy = await sshHost('proxy');
    const cfg = haproxyConfig(hosts, opts.v2Servers ?? []);
    await containerOf('proxy').copyContentToContainer([{ content: cfg, target: '/etc/haproxy/haproxy.cfg', mode: 0o644 }]);
    await must('proxy', ['haproxy', '-c', '-q', '-f', '/etc/haproxy/haproxy.cfg']);
    await must('proxy', ['systemctl', 'enable', '--now', 'haproxy.service']);
    for (let i = 0; ; i++) {
      const r = await exec('proxy', ['test', '-S', HAPROXY_SOCKET]);
      if (r.exitCode === 0) break;
      if (i > 100) throw new Error(`proxy: HAProxy's admin socket ${HAPROXY_SOCKET} did not appear`);
      await new Promise((res) => setTimeout(res, 100));
    }

    const haproxy = async (command: string): Promise<string> => {
      if (/[\r\n]/.test(command)) throw new Error('one HAProxy command at a time (no newlines)');
      return must('proxy', ['node', '-e', HAPROXY_CLIENT, HAPROXY_SOCKET, command]);
    };
    const routes = new Map<string, string>();
    const hostOf = (h: V1Host | string): V1Host => {
      const name = typeof h === 'string' ? h : h.name;
      const found = hosts.find((x) => x.name === name);
      if (!found) throw new Error(`no v1 host ${JSON.stringify(name)} (have ${names.join(', ')})`);
      return found;
    };
    const paused = new Set<string>();
    const nameOf = (h: SshHost | string) => (typeof h === 'string' ? h : h.name);

    progress(`v1 hosts: ${names.join(', ')} and the proxy ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return {
      image,
      hosts,
      proxy,
      proxyUrl: `http://${proxy.address}:${PROXY_PORT}`,
      gateway,
      privateKey,
      publicKey,
      async writePrivateKey(path) {
        const file = path ?? join(await mkdtemp(join(tmpdir(), 'bzzz-v1-key-')), 'id_ed25519');
        await writeFile(file, privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`, { mode: 0o600 });
        return file;
      },
      async writeKnownHosts(path) {
        const file = path ?? join(await mkdtemp(join(tmpdir(), 'bzzz-v1-known-')), 'known_hosts');
        await writeFile(file, [...hosts, proxy].map((x) => `${x.address} ${x.hostPublicKey}\n`).join(''), { mode: 0o644 });
        return file;
      },
      tokens,
      host: hostOf,
      exec,
      async unitState(h) {
        const host = hostOf(h);
        return (await exec(host, ['systemctl', 'is-active', host.unit])).stdout.trim();
      },
      haproxy,
      async haproxyServers() {
        // "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ..."
        const out = await haproxy(`show servers state ${HAPROXY_BACKEND}`);
        const servers = new Map<string, { opState: number; adminState: number; weight: number; address: string }>();
        for (const line of out.split('\n')) {
          const f = line.trim().split(/\s+/);
          if (f.length < 8 || line.startsWith('#') || f[1] !== HAPROXY_BACKEND) continue;
          servers.set(f[3], { address: f[4], opState: Number(f[5]), adminState: Number(f[6]), weight: Number(f[7]) });
        }
        return servers;
      },
      async replaceHostKey(h) {
        const name = nameOf(h);
        await must(name, ['sh', '-c', 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -q -A']);
        await must(name, ['systemctl', 'restart', 'ssh.service']);
        return sshFingerprint(await must(name, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub']));
      },
      async makeUnreachable(h, how = 'link-down') {
        const name = nameOf(h);
        if (how === 'pause') {
          await execp('docker', ['pause', containerOf(name).getId()]);
          paused.add(name);
          return;
        }
        routes.set(name, await must(name, ['ip', '-4', 'route', 'show', 'default']));
        await must(name, ['ip', 'link', 'set', 'eth0', 'down']);
      },
      async makeReachable(h) {
        const name = nameOf(h);
        if (paused.delete(name)) {
          await execp('docker', ['unpause', containerOf(name).getId()]);
          return;
        }
        const route = routes.get(name);
        if (route === undefined) return;
        await must(name, ['ip', 'link', 'set', 'eth0', 'up']);
        const via = /via (\S+)/.exec(route)?.[1];
        if (via) await exec(name, ['ip', 'route', 'replace', 'default', 'via', via, 'dev', 'eth0']);
        routes.delete(name);
      },
      async breakUnit(h) {
        const host = hostOf(h);
        // A port the agent refuses: it exits 1 at start-up, so `systemctl start` fails.
        await containerOf(host.name).copyContentToContainer([
          {
            content: '# written by the test: the agent refuses this and exits 1\nBZZZ_P2P_PORT=not-a-port\n',
            target: '/etc/bzzz/override.env',
            mode: 0o644,
          },
        ]);
      },
      async repairUnit(h) {
        const host = hostOf(h);
        await must(host.name, ['rm', '-f', '/etc/bzzz/override.env']);
        await exec(host.name, ['systemctl', 'reset-failed', host.unit]);
      },
      async journal(h, unit, lines = 50) {
        return (await exec(nameOf(h), ['journalctl', '--no-pager', '-o', 'cat', '-n', String(lines), '-u', unit])).stdout;
      },
      async stop() {
        for (const name of paused) await execp('docker', ['unpause', containerOf(name).getId()]).catch(() => undefined);
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * HAProxy's configuration on the proxy: runtime API on the admin socket, server states kept in a
 * file a reload reads back, backend `bzzz` with the v1 hosts (health port, `disabled` = in
 * maintenance until a rollback sets them ready) and the v2 servers, all health-checked.
 */
export function haproxyConfig(hosts: readonly Pick<V1Host, 'name' | 'address'>[], v2: readonly V2Server[]): string {
  const line = (s: string) => `    ${s}`;
  return [
    '# written by test/support/v1-hosts.ts',
    'global',
    line(`stats socket ${HAPROXY_SOCKET} mode 600 level admin`),
    line('stats timeout 30s'),
    line(`server-state-file ${HAPROXY_STATE_FILE}`),
    line('user haproxy'),
    line('group haproxy'),
    '',
    'defaults',
    line('mode http'),
    line('load-server-state-from-file global'),
    line('timeout connect 1s'),
    line('timeout client 10s'),
    line('timeout server 10s'),
    line('timeout check 1s'),
    line('retries 1'),
    line('option redispatch'),
    '',
    'frontend bzzz',
    line(`bind :${PROXY_PORT}`),
    line(`default_backend ${HAPROXY_BACKEND}`),
    '',
    `backend ${HAPROXY_BACKEND}`,
    line('option httpchk GET /health/live'),
    line('http-check expect status 200'),
    line('default-server inter 500ms fastinter 250ms downinter 500ms rise 2 fall 2'),
    line('http-response set-header X-Served-By %s'),
    ...hosts.map((h) => line(`server ${h.name} ${h.address}:${V1_HEALTH_PORT} check disabled`)),
    ...v2.map((s) => line(`server ${s.name} ${s.address} check`)),
    '',
  ].join('\n');
}

/** The bridge network's gateway: how containers reach ports the docker host publishes (e.g. v2's host-mode ports). */
export async function bridgeGateway(): Promise<string> {
  const { stdout } = await execp('docker', ['network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}']);
  return stdout.trim() || '172.17.0.1';
}

/** Run by `node -e` on the proxy: one command to HAProxy's runtime API socket, the answer on stdout. */
const HAPROXY_CLIENT = `
const [sock, cmd] = process.argv.slice(1);
const s = require('node:net').connect(sock, () => s.end(cmd + '\\n'));
let out = '';
s.on('data', (d) => (out += d));
s.on('end', () => process.stdout.write(out));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('no answer from ' + sock); process.exit(1); }, 5000).unref();
`;
