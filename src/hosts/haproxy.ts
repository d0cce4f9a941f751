// The proxy switch through HAProxy's runtime API (ProxySwitch): the stats socket is opened through
// the SSH connection to the proxy host (streamlocal), one command per socket connection. A switch
// puts the wanted side's servers in service first, waits until HAProxy sees one of them up, and
// only then puts the other side's servers in maintenance (make before break); the server states
// are then saved to the server-state file so a later reload keeps them. No reload, nothing dropped.
import { BzzzError, InvalidInputError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { poll } from '../util/poll.js';
import { type SshConnection, formatMs, withSsh } from './ssh.js';
import type { ProxyServerView, ProxySide, ProxySwitch, ProxyView, SshTarget } from './types.js';

export const HAPROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
/** Bytes of one runtime API answer kept at most. */
export const MAX_HAPROXY_ANSWER = 1024 * 1024;

/** HAProxy refused a runtime API command or answered something unexpected. */
export class HaproxyError extends BzzzError {}

/** One server's line of `show servers state` (format 1; HAProxy 2.x management guide, 9.3). */
export interface HaproxyServerState {
  backendId: number;
  backend: string;
  serverId: number;
  server: string;
  address: string;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** Bit mask: 0x01 forced maint, 0x02 inherited maint, 0x04 `disabled` in the configuration (kept after the runtime API puts the server in service), 0x08 forced drain, 0x10 inherited drain, 0x20 maint (resolution), 0x40 FQDN set at runtime. */
  adminState: number;
  userWeight: number;
  initialWeight: number;
  checkResult: number;
  checkState: number;
}

// HAProxy's SRV_ADMF_MAINT: 0x04 (CMAINT) only records that the configuration says `disabled`; a
// server so configured and then set ready over the runtime API serves with 0x04 still set.
const MAINT_MASK = 0x01 | 0x02 | 0x20;
const DRAIN_MASK = 0x08 | 0x10;

/** Parses `show servers state [<backend>]`: a version line `1`, a `#` header, then one line per server. */
export function parseServersState(text: string): HaproxyServerState[] {
  const lines = text.split('\n').map((l) => l.trim());
  const first = lines.findIndex((l) => l.length > 0);
  if (first < 0 || lines[first] !== '1')
    throw new HaproxyError(`HAProxy answered show servers state with something else than format 1: ${shorten(text)}`);
  const out: HaproxyServerState[] = [];
  for (const line of lines.slice(first + 1)) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length < 15) throw new HaproxyError(`unreadable show servers state line: ${shorten(line)}`);
    const num = (i: number) => {
      const n = Number(f[i]);
      if (!Number.isInteger(n)) throw new HaproxyError(`unreadable show servers state line (column ${i + 1}): ${shorten(line)}`);
      return n;
    };
    out.push({
      backendId: num(0),
      backend: f[1],
      serverId: num(2),
      server: f[3],
      address: f[4],
      opState: num(5),
      adminState: num(6),
      userWeight: num(7),
      initialWeight: num(8),
      checkResult: num(11),
      checkState: num(13),
    });
  }
  return out;
}

/** ready, drain or maint: HAProxy's admin view of the server. */
export function adminStateName(adminState: number): 'ready' | 'drain' | 'maint' {
  if (adminState & MAINT_MASK) return 'maint';
  if (adminState & DRAIN_MASK) return 'drain';
  return 'ready';
}

export function opStateName(opState: number): string {
  return ['down', 'starting', 'up', 'stopping'][opState] ?? `op${opState}`;
}

/** The health check's last result, when the server is checked (`L4OK`-like detail is not in this view). */
export function checkName(s: HaproxyServerState): string | undefined {
  if (!(s.checkState & 0x02)) return undefined; // no check configured
  return ['unknown', 'neutral', 'failed', 'passed', 'condpass'][s.checkResult] ?? `result${s.checkResult}`;
}

/** Takes traffic: in service (not maint, not drain), weight above 0, and HAProxy sees it up. */
export function serving(s: HaproxyServerState): boolean {
  return adminStateName(s.adminState) === 'ready' && s.userWeight > 0 && (s.opState === 2 || s.opState === 1);
}

export function sideOf(v1: boolean, v2: boolean): ProxySide {
  return v1 && v2 ? 'both' : v1 ? 'v1' : v2 ? 'v2' : 'none';
}

export interface HaproxySwitchOptions {
  target: SshTarget;
  privateKey: string;
  socket: string;
  stateFile?: string;
  backend: string;
  v1Servers: readonly string[];
  v2Servers: readonly string[];
  weight: number;
  log?: Logger;
  /** How long the side put in service may take to be seen up by HAProxy. Default the target's timeout. */
  upTimeoutMs?: number;
}

export function checkHaproxyName(name: string, what: string): void {
  if (!HAPROXY_NAME.test(name) || name.length > 128)
    throw new InvalidInputError(`the HAProxy ${what} ${JSON.stringify(name)} is not a name of letters, digits, _ . : -`);
}

/** The runtime API commands of a switch to `side`, in order: the side put in service (state ready, weight), then the other side in maintenance. */
export function switchCommands(
  o: Pick<HaproxySwitchOptions, 'backend' | 'v1Servers' | 'v2Servers' | 'weight'>,
  side: 'v1' | 'v2',
): { make: string[]; brk: string[] } {
  const on = side === 'v1' ? o.v1Servers : o.v2Servers;
  const off = side === 'v1' ? o.v2Servers : o.v1Servers;
  return {
    make: on.flatMap((s) => [`set server ${o.backend}/${s} state ready`, `set weight ${o.backend}/${s} ${o.weight}`]),
    brk: off.map((s) => `set server ${o.backend}/${s} state maint`),
  };
}

/** Sends one command on a fresh socket connection; resolves with HAProxy's answer (it closes the connection after answering). */
export async function runtimeCommand(conn: SshConnection, socket: string, command: string, timeoutMs: number): Promise<string> {
  if (/[\n\r;\0]/.test(command))
    throw new InvalidInputError(`refusing a runtime API command with a line break or ';': ${JSON.stringify(command)}`);
  const stream = await conn.openUnixSocket(socket);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.destroy();
      err ? reject(err) : resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(new HaproxyError(`HAProxy did not answer \`${command}\` within ${formatMs(timeoutMs)}`)),
      timeoutMs,
    );
    stream.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_HAPROXY_ANSWER)
        return finish(new HaproxyError(`HAProxy's answer to \`${command}\` is larger than ${MAX_HAPROXY_ANSWER} bytes`));
      chunks.push(b);
    });
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (e: Error) => finish(new HaproxyError(`HAProxy socket ${socket}: ${e.message}`)));
    stream.write(`${command}\n`);
  });
}

/** A `set ...` command succeeded when HAProxy answers nothing but blank lines; anything else is its error message. */
export function checkSetAnswer(command: string, answer: string): void {
  const text = answer.trim();
  if (text.length > 0) throw new HaproxyError(`HAProxy refused \`${command}\`: ${shorten(text)}`);
}

export class HaproxySwitch implements ProxySwitch {
  private readonly log: Logger;
  constructor(private readonly opts: HaproxySwitchOptions) {
    checkHaproxyName(opts.backend, 'backend');
    for (const s of [...opts.v1Servers, ...opts.v2Servers]) checkHaproxyName(s, 'server');
    if (!Number.isInteger(opts.weight) || opts.weight < 1 || opts.weight > 256)
      throw new InvalidInputError(`the HAProxy weight ${opts.weight} is not an integer from 1 to 256`);
    this.log = opts.log ?? silentLogger();
  }

  view(): Promise<ProxyView> {
    return withSsh(this.opts.target, this.opts.privateKey, (conn) => this.read(conn));
  }

  switchTo(side: 'v1' | 'v2'): Promise<ProxyView> {
    const o = this.opts;
    const t = o.target.timeoutMs;
    return withSsh(o.target, o.privateKey, async (conn) => {
      await this.servers(conn); // every configured server exists before anything changes
      const { make, brk } = switchCommands(o, side);
      for (const cmd of make) checkSetAnswer(cmd, await runtimeCommand(conn, o.socket, cmd, t));
      // Make before break: the other side stays in service until HAProxy sees one of `side`'s servers up.
      const onNames = new Set(side === 'v1' ? o.v1Servers : o.v2Servers);
      const { value, met } = await poll(() => this.servers(conn), {
        until: (states) => states.some((s) => onNames.has(s.server) && serving(s)),
        deadline: Date.now() + (o.upTimeoutMs ?? t),
        everyMs: 200,
      });
      if (!met) {
        const seen = value
          .filter((s) => onNames.has(s.server))
          .map(
            (s) => `${s.server} ${opStateName(s.opState)}/${adminStateName(s.adminState)}${checkName(s) ? ` check ${checkName(s)}` : ''}`,
          )
          .join(', ');
        throw new HaproxyError(
          `switching ${o.backend} to ${side}: none of its ${side} servers came up within ${formatMs(o.upTimeoutMs ?? t)} (${seen}); the other side was left in service`,
        );
      }
      for (const cmd of brk) checkSetAnswer(cmd, await runtimeCommand(conn, o.socket, cmd, t));
      if (o.stateFile) {
        const state = await runtimeCommand(conn, o.socket, 'show servers state', t);
        parseServersState(state); // only a readable state goes to the file
        await conn.writeFile(o.stateFile, state.endsWith('\n') ? state : `${state}\n`, 0o644);
      }
      const view = await this.read(conn);
      this.log.info({ backend: o.backend, side, serving: view.serving }, 'proxy switched');
      return view;
    });
  }

  private async servers(conn: SshConnection): Promise<HaproxyServerState[]> {
    const o = this.opts;
    const answer = await runtimeCommand(conn, o.socket, `show servers state ${o.backend}`, o.target.timeoutMs);
    if (!answer.trimStart().startsWith('1')) throw new HaproxyError(`HAProxy: show servers state ${o.backend}: ${shorten(answer.trim())}`);
    const states = parseServersState(answer).filter((s) => s.backend === o.backend);
    const names = new Set(states.map((s) => s.server));
    const missing = [...o.v1Servers, ...o.v2Servers].filter((s) => !names.has(s));
    if (missing.length > 0)
      throw new HaproxyError(
        `HAProxy's backend ${o.backend} has no server ${missing.join(', ')} (it has ${[...names].join(', ') || 'none'}): fix spec.v1.proxy.haproxy v1Servers/v2Servers or HAProxy's configuration`,
      );
    return states;
  }

  private async read(conn: SshConnection): Promise<ProxyView> {
    const states = await this.servers(conn);
    return haproxyView(states, this.opts.v1Servers, this.opts.v2Servers);
  }
}

/** The proxy's view of v1 and v2 from the backend's server states. */
export function haproxyView(states: readonly HaproxyServerState[], v1Servers: readonly string[], v2Servers: readonly string[]): ProxyView {
  const v1 = new Set(v1Servers);
  const v2 = new Set(v2Servers);
  const servers: ProxyServerView[] = [];
  for (const s of states) {
    const side = v1.has(s.server) ? 'v1' : v2.has(s.server) ? 'v2' : undefined;
    if (!side) continue;
    const view: ProxyServerView = { name: s.server, side, state: adminStateName(s.adminState), weight: s.userWeight };
    const check = checkName(s);
    if (check) view.check = check;
    servers.push(view);
  }
  const on = (names: Set<string>) => states.some((s) => names.has(s.server) && serving(s));
  return { kind: 'haproxy', serving: sideOf(on(v1), on(v2)), servers };
}

function shorten(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}
