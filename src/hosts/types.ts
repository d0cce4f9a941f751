// The v1 side of the cluster, as the operator sees it: hosts running the v1 agent as a systemd
// unit, reached over SSH with pinned host keys, and the proxy that sends traffic to v1 or v2.
// The reconcilers talk to these ports; src/hosts implements them with ssh2 (and tests implement
// them in memory to table-test the rollback plan's decisions).

/** A host reached over SSH, its settings resolved (defaults from spec.v1.ssh applied). */
export interface SshTarget {
  /** How errors and status name it: the v1 host's name, or `proxy`. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Pinned `SHA256:...` fingerprint: any other host key is refused. */
  hostKey: string;
  /** Connecting, and each command. */
  timeoutMs: number;
}

export interface V1HostTarget extends SshTarget {
  /** The unit, `{host}` already replaced. */
  unit: string;
}

/** systemd's view of a unit (`systemctl show`). */
export interface UnitState {
  /** active, inactive, failed, activating, deactivating, reloading. */
  activeState: string;
  /** running, dead, failed, exited, start-pre, ... */
  subState: string;
  /** loaded, not-found, masked, ... */
  loadState: string;
  /** When it entered its current active state (ISO), when systemd says. */
  since?: string;
  /** Main process id, 0 when none. */
  mainPid: number;
  /** The result of the last run (success, exit-code, timeout, ...). */
  result?: string;
  /** enabled, disabled, static, ... (`systemctl enable` starts it at boot). */
  unitFileState?: string;
}

export interface HostUnitReport {
  host: string;
  unit: string;
  state?: UnitState;
  /** The unit's last log lines (journalctl), bounded in count and length. */
  logs?: string[];
  /** Could not be reached or asked: why (never a secret). */
  error?: string;
}

export interface MeshHostReport {
  host: string;
  /** The agent's health path answered 2xx. */
  healthy: boolean;
  /** Peers the agent reports (the peers gauge), when read. */
  peers?: number;
  error?: string;
}

export interface MeshReport {
  ok: boolean;
  hosts: MeshHostReport[];
  /** Why it is not ok, naming the hosts. */
  reason?: string;
}

/** Which side the proxy sends traffic to, as the proxy itself reports it. */
export type ProxySide = 'v1' | 'v2' | 'both' | 'none';

export interface ProxyServerView {
  name: string;
  side: 'v1' | 'v2';
  /** ready, maint, drain (HAProxy's admin/operational view), or up/down for Traefik. */
  state: string;
  weight?: number;
  /** HAProxy's health check status of the server, when it checks. */
  check?: string;
}

export interface ProxyView {
  kind: 'haproxy' | 'traefik';
  serving: ProxySide;
  servers: ProxyServerView[];
  /** Share of new requests v2 gets (0–100), from the weights in service. */
  v2Percent?: number;
}

/** The v1 hosts' units (all hosts in parallel; one host's failure never hides the others'). */
export interface V1HostsPort {
  status(hosts: readonly V1HostTarget[], opts?: { logLines?: number }): Promise<HostUnitReport[]>;
  /** `systemctl start` (idempotent), `enable` first when asked; resolves with each host's state after it. */
  start(hosts: readonly V1HostTarget[], o?: { enable?: boolean }): Promise<HostUnitReport[]>;
  /** `systemctl stop` (idempotent), then `disable` when asked. */
  stop(hosts: readonly V1HostTarget[], o?: { disable?: boolean }): Promise<HostUnitReport[]>;
}

/** What counts as verified: `enough` hosts (default all) healthy with `minPeers` (default the spec's) each. */
export interface MeshWant {
  enough?: number;
  minPeers?: number;
}

export interface MeshVerifier {
  /** Polls every host until enough are healthy with enough peers, or the timeout. */
  verify(opts: { deadlineMs: number; signal?: AbortSignal } & MeshWant): Promise<MeshReport>;
  /** One look, no waiting (status). */
  check(signal?: AbortSignal, want?: MeshWant): Promise<MeshReport>;
}

export interface ProxySwitch {
  view(): Promise<ProxyView>;
  /** Puts `side`'s servers in service first, then takes the other side's out (make before break). Idempotent. */
  switchTo(side: 'v1' | 'v2'): Promise<ProxyView>;
  /**
   * Splits new requests: `v2Percent` (0–100) to v2, the rest to v1, by weights with both sides in
   * service (a side at 0 % is in service at weight 0, or in maintenance at 0 % when it never was).
   * Raising v2's share sets v2's weights before lowering v1's. Idempotent. (The migration's cutover.)
   */
  weigh(v2Percent: number): Promise<ProxyView>;
}

/** A v1 host's conversation log, read over SSH as it is (JSON lines), streamed. */
export interface V1LogReader {
  /** The log's bytes; more than `maxBytes` is an error naming the host (never a silent cut). */
  read(host: V1HostTarget, path: string, opts: { maxBytes: number; signal?: AbortSignal }): AsyncIterable<Buffer>;
}

// ---- v1 conversation logs (issue 11, content-migrated) ----

/** A v1 host's conversation log, read over SSH as it is (JSON lines), streamed. */
export interface V1LogReader {
  /** The log's bytes; more than `maxBytes` is an error naming the host (never a silent cut). */
  read(host: V1HostTarget, path: string, opts: { maxBytes: number; signal?: AbortSignal }): AsyncIterable<Buffer>;
}
