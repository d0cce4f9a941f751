// `bzzzctl agent run`: parse the flags (env equivalents applied by commander), start the agent,
// print one JSON line on stdout with its peer ID and addresses (logs are JSON lines on stderr),
// and run until SIGTERM / SIGINT. On the signal: new requests get 503, an admin hands off, work
// in flight finishes within --grace-ms, everything closes, exit 0. A second signal, or a stop that
// overruns the grace period by more than a few seconds, exits at once with code 1.
import { logger } from '../../util/log.js';
import { createAgent } from '../agent.js';
import { parseAgentConfig } from '../config.js';

/** Past the grace period, this long is allowed for closing sockets before the process is ended. */
const FORCE_EXIT_SLACK_MS = 5_000;

export async function agentRunCommand(opts: Record<string, string | boolean | undefined>): Promise<number> {
  const config = parseAgentConfig(opts);
  const log = logger('agent');
  const agent = await createAgent(config, { log });
  await agent.start();
  process.stdout.write(
    `${JSON.stringify({ peerId: agent.peerId, role: config.role, multiaddrs: agent.multiaddrs(), api: agent.apiUrl(), health: agent.healthUrl() })}\n`,
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const force = (why: string) => {
    log.error({ why }, 'forced exit');
    process.exit(1);
  };
  process.once('SIGTERM', () => force('second SIGTERM'));
  process.once('SIGINT', () => force('second SIGINT'));
  const timer = setTimeout(
    () => force(`stop took longer than --grace-ms ${config.graceMs} + ${FORCE_EXIT_SLACK_MS} ms`),
    config.graceMs + FORCE_EXIT_SLACK_MS,
  );
  timer.unref();
  await agent.stop({ reason: signal });
  clearTimeout(timer);
  return 0;
}
