// One bounded HTTP exchange for the providers: a deadline (AbortSignal) over the whole of it, body
// included, and a size limit enforced while reading, so a slow or endless answer from an agent or
// a Prometheus cannot hold the controller or fill its memory (DESIGN.md, threat model).
import { readBodyUpTo } from '../../util/bounded-body.js';
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

/** Fetches `url` within `timeoutMs` and `maxBytes`. Throws MeasurementError naming the (redacted) URL. */
export async function boundedFetch(url: URL, opts: BoundedFetchOptions): Promise<BoundedResponse> {
  const where = redactUrl(url);
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  const failed = (err: unknown, prefix: string) => {
    if (deadline.aborted) return new MeasurementError(`${where}: no complete answer within ${opts.timeoutMs} ms`, { cause: err });
    // fetch's own "fetch failed" hides the reason (connection refused, DNS) in its cause.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return new MeasurementError(`${prefix}${cause instanceof Error ? cause.message : String(cause)}`, { cause: err });
  };
  let res: Response;
  try {
    // No redirects: an answer must not send the controller on to an address nobody configured.
    res = await fetch(url, { method: opts.method ?? 'GET', body: opts.body, headers: opts.headers, signal, redirect: 'error' });
  } catch (err) {
    throw failed(err, `${where}: `);
  }
  try {
    const text = await readBodyUpTo(res, opts.maxBytes, where);
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
  } catch (err) {
    throw failed(err, '');
  }
}
