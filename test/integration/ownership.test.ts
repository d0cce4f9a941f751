// Ownership is proven, not labelled (issue 7): objects that carry a cluster's labels but were not
// made by the operator for it — planted by anyone with access to the engine — are never pruned,
// adopted, updated or deleted, and `status` and `delete` say which ones were left alone.
import { afterAll, describe, expect, it } from 'vitest';
import { agentsOnlySpec } from '../support/specs.js';
import { ownedBy, ownerLabels } from '../../src/swarm/labels.js';
import { OWNER_LABEL } from '../../src/swarm/ownership.js';
import { cli, docker, port, specDir, uniqueName, writeSpec } from './harness.js';

describe('look-alike objects with the cluster labels', () => {
  const name = uniqueName('it-owner');
  const planted: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await cli(['delete', name]).catch(() => undefined);
    for (const rm of planted) await rm().catch(() => undefined);
  });

  it('are not pruned by a pass, shown in status, and left alone by delete; the real objects carry a proof', async () => {
    const file = writeSpec(specDir(), agentsOnlySpec(name, { config: 'level=1' }));
    const applied = await cli(['apply', '-f', file, '--timeout', '120s']);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);

    // Every object the operator made carries a proof.
    const [services, configs] = await Promise.all([
      port.listServices({ labels: ownedBy(name) }),
      port.listConfigs({ labels: ownedBy(name) }),
    ]);
    expect(services.length).toBe(1);
    for (const o of [...services, ...configs.filter((c) => c.Spec.Name !== `${name}_bzzz-cluster`)]) {
      expect(o.Spec.Labels?.[OWNER_LABEL], o.Spec.Name).toMatch(/^[0-9a-f]{32}$/);
    }

    // An attacker plants a config and a secret with the cluster's labels — even a proof copied
    // from a real object — and a service that claims to be one of the cluster's.
    const stolenProof = services[0].Spec.Labels?.[OWNER_LABEL] ?? '';
    const cfgId = await port.createConfig({
      Name: `${name}_settings-deadbeef`,
      Labels: { ...ownerLabels(name, 'config-settings'), [OWNER_LABEL]: stolenProof },
      Data: Buffer.from('planted').toString('base64'),
    });
    planted.push(() => port.removeConfig(cfgId));
    const secId = await port.createSecret({
      Name: `${name}_token-0badc0de`,
      Labels: ownerLabels(name, 'secret-token'),
      Data: Buffer.from('planted').toString('base64'),
    });
    planted.push(() => port.removeSecret(secId));
    const svc = `${name}_agent-zz`;
    await docker(
      'service',
      'create',
      '--name',
      svc,
      ...Object.entries(ownerLabels(name, 'agent')).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      'bzzz-test/busybox:1',
    );
    planted.push(() => docker('service', 'rm', svc).then(() => undefined));

    // A pass (apply again) would prune an unused config version and remove a service not in the
    // spec — if they were the cluster's. They are not: nothing of theirs is touched.
    const again = await cli(['apply', '-f', file, '-o', 'json', '--timeout', '60s']);
    expect(again.code, again.stderr).toBe(0);
    // Only the status changed (it now lists the look-alikes).
    expect(JSON.parse(again.stdout).engineWrites).toEqual([`updateConfig ${name}_bzzz-cluster`]);
    expect((await port.listConfigs({ names: [`${name}_settings-deadbeef`] })).length).toBe(1);
    expect((await port.listServices({ names: [svc] })).length).toBe(1);

    const st = await cli(['status', name, '-o', 'json']);
    expect(JSON.parse(st.stdout).lookAlikes).toEqual([
      `config ${name}_settings-deadbeef`,
      `secret ${name}_token-0badc0de`,
      `service ${svc}`,
    ]);

    const del = await cli(['delete', name]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stderr).toContain(`left alone: 3 object(s) labelled as ${name}'s without its ownership proof`);
    expect((await port.listConfigs({ names: [`${name}_settings-deadbeef`] })).length).toBe(1);
    expect((await port.listSecrets({ names: [`${name}_token-0badc0de`] })).length).toBe(1);
    expect((await port.listServices({ names: [svc] })).length).toBe(1);
    // What the operator made is gone.
    const left = await port.listServices({ labels: ownedBy(name) });
    expect(left.map((s) => s.Spec.Name)).toEqual([svc]);
  });
});
