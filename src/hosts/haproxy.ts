// The proxy switch through HAProxy's runtime API (ProxySwitch): the stats socket is opened through
// the SSH connection to the proxy host (streamlocal), one command per socket connection. A switch
// puts the wanted side's servers in service first, waits until HAProxy sees one of them up, and
// only then puts the other side's servers in maintenance (make before break); the server states
// are then saved to the server-state file so a later reload keeps them. No reload, nothing dropped.
// A weighing (the migration's cutover) keeps both sides in service and splits new requests between
// them by the servers' weights, in the same make-before-break order.
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
  /** Bit mask: 0x01 forced maint, 0x02 inherited maint, 0x04 `disabled` in the configuration, 0x08 forced drain, 0x10 inherited drain, 0x20 maint (resolution), 0x40 fqdn set at run time. */
  adminState: number;
  userWeight: number;
  initialWeight: number;
  checkResult: number;
  checkState: number;
}

// HAProxy's SRV_ADMF_MAINT (0x23): forced, inherited, resolution. 0x04 (CMAINT) only remembers that the
// configuration said `disabled`: it stays set on a server put back in service (`state ready` leaves 4).
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

/** The v2 share a weighing asks for: an integer from 0 to 100, else InvalidInputError naming the value. */
export function checkV2Percent(v2Percent: unknown): number {
  if (typeof v2Percent !== 'number' || !Number.isInteger(v2Percent) || v2Percent < 0 || v2Percent > 100)
    throw new InvalidInputError(
      `the v2 share ${typeof v2Percent === 'number' ? String(v2Percent) : JSON.stringify(v2Percent)} is not an integer percentage from 0 to 100`,
    );
  return v2Percent;
}

/** Per-server weights of a weighing: every v1 server at `v1`, every v2 server at `v2`. */
export interface SideWeights {
  v1: number;
  v2: number;
}

/**
 * The per-server weights (integers 0–256, HAProxy's range) giving v2 the share closest to
 * `v2Percent` of new requests with `n1` v1 and `n2` v2 servers: v2 gets n2·w2 / (n1·w1 + n2·w2).
 * 0 % and 100 % are exact (the side off at 0, the other at `weight`). Between, both weights are at
 * least 1 and every pair is tried: the smallest error wins, ties going to the pair whose larger
 * weight is closest to `weight` (the weight of a side serving alone), then to the smaller pair.
 * E.g. 3 v1 servers and 1 v2 server at 10 %: 99 and 33 (33 / 330, exact); 1 and 1 at 10 %: 99 and 11.
 */
export function weightsFor(n1: number, n2: number, v2Percent: number, weight = 100): SideWeights {
  checkV2Percent(v2Percent);
  for (const [n, what] of [
    [n1, 'v1'],
    [n2, 'v2'],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`weighing needs at least one ${what} server (got ${n})`);
  }
  if (!Number.isInteger(weight) || weight < 1 || weight > 256)
    throw new InvalidInputError(`the HAProxy weight ${weight} is not an integer from 1 to 256`);
  if (v2Percent === 0) return { v1: weight, v2: 0 };
  if (v2Percent === 100) return { v1: 0, v2: weight };
  // Error of a pair as a fraction errNum / errDen (compared by cross-multiplying: integers, no float ties).
  let best: { w1: number; w2: number; num: number; den: number; far: number } | undefined;
  for (let w1 = 1; w1 <= 256; w1++) {
    for (let w2 = 1; w2 <= 256; w2++) {
      const total = n1 * w1 + n2 * w2;
      const num = Math.abs(100 * n2 * w2 - v2Percent * total);
      const den = total;
      const far = Math.abs(Math.max(w1, w2) - weight);
      if (!best) {
        best = { w1, w2, num, den, far };
        continue;
      }
      const cmp = num * best.den - best.num * den;
      if (cmp < 0 || (cmp === 0 && far < best.far)) best = { w1, w2, num, den, far };
    }
  }
  return { v1: best!.w1, v2: best!.w2 };
}

/** A share as views report it: one decimal (10 % of 3 v1 and 1 v2 server at 99 and 33 is exactly 10; 256 vs 3 × 1 is 98.8). */
export function roundShare(share: number): number {
  return Math.round(share * 10) / 10;
}

/** v2's share (percent, 0–100) of new requests with these per-side weight sums; undefined when nothing takes traffic. */
export function shareOf(v1Weight: number, v2Weight: number): number | undefined {
  const total = v1Weight + v2Weight;
  return total > 0 ? (100 * v2Weight) / total : undefined;
}

/**
 * The runtime API commands of a weighing to `v2Percent`, in order. `first` is the side whose share
 * rises (v2 when v2Percent is above the current share, v1 when below; when equal, v2 unless at
 * 0 %): its servers get their weight and are put in service (`set weight` before `state ready`, so
 * none serves a moment at an old weight); the switch waits until HAProxy sees one of them up, then
 * sends `after`, the other side's. A side at 0 % gets weight 0 and stays in service (walking back
 * is instant), except a server in maintenance: it stays there (it never was in service).
 */
export function weighCommands(
  o: Pick<HaproxySwitchOptions, 'backend' | 'v1Servers' | 'v2Servers' | 'weight'>,
  v2Percent: number,
  states: readonly HaproxyServerState[],
  current: number | undefined,
): { first: 'v1' | 'v2'; weights: SideWeights; make: string[]; after: string[] } {
  const weights = weightsFor(o.v1Servers.length, o.v2Servers.length, v2Percent, o.weight);
  const cur = current ?? 0;
  const first = v2Percent > cur ? 'v2' : v2Percent < cur ? 'v1' : v2Percent > 0 ? 'v2' : 'v1';
  const admin = new Map(states.filter((s) => s.backend === o.backend).map((s) => [s.server, adminStateName(s.adminState)]));
  const side = (which: 'v1' | 'v2') => {
    const w = weights[which];
    return (which === 'v1' ? o.v1Servers : o.v2Servers).flatMap((s) =>
      w === 0 && admin.get(s) === 'maint' ? [] : [`set weight ${o.backend}/${s} ${w}`, `set server ${o.backend}/${s} state ready`],
    );
  };
  return { first, weights, make: side(first), after: side(first === 'v1' ? 'v2' : 'v1') };
}

/** Sends one command on a fresh socket connection; resolves with HAProxy's answer (it closes the connection after answering). */
export async function runtimeCommand(
  conn: SshConnection,
  socket: string,
  command: string,
  timeoutMs: number,
  o: { batch?: boolean } = {},
): Promise<string> {
  // A batch joins commands checked one by one (runSetCommands); nothing else may carry a ';'.
  if (/[\n\r\0]/.test(command) || (!o.batch && command.includes(';')))
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

/**
 * Sends `set ...` commands in one socket connection (the runtime API runs `a; b; c` in order):
 * one SSH channel instead of one per command. Each succeeded when HAProxy answered nothing but
 * blank lines; any text is an error message, reported with the commands.
 */
export async function runSetCommands(conn: SshConnection, socket: string, commands: readonly string[], timeoutMs: number): Promise<void> {
  if (commands.length === 0) return;
  for (const c of commands) {
    if (/[\n\r;\0]/.test(c)) throw new InvalidInputError(`refusing a runtime API command with a line break or ';': ${JSON.stringify(c)}`);
  }
  const answer = await runtimeCommand(conn, socket, commands.join('; '), timeoutMs, { batch: true });
  checkSetAnswer(commands.join('; '), answer);
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
      await runSetCommands(conn, o.socket, make, t);
      // Make before break: the other side stays in service until HAProxy sees one of `side`'s servers up.
      await this.waitUp(conn, side, `switching ${o.backend} to ${side}`);
      await runSetCommands(conn, o.socket, brk, t);
      await this.saveState(conn);
      const view = await this.read(conn);
      this.log.info({ backend: o.backend, side, serving: view.serving }, 'proxy switched');
      return view;
    });
  }

  /**
   * Splits new requests between v1 and v2 by weights (weightsFor), both sides in service; the side
   * whose share rises is written first and must be seen up before the other side's weights change
   * (weighCommands), so there is never a moment where no server up has a weight above 0.
   */
  async weigh(v2Percent: number): Promise<ProxyView> {
    const p = checkV2Percent(v2Percent);
    const o = this.opts;
    const t = o.target.timeoutMs;
    return withSsh(o.target, o.privateKey, async (conn) => {
      const states = await this.servers(conn); // every configured server exists before anything changes
      const before = haproxyView(states, o.v1Servers, o.v2Servers).v2Percent;
      const { first, weights, make, after } = weighCommands(o, p, states, before);
      await runSetCommands(conn, o.socket, make, t);
      await this.waitUp(conn, first, `weighing ${o.backend} to v2 ${p} %`);
      await runSetCommands(conn, o.socket, after, t);
      await this.saveState(conn);
      const view = await this.read(conn);
      this.log.info({ backend: o.backend, v2Percent: p, weights, before, after: view.v2Percent, serving: view.serving }, 'proxy weighed');
      return view;
    });
  }

  /** Waits until HAProxy sees one of `side`'s servers up and in service; else an error saying what it saw (the other side untouched). */
  private async waitUp(conn: SshConnection, side: 'v1' | 'v2', doing: string): Promise<void> {
    const o = this.opts;
    const t = o.upTimeoutMs ?? o.target.timeoutMs;
    const onNames = new Set(side === 'v1' ? o.v1Servers : o.v2Servers);
    const { value, met } = await poll(() => this.servers(conn), {
      until: (states) => states.some((s) => onNames.has(s.server) && serving(s)),
      deadline: Date.now() + t,
      everyMs: 200,
    });
    if (met) return;
    const seen = value
      .filter((s) => onNames.has(s.server))
      .map((s) => `${s.server} ${opStateName(s.opState)}/${adminStateName(s.adminState)}${checkName(s) ? ` check ${checkName(s)}` : ''}`)
      .join(', ');
    throw new HaproxyError(
      `${doing}: none of its ${side} servers came up within ${formatMs(t)} (${seen}); the other side was left in service`,
    );
  }

  /** The server states to the server-state file (when configured), so a later reload keeps them. */
  private async saveState(conn: SshConnection): Promise<void> {
    const o = this.opts;
    if (!o.stateFile) return;
    const state = await runtimeCommand(conn, o.socket, 'show servers state', o.target.timeoutMs);
    parseServersState(state); // only a readable state goes to the file
    await conn.writeFile(o.stateFile, state.endsWith('\n') ? state : `${state}\n`, 0o644);
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
  // The share from the weights of the servers taking traffic (a server down or out of service takes none).
  const sum = (names: Set<string>) => states.filter((s) => names.has(s.server) && serving(s)).reduce((a, s) => a + s.userWeight, 0);
  const share = shareOf(sum(v1), sum(v2));
  return {
    kind: 'haproxy',
    serving: sideOf(on(v1), on(v2)),
    servers,
    ...(share === undefined ? {} : { v2Percent: roundShare(share) }),
  };
}

function shorten(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}
