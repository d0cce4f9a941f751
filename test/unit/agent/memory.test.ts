import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMemory } from '../../../src/agent/health/memory.js';

const GiB = 1024 ** 3;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-cgroup-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(entries)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

const read = () =>
  readMemory({
    procCgroupFile: join(dir, 'proc-self-cgroup'),
    cgroupRoot: join(dir, 'cg'),
    machineBytes: () => 16 * GiB,
    rss: () => 12345,
  });

describe('readMemory: usage against the cgroup limit', () => {
  // A container's own cgroup under the host's path: usage less inactive file cache, against the limit.
  it.each([
    {
      version: 'v2',
      procCgroup: '0::/system.slice/docker-abc.scope\n',
      dir: 'cg/system.slice/docker-abc.scope',
      names: ['memory.max', 'memory.current', 'memory.stat', 'inactive_file'],
    },
    {
      version: 'v1 (hybrid host)',
      procCgroup: '9:name=systemd:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n',
      dir: 'cg/memory/process_api/abc',
      names: ['memory.limit_in_bytes', 'memory.usage_in_bytes', 'memory.stat', 'total_inactive_file'],
    },
  ])('GIVEN cgroup $version THEN $names.1 less $names.3 against $names.0', async ({ version, procCgroup, dir: cg, names }) => {
    const [limit, usage, stat, inactive] = names;
    await files({
      'proc-self-cgroup': procCgroup,
      [`${cg}/${limit}`]: '1073741824\n',
      [`${cg}/${usage}`]: '900000000\n',
      [`${cg}/${stat}`]: `anon 700000000\nfile 200000000\n${inactive} 100000000\nactive_file 1\n`,
      'cg/unified/cgroup.procs': '',
    });
    expect(await read()).toEqual({ usageBytes: 800_000_000, limitBytes: GiB, source: `cgroup-${version.slice(0, 2)}` });
  });

  it('GIVEN cgroup v2 in a private namespace ("0::/") with no limit THEN the machine is the limit', async () => {
    await files({ 'proc-self-cgroup': '0::/\n', 'cg/memory.max': 'max\n', 'cg/memory.current': '4096\n' });
    expect(await read()).toEqual({ usageBytes: 4096, limitBytes: 16 * GiB, source: 'cgroup-v2' });
  });

  it("GIVEN the host's cgroup path but the container's cgroup mounted at the root THEN the root is read", async () => {
    await files({ 'proc-self-cgroup': '0::/docker/abc\n', 'cg/memory.max': '2147483648', 'cg/memory.current': '1000' });
    expect(await read()).toMatchObject({ usageBytes: 1000, limitBytes: 2 * GiB });
  });

  it("GIVEN cgroup v1 without a limit (a huge number) THEN the limit is capped at the machine's memory", async () => {
    await files({
      'proc-self-cgroup': '4:memory:/\n',
      'cg/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'cg/memory/memory.usage_in_bytes': '2000\n',
    });
    expect(await read()).toEqual({ usageBytes: 2000, limitBytes: 16 * GiB, source: 'cgroup-v1' });
  });

  it('GIVEN no memory cgroup THEN the process RSS against the machine', async () => {
    expect(await read()).toEqual({ usageBytes: 12345, limitBytes: 16 * GiB, source: 'process' });
  });

  it('GIVEN a usage file that is not one number (oversized, garbage) THEN it is not trusted', async () => {
    await files({ 'proc-self-cgroup': '0::/\n', 'cg/memory.current': `${'9'.repeat(20_000)}\n`, 'cg/memory.max': '1000' });
    expect(await read()).toMatchObject({ source: 'process', usageBytes: 12345 });
    await files({ 'cg/memory.current': 'lots\n' });
    expect(await read()).toMatchObject({ source: 'process' });
  });

  it('GIVEN usage below the inactive cache (a racing read) THEN usage is never negative', async () => {
    await files({ 'proc-self-cgroup': '0::/\n', 'cg/memory.current': '100', 'cg/memory.stat': 'inactive_file 500\n' });
    expect(await read()).toMatchObject({ usageBytes: 0 });
  });

  it('GIVEN this machine THEN a plausible reading', async () => {
    const m = await readMemory();
    expect(m.usageBytes).toBeGreaterThan(0);
    expect(m.limitBytes).toBeGreaterThan(0);
  });
});
