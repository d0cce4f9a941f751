// The SwarmPort contract (test/support/port-contract.ts) against the real engine in swarm mode,
// through the docker port: what the in-memory port claims about the engine holds here too.
import { DockerSwarmPort } from '../../src/swarm/docker-port.js';
import { describePortContract } from '../support/port-contract.js';
import { uniqueName } from './harness.js';

const port = new DockerSwarmPort();
const prefix = uniqueName('it-contract');
describePortContract('Docker Engine', () => ({ port, prefix }));
