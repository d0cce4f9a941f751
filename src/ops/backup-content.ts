// The `content` part: each agent's content store (src/agent/cas: `<data>/store/blobs/ab/cd/<hex>`,
// the data volume mounted at BZZZ_DATA_DIR=/data), as one tar stream per agent instance read
// out of its running task: `<instance>/store.tar`. Only committed blobs — not `tmp/` (writes in
// flight) nor `quarantine/` (blobs that failed verification). Blobs are immutable and named by
// their hash, so the same blobs on several agents, or from one day to the next, are the same
// chunks in the repository. Restore extracts the tar into the same instance of the target
// cluster; blobs already there are overwritten with identical bytes.
import type { BackupSource, RestoreTarget, SourceEntry } from '../backup/types.js';
import { execText, type ServiceExec } from '../swarm/exec.js';
import { agentServiceName } from '../spec/index.js';
import { InvalidInputError } from '../util/errors.js';
import { Readable } from 'node:stream';

export interface ContentPartOptions {
  exec: ServiceExec;
  cluster: string;
  /** Agent instance names (spec.agent.instances[].name). */
  instances: string[];
  /** Per agent (default 2 h). */
  timeoutMs?: number;
}

// The store under the agent's data directory (BZZZ_DATA_DIR, /data unless set otherwise).
const STORE = 'd="$BZZZ_DATA_DIR"; [ -n "$d" ] || d=/data; s="$d/store"';
// An agent that never stored anything has no blobs directory: an empty entry, not a failure.
const TAR_OUT = `${STORE}; if [ -d "$s/blobs" ]; then exec tar -C "$s" -cf - blobs; fi`;
const TAR_IN = `${STORE}; mkdir -p "$s" && exec tar -C "$s" -xf -`;
const COUNT = `${STORE}; if [ -d "$s/blobs" ]; then find "$s/blobs" -type f | wc -l; else echo 0; fi`;
const INSTANCE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export const CONTENT_ENTRY = 'store.tar';

export function contentSource(o: ContentPartOptions): BackupSource {
  return {
    part: 'content',
    async *entries(signal) {
      for (const instance of [...o.instances].sort()) {
        const entry: SourceEntry = {
          path: `${instance}/${CONTENT_ENTRY}`,
          type: 'file',
          async open() {
            const h = await o.exec.execInService(agentServiceName(o.cluster, instance), {
              cmd: ['sh', '-c', TAR_OUT],
              timeoutMs: o.timeoutMs ?? 2 * 3600_000,
              signal,
              what: `tar of the content store of agent ${instance}`,
            });
            return h.stdout;
          },
        };
        yield entry;
      }
    },
  };
}

export function contentTarget(o: Omit<ContentPartOptions, 'instances'> & { instances?: string[] }): RestoreTarget {
  return {
    part: 'content',
    async write(entry, data, signal) {
      if (entry.type !== 'file' || !data) return;
      const m = /^([^/]+)\/store\.tar$/.exec(entry.path);
      if (!m || !INSTANCE.test(m[1]))
        throw new InvalidInputError(`content part: entry ${JSON.stringify(entry.path)} is not <agent instance>/${CONTENT_ENTRY}`);
      const instance = m[1];
      if (o.instances && !o.instances.includes(instance)) {
        throw new InvalidInputError(
          `content part: the backup has agent ${instance}, which cluster ${o.cluster} does not have (its agents: ${o.instances.join(', ')}): restore into a cluster with that instance, or leave the content part out`,
        );
      }
      const first = await firstChunk(data);
      if (!first) return; // the agent had no store when it was backed up
      const h = await o.exec.execInService(agentServiceName(o.cluster, instance), {
        cmd: ['sh', '-c', TAR_IN],
        stdin: first.rest,
        timeoutMs: o.timeoutMs ?? 2 * 3600_000,
        signal,
        what: `extracting the content store of agent ${instance}`,
      });
      h.stdout.resume();
      await h.done;
    },
    async finish() {},
  };
}

/** How many blobs an agent's store holds (the drill compares them). */
export async function countBlobs(exec: ServiceExec, cluster: string, instance: string, signal?: AbortSignal): Promise<number> {
  const out = await execText(exec, agentServiceName(cluster, instance), {
    cmd: ['sh', '-c', COUNT],
    maxStdoutBytes: 64,
    timeoutMs: 120_000,
    signal,
    what: `counting the blobs of agent ${instance}`,
  });
  const n = Number(out.trim());
  if (!Number.isInteger(n))
    throw new Error(`counting the blobs of agent ${instance} in ${cluster}: unexpected output ${JSON.stringify(out.slice(0, 40))}`);
  return n;
}

/** Whether the stream has any bytes; if so, a stream that still yields all of them. */
async function firstChunk(data: Readable): Promise<{ rest: Readable } | undefined> {
  const it = data[Symbol.asyncIterator]();
  let head = await it.next();
  while (!head.done && (head.value as Buffer).length === 0) head = await it.next();
  if (head.done) return undefined;
  return {
    rest: Readable.from(
      (async function* () {
        yield (head as IteratorYieldResult<Buffer>).value;
        for (;;) {
          const n = await it.next();
          if (n.done) return;
          yield n.value as Buffer;
        }
      })(),
    ),
  };
}
