// The v1 side from spec.v1: targets with every default applied, and the ports built over SSH.
import { parseDurationMs } from '../spec/units.js';
import type { SshEndpoint, V1Spec } from '../spec/types.js';
import { InvalidInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { HaproxySwitch } from './haproxy.js';
import { HttpMeshVerifier, type MeshOptions } from './mesh.js';
import { checkPrivateKey } from './ssh.js';
import { SystemdHosts, checkUnitName } from './systemd.js';
import { TraefikSwitch } from './traefik.js';
import type { MeshVerifier, ProxySwitch, SshTarget, V1HostTarget, V1HostsPort } from './types.js';

export { HaproxyError, HaproxySwitch, parseServersState, switchCommands } from './haproxy.js';
export { HttpMeshVerifier, sumMetric } from './mesh.js';
export { HostKeyMismatchError, SshConnection, SshError, buildCommand, quoteArg, sshFingerprint, withSsh } from './ssh.js';
export { HostsError, SystemdHosts, parseSystemctlShow, requireAllOk, summarizeReports } from './systemd.js';
export { TraefikSwitch, renderTraefikConfig, traefikView } from './traefik.js';
export { SshV1LogReader } from './v1-log-reader.js';
export {
  checkV1Log,
  formatBreak,
  verifyV1Log,
  type V1LogBreak,
  type V1LogEntry,
  type V1LogItem,
  type V1LogReport,
  type VerifiedEntry,
} from './v1-log.js';
export {
  MAX_ARCHIVE_TAR_BYTES,
  SshV1Archiver,
  V1ArchiveError,
  archiveFileName,
  type SshV1ArchiverOptions,
  type V1ArchiveManifest,
  type V1Archiver,
} from './v1-archive.js';

export const V1_DEFAULTS = {
  user: 'root',
  port: 22,
  timeout: '10s',
  unit: 'bzzz@{host}.service',
  verifyPort: 8081,
  verifyPath: '/health',
  metricsPath: '/metrics',
  peersMetric: 'bzzz_p2p_connected_peers',
  verifyTimeout: '30s',
  haproxySocket: '/run/haproxy/admin.sock',
  haproxyWeight: 100,
} as const;

export type ResolvedProxy =
  | {
      kind: 'haproxy';
      target: SshTarget;
      socket: string;
      stateFile?: string;
      backend: string;
      v1Servers: string[];
      v2Servers: string[];
      weight: number;
    }
  | { kind: 'traefik'; target: SshTarget; file: string; service: string; v1Urls: string[]; v2Service: string };

export interface ResolvedV1 {
  hosts: V1HostTarget[];
  proxy?: ResolvedProxy;
  /** The mesh check, defaults applied (minPeers: the other hosts). */
  mesh: Omit<MeshOptions, 'hosts' | 'requestTimeoutMs'> & {
    hosts: { name: string; address: string }[];
    timeoutMs: number;
    requestTimeoutMs: number;
  };
  /** Hosts that must come up for a rollback to go on. */
  minHosts: number;
}

const PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/;

/** spec.v1 with its defaults: ssh user root, port 22, timeout 10s, unit `bzzz@{host}.service` with `{host}` replaced. */
export function resolveV1(v1: V1Spec): ResolvedV1 {
  const timeoutMs = parseDurationMs(v1.ssh.timeout ?? V1_DEFAULTS.timeout, 'spec.v1.ssh.timeout');
  if (timeoutMs <= 0) throw new InvalidInputError('spec.v1.ssh.timeout: must be more than 0');
  const target = (name: string, e: SshEndpoint): SshTarget => ({
    name,
    address: e.address,
    port: e.port ?? v1.ssh.port ?? V1_DEFAULTS.port,
    user: e.user ?? v1.ssh.user ?? V1_DEFAULTS.user,
    hostKey: e.hostKey,
    timeoutMs,
  });
  const seen = new Set<string>();
  const hosts = v1.hosts.map((h, i): V1HostTarget => {
    if (seen.has(h.name)) throw new InvalidInputError(`spec.v1.hosts[${i}].name: ${h.name} is listed twice`);
    seen.add(h.name);
    const unit = (h.unit ?? v1.unit ?? V1_DEFAULTS.unit).replaceAll('{host}', h.name);
    checkUnitName(unit, `spec.v1.hosts[${i}] (${h.name})`);
    return { ...target(h.name, h), unit };
  });

  const verify = v1.verify ?? {};
  const path = verify.path ?? V1_DEFAULTS.verifyPath;
  const metricsPath = verify.metricsPath ?? V1_DEFAULTS.metricsPath;
  for (const [field, p] of [
    ['path', path],
    ['metricsPath', metricsPath],
  ] as const)
    if (!PATH.test(p)) throw new InvalidInputError(`spec.v1.verify.${field}: ${JSON.stringify(p)} is not a URL path starting with /`);
  const mesh: ResolvedV1['mesh'] = {
    hosts: hosts.map((h) => ({ name: h.name, address: h.address })),
    port: verify.port ?? V1_DEFAULTS.verifyPort,
    path,
    metricsPath,
    peersMetric: verify.peersMetric ?? V1_DEFAULTS.peersMetric,
    minPeers: verify.minPeers ?? Math.max(0, hosts.length - 1),
    timeoutMs: parseDurationMs(verify.timeout ?? V1_DEFAULTS.verifyTimeout, 'spec.v1.verify.timeout'),
    requestTimeoutMs: Math.min(timeoutMs, 5000),
  };

  let proxy: ResolvedProxy | undefined;
  const p = v1.proxy;
  if (p?.haproxy && p.traefik) throw new InvalidInputError('spec.v1.proxy: set either haproxy or traefik, not both');
  if (p?.haproxy) {
    const h = p.haproxy;
    proxy = {
      kind: 'haproxy',
      target: target('proxy', h.host),
      socket: h.socket ?? V1_DEFAULTS.haproxySocket,
      ...(h.stateFile ? { stateFile: h.stateFile } : {}),
      backend: h.backend,
      v1Servers: [...h.v1Servers],
      v2Servers: [...h.v2Servers],
      weight: h.weight ?? V1_DEFAULTS.haproxyWeight,
    };
  } else if (p?.traefik) {
    const t = p.traefik;
    proxy = {
      kind: 'traefik',
      target: target('proxy', t.host),
      file: t.file,
      service: t.service,
      v1Urls: [...t.v1Urls],
      v2Service: t.v2Service,
    };
  }
  return { hosts, ...(proxy ? { proxy } : {}), mesh, minHosts: v1.minHosts ?? hosts.length };
}

export interface V1Side {
  hosts: V1HostsPort;
  mesh: MeshVerifier;
  proxy?: ProxySwitch;
  targets: V1HostTarget[];
  resolved: ResolvedV1;
}

/** The ports of the v1 side, over SSH with `privateKey` (read from the secret spec.v1.ssh.privateKeySecret names). */
export function createV1Side(opts: { v1: V1Spec; privateKey: string; log?: Logger }): V1Side {
  checkPrivateKey(opts.privateKey, `the SSH private key (secret ${opts.v1.ssh.privateKeySecret})`);
  const resolved = resolveV1(opts.v1);
  const log = opts.log?.child({ component: 'v1-hosts' });
  // A unit's start lasts as long as the unit takes to come up (the v1 agent: seconds), not as long
  // as one SSH command should: it may take up to the mesh's own deadline (verify.timeout).
  const startTimeoutMs = Math.max(resolved.mesh.timeoutMs, ...resolved.hosts.map((h) => h.timeoutMs));
  const hosts = new SystemdHosts({ privateKey: opts.privateKey, startTimeoutMs, ...(log ? { log } : {}) });
  const mesh = new HttpMeshVerifier(resolved.mesh);
  let proxy: ProxySwitch | undefined;
  const rp = resolved.proxy;
  if (rp?.kind === 'haproxy') {
    const { kind: _kind, ...o } = rp;
    proxy = new HaproxySwitch({ ...o, privateKey: opts.privateKey, ...(log ? { log } : {}) });
  } else if (rp?.kind === 'traefik') {
    const { kind: _kind, ...o } = rp;
    proxy = new TraefikSwitch({ ...o, privateKey: opts.privateKey, ...(log ? { log } : {}) });
  }
  return { hosts, mesh, ...(proxy ? { proxy } : {}), targets: resolved.hosts, resolved };
}
