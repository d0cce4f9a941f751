import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { apiCallerList, generateApiToken } from '../../../src/crypto/api-callers.js';
import { apiGuard, crossOriginReason } from '../../../src/agent/http/auth.js';
import { HttpError } from '../../../src/agent/http/errors.js';
import { jsonDepth } from '../../../src/agent/http/body.js';
import { createLimiter } from '../../../src/agent/http/limiter.js';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers, socket: {} }) as unknown as IncomingMessage;

function refusal(fn: () => unknown): { status: number; headers: Record<string, string>; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, headers: err.headers, message: err.message };
    throw err;
  }
  throw new Error('not refused');
}

describe('API guard', () => {
  const t = generateApiToken();
  const guard = apiGuard({
    mode: 'callers',
    callers: apiCallerList([{ name: 'ci', role: 'backend_developer', tokenSha256: t.tokenSha256 }]),
  });

  it('GIVEN a callers list WHEN a request has no, a wrong or a right token THEN 401 / 401 invalid_token / the caller', () => {
    const none = refusal(() => guard(req({ host: 'a:1' })));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="bzzz-agent"');
    const wrong = refusal(() => guard(req({ host: 'a:1', authorization: 'Bearer bzzz_nope' })));
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(wrong.message).not.toContain('bzzz_nope');
    expect(refusal(() => guard(req({ authorization: `Basic ${t.token}` }))).status).toBe(401);
    expect(guard(req({ host: 'a:1', authorization: `Bearer ${t.token}` }))).toEqual({ name: 'ci', role: 'backend_developer' });
  });

  it('GIVEN browser headers WHEN the origin is another site THEN 403 before the token is looked at', () => {
    const auth = { authorization: `Bearer ${t.token}`, host: '10.0.0.2:8080' };
    expect(refusal(() => guard(req({ ...auth, origin: 'http://evil.example' }))).status).toBe(403);
    expect(refusal(() => guard(req({ ...auth, origin: 'null' }))).status).toBe(403);
    expect(refusal(() => guard(req({ ...auth, 'sec-fetch-site': 'cross-site' }))).status).toBe(403);
    expect(refusal(() => guard(req({ ...auth, 'sec-fetch-site': 'same-site' }))).status).toBe(403);
    expect(refusal(() => guard(req({ host: 'x', origin: 'http://evil.example' }))).status).toBe(403);
    expect(guard(req({ ...auth, origin: 'http://10.0.0.2:8080', 'sec-fetch-site': 'same-origin' }))).toMatchObject({ name: 'ci' });
    expect(crossOriginReason(req({ host: 'a:1' }))).toBeUndefined();
  });

  it('GIVEN the insecure open mode WHEN anyone calls THEN it acts with the agent role, still same-origin only', () => {
    const open = apiGuard({ mode: 'open', role: 'observer' });
    expect(open(req({}))).toMatchObject({ role: 'observer' });
    expect(refusal(() => open(req({ host: 'a', origin: 'http://b' }))).status).toBe(403);
  });
});

describe('JSON depth', () => {
  it('counts nesting without recursion and stops past the limit', () => {
    expect(jsonDepth(1, 64)).toBe(0);
    expect(jsonDepth({ a: [1, { b: 2 }] }, 64)).toBe(3);
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(jsonDepth(deep, 64)).toBe(65);
  });
});

describe('limiter', () => {
  it('GIVEN max 1 and a queue of 1 WHEN three acquire THEN one runs, one waits, one gets 503; a waiter whose client left is dropped', async () => {
    const l = createLimiter({ what: 'things', max: 1, maxQueued: 1, queueTimeoutMs: 5_000 });
    const release = await l.acquire(new AbortController().signal);
    const gone = new AbortController();
    const waiting = l.acquire(gone.signal);
    await expect(l.acquire(new AbortController().signal)).rejects.toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
    gone.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(l.queued).toBe(0);
    const next = l.acquire(new AbortController().signal);
    release();
    const r2 = await next;
    expect(l.active).toBe(1);
    r2();
    expect(l.active).toBe(0);
  });

  it('GIVEN a full limiter WHEN a waiter waits past the queue timeout THEN 503', async () => {
    const l = createLimiter({ what: 'things', max: 1, maxQueued: 4, queueTimeoutMs: 50 });
    await l.acquire(new AbortController().signal);
    await expect(l.acquire(new AbortController().signal)).rejects.toMatchObject({ status: 503 });
  });
});
