// spec.v1: what the schema cannot say. The SSH key is a secret the controller can have mounted
// (file, env or external; a generated key would be one no host trusts); host names are unique
// (errors and status name hosts by them); the unit template names only {host}; the counts can be
// met; HAProxy's v1 and v2 servers are distinct; a rollback-to-v1 trigger needs spec.v1.
import type { ProblemReporter } from '../report.js';
import type { BzzzCluster } from '../types.js';

const UNIT = /^[A-Za-z0-9:_.@-]+\.service$/;

export function checkV1(cluster: BzzzCluster, report: ProblemReporter): void {
  const v1 = cluster.spec.v1;
  const toV1 = (cluster.spec.rollback?.triggers ?? []).findIndex((t) => t.action === 'rollback-to-v1');
  if (!v1) {
    if (toV1 >= 0) {
      report.add(
        ['spec', 'rollback', 'triggers', toV1, 'action'],
        'rollback-to-v1 without spec.v1',
        'spec.v1 with the v1 hosts',
        'a rollback-to-v1 trigger runs the v1 systemd services again: declare them in spec.v1 (hosts, ssh.privateKeySecret), or use another action',
      );
    }
    return;
  }
  const keyName = v1.ssh.privateKeySecret;
  const key = cluster.spec.secrets?.[keyName];
  if (!key) {
    report.add(
      ['spec', 'v1', 'ssh', 'privateKeySecret'],
      `secret ${keyName}`,
      'a secret of spec.secrets',
      `the SSH key secret \`${keyName}\` is not declared in spec.secrets: add it with a file, env or external source (the controller reads it as <cluster>_${keyName} from its secrets directory)`,
    );
  } else if (key.generate !== undefined) {
    report.add(
      ['spec', 'v1', 'ssh', 'privateKeySecret'],
      `generated secret ${keyName}`,
      'a secret whose source is file, env or external',
      `the SSH key secret \`${keyName}\` is generated, so no v1 host trusts it: give the private key whose public half is in the hosts' authorized_keys (file, env or external)`,
    );
  }
  const units: Array<[string, readonly (string | number)[]]> = [];
  if (v1.unit) units.push([v1.unit, ['spec', 'v1', 'unit']]);
  const seen = new Map<string, number>();
  v1.hosts.forEach((h, i) => {
    const first = seen.get(h.name);
    if (first !== undefined) {
      report.add(
        ['spec', 'v1', 'hosts', i, 'name'],
        `host ${h.name} again`,
        'a unique host name',
        `v1 host \`${h.name}\` is declared twice (first at spec.v1.hosts[${first}]); rename one`,
      );
    } else seen.set(h.name, i);
    if (h.unit) units.push([h.unit, ['spec', 'v1', 'hosts', i, 'unit']]);
  });
  for (const [unit, path] of units) {
    const concrete = unit.replaceAll('{host}', 'h');
    if (!UNIT.test(concrete)) {
      report.add(
        path,
        JSON.stringify(unit),
        'a unit name such as bzzz@{host}.service or bzzz.service',
        `unit ${JSON.stringify(unit)}: only {host} may be written in braces (it becomes the host's name)`,
      );
    }
  }
  if (v1.minHosts !== undefined && v1.minHosts > v1.hosts.length) {
    report.add(
      ['spec', 'v1', 'minHosts'],
      String(v1.minHosts),
      `at most ${v1.hosts.length} (the hosts declared)`,
      `spec.v1.minHosts is ${v1.minHosts} but only ${v1.hosts.length} host(s) are declared: a rollback to v1 could never go on`,
    );
  }
  const peers = v1.verify?.minPeers;
  if (peers !== undefined && peers > v1.hosts.length - 1) {
    report.add(
      ['spec', 'v1', 'verify', 'minPeers'],
      String(peers),
      `at most ${v1.hosts.length - 1} (the other hosts)`,
      `spec.v1.verify.minPeers is ${peers} but a v1 agent has at most ${v1.hosts.length - 1} peer(s) among ${v1.hosts.length} host(s): the mesh could never be verified`,
    );
  }
  const hap = v1.proxy?.haproxy;
  if (hap) {
    const both = hap.v1Servers.filter((s) => hap.v2Servers.includes(s));
    if (both.length) {
      report.add(
        ['spec', 'v1', 'proxy', 'haproxy', 'v2Servers'],
        both.join(', '),
        'servers that are not also v1 servers',
        `HAProxy server(s) ${both.join(', ')} are listed as both v1 and v2: a switch would take them in and out of service at once`,
      );
    }
  }
  if (v1.proxy?.haproxy && v1.proxy.traefik) {
    report.add(
      ['spec', 'v1', 'proxy'],
      'haproxy and traefik',
      'one proxy',
      'spec.v1.proxy names both HAProxy and Traefik: the switch goes through one proxy; keep the one in front of the cluster',
    );
  }
}

/** spec.migration: it runs on the v1 side (spec.v1), its cutover needs a proxy, its end an archive. */
export function checkMigration(cluster: BzzzCluster, report: ProblemReporter): void {
  const m = cluster.spec.migration;
  if (!m) return;
  const order = ['v1-only', 'parallel', 'content-migrated', 'cutover', 'complete'];
  const target = order.indexOf(m.targetPhase);
  if (!cluster.spec.v1) {
    report.add(
      ['spec', 'migration'],
      'no spec.v1',
      'spec.v1 with the v1 hosts',
      'the migration runs on the v1 hosts: declare them in spec.v1 (hosts, ssh.privateKeySecret, proxy)',
    );
  } else if (target >= order.indexOf('cutover') && !cluster.spec.v1.proxy) {
    report.add(
      ['spec', 'migration', 'targetPhase'],
      m.targetPhase,
      'spec.v1.proxy (HAProxy or Traefik)',
      `targetPhase ${m.targetPhase} moves traffic to v2 through the proxy: declare it in spec.v1.proxy`,
    );
  }
  const steps = m.cutover?.steps;
  if (steps) {
    const rising = steps.every((s, i) => i === 0 || s > steps[i - 1]);
    if (!rising || steps.at(-1) !== 100) {
      report.add(
        ['spec', 'migration', 'cutover', 'steps'],
        JSON.stringify(steps),
        'rising shares ending at 100, e.g. [10, 50, 100]',
        'cutover steps are the shares of traffic v2 gets, one after the other: they must rise and end with 100 (all traffic on v2)',
      );
    }
  }
  if (target === order.indexOf('complete') && !m.archive) {
    report.add(
      ['spec', 'migration', 'archive'],
      'no archive',
      'spec.migration.archive (dir, recipients)',
      'targetPhase complete stops the v1 units and archives their data first: say where (spec.migration.archive.dir) and to whom it is encrypted (recipients)',
    );
  }
}
