// The API's guard, run on every request before routing:
//   1. same-origin only — a browser page elsewhere must not drive the API with its visitor's
//      network position: `Sec-Fetch-Site` other than same-origin/none, or an `Origin` that is not
//      this server's own, is refused (403). Clients that are not browsers send neither header.
//   2. authentication — `Authorization: Bearer <token>`, checked against the SHA-256 hashes of the
//      callers file (timing-safe); 401 with WWW-Authenticate when missing or unknown.
// The caller it returns carries the caller's role: routes authorise with it, never with the
// agent's role. In the insecure open mode (no callers file, `--insecure-open-cluster`) every
// request is an anonymous caller with the agent's own role — the behaviour before callers
// existed, kept for laboratories and said loudly in the log at start.
import type { IncomingMessage } from 'node:http';
import { MAX_TOKEN_CHARS, type ApiCaller, type ApiCallerList } from '../../crypto/api-callers.js';
import type { Role } from '../../crypto/roles.js';
import { ForbiddenError, UnauthenticatedError } from './errors.js';

export type AuthFailure = 'missing' | 'invalid' | 'cross_origin';

export type ApiAccess = { mode: 'callers'; callers: ApiCallerList } | { mode: 'open'; role: Role };

export interface ApiGuardComponents {
  /** Counts refusals (bzzz_api_auth_failures_total{reason}). */
  onFailure?(reason: AuthFailure, req: IncomingMessage): void;
}

export const OPEN_CALLER_NAME = 'anonymous (insecure open cluster)';

export function apiGuard(access: ApiAccess, c: ApiGuardComponents = {}): (req: IncomingMessage) => ApiCaller {
  const open: ApiCaller | undefined = access.mode === 'open' ? { name: OPEN_CALLER_NAME, role: access.role } : undefined;
  return (req) => {
    const crossOrigin = crossOriginReason(req);
    if (crossOrigin !== undefined) {
      c.onFailure?.('cross_origin', req);
      throw new ForbiddenError(
        `cross-origin request refused (${crossOrigin}): the agent API serves only same-origin and non-browser clients`,
      );
    }
    if (open !== undefined) return open;
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '') {
      c.onFailure?.('missing', req);
      throw new UnauthenticatedError(
        'this API needs a caller token: send Authorization: Bearer <token> (the operator hands each caller its token as a Docker secret)',
        false,
      );
    }
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header.length > MAX_TOKEN_CHARS + 16 ? '' : header);
    const caller = m === null || access.mode !== 'callers' ? undefined : access.callers.authenticate(m[1]);
    if (caller === undefined) {
      c.onFailure?.('invalid', req);
      // Nothing about the token is echoed: not its length, not a prefix.
      throw new UnauthenticatedError('the caller token is not valid for this cluster: use the token the operator issued to you', true);
    }
    return caller;
  };
}

/** Why this request is cross-origin, or undefined when it is not (or comes from no browser). */
export function crossOriginReason(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site.slice(0, 20)}`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  const host = req.headers.host;
  if (origin === 'null') return 'Origin: null';
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return 'Origin is not a URL';
  }
  if (parsed.protocol !== 'http:' || host === undefined || parsed.host !== host.toLowerCase()) return 'Origin is another site';
  return undefined;
}

/** The authenticated caller of an API route (its server always has the guard). */
export function callerOf(ctx: { caller: ApiCaller | undefined }): ApiCaller {
  if (ctx.caller === undefined) throw new Error('API route served without the API guard: the caller is unknown');
  return ctx.caller;
}
