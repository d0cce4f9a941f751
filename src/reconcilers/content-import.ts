// The content-migrated phase's import: one v1 host's conversation log into the v2 content store,
// each entry a BLAKE3-addressed blob, the thread kept by a manifest stored as blobs too.
//
//   pass 1 (plan)    read the log, verify the chain (src/hosts/v1-log.ts), compute every entry's
//                    address and the manifest locally. Any break: nothing is stored, the report
//                    lists every break (the phase stops and says so). The root manifest already
//                    stored (an earlier run finished): nothing more is done.
//   pass 2 (import)  read the log again (same bytes expected: each manifest page must come out
//                    with the address pass 1 computed, else the log changed under us and the
//                    import stops), skip the pages an earlier run already stored, store each
//                    entry (at most `concurrency` in flight), read every blob back and check it,
//                    then each manifest page once its entries are in, then the root.
//
// Manifest: pages of `pageEntries` (default 10 000) entries as JSON lines, a header line
// {"format":"bzzz-v1-log-manifest-page/1","host","first","count"} then one line per entry
// [index, v1 hash, address, author, type] — prev_hash is the hash on the line before, so the chain
// can be checked again from the manifest alone. The root, one JSON document:
// {"format":"bzzz-v1-log-manifest/1","host","entries","firstIndex","lastIndex","headHash",
// "pageEntries","pages":[addresses]}. Both are deterministic: the same log gives the same root
// address, so re-running finds it and imports nothing twice; a run killed midway resumes after
// the last page stored (pages are stored in order, each after all its entries).
//
// Memory stays flat: one manifest page (~2 MB), `concurrency` entries in flight, one address per
// page. Nothing an agent answers is trusted: every address it returns and every byte it sends
// back is checked against the local BLAKE3 (HttpBlobSink).
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { type BlobAddress, hashBytes, isCanonicalAddress } from '../crypto/blake3.js';
import { DEFAULT_MAX_LINE_BYTES, type V1LogReport, verifyV1Log } from '../hosts/v1-log.js';
import { BzzzError, errorMessage } from '../util/errors.js';

/** Where blobs go: an agent's content store (HttpBlobSink), or a stand-in in tests. */
export interface BlobSink {
  /** The blob is there (and, for a sink that reads it to know, its bytes match the address). */
  has(address: BlobAddress): Promise<boolean>;
  /** Stores the bytes; the address is the one the sink reports, already checked against the bytes. */
  put(bytes: Buffer): Promise<{ address: BlobAddress; created: boolean }>;
  /** The blob's bytes, checked against the address. */
  get(address: BlobAddress): Promise<Buffer>;
}

/** The content store refused, answered wrongly, or could not be reached; or the log changed between reads. */
export class ContentImportError extends BzzzError {}

// ---- the agent's HTTP API as a BlobSink ----

export interface HttpBlobSinkOptions {
  /** The agent's API, e.g. http://bzzz_agent-0:8080. */
  baseUrl: string;
  /** A caller token whose role may store (not observer). */
  token: string;
  /** Each request, answer included (default 30 s). */
  timeoutMs?: number;
  /** Largest blob read back (default 16 MiB: entries are at most a v1 log line, pages a few MB). */
  maxBlobBytes?: number;
  signal?: AbortSignal;
  /** Connections kept open to the agent (default 16). */
  maxSockets?: number;
}

const MAX_JSON_ANSWER = 64 * 1024;

/**
 * The agent's /api/blobs routes, each answer checked: the address it reports must be the BLAKE3 of
 * what was sent, what it sends back must hash to the address. node:http with keep-alive (about four
 * times fewer CPU per request than fetch here, and the import makes two requests per entry).
 */
export class HttpBlobSink implements BlobSink {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxBlobBytes: number;
  private readonly client: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(private readonly o: HttpBlobSinkOptions) {
    this.base = o.baseUrl.replace(/\/+$/, '');
    const url = new URL(this.base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ContentImportError(`${o.baseUrl}: not an http(s) URL`);
    this.client = url.protocol === 'https:' ? https : http;
    this.agent = new this.client.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 16 });
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.maxBlobBytes = o.maxBlobBytes ?? 16 * 1024 * 1024;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** One request and its answer read by `read`, under one timer for both. */
  private exchange<T>(
    method: 'GET' | 'POST',
    path: string,
    body: Buffer | undefined,
    read: (res: IncomingMessage) => Promise<T>,
  ): Promise<T> {
    const what = `${method} ${this.base}${path}`;
    const outer = this.o.signal;
    if (outer?.aborted) return Promise.reject(new ContentImportError(`${what}: aborted`));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else resolve(value as T);
      };
      const cut = (why: string) => {
        finish(new ContentImportError(`${what}: ${why}`));
        req.destroy();
      };
      const timer = setTimeout(() => cut(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      const onAbort = () => cut('aborted');
      outer?.addEventListener('abort', onAbort, { once: true });
      const req = this.client.request(
        `${this.base}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.o.token}`,
            ...(body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {}),
          },
        },
        (res) => {
          read(res).then(
            (v) => finish(undefined, v),
            (err) => {
              res.destroy();
              finish(err instanceof ContentImportError ? err : new ContentImportError(`${what}: ${errorMessage(err)}`));
            },
          );
        },
      );
      req.on('error', (err) => finish(new ContentImportError(`${what}: ${errorMessage(err)}`)));
      req.end(body);
    });
  }

  /** The answer's bytes, at most `max` (declared or streamed: cut off as soon as it is more). */
  private async body(res: IncomingMessage, max: number, what: string): Promise<Buffer> {
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > max) throw new ContentImportError(`${what} answered ${declared} bytes, more than the ${max} allowed`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) throw new ContentImportError(`${what} answered more than the ${max} bytes allowed`);
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  private async refusal(res: IncomingMessage, what: string): Promise<ContentImportError> {
    const text = (await this.body(res, MAX_JSON_ANSWER, what).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 300);
    const hint =
      res.statusCode === 401 || res.statusCode === 403
        ? ": the operator's migration caller is not accepted by the agent (is spec.migration set, and the agents' callers file rolled out?)"
        : '';
    return new ContentImportError(`${what} answered ${res.statusCode}${text ? ` ${text}` : ''}${hint}`);
  }

  async has(address: BlobAddress): Promise<boolean> {
    const what = `GET ${this.base}/api/blobs/${address}`;
    return this.exchange('GET', `/api/blobs/${address}`, undefined, async (res) => {
      if (res.statusCode === 404) {
        res.resume();
        return false;
      }
      if (res.statusCode !== 200) throw await this.refusal(res, what);
      this.check(address, await this.body(res, this.maxBlobBytes, what), what);
      return true;
    });
  }

  async get(address: BlobAddress): Promise<Buffer> {
    const what = `GET ${this.base}/api/blobs/${address}`;
    return this.exchange('GET', `/api/blobs/${address}`, undefined, async (res) => {
      if (res.statusCode !== 200) throw await this.refusal(res, what);
      const bytes = await this.body(res, this.maxBlobBytes, what);
      this.check(address, bytes, what);
      return bytes;
    });
  }

  async put(bytes: Buffer): Promise<{ address: BlobAddress; created: boolean }> {
    const what = `POST ${this.base}/api/blobs`;
    const local = hashBytes(bytes);
    const answer = await this.exchange('POST', '/api/blobs', bytes, async (res) => {
      if (res.statusCode !== 201 && res.statusCode !== 200) throw await this.refusal(res, what);
      const text = (await this.body(res, MAX_JSON_ANSWER, what)).toString('utf8');
      try {
        return JSON.parse(text) as { address?: unknown; size?: unknown; created?: unknown };
      } catch {
        throw new ContentImportError(`${what} answered something that is not JSON`);
      }
    });
    if (answer?.address !== local)
      throw new ContentImportError(
        `${what} answered the address ${JSON.stringify(answer?.address).slice(0, 80)} for ${bytes.length} bytes whose BLAKE3 is ${local}: the agent's answer is wrong, not trusted`,
      );
    if (answer.size !== bytes.length)
      throw new ContentImportError(`${what} answered size ${JSON.stringify(answer.size)} for ${local}, sent ${bytes.length} bytes`);
    return { address: local, created: answer.created === true };
  }

  private check(address: BlobAddress, bytes: Buffer, what: string): void {
    const got = hashBytes(bytes);
    if (got !== address)
      throw new ContentImportError(`${what} sent ${bytes.length} bytes whose BLAKE3 is ${got}, not ${address}: not trusted`);
  }
}

// ---- the import ----

export const MANIFEST_FORMAT = 'bzzz-v1-log-manifest/1';
export const MANIFEST_PAGE_FORMAT = 'bzzz-v1-log-manifest-page/1';
export const DEFAULT_PAGE_ENTRIES = 10_000;
export const DEFAULT_IMPORT_CONCURRENCY = 8;

export interface ImportProgress {
  phase: 'verify' | 'import';
  /** Entries read in this phase, and the log bytes read. */
  entries: number;
  bytes: number;
  /** Entries stored anew, found already stored, and skipped (their page was stored by an earlier run). */
  stored: number;
  existing: number;
  skipped: number;
}

export interface ImportOptions {
  /** The v1 host's name: in errors, and in the manifest. */
  host: string;
  /** Opens the log (called once per pass: twice when it is imported). */
  open: () => AsyncIterable<Uint8Array>;
  sink: BlobSink;
  concurrency?: number;
  pageEntries?: number;
  maxLineBytes?: number;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  /** How often onProgress is called, in entries (default 1000). */
  progressEvery?: number;
}

export interface ManifestRoot {
  format: typeof MANIFEST_FORMAT;
  host: string;
  entries: number;
  firstIndex: number | null;
  lastIndex: number | null;
  headHash: string;
  pageEntries: number;
  pages: BlobAddress[];
}

export type ImportResult =
  | {
      ok: true;
      host: string;
      /** The root manifest's address. */
      manifest: BlobAddress;
      entries: number;
      /** Entries stored anew / already in the store / skipped with pages stored by an earlier run. */
      stored: number;
      existing: number;
      skipped: number;
      /** The whole import was already done (the root manifest was there): nothing was sent. */
      alreadyImported: boolean;
      report: V1LogReport;
    }
  | {
      ok: false;
      host: string;
      /** The log's chain is broken: nothing was stored. The report lists every break. */
      report: V1LogReport;
      reason: string;
    };

const pageHeader = (host: string, first: number, count: number) =>
  `${JSON.stringify({ format: MANIFEST_PAGE_FORMAT, host, first, count })}\n`;
const pageLine = (index: number, hash: string, address: BlobAddress, author: string, type: string) =>
  `${JSON.stringify([index, hash, address, author, type])}\n`;

/** The root manifest's bytes (deterministic). */
export function manifestRootBytes(root: ManifestRoot): Buffer {
  return Buffer.from(`${JSON.stringify(root)}\n`, 'utf8');
}

/** Reads one manifest page back into entries (for a check, or for whoever reads the thread). */
export function parseManifestPage(bytes: Buffer): {
  host: string;
  first: number;
  count: number;
  entries: Array<{ index: number; hash: string; address: BlobAddress; author: string; type: string }>;
} {
  const lines = bytes.toString('utf8').split('\n').filter(Boolean);
  const head = JSON.parse(lines[0] ?? '{}') as { format?: string; host: string; first: number; count: number };
  if (head.format !== MANIFEST_PAGE_FORMAT) throw new ContentImportError(`not a manifest page (${JSON.stringify(head.format)})`);
  const entries = lines.slice(1).map((l) => {
    const [index, hash, address, author, type] = JSON.parse(l) as [number, string, BlobAddress, string, string];
    return { index, hash, address, author, type };
  });
  return { host: head.host, first: head.first, count: head.count, entries };
}

/** Collects manifest page lines; `take()` hands the finished page's bytes over. */
class PageBuilder {
  private lines: string[] = [];
  private first: number | undefined;
  constructor(private readonly host: string) {}
  add(index: number, hash: string, address: BlobAddress, author: string, type: string): void {
    this.first ??= index;
    this.lines.push(pageLine(index, hash, address, author, type));
  }
  get size(): number {
    return this.lines.length;
  }
  take(): Buffer {
    const bytes = Buffer.from(pageHeader(this.host, this.first ?? 0, this.lines.length) + this.lines.join(''), 'utf8');
    this.lines = [];
    this.first = undefined;
    return bytes;
  }
}

/** Runs tasks with at most `limit` in flight; the first failure is kept and thrown by `drain`/`run`. */
class Pool {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  constructor(private readonly limit: number) {}
  async run(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const p: Promise<void> = task()
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }
  /** Waits for what is in flight, whatever its outcome (before giving up: nothing left running behind). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }
}

/** Stores the bytes and reads them back: the blob is there, exactly these bytes. */
async function storeChecked(sink: BlobSink, bytes: Buffer, address: BlobAddress, what: string): Promise<boolean> {
  const put = await sink.put(bytes);
  if (put.address !== address) throw new ContentImportError(`${what}: the store answered ${put.address}, expected ${address}`);
  const back = await sink.get(address);
  if (!back.equals(bytes)) throw new ContentImportError(`${what}: reading ${address} back gave other bytes than were stored`);
  return put.created;
}

/**
 * Imports one v1 host's log (see the top of this file). Resolves `{ok: false}` with every break
 * when the chain is broken (nothing stored); throws ContentImportError when the store fails or
 * answers wrongly, or the log changed between the two reads.
 */
export async function importV1Log(o: ImportOptions): Promise<ImportResult> {
  const pageEntries = o.pageEntries ?? DEFAULT_PAGE_ENTRIES;
  const concurrency = o.concurrency ?? DEFAULT_IMPORT_CONCURRENCY;
  const every = o.progressEvery ?? 1000;
  const maxLineBytes = o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const host = o.host;
  const progress: ImportProgress = { phase: 'verify', entries: 0, bytes: 0, stored: 0, existing: 0, skipped: 0 };
  const tick = (force = false) => {
    if (force || progress.entries % every === 0) o.onProgress?.({ ...progress });
  };
  const aborted = () => {
    if (o.signal?.aborted) throw new ContentImportError(`${host}: the import was aborted`);
  };

  // ---- pass 1: verify, and compute the manifest ----
  const pages: BlobAddress[] = [];
  let report: V1LogReport | undefined;
  {
    const page = new PageBuilder(host);
    for await (const item of verifyV1Log(o.open(), { source: host, maxLineBytes })) {
      if (item.kind === 'report') {
        report = item.value;
        break;
      }
      aborted();
      const { entry, canonical, chainIntact } = item.value;
      progress.entries++;
      progress.bytes += canonical.length + 1;
      tick();
      if (!chainIntact) continue; // broken: the report says so; no address is needed
      page.add(entry.index, entry.hash, hashBytes(canonical), entry.author, entry.type);
      if (page.size === pageEntries) pages.push(hashBytes(page.take()));
    }
    if (page.size > 0) pages.push(hashBytes(page.take()));
  }
  if (!report) throw new ContentImportError(`${host}: the log verifier ended without a report`);
  progress.bytes = report.bytes;
  tick(true);
  if (!report.intact) {
    const n = report.breaks.length + report.breaksOmitted;
    return {
      ok: false,
      host,
      report,
      reason: `the conversation log of ${host} has ${n} break${n === 1 ? '' : 's'} in its chain: nothing of it was imported`,
    };
  }
  const root: ManifestRoot = {
    format: MANIFEST_FORMAT,
    host,
    entries: report.entries,
    firstIndex: report.firstIndex ?? null,
    lastIndex: report.lastIndex ?? null,
    headHash: report.headHash ?? '',
    pageEntries,
    pages,
  };
  const rootBytes = manifestRootBytes(root);
  const rootAddress = hashBytes(rootBytes);
  if (await o.sink.has(rootAddress)) {
    return {
      ok: true,
      host,
      manifest: rootAddress,
      entries: report.entries,
      stored: 0,
      existing: 0,
      skipped: report.entries,
      alreadyImported: true,
      report,
    };
  }

  // ---- pass 2: store, page by page, resuming after the pages already stored ----
  let donePages = 0;
  while (donePages < pages.length && (await o.sink.has(pages[donePages] as BlobAddress))) donePages++;
  const skipEntries = donePages * pageEntries;
  Object.assign(progress, { phase: 'import', entries: 0, bytes: 0 });
  const pool = new Pool(concurrency);
  const page = new PageBuilder(host);
  let pageNo = 0;
  const finishPage = async () => {
    await pool.drain();
    const bytes = page.take();
    const address = hashBytes(bytes);
    const want = pages[pageNo];
    if (address !== want)
      throw new ContentImportError(
        `${host}: the log changed between the check and the import (manifest page ${pageNo} is ${address}, was ${want}): run the import again`,
      );
    await storeChecked(o.sink, bytes, address, `${host}: manifest page ${pageNo}`);
    pageNo++;
  };
  let seen = 0;
  try {
    for await (const item of verifyV1Log(o.open(), { source: host, maxLineBytes })) {
      aborted();
      if (item.kind === 'report') break;
      const { entry, canonical, chainIntact, line } = item.value;
      if (seen >= report.entries) break;
      if (!chainIntact)
        throw new ContentImportError(
          `${host}: the log changed between the check and the import (a break at line ${line} that was not there): run the import again`,
        );
      seen++;
      progress.entries = seen;
      progress.bytes += canonical.length + 1;
      if (seen <= skipEntries) {
        progress.skipped++;
        if (seen % pageEntries === 0) pageNo++;
        tick();
        continue;
      }
      const address = hashBytes(canonical);
      page.add(entry.index, entry.hash, address, entry.author, entry.type);
      await pool.run(async () => {
        const created = await storeChecked(o.sink, canonical, address, `${host}: entry ${entry.index}`);
        if (created) progress.stored++;
        else progress.existing++;
      });
      tick();
      if (page.size === pageEntries) await finishPage();
      // Entries appended after the check are left for the next run.
      if (seen === report.entries) break;
    }
    if (page.size > 0) await finishPage();
    await pool.drain();
  } catch (err) {
    await pool.settle();
    throw err;
  }
  if (seen < report.entries)
    throw new ContentImportError(`${host}: the log got shorter between the check and the import (${seen} entries, was ${report.entries})`);
  await storeChecked(o.sink, rootBytes, rootAddress, `${host}: the manifest`);
  tick(true);
  return {
    ok: true,
    host,
    manifest: rootAddress,
    entries: report.entries,
    stored: progress.stored,
    existing: progress.existing,
    skipped: progress.skipped,
    alreadyImported: false,
    report,
  };
}

/** Reads a root manifest back and checks it is one (the lead's status may show its figures). */
export async function readManifestRoot(sink: BlobSink, address: BlobAddress): Promise<ManifestRoot> {
  const root = JSON.parse((await sink.get(address)).toString('utf8')) as ManifestRoot;
  if (root?.format !== MANIFEST_FORMAT || !Array.isArray(root.pages) || !root.pages.every(isCanonicalAddress))
    throw new ContentImportError(`${address} is not a v1 log manifest`);
  return root;
}
