// bzzzctl controller run: flags, signals and the exit code around the controller process
// (src/controller/run.ts). Only the holder of the lease reconciles; a standby takes over when the
// holder stops renewing it. A leader that finds its lease taken stops and exits 2 (failure), so
// the swarm restarts it as a standby. SIGTERM/SIGINT: stop taking work, finish in-flight
// reconciles, release the lease, exit 0.
import { parseDurationMs } from '../../spec/index.js';
import { startController } from '../../controller/run.js';
import { InvalidInputError } from '../../util/errors.js';
import { logger } from '../../util/log.js';
import { EXIT_ERROR, EXIT_OK } from '../../util/exit-codes.js';

export interface ControllerOptions {
  listen: string;
  resync: string;
  workers: string;
  probeAgents: boolean;
  leaseTtl: string;
  secretsDir: string;
  agentsVia: 'network' | 'published-ports';
  clusters?: string;
}

export async function controllerRunCommand(opts: ControllerOptions): Promise<number> {
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new InvalidInputError(`--workers ${opts.workers}: expected a whole number ≥ 1`);
  const log = logger('controller');
  const leaseTtlMs = parseDurationMs(opts.leaseTtl, '--lease-ttl');
  if (leaseTtlMs < 1000) throw new InvalidInputError(`--lease-ttl ${opts.leaseTtl}: expected at least 1s (renewed every third of it)`);
  const c = await startController({
    listen: opts.listen,
    resyncMs: parseDurationMs(opts.resync, '--resync'),
    workers,
    log,
    probeAgents: opts.probeAgents,
    leaseTtlMs,
    secretsDir: opts.secretsDir,
    agentsVia: opts.agentsVia,
    ...(opts.clusters
      ? {
          clusters: opts.clusters
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
        }
      : {}),
  });
  const outcome = await new Promise<'signal' | 'lost'>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'stopping');
      resolve('signal');
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
    void c.lost.then(() => resolve('lost'));
  });
  await c.stop();
  log.info('stopped');
  // Lost the lease: exit non-zero so that a supervisor (the swarm) restarts it as a standby.
  return outcome === 'lost' ? EXIT_ERROR : EXIT_OK;
}
