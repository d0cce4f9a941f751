// bzzzctl apply -f FILE: validate → write file/env secret versions → store the spec as a new
// generation (unless unchanged) → converge. When a controller holds a live lease it does the
// work and apply waits for it to observe the generation; otherwise apply reconciles in-process
// holding the lease (src/ops/single-writer.ts), so that a controller and an apply never write at once
// — except a re-apply of a converged cluster, whose pass cannot write at all (refusingWrites).
import { readFileSync, statSync } from 'node:fs';
import { loadSpecFile, parseDurationMs } from '../../spec/index.js';
import { cliContext } from '../context.js';
import { refusingWrites } from '../../swarm/port.js';
import { ClusterStore, stateFromConfigs } from '../../store/cluster-store.js';
import type { ClusterStatus } from '../../spec/status.js';
import { leaseIsLive, readLease } from '../../store/lease.js';
import { isCommandHolder } from '../../ops/single-writer.js';
import { converge, convergeVerdict } from '../converge.js';
import { createClusterReconciler } from '../../reconcilers/cluster.js';
import { observeExternal, observeOwned } from '../../reconcilers/observe.js';
import type { Observed } from '../../reconcilers/types.js';
import { isReady } from '../../reconcilers/status.js';
import { resolveApply, storeSpec } from '../resolve-apply.js';
import { printDocument, printLines, progress, type OutputFormat } from '../output.js';
import { silentLogger } from '../../util/log.js';
import { formatStatusLine } from './status.js';

export interface ApplyOptions {
  filename: string;
  timeout: string;
  wait: boolean;
  output: OutputFormat;
}

export async function applyCommand(opts: ApplyOptions): Promise<number> {
  const timeoutMs = parseDurationMs(opts.timeout, '--timeout');
  // Writes to the cluster's objects are counted (engineWrites); the lease is the operator's own
  // bookkeeping and is written through the uncounted engine port.
  const { port, store } = cliContext();
  // No separate preflight: the first reads fail with the engine's own reason (not reachable, not
  // in swarm mode, a worker), translated with the fix by the port. They go out before the spec is
  // parsed and validated (CPU work the engine's answers can arrive during): the lease, and the
  // objects of the cluster the file most likely names. Used only when the validated spec has that
  // very name; a failed read surfaces only if it is used.
  const leaseRead = quiet(readLease(port));
  const guess = clusterNameIn(opts.filename);
  const early = guess === undefined ? undefined : { name: guess, owned: quiet(observeOwned(port, guess)) };
  const loaded = await loadSpecFile(opts.filename);
  const name = loaded.cluster.metadata.name;
  const owned = early?.name === name ? early.owned : observeOwned(port, name);
  const [resolved, observed, lease] = await Promise.all([
    resolveApply(loaded),
    Promise.all([owned, observeExternal(port, loaded.cluster)]).then(([o, external]): Observed => ({ ...o, external })),
    leaseRead,
  ]);
  const { generation, changed, summary } = await storeSpec(port, store, resolved, observed);
  // With nothing written since, the first pass starts from this observation instead of reading again.
  const fresh = port.writes === 0 ? observed : undefined;
  const say = (line: string) => {
    if (opts.output === 'text') process.stderr.write(`${line}\n`);
  };
  const deadline = Date.now() + timeoutMs;
  const bar = opts.output === 'text' ? progress() : { update() {}, done() {} };
  let status: ClusterStatus | undefined;
  let noWrites = false;
  // A live lease held by a controller: it does the work. One held by another bzzzctl command
  // (an apply of another cluster) is waited for below.
  const controller = leaseIsLive(lease, Date.now()) && !isCommandHolder(lease?.holder) ? lease?.holder : undefined;
  if (controller === undefined && fresh && !changed && isReady(stateFromConfigs(name, observed.state).record?.status, generation)) {
    // A re-apply of a converged cluster, with no controller: one pass from apply's own
    // observation on a port that refuses every write, without the lease. The lease keeps two
    // writers apart; a pass that writes nothing is no writer, so there is nothing to exclude —
    // and this saves its four serial round trips (read, take, read, release). If the pass wants
    // to write anything (an object, or a status that differs from the stored one), the write is
    // refused before it reaches the engine and apply goes on below, under the lease, as before.
    const readOnly = refusingWrites(port);
    const reconciler = createClusterReconciler({ port: readOnly.port, store: new ClusterStore(readOnly.port), log: silentLogger() });
    const report = await reconciler.pass(name, fresh).catch((err: unknown) => {
      if (readOnly.refused()) return undefined;
      throw err;
    });
    if (!readOnly.refused() && isReady(report?.status, generation)) {
      say(`${summary}; no controller running: reconciling in-process`);
      status = report?.status;
      bar.update(formatStatusLine(name, status));
      noWrites = true;
    }
  }
  const converged = noWrites
    ? { status, mode: 'in-process' as const }
    : await converge({ name, generation, summary, controller, fresh, wait: opts.wait, deadline, say, bar, command: 'apply' });
  status = converged.status;
  const mode = converged.mode;
  bar.done();

  const verdict = convergeVerdict(status, generation, { mode, wait: opts.wait, timeout: opts.timeout, name });
  if (opts.output !== 'text') {
    printDocument({ name, generation, changed, mode, ready: verdict.ready, engineWrites: port.writeLog, status }, opts.output);
  } else {
    printLines([
      `bzzzcluster/${name} ${changed ? 'configured' : 'unchanged'} (generation ${generation}, ${mode === 'controller' ? 'by the controller' : 'in-process'}${mode === 'in-process' ? `, ${port.writes} engine writes` : ''})`,
      ...verdict.lines,
    ]);
  }
  return verdict.code;
}

/** The promise itself, with its rejection marked as handled until someone awaits it. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** `metadata:` at the top level, then (past blank and comment lines) an indented `name: X`. */
const YAML_NAME = /^metadata:[ \t]*(?:#.*)?\r?\n(?:[ \t]*(?:#.*)?\r?\n)*[ \t]+name:[ \t]*(["']?)([a-z0-9][a-z0-9-]*)\1[ \t]*(?:#.*)?\r?$/m;
const JSON_NAME = /"metadata"\s*:\s*\{\s*"name"\s*:\s*"([a-z0-9][a-z0-9-]*)"/;

/**
 * The cluster name a spec file most likely holds, found without parsing it (YAML_NAME, JSON_NAME).
 * Regular files only: a pipe cannot be read twice. Only a guess: apply uses what it fetched with
 * it only when the validated spec has this very name.
 */
function clusterNameIn(filename: string): string | undefined {
  try {
    if (!statSync(filename).isFile()) return undefined;
    const text = readFileSync(filename, 'utf8');
    return YAML_NAME.exec(text)?.[2] ?? JSON_NAME.exec(text)?.[1];
  } catch {
    return undefined;
  }
}
