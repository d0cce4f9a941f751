// Role keys and the Shamir-split admin key, made by the operator on first apply and delivered as
// Docker secrets (private) and configs (public), never printed, never in the stored spec:
//   <cluster>_bzzz-key-<role>-<hash8>   secret  age identity of observer / backend_developer / senior_software_architect
//   <cluster>_bzzz-share-<i>-<hash8>    secret  share i of the t-of-n split of the admin key
//   <cluster>_bzzz-pub-<role>-<hash8>   config  age public key of each of the four roles
// The admin identity itself exists only in memory while it is split, and later in the elected
// admin agent that rebuilds it from its peers' shares. All objects of one generation carry the
// same keyset label; only a complete keyset is used, so a pass that died half-way is redone.
import { randomBytes } from 'node:crypto';
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import { configHash8, L, ownerLabels, secretHash8, versionedName } from '../swarm/labels.js';
import { ROLES } from '../crypto/roles.js';
import type { Change, IdIndex, Observed, Problem } from './types.js';
import { KEYSET_LABEL, keyLogical, keySettings, type ShamirSettings } from '../convert/keys-layout.js';
import { failures } from './problems.js';
import { compareStrings } from '../util/compare.js';

const PRIVATE_ROLES = ROLES.filter((r) => r !== 'admin');

export interface KeysPlan {
  settings?: ShamirSettings;
  /** Logical → Docker name, for secrets and configs of the keyset in use (or placeholders when it is to be made). */
  secretNames: Map<string, string>;
  configNames: Map<string, string>;
  generate: boolean;
  changes: Change[];
}

export function planKeys(cluster: BzzzCluster, observed: Observed): KeysPlan {
  const settings = keySettings(cluster);
  const plan: KeysPlan = { settings, secretNames: new Map(), configNames: new Map(), generate: false, changes: [] };
  if (!settings) return plan;
  const sets = new Map<string, { created: string; secrets: Map<string, string>; configs: Map<string, string> }>();
  const entry = (id: string, created: string) => {
    let e = sets.get(id);
    if (!e) sets.set(id, (e = { created, secrets: new Map(), configs: new Map() }));
    if (created > e.created) e.created = created;
    return e;
  };
  for (const s of observed.secrets) {
    const id = s.Spec.Labels?.[KEYSET_LABEL];
    if (id) entry(id, s.CreatedAt).secrets.set(s.Spec.Labels?.[L.logical] ?? '', s.Spec.Name);
  }
  for (const c of observed.configs) {
    const id = c.Spec.Labels?.[KEYSET_LABEL];
    if (id) entry(id, c.CreatedAt).configs.set(c.Spec.Labels?.[L.logical] ?? '', c.Spec.Name);
  }
  const complete = [...sets.values()]
    .filter(
      (e) =>
        PRIVATE_ROLES.every((r) => e.secrets.has(keyLogical.key(r))) &&
        ROLES.every((r) => e.configs.has(keyLogical.pub(r))) &&
        Array.from({ length: settings.shares }, (_, i) => keyLogical.share(i + 1)).every((l) => e.secrets.has(l)),
    )
    .sort((a, b) => compareStrings(b.created, a.created))[0];
  if (complete) {
    plan.secretNames = complete.secrets;
    plan.configNames = complete.configs;
    return plan;
  }
  const name = cluster.metadata.name;
  plan.generate = true;
  for (const r of PRIVATE_ROLES) plan.secretNames.set(keyLogical.key(r), `${name}_${keyLogical.key(r)}-(generated)`);
  for (let i = 1; i <= settings.shares; i++) plan.secretNames.set(keyLogical.share(i), `${name}_${keyLogical.share(i)}-(generated)`);
  for (const r of ROLES) plan.configNames.set(keyLogical.pub(r), `${name}_${keyLogical.pub(r)}-(generated)`);
  plan.changes.push({
    action: 'create',
    kind: 'secret',
    name: `${name}_bzzz-key-*`,
    reason: `role keys and a ${settings.threshold}-of-${settings.shares} split of the admin key, generated`,
  });
  return plan;
}

/** Makes a new keyset: identities in memory, secrets and configs in the swarm. */
export async function createKeys(port: SwarmPort, cluster: string, plan: KeysPlan, ids: IdIndex): Promise<Problem[]> {
  if (!plan.generate || !plan.settings) return [];
  // Loaded only when keys are made: the crypto libraries are not needed on other passes.
  const { AgeIdentity, splitAdminKey, serializeShare } = await import('../crypto/index.js');
  const keyset = randomBytes(6).toString('hex');
  const identities = new Map<string, Awaited<ReturnType<typeof AgeIdentity.generate>>>();
  for (const r of ROLES) identities.set(r, await AgeIdentity.generate());
  const shares = await splitAdminKey(identities.get('admin')!, plan.settings.threshold, plan.settings.shares);
  const labels = (logical: string, hash8: string, kind: string) => ({
    ...ownerLabels(cluster, 'keys'),
    [L.logical]: logical,
    [L.contentHash]: hash8,
    [L.source]: 'generated',
    [KEYSET_LABEL]: keyset,
    'io.bzzz.key-kind': kind,
  });
  const secretWrites = [
    ...PRIVATE_ROLES.map((r) => ({ logical: keyLogical.key(r), value: `${identities.get(r)!.exposeSecret()}\n`, kind: 'role-identity' })),
    ...shares.map((s) => ({ logical: keyLogical.share(s.index), value: serializeShare(s), kind: 'admin-share' })),
  ];
  const configWrites = ROLES.map((r) => ({ logical: keyLogical.pub(r), value: `${identities.get(r)!.recipient}\n` }));
  const results = await Promise.allSettled([
    ...secretWrites.map(async (w) => {
      const hash8 = secretHash8(cluster, w.logical, w.value);
      const name = versionedName(cluster, w.logical, `${keyset.slice(0, 4)}${hash8.slice(0, 4)}`);
      ids.secrets.set(
        name,
        await port.createSecret({ Name: name, Labels: labels(w.logical, hash8, w.kind), Data: Buffer.from(w.value).toString('base64') }),
      );
      plan.secretNames.set(w.logical, name);
    }),
    ...configWrites.map(async (w) => {
      const hash8 = configHash8(w.value);
      const name = versionedName(cluster, w.logical, hash8);
      ids.configs.set(
        name,
        await port.createConfig({
          Name: name,
          Labels: labels(w.logical, hash8, 'role-public-key'),
          Data: Buffer.from(w.value).toString('base64'),
        }),
      );
      plan.configNames.set(w.logical, name);
    }),
  ]);
  return failures(
    results,
    [...secretWrites.map((w) => `secret ${cluster}_${w.logical}`), ...configWrites.map((w) => `config ${cluster}_${w.logical}`)],
    'KeyCreateFailed',
  );
}
