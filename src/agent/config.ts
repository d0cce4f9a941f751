// The settings of `bzzzctl agent run`, parsed and checked once. Commander hands the flags over as
// strings (env equivalents already applied); every problem is collected and reported together,
// each naming the flag and its environment variable, what was wrong and what to write instead.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { InvalidInputError } from '../util/errors.js';
import { ROLES, isRole, type Role } from '../crypto/roles.js';
import { NO_FAULT, parseFault, type FaultSpec } from './fault-spec.js';

/** A peer to dial at start-up and keep connected to. */
export interface BootstrapPeer {
  /** As the user wrote it: for logs and errors. */
  readonly source: string;
  /** The multiaddr to dial. Carries `/p2p/<id>` only when the user gave one. */
  readonly address: string;
  /** The expected peer ID, when the multiaddr named one. */
  readonly peerId?: string;
}

export interface AgentConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly p2pPort: number;
  readonly apiPort: number;
  readonly healthPort: number;
  readonly bootstrap: readonly BootstrapPeer[];
  /** Open clusters only: agents in the cluster, a majority of this many elects an admin. A closed
   * cluster counts its member list instead. */
  readonly clusterSize: number;
  readonly role: Role;
  readonly keysDir?: string;
  readonly shareFile?: string;
  /** The member list (crypto/membership.ts): only its peers may connect, publish, vote or hold content. */
  readonly membersFile?: string;
  /** This agent's libp2p Ed25519 private key (protobuf bytes, as the operator's Docker secret); default <dataDir>/peer.key. */
  readonly peerKeyFile?: string;
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  readonly replicationFactor: number;
  readonly graceMs: number;
  /** Who may call the API (SHA-256 of each caller's token, and its role): src/crypto/api-callers.ts. */
  readonly apiCallersFile?: string;
  /**
   * Run without a member list (any peer that reaches the P2P port joins) and without a callers
   * file (every API caller acts with the agent's role). Explicit, and logged at warn level.
   */
  readonly insecureOpenCluster: boolean;
  /** Most bytes the content store holds; undefined: no quota. */
  readonly storeQuotaBytes?: number;
  /** Free bytes always kept on the data directory's disk (the election's vote file must stay writable). */
  readonly storeReserveBytes: number;
  /** Test / chaos aid (agent/fault.ts): a bad release whose failure a setting switches. Off by default. */
  readonly fault: FaultSpec;
}

/** The option names commander uses (camelCase of the flags), with their flag and env names. */
const FIELDS = {
  dataDir: ['--data-dir', 'BZZZ_DATA_DIR'],
  host: ['--host', 'BZZZ_HOST'],
  p2pPort: ['--p2p-port', 'BZZZ_P2P_PORT'],
  apiPort: ['--api-port', 'BZZZ_API_PORT'],
  healthPort: ['--health-port', 'BZZZ_HEALTH_PORT'],
  bootstrap: ['--bootstrap', 'BZZZ_BOOTSTRAP_PEERS'],
  clusterSize: ['--cluster-size', 'BZZZ_CLUSTER_SIZE'],
  role: ['--role', 'BZZZ_ROLE'],
  keysDir: ['--keys-dir', 'BZZZ_KEYS_DIR'],
  shareFile: ['--share-file', 'BZZZ_SHAMIR_SHARE'],
  members: ['--members', 'BZZZ_MEMBERS_FILE'],
  peerKey: ['--peer-key', 'BZZZ_PEER_KEY_FILE'],
  heartbeatMs: ['--heartbeat-ms', 'BZZZ_HEARTBEAT_MS'],
  electionTimeoutMs: ['--election-timeout-ms', 'BZZZ_ELECTION_TIMEOUT_MS'],
  replicationFactor: ['--replication-factor', 'BZZZ_REPLICATION_FACTOR'],
  graceMs: ['--grace-ms', 'BZZZ_SHUTDOWN_GRACE_MS'],
  apiCallers: ['--api-callers', 'BZZZ_API_CALLERS_FILE'],
  insecureOpenCluster: ['--insecure-open-cluster', 'BZZZ_INSECURE_OPEN_CLUSTER'],
  storeQuota: ['--store-quota', 'BZZZ_STORE_QUOTA'],
  storeReserve: ['--store-reserve', 'BZZZ_STORE_RESERVE'],
  fault: ['--fault', 'BZZZ_FAULT'],
} as const;

type Field = keyof typeof FIELDS;

/** Defaults match the CLI's, for callers (tests, embedding) that build a config in code. */
export const DEFAULTS = {
  dataDir: './data',
  host: '0.0.0.0',
  p2pPort: '9000',
  apiPort: '8080',
  healthPort: '8081',
  clusterSize: '1',
  role: 'observer',
  heartbeatMs: '5000',
  electionTimeoutMs: '15000',
  replicationFactor: '3',
  graceMs: '10000',
  storeReserve: '256MiB',
} as const satisfies Partial<Record<Field, string>>;

/** Commander hands over strings, and `true` for a flag without a value (--insecure-open-cluster). */
export type AgentOptionsInput = Partial<Record<Field, string | boolean | undefined>>;

/** Parses commander's option strings into an AgentConfig, or throws InvalidInputError listing every problem. */
export function parseAgentConfig(input: AgentOptionsInput): AgentConfig {
  const problems: string[] = [];
  const raw = (f: Field): string | undefined => {
    const given = input[f];
    const v = typeof given === 'boolean' ? String(given) : (given ?? (DEFAULTS as Partial<Record<Field, string>>)[f]);
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const fail = (f: Field, msg: string): void => {
    const [flag, env] = FIELDS[f];
    problems.push(`${flag} (${env}): ${msg}`);
  };
  const int = (f: Field, min: number, max: number, what: string): number => {
    const v = raw(f) ?? '';
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      fail(f, `${JSON.stringify(v)} is not ${what} (a whole number from ${min} to ${max})`);
      return min;
    }
    return Number(v);
  };

  const p2pPort = int('p2pPort', 0, 65535, 'a TCP port');
  const apiPort = int('apiPort', 0, 65535, 'a TCP port');
  const healthPort = int('healthPort', 0, 65535, 'a TCP port');
  const ports: Array<[Field, number]> = [
    ['p2pPort', p2pPort],
    ['apiPort', apiPort],
    ['healthPort', healthPort],
  ];
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i][1] !== 0 && ports[i][1] === ports[j][1]) {
        fail(ports[j][0], `port ${ports[j][1]} is also given to ${FIELDS[ports[i][0]][0]}: give each listener its own port`);
      }
    }
  }

  const host = raw('host') ?? '';
  if (isIP(host) === 0) fail('host', `${JSON.stringify(host)} is not an IP address to listen on: use e.g. 0.0.0.0, 127.0.0.1 or ::`);

  const roleText = raw('role') ?? '';
  if (!isRole(roleText)) fail('role', `${JSON.stringify(roleText)} is not a role: use one of ${ROLES.join(', ')}`);
  const role: Role = isRole(roleText) ? roleText : 'observer';

  const heartbeatMs = int('heartbeatMs', 10, 3_600_000, 'a heartbeat interval in milliseconds');
  const electionTimeoutMs = int('electionTimeoutMs', 20, 3_600_000, 'an election timeout in milliseconds');
  if (electionTimeoutMs <= heartbeatMs * 2) {
    fail(
      'electionTimeoutMs',
      `${electionTimeoutMs} ms must be more than twice the heartbeat interval (${heartbeatMs} ms), or one late heartbeat starts an election; BZZZ used 5000 / 15000`,
    );
  }

  const bootstrap: BootstrapPeer[] = [];
  for (const entry of splitList(raw('bootstrap'))) {
    try {
      bootstrap.push(parseBootstrapPeer(entry));
    } catch (err) {
      fail('bootstrap', err instanceof Error ? err.message : String(err));
    }
  }

  // Closed membership is the default: a cluster is open only when the operator says so.
  const openText = (raw('insecureOpenCluster') ?? 'false').toLowerCase();
  const insecureOpenCluster = ['true', '1', 'yes'].includes(openText);
  if (!insecureOpenCluster && !['false', '0', 'no'].includes(openText)) {
    fail('insecureOpenCluster', `${JSON.stringify(openText)} is not true or false`);
  }
  const membersFile = optionalPath(raw('members'));
  if (membersFile === undefined && !insecureOpenCluster) {
    fail(
      'members',
      "no member list: give the cluster's member list (JSON {version: 1, cluster, members: [{name, peerId, role}]}, written by the operator), or run an open cluster that any peer can join with --insecure-open-cluster",
    );
  }
  if (membersFile !== undefined && insecureOpenCluster) {
    fail('insecureOpenCluster', 'a member list is given too: drop --insecure-open-cluster to keep the cluster closed, or drop --members');
  }

  const size = (f: Field): number | undefined => {
    const text = raw(f);
    if (text === undefined) return undefined;
    const bytes = parseByteSize(text);
    if (bytes === undefined) fail(f, `${JSON.stringify(text)} is not a size: write bytes or a number with KiB, MiB, GiB, TiB (e.g. 20GiB)`);
    return bytes;
  };

  let fault: FaultSpec = NO_FAULT;
  try {
    fault = parseFault(raw('fault'));
  } catch (err) {
    fail('fault', `${(err as Error).message} (a test / chaos aid; leave it unset in production)`);
  }

  const config: AgentConfig = {
    dataDir: resolve(raw('dataDir') ?? DEFAULTS.dataDir),
    host,
    p2pPort,
    apiPort,
    healthPort,
    bootstrap,
    clusterSize: int('clusterSize', 1, 1000, 'a number of agents'),
    role,
    keysDir: optionalPath(raw('keysDir')),
    shareFile: optionalPath(raw('shareFile')),
    membersFile,
    peerKeyFile: optionalPath(raw('peerKey')),
    insecureOpenCluster,
    heartbeatMs,
    electionTimeoutMs,
    replicationFactor: int('replicationFactor', 1, 100, 'a replica count'),
    graceMs: int('graceMs', 0, 3_600_000, 'a grace period in milliseconds'),
    apiCallersFile: optionalPath(raw('apiCallers')),
    storeQuotaBytes: size('storeQuota'),
    storeReserveBytes: size('storeReserve') ?? 0,
    fault,
  };
  if (problems.length > 0) {
    throw new InvalidInputError(`agent settings are not valid:\n  ${problems.join('\n  ')}`);
  }
  return config;
}

/**
 * One bootstrap entry: a multiaddr (`/ip4/10.0.0.2/tcp/9000/p2p/12D3…`, `/dns4/walnut/tcp/9101`)
 * or `host:port` (`walnut:9101`, `10.0.0.2:9000`, `[::1]:9000`) as in the plan's
 * DHT_BOOTSTRAP_NODES. host:port has no peer ID: it is dialled by address and the peer's
 * identity is learnt from the Noise handshake.
 */
export function parseBootstrapPeer(entry: string): BootstrapPeer {
  if (entry.startsWith('/')) {
    let ma;
    try {
      ma = multiaddr(entry);
    } catch (err) {
      throw new Error(
        `${JSON.stringify(entry)} is not a valid multiaddr (${err instanceof Error ? err.message : String(err)}): write e.g. /ip4/10.0.0.2/tcp/9000/p2p/<peer id> or host:port`,
      );
    }
    const parts = ma.getComponents();
    if (!parts.some((c) => c.name === 'tcp')) {
      throw new Error(`${JSON.stringify(entry)} has no /tcp/<port>: agents talk over TCP, e.g. /dns4/walnut/tcp/9000`);
    }
    const peerId = parts.find((c) => c.name === 'p2p')?.value;
    return { source: entry, address: ma.toString(), ...(peerId === undefined ? {} : { peerId }) };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(entry);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    throw new Error(
      `${JSON.stringify(entry)} is neither a multiaddr nor host:port: write e.g. walnut:9000, 10.0.0.2:9000 or /ip4/10.0.0.2/tcp/9000`,
    );
  }
  const host = m[1] ?? m[2];
  const proto = isIP(host) === 4 ? 'ip4' : isIP(host) === 6 ? 'ip6' : 'dns4';
  if (m[1] !== undefined && proto !== 'ip6') throw new Error(`${JSON.stringify(entry)}: only IPv6 addresses go in [brackets]`);
  return { source: entry, address: `/${proto}/${host}/tcp/${port}` };
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/** "1048576", "512MiB", "20GiB" (binary units; KB/MB/GB are read as KiB/MiB/GiB) → bytes. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = m[2].toLowerCase().replace(/^([kmgt])b$/, '$1');
  const factor = UNITS[unit];
  if (factor === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

function splitList(text: string | undefined): string[] {
  return (text ?? '')
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function optionalPath(p: string | undefined): string | undefined {
  return p === undefined ? undefined : resolve(p);
}
