// What every command that talks to the swarm needs, built once per process: the Docker port, the
// same port with its writes counted (what `apply -o json` reports as engineWrites), and the
// cluster store over it. Commands take it from here instead of constructing their own.
import { ClusterStore } from '../store/cluster-store.js';
import { DockerSwarmPort } from '../swarm/docker-port.js';
import { countingPort, type SwarmPort, type WriteCounter } from '../swarm/port.js';

export interface CliContext {
  /** Uncounted: the operator's own bookkeeping (the lease) goes through it. */
  engine: SwarmPort;
  /** Counted: writes to the cluster's objects. */
  port: SwarmPort & WriteCounter;
  store: ClusterStore;
}

let context: CliContext | undefined;

export function cliContext(): CliContext {
  if (!context) {
    const engine = new DockerSwarmPort();
    const port = countingPort(engine);
    context = { engine, port, store: new ClusterStore(port) };
  }
  return context;
}
