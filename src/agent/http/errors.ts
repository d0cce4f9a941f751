// How errors become HTTP answers: one table from the project's named errors to status codes, so
// each route only throws. Bodies are `{error, message}`; 5xx messages are generic (details go to
// the log), 4xx messages say what was wrong and what to do.
import { BzzzError, InvalidInputError, NotFoundError } from '../../util/errors.js';
import { AccessDeniedError, CorruptCiphertextError } from '../../crypto/index.js';

/** An answer with a status of its own (413, 415, 503 …). */
export class HttpError extends BzzzError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
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
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}

export interface ErrorAnswer {
  status: number;
  body: { error: string; message: string };
  /** Log it: the server failed, not the request. */
  internal: boolean;
}

export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof HttpError)
    return { status: err.status, body: { error: err.code, message: err.message }, internal: err.status >= 500 && err.status !== 503 };
  if (err instanceof AccessDeniedError) return { status: 403, body: { error: 'forbidden', message: err.message }, internal: false };
  if (err instanceof CorruptCiphertextError)
    return {
      status: 422,
      body: {
        error: 'not_a_decision',
        message: 'the content at this address is not an encrypted decision: read it with GET /api/blobs/{address}',
      },
      internal: false,
    };
  if (err instanceof InvalidInputError) return { status: 400, body: { error: 'bad_request', message: err.message }, internal: false };
  if (err instanceof NotFoundError) return { status: 404, body: { error: 'not_found', message: err.message }, internal: false };
  return { status: 500, body: { error: 'internal', message: 'the agent failed to handle this request; see its log' }, internal: true };
}
