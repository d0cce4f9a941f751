// Memory use against the limit that matters: the container's (its cgroup's) memory limit, or the
// machine's memory when there is none. Usage is what `docker stats` shows: the cgroup's usage less
// its inactive page cache (reclaimable, so not a reason to roll back); outside a memory cgroup, the
// process's resident set. Both cgroup versions:
//   v2  <mount>/<path>/memory.max ("max" = none), memory.current, memory.stat inactive_file
//   v1  <mount>/memory/<path>/memory.limit_in_bytes (a huge number = none), memory.usage_in_bytes,
//       memory.stat total_inactive_file
// <path> comes from /proc/self/cgroup; a container that sees its own cgroup at the mount root
// (private cgroup namespace, or the host's path not mounted) is read there instead. Every read is
// bounded: these are small kernel files, and a bigger one is not what it should be.
import { open } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';

export interface MemoryReading {
  /** Bytes in use (cgroup usage less inactive file cache, or the process's RSS). */
  usageBytes: number;
  /** The cgroup's limit, capped at the machine's memory; the machine's memory without a limit. */
  limitBytes: number;
  /** Where the numbers come from. */
  source: 'cgroup-v2' | 'cgroup-v1' | 'process';
}

export interface MemorySources {
  /** Default /proc/self/cgroup. */
  procCgroupFile?: string;
  /** Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Default os.totalmem(). */
  machineBytes?: () => number;
  /** Default process.memoryUsage.rss(). */
  rss?: () => number;
}

const MAX_READ_BYTES = 16 * 1024;

/** Reads at most MAX_READ_BYTES of a file; undefined if it cannot be read (absent, not permitted). */
async function readBounded(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(MAX_READ_BYTES);
    const { bytesRead } = await handle.read(buf, 0, MAX_READ_BYTES, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

const wholeNumber = (text: string | undefined): number | undefined => {
  const t = text?.trim();
  return t !== undefined && /^\d{1,20}$/.test(t) ? Number(t) : undefined;
};

function statValue(stat: string | undefined, key: string): number {
  const m = stat === undefined ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(stat);
  return m === null ? 0 : Number(m[1]);
}

interface CgroupFiles {
  limit: string;
  usage: string;
  stat: string;
  inactiveKey: string;
  /** The text of the limit file that means "no limit" (v2's "max"). */
  unlimited?: string;
}

const V2: CgroupFiles = {
  limit: 'memory.max',
  usage: 'memory.current',
  stat: 'memory.stat',
  inactiveKey: 'inactive_file',
  unlimited: 'max',
};
const V1: CgroupFiles = {
  limit: 'memory.limit_in_bytes',
  usage: 'memory.usage_in_bytes',
  stat: 'memory.stat',
  inactiveKey: 'total_inactive_file',
};

/** The cgroup paths of this process: the v2 one ("0::/path") and the v1 memory controller's. */
function cgroupPaths(text: string | undefined): { v2?: string; v1?: string } {
  const out: { v2?: string; v1?: string } = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (m === null) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    else if (m[2].split(',').includes('memory')) out.v1 = m[3];
  }
  return out;
}

async function readCgroup(
  dirs: string[],
  files: CgroupFiles,
  machine: number,
): Promise<{ usageBytes: number; limitBytes: number } | undefined> {
  for (const dir of dirs) {
    const usage = wholeNumber(await readBounded(join(dir, files.usage)));
    if (usage === undefined) continue;
    const limitText = (await readBounded(join(dir, files.limit)))?.trim();
    const limit = limitText === files.unlimited ? undefined : wholeNumber(limitText);
    const inactive = statValue(await readBounded(join(dir, files.stat)), files.inactiveKey);
    return { usageBytes: Math.max(0, usage - Math.min(inactive, usage)), limitBytes: Math.min(limit ?? machine, machine) };
  }
  return undefined;
}

/** One reading of the memory in use and its limit (never throws: falls back to the process's RSS). */
export async function readMemory(s: MemorySources = {}): Promise<MemoryReading> {
  const root = s.cgroupRoot ?? '/sys/fs/cgroup';
  const machine = (s.machineBytes ?? totalmem)();
  const paths = cgroupPaths(await readBounded(s.procCgroupFile ?? '/proc/self/cgroup'));
  if (paths.v2 !== undefined) {
    // Unified hierarchy mounted at the root (a hybrid host mounts it under unified/, without memory).
    const v2 = await readCgroup([join(root, paths.v2), root], V2, machine);
    if (v2 !== undefined) return { ...v2, source: 'cgroup-v2' };
  }
  if (paths.v1 !== undefined) {
    const mount = join(root, 'memory');
    const v1 = await readCgroup([join(mount, paths.v1), mount], V1, machine);
    if (v1 !== undefined) return { ...v1, source: 'cgroup-v1' };
  }
  return { usageBytes: (s.rss ?? (() => process.memoryUsage.rss()))(), limitBytes: machine, source: 'process' };
}
