import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, getJson, waitFor, type Cluster } from './cluster-harness.js';

const HEARTBEAT_MS = 150;
const TIMEOUT_MS = 750;

describe('five agents on loopback', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await createCluster({
      members: [{ role: 'senior_software_architect' }, { role: 'backend_developer' }, { role: 'observer' }, { role: 'observer' }, { role: 'backend_developer' }],
      heartbeatMs: HEARTBEAT_MS,
      electionTimeoutMs: TIMEOUT_MS,
    });
    await Promise.all(cluster.members.map((m) => cluster.startMember(m)));
  });
  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('connects into a full mesh and elects one admin', async () => {
    await waitFor('full mesh', () => (cluster.members.every((m) => m.agent!.parts.node.connectedPeers().length === 4) ? true : undefined));
    const admin = await waitFor('one admin', async () => {
      const s = await Promise.all(cluster.members.map((m) => getJson<{ admin: string | null; term: number }>(`${m.apiUrl}/api/election/status`)));
      const admins = new Set(s.map((r) => r.body.admin));
      return admins.size === 1 && !admins.has(null) ? [...admins][0] : undefined;
    });
    expect(cluster.members.map((m) => m.peerId)).toContain(admin);
  });
});
