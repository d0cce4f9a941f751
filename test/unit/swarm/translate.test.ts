// How engine failures reach the user: every command meets them on its first read (there is no
// separate preflight), so the message must say what is wrong and what to do.
import { describe, expect, it } from 'vitest';
import { translate } from '../../../src/swarm/docker-port.js';
import { EngineCallError } from '../../../src/swarm/errors.js';
import { ConflictError, EngineUnavailableError, NotFoundError } from '../../../src/util/errors.js';
import { SpecRefusedError } from '../../../src/swarm/errors.js';

const modem = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });

describe('translate', () => {
  it('an engine that is not in a swarm: says to run docker swarm init', () => {
    const e = translate(
      'list configs',
      '',
      modem(
        503,
        'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
      ),
    );
    expect(e).toBeInstanceOf(EngineUnavailableError);
    expect(e.message).toContain('not in swarm mode');
    expect(e.message).toContain('docker swarm init');
  });

  it('a worker node: says to use a manager', () => {
    const e = translate(
      'list secrets',
      '',
      modem(
        503,
        "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.",
      ),
    );
    expect(e).toBeInstanceOf(EngineUnavailableError);
    expect(e.message).toContain('worker');
    expect(e.message).toContain('manager');
  });

  it('no engine on the socket: says how to start one', () => {
    const e = translate('list services', '', Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }));
    expect(e).toBeInstanceOf(EngineUnavailableError);
    expect(e.message).toMatch(/cannot reach the Docker engine.*swarm:up/);
  });

  it('a version conflict is a ConflictError (retried on fresh state)', () => {
    expect(translate('update service', 'x', modem(500, 'rpc error: code = Unknown desc = update out of sequence'))).toBeInstanceOf(
      ConflictError,
    );
  });

  it('404 is NotFoundError; anything else names the call and keeps the engine message', () => {
    expect(translate('inspect config', 'c1', modem(404, 'config c1 not found'))).toBeInstanceOf(NotFoundError);
    const e = translate('create service', 'app_web', modem(400, 'port 8080 is already in use'));
    expect(e).toBeInstanceOf(EngineCallError);
    expect(e).not.toBeInstanceOf(SpecRefusedError);
    expect(e.message).toBe('create service app_web: port 8080 is already in use');
  });

  it('a 400 that refuses the spec itself is terminal (SpecRefusedError); one naming a busy port or a missing reference is not', () => {
    const refused = translate('create service', 'app_web', modem(400, 'rpc error: code = InvalidArgument desc = invalid reference format'));
    expect(refused).toBeInstanceOf(SpecRefusedError);
    expect(refused.message).toBe(
      'create service app_web: the engine refused it: rpc error: code = InvalidArgument desc = invalid reference format',
    );
    expect(translate('create service', 'a', modem(400, 'secret a_x-1234abcd not found'))).not.toBeInstanceOf(SpecRefusedError);
    expect(translate('create network', 'n', modem(400, 'network n already exists'))).not.toBeInstanceOf(SpecRefusedError);
  });
});
