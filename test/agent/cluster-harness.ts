// A cluster of real agents on loopback for the agent tests and benchmarks: in-process agents built
// by the composition (createAgent) from the same flag strings `bzzzctl agent run` takes, and
// optionally agents run as child processes (`node bin/bzzzctl.js agent run …`). Random free
// ports, a temp directory per agent, role keys and a 3-of-5 admin key split from crypto's
// generateKeys. Every agent knows every other as a host:port bootstrap peer. The cluster is closed,
// as the operator runs it: each agent gets its own Ed25519 peer key file (--peer-key) and all get
// one member list (--members) naming every agent's peer ID and role; `open: true` runs the
// explicit --insecure-open-cluster mode instead.
// The API is closed as in production: one caller token per role (`cluster.tokens`, headers from
// `cluster.auth(role)`), the callers file holding their hashes; in-process agents also get the
// member list in code (decision signatures are checked against it).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAgent, type Agent, type AgentOptions } from '../../src/agent/agent.js';
import { parseAgentConfig } from '../../src/agent/config.js';
import { generateApiToken, generateKeys, ROLES, serializeApiCallers, sharePath, type Role } from '../../src/crypto/index.js';
import { memberList, serializeMemberList } from '../../src/crypto/membership.js';
import { logger, silentLogger } from '../../src/util/log.js';
import { freePort } from '../support/ports.js';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export { freePort };

export interface MemberSpec {
  role: Role;
  /** Run as `node bin/bzzzctl.js agent run` in a child process. */
  child?: boolean;
}

export interface Member {
  index: number;
  role: Role;
  peerId: string;
  /** Its libp2p identity (the key its --peer-key file holds). */
  privateKey: PrivateKey;
  dataDir: string;
  p2pPort: number;
  /** Known once the member runs (its API and health servers take free ports when they start). */
  apiUrl: string;
  healthUrl: string;
  /** Flag strings as commander would hand them over. */
  flags: Record<string, string>;
  /** Set while an in-process agent runs. */
  agent?: Agent;
  /** Set while a child-process agent runs. */
  child?: ChildAgent;
}

export interface ChildAgent {
  process: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ClusterInit {
  members: MemberSpec[];
  heartbeatMs: number;
  electionTimeoutMs: number;
  replicationFactor?: number;
  graceMs?: number;
  options?: AgentOptions;
  /** Run with --insecure-open-cluster (no member list, no peer key files). Default: closed. */
  open?: boolean;
  /** Cluster name in the member list. Default "test". */
  name?: string;
}

export interface Cluster {
  root: string;
  keysDir: string;
  /** The member list file every agent is given (undefined in an open cluster). */
  membersFile?: string;
  members: Member[];
  /** One API caller token per role (callers named `<role>-caller`). */
  tokens: Record<Role, string>;
  /** Authorization header of the role's caller. */
  auth(role: Role): { authorization: string };
  startMember(m: Member): Promise<void>;
  /** Graceful stop of an in-process member (hand-off included). */
  stopMember(m: Member, graceMs?: number): Promise<void>;
  stopAll(): Promise<void>;
}

export async function createCluster(init: ClusterInit): Promise<Cluster> {
  const root = await mkdtemp(join(tmpdir(), 'bzzz-cluster-'));
  const keysDir = join(root, 'keys');
  const n = init.members.length;
  await generateKeys({ outDir: keysDir, threshold: 3, shares: Math.max(5, n) });

  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const dataDir = join(root, `agent-${i}`);
    const privateKey = await generateKeyPair('Ed25519');
    // Only the P2P ports are chosen up front (every agent's bootstrap list names them).
    members.push({
      index: i,
      role: init.members[i].role,
      peerId: peerIdFromPrivateKey(privateKey).toString(),
      privateKey,
      dataDir,
      p2pPort: await freePort(),
      apiUrl: '',
      healthUrl: '',
      flags: {},
    });
  }
  const membersFile = init.open === true ? undefined : join(root, 'members.json');
  if (membersFile !== undefined) {
    const list = members.map((m) => ({ name: `agent-${m.index}`, peerId: m.peerId, role: m.role }));
    await writeFile(membersFile, serializeMemberList(init.name ?? 'test', list), { mode: 0o644 });
  }
  const tokens = {} as Record<Role, string>;
  const entries = ROLES.map((role) => {
    const t = generateApiToken();
    tokens[role] = t.token;
    return { name: `${role}-caller`, role, tokenSha256: t.tokenSha256 };
  });
  const apiCallersFile = join(root, 'api-callers.json');
  await writeFile(apiCallersFile, serializeApiCallers(entries), { mode: 0o600 });
  const members_ = memberList(
    init.name ?? 'test',
    members.map((m) => ({ name: `agent-${m.index}`, peerId: m.peerId, role: m.role })),
  );
  for (const m of members) {
    const keyFile = join(root, `agent-${m.index}.peer.key`);
    await writeFile(keyFile, privateKeyToProtobuf(m.privateKey), { mode: 0o600 });
    const membership: Record<string, string> =
      membersFile === undefined ? { insecureOpenCluster: 'true', peerKey: keyFile } : { members: membersFile, peerKey: keyFile };
    m.flags = {
      dataDir: m.dataDir,
      host: '127.0.0.1',
      p2pPort: String(m.p2pPort),
      apiPort: '0',
      healthPort: '0',
      // host:port (as DHT_BOOTSTRAP_NODES), own entry included: the agent must skip itself.
      bootstrap: members.map((o) => `127.0.0.1:${o.p2pPort}`).join(','),
      clusterSize: String(n),
      role: m.role,
      keysDir,
      shareFile: sharePath(keysDir, m.index + 1),
      ...membership,
      heartbeatMs: String(init.heartbeatMs),
      electionTimeoutMs: String(init.electionTimeoutMs),
      replicationFactor: String(init.replicationFactor ?? 3),
      graceMs: String(init.graceMs ?? 5000),
      apiCallers: apiCallersFile,
    };
  }

  const specs = new Map(members.map((m) => [m, init.members[m.index]]));
  const cluster: Cluster = {
    root,
    keysDir,
    membersFile,
    members,
    tokens,
    auth: (role) => ({ authorization: `Bearer ${tokens[role]}` }),
    async startMember(m) {
      if (specs.get(m)?.child === true) {
        // The member's ports were picked free when the cluster was made; an outgoing connection
        // of another process on this machine can hold one of them for a moment as its source
        // port. Retried a few times on EADDRINUSE: the member list names these ports.
        for (let attempt = 1; ; attempt++) {
          try {
            m.child = await spawnChildAgent(m.flags);
            break;
          } catch (err) {
            if (attempt >= 5 || !/EADDRINUSE/.test((err as Error).message)) throw err;
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
        const started = JSON.parse(m.child.stdout[0]) as { api: string; health: string };
        m.apiUrl = started.api;
        m.healthUrl = started.health;
        return;
      }
      const log = process.env.BZZZ_TEST_LOG ? logger('agent', { agent: m.index }) : silentLogger();
      const agent = await createAgent(parseAgentConfig(m.flags), {
        log,
        bootstrapBackoffMs: { min: 100, max: 1000 },
        replicationIntervalMs: 2_000,
        processMetrics: false,
        scrubIntervalMs: 0,
        members: members_,
        ...init.options,
      });
      await agent.start();
      m.agent = agent;
      m.apiUrl = agent.apiUrl();
      m.healthUrl = agent.healthUrl();
    },
    async stopMember(m, graceMs) {
      if (m.agent) {
        await m.agent.stop({ graceMs });
        m.agent = undefined;
      }
      if (m.child) {
        m.child.process.kill('SIGTERM');
        await m.child.exited;
        m.child = undefined;
      }
    },
    async stopAll() {
      await Promise.all(
        members.map(async (m) => {
          if (m.child) {
            m.child.process.kill('SIGKILL');
            await m.child.exited;
            m.child = undefined;
          }
          if (m.agent) {
            await m.agent.stop({ graceMs: 0 }).catch(() => undefined);
            m.agent = undefined;
          }
        }),
      );
      await rm(root, { recursive: true, force: true });
    },
  };
  return cluster;
}

const FLAG_NAMES: Record<string, string> = {
  dataDir: '--data-dir',
  host: '--host',
  p2pPort: '--p2p-port',
  apiPort: '--api-port',
  healthPort: '--health-port',
  bootstrap: '--bootstrap',
  clusterSize: '--cluster-size',
  role: '--role',
  keysDir: '--keys-dir',
  shareFile: '--share-file',
  members: '--members',
  peerKey: '--peer-key',
  heartbeatMs: '--heartbeat-ms',
  electionTimeoutMs: '--election-timeout-ms',
  replicationFactor: '--replication-factor',
  graceMs: '--grace-ms',
  apiCallers: '--api-callers',
  storeQuota: '--store-quota',
  storeReserve: '--store-reserve',
  fault: '--fault',
};

/** Starts `node bin/bzzzctl.js agent run` with these flags; resolves once it printed its peer ID line. */
export async function spawnChildAgent(flags: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<ChildAgent> {
  const args = ['bin/bzzzctl.js', 'agent', 'run'];
  for (const [k, v] of Object.entries(flags)) {
    if (k === 'insecureOpenCluster') {
      if (v === 'true') args.push('--insecure-open-cluster');
    } else args.push(FLAG_NAMES[k], v);
  }
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, BZZZ_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: ChildAgent = {
    process: proc,
    stdout: [],
    stderr: [],
    exited: new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal }))),
  };
  const lines = (sink: string[]) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        sink.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
  };
  proc.stdout!.on('data', lines(child.stdout));
  proc.stderr!.on('data', lines(child.stderr));
  const deadline = Date.now() + 30_000;
  while (child.stdout.length === 0) {
    const state = await Promise.race([child.exited, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (state !== null)
      throw new Error(`child agent exited before it started (${JSON.stringify(state)}): ${child.stderr.slice(-10).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`child agent printed nothing in 30 s: ${child.stderr.slice(-10).join('\n')}`);
  }
  return child;
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson<T = unknown>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000), ...init });
  } catch (err) {
    throw new Error(`${init?.method ?? 'GET'} ${url}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
