// Request body media types. A request that changes something must say what it sends, and only
// types that a browser cannot send cross-origin without a CORS preflight (which this API never
// grants) are accepted: a web page cannot forge a JSON POST with a "simple" form or text/plain.
import type { IncomingMessage } from 'node:http';
import { UnsupportedMediaTypeError } from './errors.js';

export const JSON_BODY = ['application/json'] as const;
/** Blob uploads: raw bytes (or JSON, for a client that posts a document as a blob). */
export const BLOB_BODY = ['application/octet-stream', 'application/json'] as const;

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** The media type without parameters, lowercased ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Throws 415 unless the request's media type is one of `allowed` (exactly: no `+json`, no wildcards). */
export function requireMediaType(req: IncomingMessage, allowed: readonly string[], what: string): void {
  const type = mediaType(req);
  if (!allowed.includes(type)) throw new UnsupportedMediaTypeError(what, type, allowed);
}
