// Space accounting for new content: a quota on the bytes the store holds, and a free-space
// reserve on the disk below which no new content is written. The reserve exists for the agent's
// own small files on the same disk — above all the election's vote file, which must always be
// writable or the agent cannot vote — so a peer or caller filling the store can stop new content
// but never the election.
//
// A put is admitted at its start (declared size, when known, against both limits) and checked
// again as its bytes arrive: every byte of every put in flight counts against the quota at once,
// and the disk's free space is read again every `statfsEveryBytes` written.
import { statfs } from 'node:fs/promises';
import { StoreFullError } from './errors.js';

export interface SpaceLimits {
  /** Most bytes the store may hold (committed blobs plus puts in flight). Undefined: no quota. */
  quotaBytes?: number;
  /** Free bytes kept on the store's disk. 0: none. */
  reserveBytes: number;
  /** Free space is read again after this many more bytes arrive in one put. Default 4 MiB. */
  statfsEveryBytes?: number;
}

export interface SpaceGuard {
  /** Starts accounting for one put. Throws StoreFullError when it must not start. */
  begin(declaredBytes: number | undefined): Promise<PutSpace>;
}

export interface PutSpace {
  /** `total` bytes of this put have arrived; throws StoreFullError once a limit is crossed. */
  progress(total: number): Promise<void>;
  /** The put ended (committed or not): its bytes no longer count as in flight. */
  end(): void;
}

export function createSpaceGuard(root: string, limits: SpaceLimits, storedBytes: () => number): SpaceGuard {
  const every = limits.statfsEveryBytes ?? 4 * 1024 * 1024;
  let inflightBytes = 0;

  const freeBytes = async (): Promise<number> => {
    const s = await statfs(root);
    return s.bavail * s.bsize;
  };
  const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
  const quotaError = (adding: number): StoreFullError =>
    new StoreFullError(
      'quota',
      `the content store is full: it holds ${mib(storedBytes())} of its ${mib(limits.quotaBytes ?? 0)} quota and this content needs ${mib(adding)} more; delete content, or raise --store-quota`,
    );
  const reserveError = (free: number): StoreFullError =>
    new StoreFullError(
      'reserve',
      `the data disk has ${mib(free)} free, at or below the ${mib(limits.reserveBytes)} kept for the agent's own state (election votes): no new content is stored; free disk space or move --data-dir`,
    );

  return {
    async begin(declared) {
      const adding = declared ?? 0;
      if (limits.quotaBytes !== undefined && storedBytes() + inflightBytes + adding > limits.quotaBytes) throw quotaError(adding);
      const free = await freeBytes();
      if (free - adding <= limits.reserveBytes) throw reserveError(free);
      let counted = 0;
      let checkedAt = 0;
      let ended = false;
      return {
        async progress(total) {
          inflightBytes += total - counted;
          counted = total;
          if (limits.quotaBytes !== undefined && storedBytes() + inflightBytes > limits.quotaBytes) throw quotaError(total);
          if (total - checkedAt >= every) {
            checkedAt = total;
            const now = await freeBytes();
            if (now <= limits.reserveBytes) throw reserveError(now);
          }
        },
        end() {
          if (ended) return;
          ended = true;
          inflightBytes -= counted;
        },
      };
    },
  };
}
