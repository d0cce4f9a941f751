// Verifies the v1 mesh from the controller (MeshVerifier): every host's agent answers its health
// path with 2xx and reports at least minPeers connected peers (a Prometheus gauge). What an agent
// answers is not trusted: each request has a time limit and a body size limit.
import http from 'node:http';
import { errorMessage } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { formatMs } from './ssh.js';
import type { MeshHostReport, MeshReport, MeshVerifier, MeshWant } from './types.js';

/** Bytes read from a health or metrics answer at most. */
export const MAX_MESH_BODY_BYTES = 1024 * 1024;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface MeshHost {
  name: string;
  address: string;
}

export interface MeshOptions {
  hosts: readonly MeshHost[];
  /** The v1 agent's HTTP port. */
  port: number;
  /** Health path (2xx when healthy). */
  path: string;
  /** Prometheus text endpoint on the same port. */
  metricsPath: string;
  /** The peers gauge; the sum of its samples is the host's peer count. */
  peersMetric: string;
  minPeers: number;
  /** Each HTTP request. */
  requestTimeoutMs: number;
  /** Pause between rounds while verifying. Default 500ms. */
  everyMs?: number;
  maxBodyBytes?: number;
}

/** GETs a URL; resolves with the status and the body (at most maxBytes: more is an error). */
export function httpGet(url: string, timeoutMs: number, maxBytes: number, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, value?: { status: number; body: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      err ? reject(err) : resolve(value!);
    };
    const req = http.get(url, { agent: false, headers: { accept: 'text/plain, */*' }, signal }, (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > maxBytes) return finish(new Error(`answered ${declared} bytes, more than the ${maxBytes} allowed`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        size += b.length;
        if (size > maxBytes) return finish(new Error(`answered more than the ${maxBytes} bytes allowed`));
        chunks.push(b);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => finish(e));
    });
    // One deadline for the whole request (connect, headers, body): a slow drip cannot hold it open.
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${formatMs(timeoutMs)}`)), timeoutMs);
    req.on('error', (e) => finish(e));
  });
}

/** The sum of a metric's samples in Prometheus text (undefined when absent). Ignores other metrics, comments, NaN. */
export function sumMetric(text: string, name: string): number | undefined {
  if (!METRIC_NAME.test(name)) throw new Error(`not a metric name: ${JSON.stringify(name)}`);
  let sum: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let valuePart: string;
    if (rest.startsWith('{')) {
      const close = rest.lastIndexOf('}');
      if (close < 0) continue;
      valuePart = rest.slice(close + 1);
    } else if (rest.startsWith(' ') || rest.startsWith('\t')) valuePart = rest;
    else continue; // another metric sharing the prefix (bzzz_p2p_connected_peers_total)
    const value = Number(valuePart.trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    sum = (sum ?? 0) + value;
  }
  return sum;
}

export class HttpMeshVerifier implements MeshVerifier {
  constructor(private readonly opts: MeshOptions) {}

  async check(signal?: AbortSignal, want: MeshWant = {}): Promise<MeshReport> {
    const minPeers = want.minPeers ?? this.opts.minPeers;
    const enough = want.enough ?? this.opts.hosts.length;
    const hosts = await Promise.all(this.opts.hosts.map((h) => this.checkHost(h, signal)));
    const bad = hosts.filter((h) => !this.hostOk(h, minPeers));
    const ok = hosts.length - bad.length >= enough;
    if (bad.length === 0) return { ok, hosts };
    return { ok, hosts, reason: bad.map((h) => `${h.host}: ${this.whyNot(h, minPeers)}`).join('; ') };
  }

  async verify(opts: { deadlineMs: number; signal?: AbortSignal } & MeshWant): Promise<MeshReport> {
    const { value } = await poll(() => this.check(opts.signal, opts), {
      until: (r) => r.ok,
      deadline: Date.now() + opts.deadlineMs,
      everyMs: this.opts.everyMs ?? 500,
      signal: opts.signal,
    });
    if (value.ok) return value;
    return { ...value, reason: `not verified within ${formatMs(opts.deadlineMs)}: ${value.reason}` };
  }

  private hostOk(h: MeshHostReport, minPeers: number): boolean {
    return h.healthy && !h.error && (h.peers ?? 0) >= minPeers;
  }

  private whyNot(h: MeshHostReport, minPeers: number): string {
    if (h.error) return h.error;
    if (!h.healthy) return 'unhealthy';
    return `${h.peers ?? 0} peers, ${minPeers} needed`;
  }

  private async checkHost(h: MeshHost, signal?: AbortSignal): Promise<MeshHostReport> {
    const base = `http://${h.address.includes(':') ? `[${h.address}]` : h.address}:${this.opts.port}`;
    const max = this.opts.maxBodyBytes ?? MAX_MESH_BODY_BYTES;
    const report: MeshHostReport = { host: h.name, healthy: false };
    try {
      const health = await httpGet(`${base}${this.opts.path}`, this.opts.requestTimeoutMs, max, signal);
      report.healthy = health.status >= 200 && health.status < 300;
      if (!report.healthy) {
        report.error = `${this.opts.path} answered ${health.status}`;
        return report;
      }
    } catch (err) {
      report.error = `${this.opts.path}: ${errorMessage(err)}`;
      return report;
    }
    try {
      const metrics = await httpGet(`${base}${this.opts.metricsPath}`, this.opts.requestTimeoutMs, max, signal);
      if (metrics.status < 200 || metrics.status >= 300) {
        report.error = `${this.opts.metricsPath} answered ${metrics.status}`;
        return report;
      }
      const peers = sumMetric(metrics.body, this.opts.peersMetric);
      if (peers === undefined) report.error = `${this.opts.metricsPath} has no ${this.opts.peersMetric}`;
      else report.peers = peers;
    } catch (err) {
      report.error = `${this.opts.metricsPath}: ${errorMessage(err)}`;
    }
    return report;
  }
}
