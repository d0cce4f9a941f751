import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, sendJson, type HttpServer } from '../../../src/agent/http/server.js';
import { readJsonBody } from '../../../src/agent/http/body.js';
import { ForbiddenError } from '../../../src/agent/http/errors.js';
import { createAgentMetrics } from '../../../src/agent/metrics.js';
import { InvalidInputError, NotFoundError } from '../../../src/util/errors.js';
import { AccessDeniedError } from '../../../src/crypto/index.js';
import { silentLogger } from '../../../src/util/log.js';

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.stop(0);
  server = undefined;
});

async function start(routes: Parameters<typeof createHttpServer>[1]['routes']): Promise<string> {
  server = createHttpServer({ metrics: createAgentMetrics(), log: silentLogger() }, { name: 'test', host: '127.0.0.1', port: 0, routes });
  await server.start();
  return `http://127.0.0.1:${server.port()}`;
}

describe('agent HTTP server', () => {
  it('GIVEN routes with parameters WHEN requested THEN params are decoded and unknown paths/methods get 404/405', async () => {
    const url = await start([{ method: 'GET', path: '/api/things/:id', handler: ({ res, params }) => sendJson(res, 200, params) }]);
    expect(await (await fetch(`${url}/api/things/a%20b`)).json()).toEqual({ id: 'a b' });
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
    const r = await fetch(`${url}/api/things/x`, { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
  });

  it('GIVEN handlers that throw WHEN requested THEN named errors map to 400/403/404/500 with a reason', async () => {
    const url = await start([
      {
        method: 'GET',
        path: '/bad',
        handler: () => {
          throw new InvalidInputError('field x is wrong: use y');
        },
      },
      {
        method: 'GET',
        path: '/denied',
        handler: () => {
          throw new AccessDeniedError('role observer may not read it');
        },
      },
      {
        method: 'GET',
        path: '/forbidden',
        handler: () => {
          throw new ForbiddenError('no');
        },
      },
      {
        method: 'GET',
        path: '/missing',
        handler: () => {
          throw new NotFoundError('blob is gone');
        },
      },
      {
        method: 'GET',
        path: '/boom',
        handler: () => {
          throw new Error('secret internal detail');
        },
      },
    ]);
    const get = async (p: string) => {
      const r = await fetch(`${url}${p}`);
      return { status: r.status, body: await r.json() };
    };
    expect(await get('/bad')).toEqual({ status: 400, body: { error: 'bad_request', message: 'field x is wrong: use y' } });
    expect((await get('/denied')).status).toBe(403);
    expect((await get('/forbidden')).status).toBe(403);
    expect((await get('/missing')).status).toBe(404);
    const boom = await get('/boom');
    expect(boom.status).toBe(500);
    expect(JSON.stringify(boom.body)).not.toContain('secret internal detail');
  });

  it('GIVEN a JSON body limit WHEN a larger or non-JSON body arrives THEN 413 / 415 / 400', async () => {
    const url = await start([
      { method: 'POST', path: '/j', handler: async ({ req, res }) => sendJson(res, 200, await readJsonBody(req, 100, 'test body')) },
    ]);
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/j`, { method: 'POST', headers: { 'content-type': type }, body });
    expect(await (await post('{"a":1}')).json()).toEqual({ a: 1 });
    expect((await post(JSON.stringify({ a: 'x'.repeat(200) }))).status).toBe(413);
    expect((await post('a=1', 'text/plain')).status).toBe(415);
    const bad = await post('{oops');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/test body is not valid JSON/);
  });

  it('GIVEN drain WHEN new requests arrive THEN they get 503, except routes marked whileDraining', async () => {
    const url = await start([
      { method: 'GET', path: '/work', handler: ({ res }) => sendJson(res, 200, { ok: true }) },
      { method: 'GET', path: '/live', whileDraining: true, handler: ({ res }) => sendJson(res, 200, { alive: true }) },
    ]);
    expect((await fetch(`${url}/work`)).status).toBe(200);
    server!.drain();
    const r = await fetch(`${url}/work`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toBe('shutting_down');
    expect((await fetch(`${url}/live`)).status).toBe(200);
  });

  it('GIVEN a request in flight WHEN stopped with a grace period THEN it completes before the server closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const url = await start([
      {
        method: 'GET',
        path: '/slow',
        handler: async ({ res }) => {
          await gate;
          sendJson(res, 200, { done: true });
        },
      },
    ]);
    const pending = fetch(`${url}/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server!.stop(5000);
    setTimeout(release, 50);
    expect(await pending).toEqual({ status: 200, body: { done: true } });
    await stopped;
    await expect(fetch(`${url}/slow`)).rejects.toThrow();
    server = undefined;
  });
});
