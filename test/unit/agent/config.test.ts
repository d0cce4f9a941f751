import { describe, expect, it } from 'vitest';
import { parseAgentConfig, parseBootstrapPeer } from '../../../src/agent/config.js';
import { InvalidInputError } from '../../../src/util/errors.js';

const PEER = '12D3KooWJi8az9tPddbMum8zDbiTGHGtccbvn2cyBu5hW1ztLRyA';

describe('parseAgentConfig', () => {
  it('GIVEN no flags WHEN parsed THEN BZZZ defaults apply (ports 9000/8080/8081, 5 s / 15 s, factor 3)', () => {
    const c = parseAgentConfig({ insecureOpenCluster: true });
    expect(c).toMatchObject({
      p2pPort: 9000,
      apiPort: 8080,
      healthPort: 8081,
      host: '0.0.0.0',
      role: 'observer',
      clusterSize: 1,
      heartbeatMs: 5000,
      electionTimeoutMs: 15000,
      replicationFactor: 3,
      graceMs: 10000,
      bootstrap: [],
    });
    expect(c.membersFile).toBeUndefined();
    expect(c.insecureOpenCluster).toBe(true);
    expect(c.dataDir.startsWith('/')).toBe(true);
  });

  it('GIVEN commander strings WHEN parsed THEN typed values come out', () => {
    const c = parseAgentConfig({
      p2pPort: '0',
      apiPort: '18080',
      healthPort: '18081',
      role: 'senior_software_architect',
      clusterSize: '5',
      heartbeatMs: '100',
      electionTimeoutMs: '500',
      bootstrap: `walnut:9101, /ip4/10.0.0.2/tcp/9000/p2p/${PEER}`,
      members: 'members.json',
      peerKey: 'peer.key',
      keysDir: 'keys',
      graceMs: '0',
    });
    expect(c.role).toBe('senior_software_architect');
    expect(c.bootstrap).toEqual([
      { source: 'walnut:9101', address: '/dns4/walnut/tcp/9101' },
      { source: `/ip4/10.0.0.2/tcp/9000/p2p/${PEER}`, address: `/ip4/10.0.0.2/tcp/9000/p2p/${PEER}`, peerId: PEER },
    ]);
    expect(c.membersFile).toMatch(/\/members\.json$/);
    expect(c.peerKeyFile).toMatch(/\/peer\.key$/);
    expect(c.insecureOpenCluster).toBe(false);
    expect(c.keysDir).toMatch(/\/keys$/);
  });

  it('GIVEN several bad flags WHEN parsed THEN one error names every flag and its env var', () => {
    let err: unknown;
    try {
      parseAgentConfig({
        p2pPort: 'abc',
        role: 'king',
        apiPort: '8081',
        bootstrap: 'walnut',
        insecureOpenCluster: 'maybe',
        heartbeatMs: '5000',
        electionTimeoutMs: '6000',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    const msg = (err as Error).message;
    expect(msg).toContain('--p2p-port (BZZZ_P2P_PORT): "abc" is not a TCP port');
    expect(msg).toContain(
      '--role (BZZZ_ROLE): "king" is not a role: use one of observer, backend_developer, senior_software_architect, admin',
    );
    expect(msg).toContain('--health-port (BZZZ_HEALTH_PORT): port 8081 is also given to --api-port');
    expect(msg).toContain('--bootstrap (BZZZ_BOOTSTRAP_PEERS): "walnut" is neither a multiaddr nor host:port');
    expect(msg).toContain('--insecure-open-cluster (BZZZ_INSECURE_OPEN_CLUSTER): "maybe" is not true or false');
    expect(msg).toContain('--election-timeout-ms (BZZZ_ELECTION_TIMEOUT_MS): 6000 ms must be more than twice the heartbeat interval');
  });

  it('GIVEN a host name as --host WHEN parsed THEN it asks for an IP address', () => {
    expect(() => parseAgentConfig({ host: 'walnut', insecureOpenCluster: true })).toThrow(
      /--host \(BZZZ_HOST\): "walnut" is not an IP address/,
    );
  });

  it('GIVEN neither a member list nor --insecure-open-cluster WHEN parsed THEN it refuses, naming both ways out', () => {
    expect(() => parseAgentConfig({})).toThrow(/--members \(BZZZ_MEMBERS_FILE\): no member list: .*--insecure-open-cluster/);
    expect(() => parseAgentConfig({ insecureOpenCluster: 'false' })).toThrow(/--members \(BZZZ_MEMBERS_FILE\): no member list/);
  });

  it('GIVEN a member list and --insecure-open-cluster WHEN parsed THEN it refuses the contradiction', () => {
    expect(() => parseAgentConfig({ members: 'm.json', insecureOpenCluster: true })).toThrow(
      /--insecure-open-cluster \(BZZZ_INSECURE_OPEN_CLUSTER\): a member list is given too/,
    );
  });
});

describe('parseBootstrapPeer', () => {
  it.each([
    ['10.0.0.2:9000', '/ip4/10.0.0.2/tcp/9000'],
    ['[::1]:9000', '/ip6/::1/tcp/9000'],
    ['acacia:9103', '/dns4/acacia/tcp/9103'],
    ['/dns4/ironwood/tcp/9102', '/dns4/ironwood/tcp/9102'],
  ])('%s dials %s without a peer ID', (input, address) => {
    expect(parseBootstrapPeer(input)).toEqual({ source: input, address });
  });

  it('refuses a multiaddr without TCP, and a port out of range', () => {
    expect(() => parseBootstrapPeer('/ip4/10.0.0.2/udp/9000')).toThrow(/has no \/tcp\/<port>/);
    expect(() => parseBootstrapPeer('walnut:70000')).toThrow(/neither a multiaddr nor host:port/);
    expect(() => parseBootstrapPeer('/ip4/999.0.0.1/tcp/1')).toThrow(/not a valid multiaddr/);
  });
});

describe('agent settings for API access and store limits', () => {
  it('GIVEN sizes and the insecure flag WHEN parsed THEN bytes and a boolean; bad values are named with their flag', async () => {
    const { parseAgentConfig, parseByteSize } = await import('../../../src/agent/config.js');
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('20GiB')).toBe(20 * 1024 ** 3);
    expect(parseByteSize('1.5 MB')).toBe(1.5 * 1024 ** 2);
    expect(parseByteSize('lots')).toBeUndefined();
    const c = parseAgentConfig({ insecureOpenCluster: true, storeQuota: '1GiB', apiCallers: 'callers.json' });
    expect(c).toMatchObject({ insecureOpenCluster: true, storeQuotaBytes: 1024 ** 3, storeReserveBytes: 256 * 1024 ** 2 });
    expect(c.apiCallersFile).toMatch(/\/callers\.json$/);
    expect(parseAgentConfig({ members: 'members.json' }).insecureOpenCluster).toBe(false);
    expect(() => parseAgentConfig({ storeQuota: 'lots', insecureOpenCluster: 'maybe' })).toThrow(
      /--insecure-open-cluster \(BZZZ_INSECURE_OPEN_CLUSTER\): "maybe" is not true or false[\s\S]*--store-quota \(BZZZ_STORE_QUOTA\): "lots" is not a size/,
    );
  });
});
