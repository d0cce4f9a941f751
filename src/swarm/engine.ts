// Preflight: the engine is reachable, in swarm mode, and this node is a manager. Only for what
// must know before it starts (`up` decides whether to install an engine; the controller refuses
// to start without one): the other commands learn it from their first read, whose failure the
// port translates into the same advice (docker-port.ts, translate).
import type { EngineInfo } from './api-types.js';
import type { SwarmPort } from './port.js';
import { EngineUnavailableError } from '../util/errors.js';

export async function requireSwarmManager(port: SwarmPort): Promise<EngineInfo> {
  const info = await port.info();
  if (!info.swarmActive) {
    throw new EngineUnavailableError(
      `the Docker engine (${info.serverVersion}) is not in swarm mode: run \`docker swarm init\` (or \`npm run swarm:up\`)`,
    );
  }
  if (!info.isManager) {
    throw new EngineUnavailableError('this Docker engine is a swarm worker: run bzzzctl against a manager node (set DOCKER_HOST to one)');
  }
  return info;
}
