// The BZZZ agent runtime: one agent built from its settings (`bzzzctl agent run` flags), with one
// start/stop lifecycle. The parts live in p2p/, cas/, election/, http/ (role crypto is src/crypto) and health/.
export { createAgent, AGENT_VERSION, type Agent, type AgentOptions, type AgentParts } from './agent.js';
export {
  parseAgentConfig,
  parseBootstrapPeer,
  DEFAULTS as AGENT_DEFAULTS,
  type AgentConfig,
  type AgentOptionsInput,
  type BootstrapPeer,
} from './config.js';
export { createAgentMetrics, type AgentMetrics } from './metrics.js';
export { systemClock, ManualClock, type Clock } from '../util/clock.js';
export { agentRunCommand } from './cli/run.js';
