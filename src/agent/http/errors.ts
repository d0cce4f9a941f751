// How errors become HTTP answers: one table from the project's named errors to status codes, so
// each route only throws. Bodies are `{error, message}`; 5xx messages are generic (details go to
// the log), 4xx messages say what was wrong and what to do. No answer ever carries text a remote
// peer chose (a peer's refusal message stays in the debug log), a token or key material.
import { BzzzError, InvalidInputError, NotFoundError } from '../../util/errors.js';
import { AccessDeniedError, CorruptCiphertextError } from '../../crypto/index.js';
import { StoreFullError } from '../cas/errors.js';
import { BlobUnavailableError } from '../p2p/blob-transfer.js';
import { ContentRejectedError } from '../decision-signature.js';

/** An answer with a status of its own (401, 413, 415, 503 …), and headers that go with it. */
export class HttpError extends BzzzError {
  readonly headers: Record<string, string>;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers ?? {};
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(what: string, limit: number) {
    super(413, 'payload_too_large', `${what} is larger than the limit of ${limit} bytes: send less, or raise the agent's limit`);
  }
}

export class ForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

export class UnavailableError extends HttpError {
  constructor(message: string, options?: { retryAfterSeconds?: number }) {
    super(
      503,
      'unavailable',
      message,
      options?.retryAfterSeconds === undefined ? undefined : { headers: { 'retry-after': String(options.retryAfterSeconds) } },
    );
  }
}

/** 401: no credentials, or credentials no caller holds. The realm names the agent API, never the token. */
export class UnauthenticatedError extends HttpError {
  constructor(message: string, invalidToken: boolean) {
    super(401, 'unauthenticated', message, {
      headers: { 'www-authenticate': `Bearer realm="bzzz-agent"${invalidToken ? ', error="invalid_token"' : ''}` },
    });
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(what: string, got: string, allowed: readonly string[]) {
    super(
      415,
      'unsupported_media_type',
      `${what} must be sent with Content-Type ${allowed.join(' or ')}, got ${got === '' ? 'none' : JSON.stringify(got.slice(0, 100))}`,
    );
  }
}

export interface ErrorAnswer {
  status: number;
  body: { error: string; message: string };
  headers: Record<string, string>;
  /** Log it: the server failed, not the request. */
  internal: boolean;
}

const answer = (status: number, error: string, message: string, internal = false, headers: Record<string, string> = {}): ErrorAnswer => ({
  status,
  body: { error, message },
  headers,
  internal,
});

export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof HttpError) return answer(err.status, err.code, err.message, err.status >= 500 && err.status !== 503, err.headers);
  if (err instanceof AccessDeniedError) return answer(403, 'forbidden', err.message);
  if (err instanceof ContentRejectedError) return answer(422, 'content_rejected', err.message);
  if (err instanceof StoreFullError) return answer(507, 'insufficient_storage', err.message);
  if (err instanceof CorruptCiphertextError)
    return answer(422, 'not_a_decision', 'the content at this address is not an encrypted decision: read it with GET /api/blobs/{address}');
  if (err instanceof InvalidInputError) return answer(400, 'bad_request', err.message);
  // The fetcher's message lists what each peer answered: text chosen by remote peers.
  if (err instanceof BlobUnavailableError)
    return answer(404, 'not_found', 'this content is not held by any reachable agent: put it on an agent first');
  if (err instanceof NotFoundError) return answer(404, 'not_found', err.message);
  return answer(500, 'internal', 'the agent failed to handle this request; see its log', true);
}
