// Request bodies with size limits: JSON bodies are read whole (small), blob uploads are streamed
// (a large blob never sits whole in memory) and cut off at the limit.
import type { IncomingMessage } from 'node:http';
import { InvalidInputError } from '../../util/errors.js';
import { HttpError, PayloadTooLargeError } from './errors.js';

export function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

/** The body as a stream of chunks; throws PayloadTooLargeError once more than `maxBytes` arrive. */
export async function* limitedBody(req: IncomingMessage, maxBytes: number, what: string): AsyncGenerator<Uint8Array> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > maxBytes) throw new PayloadTooLargeError(what, maxBytes);
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.byteLength;
    if (seen > maxBytes) throw new PayloadTooLargeError(what, maxBytes);
    yield chunk;
  }
}

export async function readJsonBody(req: IncomingMessage, maxBytes: number, what: string): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `${what} must be JSON (Content-Type: application/json), got ${JSON.stringify(type)}`,
    );
  }
  const chunks: Uint8Array[] = [];
  for await (const c of limitedBody(req, maxBytes, what)) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new InvalidInputError(`${what} is empty: send a JSON object`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(`${what} is not valid JSON (${(err as Error).message}): send a JSON object`);
  }
}
