// Closed membership at start-up, as `bzzzctl agent run` users see it: no member list is refused
// unless the cluster is explicitly open (and then a warning says so); an agent whose own peer ID is
// not on the list refuses to start; the list's role is the one the agent acts with.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.js';
import { parseAgentConfig } from '../../src/agent/config.js';
import { MembershipError } from '../../src/agent/p2p/index.js';
import { silentLogger } from '../../src/util/log.js';
import { createCluster, REPO_ROOT, spawnChildAgent, waitFor, type Cluster } from './cluster-harness.js';

let cluster: Cluster;

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'dist/cli.js')))
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  cluster = await createCluster({ members: [{ role: 'admin' }, { role: 'observer' }], heartbeatMs: 250, electionTimeoutMs: 1250 });
});

afterAll(async () => {
  await cluster?.stopAll();
});

describe('agent run: membership at start-up', () => {
  it('without --members and without --insecure-open-cluster it exits before listening, naming both', async () => {
    const { members: _m, peerKey: _k, ...flags } = cluster.members[0].flags;
    await expect(spawnChildAgent(flags)).rejects.toThrow(/--members \(BZZZ_MEMBERS_FILE\): no member list: .*--insecure-open-cluster/);
  });

  it('with --insecure-open-cluster it runs and says at warn level that the cluster is open', async () => {
    const { members: _m, ...flags } = cluster.members[1].flags;
    const child = await spawnChildAgent({ ...flags, insecureOpenCluster: 'true' });
    try {
      const warn = await waitFor('the open-cluster warning', () =>
        child.stderr.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => /cluster is OPEN/.test(l.msg)),
      );
      expect(warn.level).toBe('warn');
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
    }
  });

  it('refuses to start when its own peer ID is not on the member list', async () => {
    // Member 1's list, member 0's data dir, but a key of its own (not on the list).
    const { peerKey: _k, ...flags } = cluster.members[0].flags;
    const err = await createAgent(parseAgentConfig({ ...flags, dataDir: join(cluster.root, 'stranger') }), {
      log: silentLogger(),
      processMetrics: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MembershipError);
    expect((err as Error).message).toMatch(
      /peer ID 12D3Koo\w+ is not on the member list .*members\.json \(cluster test\): give it its own key with --peer-key/,
    );
  });

  it('acts with the role the member list gives it', async () => {
    const agent = await createAgent(parseAgentConfig({ ...cluster.members[0].flags, role: 'observer' }), {
      log: silentLogger(),
      processMetrics: false,
    });
    try {
      expect(agent.config.role).toBe('admin');
    } finally {
      await agent.stop({ graceMs: 0 });
    }
  });
});
