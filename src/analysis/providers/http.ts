// One bounded HTTP exchange for the providers: a deadline (AbortSignal) over the whole of it, body
// included, and a size limit enforced while reading, so a slow or endless answer from an agent or
// a Prometheus cannot hold the controller or fill its memory (DESIGN.md, threat model).
import { MeasurementError } from './provider.js';

export interface BoundedFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Aborts early too (the caller stopping). */
  signal?: AbortSignal;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
}

export interface BoundedResponse {
  status: number;
  contentType: string;
  text: string;
}

/** The URL without user:password, for messages (a Prometheus URL may carry credentials). */
export function redactUrl(url: string | URL): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

async function readBody(res: Response, maxBytes: number, where: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new MeasurementError(`${where}: the answer is ${declared} bytes, more than the ${maxBytes} allowed`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new MeasurementError(`${where}: the answer is more than the ${maxBytes} bytes allowed`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Fetches `url` within `timeoutMs` and `maxBytes`. Throws MeasurementError naming the (redacted) URL. */
export async function boundedFetch(url: URL, opts: BoundedFetchOptions): Promise<BoundedResponse> {
  const where = redactUrl(url);
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  try {
    const res = await fetch(url, { method: opts.method ?? 'GET', body: opts.body, headers: opts.headers, signal, redirect: 'error' });
    const text = await readBody(res, opts.maxBytes, where);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
  } catch (err) {
    if (err instanceof MeasurementError) throw err;
    if (deadline.aborted) throw new MeasurementError(`${where}: no complete answer within ${opts.timeoutMs} ms`, { cause: err });
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    throw new MeasurementError(`${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause: err });
  }
}
