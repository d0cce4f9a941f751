// Request bodies with size limits: JSON bodies are read whole (small), blob uploads are streamed
// (a large blob never sits whole in memory) and cut off at the limit. JSON is also limited in
// depth: a body of 100 000 nested arrays parses, but every later JSON.stringify of it (signing,
// encrypting) would overflow the stack — it is refused here with a 400 instead.
import type { IncomingMessage } from 'node:http';
import { InvalidInputError } from '../../util/errors.js';
import { PayloadTooLargeError } from './errors.js';
import { JSON_BODY, requireMediaType } from './media-type.js';

/** Nesting allowed in JSON bodies (objects and arrays); decisions are shallow documents. */
export const MAX_JSON_DEPTH = 64;

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

export async function readJsonBody(req: IncomingMessage, maxBytes: number, what: string, maxDepth = MAX_JSON_DEPTH): Promise<unknown> {
  requireMediaType(req, JSON_BODY, what);
  const chunks: Uint8Array[] = [];
  for await (const c of limitedBody(req, maxBytes, what)) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new InvalidInputError(`${what} is empty: send a JSON object`);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message quotes a few characters of the input at most: the caller's own text.
    throw new InvalidInputError(`${what} is not valid JSON (${(err as Error).message.slice(0, 200)}): send a JSON object`);
  }
  const depth = jsonDepth(value, maxDepth);
  if (depth > maxDepth) throw new InvalidInputError(`${what} is nested more than ${maxDepth} levels deep: send a flatter document`);
  return value;
}

/** Nesting depth of a parsed JSON value, counted without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (typeof v !== 'object' || v === null) continue;
    const depth = d + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: child, d: depth });
  }
  return deepest;
}
