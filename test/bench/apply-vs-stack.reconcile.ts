// Part (e) of test/bench/apply-vs-stack.mjs: the cluster reconciler inside one warm process, as
// in a running controller (modules loaded, code warmed up by earlier passes). For each round a
// fresh cluster's spec is stored the way `bzzzctl apply` stores it (not timed: that is the CLI's
// part), then timed:
//   first pass   create every object of the spec (16 here), then observe and write status;
//                `allWrittenMs` is when the last of those objects was written
//   no-op pass   five passes over the same spec once its tasks run (untimed wait): they must
//                write nothing, the status record included
// Round 0 is a warm-up and is not reported. Prints one JSON line per round on stdout; the parent
// script aggregates them. Each cluster is removed with `bzzzctl delete` (BZZZCTL_BIN).
//
//   (bundled and run by apply-vs-stack.mjs) node .build/bench-apply/reconcile.mjs TEMPLATE DIR ROUNDS PREFIX
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadSpecFile } from '../../src/spec/index.js';
import { DockerSwarmPort } from '../../src/swarm/docker-port.js';
import { WRITE_METHODS, type SwarmPort } from '../../src/swarm/port.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { createClusterReconciler } from '../../src/reconcilers/cluster.js';
import { resolveApply, storeSpec as storeResolved } from '../../src/cli/resolve-apply.js';
import { silentLogger } from '../../src/util/log.js';

const BIN = process.env.BZZZCTL_BIN ?? 'bin/bzzzctl.js';

interface WriteTiming {
  call: string;
  target: string;
  endMs: number;
}

/** Records when each write call returned, relative to `mark()`. */
function timingPort(inner: SwarmPort): { port: SwarmPort; mark(): void; writes: WriteTiming[] } {
  let start = performance.now();
  const writes: WriteTiming[] = [];
  const port = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => Promise<unknown>;
      if (typeof prop !== 'string' || !WRITE_METHODS.has(prop)) return fn.bind(target);
      return async (...args: unknown[]) => {
        const result = await fn.apply(target, args);
        const named = args.find((a): a is { Name: string } => !!a && typeof a === 'object' && 'Name' in a);
        writes.push({ call: prop, target: named ? named.Name : String(args[0]), endMs: performance.now() - start });
        return result;
      };
    },
  });
  return {
    port,
    mark() {
      start = performance.now();
      writes.length = 0;
    },
    writes,
  };
}

async function storeSpec(port: SwarmPort, store: ClusterStore, file: string): Promise<string> {
  const loaded = await loadSpecFile(file);
  await storeResolved(port, store, await resolveApply(loaded));
  return loaded.cluster.metadata.name;
}

async function main(): Promise<void> {
  const [template, dir, roundsArg, prefix] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  const text = readFileSync(template, 'utf8');
  const timed = timingPort(new DockerSwarmPort());
  const store = new ClusterStore(timed.port);
  const reconciler = createClusterReconciler({ port: timed.port, store, log: silentLogger() });

  for (let round = 0; round <= rounds; round++) {
    const name = `${prefix}${round}`;
    const file = join(dir, `cluster-${name}.yaml`);
    writeFileSync(file, text.replaceAll('__NAME__', name));
    try {
      await storeSpec(timed.port, store, file);
      timed.mark();
      const t0 = performance.now();
      const first = await reconciler.pass(name);
      const firstMs = performance.now() - t0;
      // The spec's own objects (not the status record, written last).
      const objectWrites = timed.writes.filter((w) => !w.target.endsWith('_bzzz-cluster'));
      const allWritten = Math.max(0, ...objectWrites.map((w) => w.endMs));
      // A no-op pass is one over a converged cluster: wait (untimed) until its tasks run.
      const deadline = Date.now() + 120_000;
      while (!(await reconciler.pass(name))?.ready) {
        if (Date.now() > deadline) throw new Error(`cluster ${name} did not converge within 120 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const noops: Array<{ ms: number; writes: number }> = [];
      for (let i = 0; i < 5; i++) {
        timed.mark();
        const t1 = performance.now();
        await reconciler.pass(name);
        // Every write counts here, the status record's included.
        noops.push({ ms: performance.now() - t1, writes: timed.writes.length });
      }
      if (round > 0) {
        process.stdout.write(
          `${JSON.stringify({ name, firstPassMs: firstMs, allWrittenMs: allWritten, objectWrites: objectWrites.length, firstPassWrites: first?.writes ?? -1, noops })}\n`,
        );
      }
    } finally {
      // Removed with the CLI a user runs (outside the timed part).
      const rm = spawnSync(process.execPath, [BIN, 'delete', name], { encoding: 'utf8' });
      if (rm.status !== 0) process.stderr.write(`bzzzctl delete ${name} failed: ${rm.stderr}\n`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
