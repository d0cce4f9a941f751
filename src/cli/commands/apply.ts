// bzzzctl apply -f FILE: validate → write file/env secret versions → store the spec as a new
// generation (unless unchanged) → converge. When a controller holds a live lease it does the
// work and apply waits for it to observe the generation; otherwise apply reconciles in-process
// holding the lease (src/ops/single-writer.ts), so that a controller and an apply never write at once.
import { loadSpecFile, parseDurationMs } from '../../spec/index.js';
import { cliContext } from '../context.js';
import type { ClusterStatus } from '../../spec/status.js';
import { leaseIsLive, readLease } from '../../store/lease.js';
import { underLease } from '../../ops/single-writer.js';
import { createClusterReconciler } from '../../reconcilers/cluster.js';
import { observe } from '../../reconcilers/observe.js';
import { condition, isReady } from '../../reconcilers/status.js';
import { resolveApply, storeSpec } from '../resolve-apply.js';
import { printDocument, printLines, progress, type OutputFormat } from '../output.js';
import { silentLogger } from '../../util/log.js';
import { poll } from '../../util/poll.js';
import { EXIT_ERROR, EXIT_OK } from '../../util/exit-codes.js';
import { formatStatusLine } from './status.js';

export interface ApplyOptions {
  filename: string;
  timeout: string;
  wait: boolean;
  output: OutputFormat;
}

/** The engine refused this generation: waiting longer cannot help. */
const failedAt = (s: ClusterStatus | undefined, generation: number) => s?.failure?.generation === generation;

export async function applyCommand(opts: ApplyOptions): Promise<number> {
  const timeoutMs = parseDurationMs(opts.timeout, '--timeout');
  const loaded = await loadSpecFile(opts.filename);
  const name = loaded.cluster.metadata.name;
  // Writes to the cluster's objects are counted (engineWrites); the lease is the operator's own
  // bookkeeping and is written through the uncounted engine port.
  const { engine, port, store } = cliContext();
  // No separate preflight: the first reads fail with the engine's own reason (not reachable, not
  // in swarm mode, a worker), translated with the fix by the port. All of them go out at once.
  const [resolved, observed, lease] = await Promise.all([resolveApply(loaded), observe(port, loaded.cluster), readLease(port)]);
  const { generation, changed, summary } = await storeSpec(port, store, resolved, observed);
  // With nothing written since, the first pass starts from this observation instead of reading again.
  let fresh = port.writes === 0 ? observed : undefined;
  const say = (line: string) => {
    if (opts.output === 'text') process.stderr.write(`${line}\n`);
  };
  const deadline = Date.now() + timeoutMs;
  const bar = opts.output === 'text' ? progress() : { update() {}, done() {} };
  let status: ClusterStatus | undefined;
  const done = (s: ClusterStatus | undefined) => isReady(s, generation) || failedAt(s, generation);
  let controller = leaseIsLive(lease, Date.now()) ? lease?.holder : undefined;
  if (controller === undefined) {
    // No controller: reconcile here, holding the lease so that one started meanwhile stands by.
    const run = await underLease(engine, 'apply', async (lost) => {
      say(`${summary}; no controller running: reconciling in-process`);
      const reconciler = createClusterReconciler({ port, store, log: silentLogger() });
      await poll(
        async () => {
          const report = await reconciler.pass(name, fresh);
          fresh = undefined;
          status = report?.status;
          return report;
        },
        {
          until: () => !opts.wait || done(status),
          deadline,
          everyMs: (report) => (report?.problems.length ? 1000 : 300),
          onValue: () => bar.update(formatStatusLine(name, status)),
          signal: lost,
        },
      );
    });
    if (!run.held) controller = run.holder;
  }
  const mode = controller === undefined ? 'in-process' : 'controller';
  if (controller !== undefined) {
    say(`${summary}; controller ${controller} reconciles it`);
    const waited = await poll(async () => (await store.get(name))?.status, {
      until: (s) => (!opts.wait && (s?.observedGeneration ?? 0) >= generation) || done(s),
      deadline,
      everyMs: 200,
      onValue: (s) => bar.update(formatStatusLine(name, s)),
    });
    status = waited.value;
  }
  bar.done();

  const ready = isReady(status, generation);
  const converged = ready || (!opts.wait && (status?.observedGeneration ?? 0) >= generation);
  if (opts.output !== 'text') {
    printDocument({ name, generation, changed, mode, ready, engineWrites: port.writeLog, status }, opts.output);
  } else {
    const lines = [
      `bzzzcluster/${name} ${changed ? 'configured' : 'unchanged'} (generation ${generation}, ${mode === 'controller' ? 'by the controller' : 'in-process'}${mode === 'in-process' ? `, ${port.writes} engine writes` : ''})`,
    ];
    if (!converged) {
      const c = condition(status, 'Degraded')?.status === 'True' ? condition(status, 'Degraded') : condition(status, 'Ready');
      lines.push(
        failedAt(status, generation)
          ? `generation ${generation} failed: ${status?.failure?.object}: ${status?.failure?.message}; fix the spec and apply again`
          : `not converged after ${opts.timeout}: ${c?.reason ?? 'NotObserved'}: ${c?.message ?? 'the controller has not observed this generation yet'}`,
      );
      lines.push(`see: bzzzctl status ${name}`);
    }
    printLines(lines);
  }
  return converged ? EXIT_OK : EXIT_ERROR;
}
