// The v1 units over SSH (V1HostsPort): systemctl show/start/stop and journalctl on every host in
// parallel. One host's failure is that host's report and never hides what the others did.
import { BzzzError, InvalidInputError, errorMessage } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { poll } from '../util/poll.js';
import { type SshConnection, formatMs, withSsh } from './ssh.js';
import type { HostUnitReport, UnitState, V1HostTarget, V1HostsPort } from './types.js';

export const UNIT_NAME = /^[A-Za-z0-9:_.@-]+\.service$/;
export const SHOW_PROPERTIES = [
  'ActiveState',
  'SubState',
  'LoadState',
  'ActiveEnterTimestamp',
  'ExecMainPID',
  'Result',
  'UnitFileState',
] as const;
/** Log lines kept per host at most, and characters per line. */
export const MAX_LOG_LINES = 200;
export const MAX_LOG_LINE_CHARS = 1000;

/** Some hosts failed: names each failing host with its reason, and says what the other hosts did. */
export class HostsError extends BzzzError {
  constructor(
    readonly what: string,
    readonly reports: HostUnitReport[],
  ) {
    super(`${what}: ${summarizeReports(reports)}`);
  }
  get failed(): HostUnitReport[] {
    return this.reports.filter((r) => r.error);
  }
}

/** `walnut: connect timeout after 10s; ironwood: active; acacia: active`, failing hosts first. */
export function summarizeReports(reports: readonly HostUnitReport[]): string {
  const failed = reports.filter((r) => r.error);
  const others = reports.filter((r) => !r.error);
  return [...failed.map((r) => `${r.host}: ${r.error}`), ...others.map((r) => `${r.host}: ${describeState(r.state)}`)].join('; ');
}

export function describeState(s: UnitState | undefined): string {
  if (!s) return 'unknown';
  if (s.loadState !== 'loaded') return `${s.loadState} (${s.activeState})`;
  const sub = s.subState && s.subState !== s.activeState ? ` (${s.subState})` : '';
  const result = s.activeState === 'failed' && s.result && s.result !== 'success' ? `, result ${s.result}` : '';
  return `${s.activeState}${sub}${result}`;
}

export function checkUnitName(unit: string, host: string): void {
  if (!UNIT_NAME.test(unit) || unit.length > 256)
    throw new InvalidInputError(
      `${host}: the unit ${JSON.stringify(unit)} is not a systemd service name (letters, digits, : _ . @ - ending in .service)`,
    );
}

/** Parses `systemctl show --property=...` output (KEY=VALUE lines). */
export function parseSystemctlShow(text: string): UnitState {
  const props = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const activeState = props.get('ActiveState');
  if (!activeState) throw new Error(`systemctl show printed no ActiveState: ${JSON.stringify(text.slice(0, 200))}`);
  const state: UnitState = {
    activeState,
    subState: props.get('SubState') ?? '',
    loadState: props.get('LoadState') ?? '',
    mainPid: Number.parseInt(props.get('ExecMainPID') ?? '0', 10) || 0,
  };
  const since = parseSystemdTimestamp(props.get('ActiveEnterTimestamp') ?? '');
  if (since) state.since = since;
  const result = props.get('Result');
  if (result) state.result = result;
  const file = props.get('UnitFileState');
  if (file) state.unitFileState = file;
  return state;
}

/** systemd's `Mon 2024-05-06 10:11:12 UTC` (or with a numeric zone) as ISO; undefined when empty or unreadable. */
export function parseSystemdTimestamp(value: string): string | undefined {
  const m = /^(?:[A-Za-z]{3} )?(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?: (\S+))?$/.exec(value.trim());
  if (!m) return undefined;
  const [, date, time, zone] = m;
  let offset = 'Z';
  if (zone && /^[+-]\d{2}:?\d{2}$/.test(zone)) offset = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  else if (zone && zone !== 'UTC' && zone !== 'GMT') {
    // A named zone other than UTC (CEST, ...): kept as written rather than guessed.
    return `${date}T${time} ${zone}`;
  }
  const d = new Date(`${date}T${time}${offset}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Journal lines kept: at most `count`, each cut to MAX_LOG_LINE_CHARS. */
export function boundLogLines(text: string, count: number): string[] {
  const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('-- '));
  return lines.slice(-count).map((l) => (l.length > MAX_LOG_LINE_CHARS ? `${l.slice(0, MAX_LOG_LINE_CHARS)}… [cut]` : l));
}

export interface SystemdHostsOptions {
  privateKey: string;
  log?: Logger;
  /** How long `systemctl start` may take (a unit whose start waits for its health, ExecStartPost). Default the host's timeout. */
  startTimeoutMs?: number;
  /** Pause between state reads while a unit starts. Default 250ms. */
  pollMs?: number;
  /** How long a started unit must stay active (same main PID) to count as started. Default 500ms. */
  settleMs?: number;
}

export class SystemdHosts implements V1HostsPort {
  private readonly log: Logger;
  constructor(private readonly opts: SystemdHostsOptions) {
    this.log = opts.log ?? silentLogger();
  }

  status(hosts: readonly V1HostTarget[], opts: { logLines?: number } = {}): Promise<HostUnitReport[]> {
    const lines = Math.max(0, Math.min(opts.logLines ?? 20, MAX_LOG_LINES));
    return this.each(hosts, 'status', async (conn, h) => {
      const state = await showUnit(conn, h.unit);
      const report: HostUnitReport = { host: h.name, unit: h.unit, state };
      if (lines > 0) report.logs = await journal(conn, h.unit, lines);
      return report;
    });
  }

  start(hosts: readonly V1HostTarget[], o: { enable?: boolean } = {}): Promise<HostUnitReport[]> {
    return this.each(hosts, 'start', async (conn, h) => {
      if (o.enable) {
        const en = await conn.exec(['systemctl', 'enable', '--', h.unit]);
        if (en.code !== 0) return this.failedReport(conn, h, `systemctl enable ${h.unit} exited ${exitOf(en)}: ${oneLine(en.stderr)}`);
      }
      const timeoutMs = this.opts.startTimeoutMs ?? h.timeoutMs;
      const started = Date.now();
      // Blocking start: returns once systemd's start job is done (non-zero when it failed).
      const res = await conn.exec(['systemctl', 'start', '--', h.unit], { timeoutMs }).catch((err: unknown) => err as Error);
      if (res instanceof Error) {
        const report = await this.failedReport(conn, h, `${h.unit} not started within ${formatMs(timeoutMs)}`);
        if (report.state) report.error = `${report.error}: ${describeState(report.state)}`;
        report.logs = await journal(conn, h.unit, 10).catch(() => undefined);
        return report;
      }
      if (res.code !== 0) {
        const report = await this.failedReport(conn, h, `systemctl start ${h.unit} exited ${exitOf(res)}: ${oneLine(res.stderr)}`);
        report.logs = await journal(conn, h.unit, 10).catch(() => undefined);
        return report;
      }
      // A unit that dies right after starting (Type=simple) is active for a moment: it must stay up for settleMs.
      const settleMs = this.opts.settleMs ?? 500;
      let activeSince: { at: number; pid: number } | undefined;
      const { value, met } = await poll(() => showUnit(conn, h.unit), {
        until: (s) => {
          if (s.activeState === 'failed' || s.activeState === 'inactive') return true;
          if (s.activeState !== 'active') {
            activeSince = undefined;
            return false;
          }
          if (!activeSince || activeSince.pid !== s.mainPid) activeSince = { at: Date.now(), pid: s.mainPid };
          return Date.now() - activeSince.at >= settleMs;
        },
        deadline: started + timeoutMs + settleMs,
        everyMs: Math.min(this.opts.pollMs ?? 250, settleMs),
      });
      if (met && value.activeState === 'active') return { host: h.name, unit: h.unit, state: value };
      const why = met
        ? `${h.unit} failed to start: ${describeState(value)}`
        : `${h.unit} not active after ${formatMs(timeoutMs)}: ${describeState(value)}`;
      return { host: h.name, unit: h.unit, state: value, logs: await journal(conn, h.unit, 10).catch(() => undefined), error: why };
    });
  }

  stop(hosts: readonly V1HostTarget[], o: { disable?: boolean } = {}): Promise<HostUnitReport[]> {
    return this.each(hosts, 'stop', async (conn, h) => {
      const res = await conn.exec(['systemctl', 'stop', '--', h.unit]);
      if (res.code !== 0) return this.failedReport(conn, h, `systemctl stop ${h.unit} exited ${exitOf(res)}: ${oneLine(res.stderr)}`);
      if (o.disable) {
        // A template instance (bzzz@walnut) or a plain unit: `disable` removes what `enable` made.
        const dis = await conn.exec(['systemctl', 'disable', '--', h.unit]);
        if (dis.code !== 0) return this.failedReport(conn, h, `systemctl disable ${h.unit} exited ${exitOf(dis)}: ${oneLine(dis.stderr)}`);
      }
      const state = await showUnit(conn, h.unit);
      const report: HostUnitReport = { host: h.name, unit: h.unit, state };
      if (state.activeState === 'active' || state.activeState === 'deactivating')
        report.error = `${h.unit} still ${describeState(state)} after systemctl stop`;
      return report;
    });
  }

  private async failedReport(conn: SshConnection, h: V1HostTarget, error: string): Promise<HostUnitReport> {
    const state = await showUnit(conn, h.unit).catch(() => undefined);
    return { host: h.name, unit: h.unit, ...(state ? { state } : {}), error };
  }

  /** Runs `fn` on every host in parallel, each on its own connection; a host that fails gets `error`. */
  private each(
    hosts: readonly V1HostTarget[],
    op: string,
    fn: (conn: SshConnection, h: V1HostTarget) => Promise<HostUnitReport>,
  ): Promise<HostUnitReport[]> {
    return Promise.all(
      hosts.map(async (h): Promise<HostUnitReport> => {
        try {
          checkUnitName(h.unit, h.name);
          const report = await withSsh(h, this.opts.privateKey, (conn) => fn(conn, h));
          this.log.info({ host: h.name, unit: h.unit, op, state: report.state?.activeState, error: report.error }, `v1 ${op}`);
          return report;
        } catch (err) {
          const error = stripHostPrefix(errorMessage(err), h.name);
          this.log.warn({ host: h.name, unit: h.unit, op, error }, `v1 ${op} failed`);
          return { host: h.name, unit: h.unit, error };
        }
      }),
    );
  }
}

/** Throws HostsError when any report has an error (for callers that need every host). */
export function requireAllOk(what: string, reports: HostUnitReport[]): HostUnitReport[] {
  if (reports.some((r) => r.error)) throw new HostsError(what, reports);
  return reports;
}

async function showUnit(conn: SshConnection, unit: string): Promise<UnitState> {
  const res = await conn.exec(['systemctl', 'show', `--property=${SHOW_PROPERTIES.join(',')}`, '--', unit]);
  if (res.code !== 0) throw new Error(`systemctl show ${unit} exited ${exitOf(res)}: ${oneLine(res.stderr)}`);
  return parseSystemctlShow(res.stdout);
}

async function journal(conn: SshConnection, unit: string, lines: number): Promise<string[]> {
  const res = await conn.exec(['journalctl', '-u', unit, '-n', String(lines), '--no-pager', '-o', 'short-iso'], {
    maxOutputBytes: lines * MAX_LOG_LINE_CHARS * 2,
  });
  if (res.code !== 0) return [`(journalctl exited ${exitOf(res)}: ${oneLine(res.stderr)})`];
  return boundLogLines(res.stdout.replace(/\n\[stdout truncated after \d+ bytes\]$/, ''), lines);
}

function exitOf(res: { code: number | null; signal?: string }): string {
  return res.code === null ? `on signal ${res.signal ?? '?'}` : String(res.code);
}

function oneLine(s: string): string {
  const t = s.trim().replace(/\s*\n\s*/g, ' | ');
  return t.length > 300 ? `${t.slice(0, 300)}…` : t || '(no message)';
}

/** SshError messages start with the host's name (and address); the report already names the host. */
function stripHostPrefix(message: string, host: string): string {
  const m = new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?: \\([^)]*\\))?: `).exec(message);
  return m ? message.slice(m[0].length) : message;
}
