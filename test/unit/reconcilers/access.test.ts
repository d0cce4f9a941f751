// Closed membership, operator side (issue 7), on the in-memory port: every agent gets its own
// identity and only its own; the member list names exactly the agents with the peer IDs of those
// identities; the API callers are the built-in ones plus the declared ones, by token hash only;
// ownership proofs sit on everything; nothing of it changes on a second pass.
import { describe, expect, it } from 'vitest';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { parseMemberList } from '../../../src/crypto/membership.js';
import { parseApiCallers, tokenSha256 } from '../../../src/crypto/api-callers.js';
import { cliCaller, deriveApiToken, MIGRATION_CALLER, OPERATOR_CALLER } from '../../../src/crypto/derive.js';
import { accessMaterial } from '../../../src/reconcilers/access.js';
import { ownedBy } from '../../../src/swarm/labels.js';
import { OWNER_LABEL } from '../../../src/swarm/ownership.js';
import { memoryCluster } from '../../support/memory-cluster.js';
import { deleteCluster } from '../../../src/ops/teardown.js';
import { planCluster } from '../../../src/reconcilers/steps.js';
import { observe } from '../../../src/reconcilers/observe.js';
import { createMemorySwarmPort } from '../../../src/swarm/memory-port.js';
import { loadSpecFile } from '../../../src/spec/index.js';
import { resolveApply } from '../../../src/cli/resolve-apply.js';

const DEV = 'stacks/examples/dev.yaml';

async function configText(c: Awaited<ReturnType<typeof memoryCluster>>, logical: string): Promise<string> {
  const [cfg] = (await c.port.listConfigs({ labels: ownedBy(c.name) })).filter((x) => x.Spec.Labels?.['io.bzzz.logical'] === logical);
  return Buffer.from(cfg.Spec.Data ?? '', 'base64').toString('utf8');
}

describe('agent access: identities, member list, API callers', () => {
  it('GIVEN dev.yaml applied WHEN a pass runs THEN each agent mounts its own identity, whose peer ID is its entry in the member list', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    const report = await c.pass();
    expect(report.problems).toEqual([]);
    const members = parseMemberList(await configText(c, 'bzzz-members'), 'members');
    expect(members.members.map((m) => `${m.name} ${m.role}`)).toEqual([
      'a backend_developer',
      'b backend_developer',
      'c backend_developer',
    ]);
    expect(new Set(members.members.map((m) => m.peerId)).size).toBe(3);
    for (const inst of ['a', 'b', 'c']) {
      const svc = await c.service(`agent-${inst}`);
      const secrets = svc.Spec.TaskTemplate.ContainerSpec.Secrets ?? [];
      const peer = secrets.filter((s) => s.SecretName.includes('_bzzz-peer-'));
      // Only its own identity, owned by the agent user, readable by it alone.
      expect(peer.map((s) => [s.SecretName.replace(/-[0-9a-f]{8}$/, ''), s.File.Name, s.File.UID, s.File.Mode])).toEqual([
        [`bzzz-dev_bzzz-peer-${inst}`, '/run/bzzz-keys/peer.key', '10001', 0o400],
      ]);
      const env = svc.Spec.TaskTemplate.ContainerSpec.Env ?? [];
      expect(env).toEqual(
        expect.arrayContaining([
          'BZZZ_PEER_KEY_FILE=/run/bzzz-keys/peer.key',
          'BZZZ_MEMBERS_FILE=/run/bzzz-keys/members.json',
          'BZZZ_API_CALLERS_FILE=/run/bzzz-keys/api-callers.json',
        ]),
      );
    }
    // The identity the operator derived is the one listed (the agent will find itself on the list).
    const rec = await c.store.get(c.name);
    const { derivePeerIdentity } = await import('../../../src/crypto/peer-identity.js');
    const a = await derivePeerIdentity(rec!.ownerKey!, 'a');
    expect(peerIdFromPrivateKey(privateKeyFromProtobuf(a.keyProtobuf)).toString()).toBe(members.get(a.peerId)?.peerId);
    expect(members.get(a.peerId)?.name).toBe('a');
  });

  it('GIVEN the cluster WHEN the callers file is read THEN it holds the built-in callers by hash only, and bzzzctl api-token tokens match them', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    await c.pass();
    const text = await configText(c, 'bzzz-api-callers');
    const callers = parseApiCallers(text, 'callers');
    expect(callers.callers.map((x) => `${x.name} ${x.role}`).sort()).toEqual([
      'bzzz-operator observer',
      'bzzzctl-admin admin',
      'bzzzctl-backend_developer backend_developer',
      'bzzzctl-observer observer',
      'bzzzctl-senior_software_architect senior_software_architect',
    ]);
    const key = (await c.store.get(c.name))!.ownerKey!;
    const admin = deriveApiToken(key, cliCaller('admin'));
    expect(text).not.toContain(admin);
    expect(text).toContain(tokenSha256(admin));
    expect(text).toContain(tokenSha256(deriveApiToken(key, OPERATOR_CALLER)));
  });

  it('GIVEN spec.migration WHEN the callers are made THEN the migration caller (backend_developer, it stores blobs) is one of them; without it, not', async () => {
    const { cluster } = await loadSpecFile(DEV);
    const key = 'ab'.repeat(32);
    const names = async (c: typeof cluster) =>
      parseApiCallers((await accessMaterial(c, key))?.callersJson ?? '', 'callers').callers.map((x) => `${x.name} ${x.role}`);
    expect(await names(cluster)).not.toContain(`${MIGRATION_CALLER} backend_developer`);
    const migrating = { ...cluster, spec: { ...cluster.spec, migration: { targetPhase: 'content-migrated' as const } } };
    expect(await names(migrating)).toContain(`${MIGRATION_CALLER} backend_developer`);
    expect((await accessMaterial(migrating, key))?.callersJson).toContain(tokenSha256(deriveApiToken(key, MIGRATION_CALLER)));
  });

  it('GIVEN a converged cluster WHEN passes run again THEN the identities and lists are not rewritten, and every object carries an ownership proof', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    await c.pass();
    c.port.clearWriteLog();
    expect((await c.pass()).writeLog).toEqual([]);
    const objects = [
      ...(await c.port.listSecrets({ labels: ownedBy(c.name) })),
      ...(await c.port.listConfigs({ labels: ownedBy(c.name) })).filter((x) => x.Spec.Name !== `${c.name}_bzzz-cluster`),
      ...(await c.port.listServices({ labels: ownedBy(c.name) })),
    ];
    for (const o of objects) expect(o.Spec.Labels?.[OWNER_LABEL], o.Spec.Name).toMatch(/^[0-9a-f]{32}$/);
  });

  it('GIVEN a cluster deleted and applied again under the same name WHEN the same reconciler passes THEN its agents get identities of the new ownership key', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    await c.pass();
    const oldKey = (await c.store.get(c.name))!.ownerKey!;
    await deleteCluster(c.port, c.name, 1000);
    expect(await c.apply()).toEqual({ generation: 1, changed: true }); // generation 1 again
    const report = await c.pass();
    expect(report.problems).toEqual([]);
    const newKey = (await c.store.get(c.name))!.ownerKey!;
    expect(newKey).not.toBe(oldKey);
    const members = parseMemberList(await configText(c, 'bzzz-members'), 'members');
    const { derivePeerIdentity } = await import('../../../src/crypto/peer-identity.js');
    expect(members.get((await derivePeerIdentity(newKey, 'a')).peerId)?.name).toBe('a');
    expect(members.get((await derivePeerIdentity(oldKey, 'a')).peerId)).toBeUndefined();
  });

  it('GIVEN a cluster not stored yet WHEN planned (bzzzctl diff) THEN the identities and lists are shown as to be made, under placeholder names', async () => {
    const loaded = await loadSpecFile(DEV);
    const port = createMemorySwarmPort();
    const plan = planCluster((await resolveApply(loaded, {})).doc, await observe(port, loaded.cluster), Date.now());
    expect(
      plan.changes.filter((ch) => /bzzz-(peer|members|api-callers)/.test(ch.name)).map((ch) => `${ch.action} ${ch.kind} ${ch.name}`),
    ).toEqual([
      'create secret bzzz-dev_bzzz-peer-*',
      'create config bzzz-dev_bzzz-members-(generated)',
      'create config bzzz-dev_bzzz-api-callers-(generated)',
    ]);
  });
});
