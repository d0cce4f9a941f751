// bzzzctl keys status|rotate NAME — the cluster's key and secret rotations. status reads the
// rotation journal (<cluster>_bzzz-rotation): per item the age, the next due time, the last
// result and the run under way; no value is ever shown. rotate asks for a rotation now: one
// compare-and-swap on the journal that the controller's keys controller acts on.
import { cliContext } from '../context.js';
import { printDocument, printLines, type OutputFormat } from '../output.js';
import { RotationStore } from '../../store/rotation-store.js';
import { emptyRotationState, rotationItems, type RotationItemId, type RotationState } from '../../spec/rotation.js';
import { withKeysetAges } from '../../reconcilers/rotation-keys.js';
import { ownedBy } from '../../swarm/labels.js';
import { formatAge, rotationView } from '../../reconcilers/rotation-status.js';
import { InvalidInputError, NotFoundError } from '../../util/errors.js';
import { EXIT_OK } from '../../util/exit-codes.js';
import type { BzzzCluster } from '../../spec/types.js';

async function load(name: string): Promise<{ cluster: BzzzCluster; rotations: RotationStore; state?: RotationState }> {
  const { engine, store } = cliContext();
  const rec = await store.get(name);
  if (!rec) throw new NotFoundError(`cluster ${name} not found: bzzzctl status lists the clusters stored in this swarm`);
  const { cluster } = await store.getSpec(name, rec.generation);
  const rotations = new RotationStore(engine, store);
  const [state, secrets] = await Promise.all([rotations.get(name), engine.listSecrets({ labels: ownedBy(name) })]);
  return { cluster, rotations, state: withKeysetAges(state ?? emptyRotationState(), secrets) };
}

export async function keysStatusCommand(name: string, o: { output: OutputFormat }): Promise<number> {
  const { cluster, state } = await load(name);
  const views = rotationView(name, rotationItems(cluster), state, Date.now(), cluster.spec.keys?.rotation?.jitter);
  if (o.output !== 'text') {
    printDocument({ cluster: name, items: views }, o.output);
    return EXIT_OK;
  }
  const lines = [`${name}: ${views.length} rotated item(s)`];
  for (const v of views) {
    const age = v.ageMs === undefined ? 'not seen yet' : `age ${formatAge(v.ageMs)}`;
    const next =
      v.periodMs === 0 ? 'no schedule' : v.nextAt ? `next ${v.nextAt}${v.overdue ? ' (OVERDUE)' : ''}` : 'next: after first sight';
    const last = v.last ? `last ${v.last.outcome} ${v.last.at}${v.last.detail ? ` (${v.last.detail})` : ''}` : 'never rotated';
    lines.push(`  ${v.id.padEnd(28)} ${age}, ${next}, ${last}`);
    if (v.current) lines.push(`    in use: ${v.current}${v.login ? ` (login ${v.login})` : ''}`);
    if (v.run)
      lines.push(
        `    rotating (${v.run.cause}): step ${v.run.step} since ${v.run.startedAt}${v.run.lastError ? `, failing: ${v.run.lastError}` : ''}`,
      );
    else if (v.requested) lines.push('    rotation requested: the controller starts it on its next pass');
    if (!v.automated) lines.push('    (scheduled rotation of role and admin keys is not run by this release)');
  }
  printLines(lines);
  return EXIT_OK;
}

export async function keysRotateCommand(
  name: string,
  o: { role?: string; secret?: string; admin?: boolean; output: OutputFormat },
): Promise<number> {
  const chosen = [o.role !== undefined, o.secret !== undefined, o.admin === true].filter(Boolean).length;
  if (chosen !== 1) throw new InvalidInputError('say what to rotate: exactly one of --secret NAME, --role ROLE or --admin');
  const { cluster, rotations } = await load(name);
  const items = rotationItems(cluster);
  let id: RotationItemId;
  if (o.secret !== undefined) {
    id = `secret:${o.secret}`;
    if (!items.some((i) => i.id === id)) {
      const rotated = items.filter((i) => i.secret).map((i) => i.secret!.logical);
      throw new InvalidInputError(
        `cluster ${name}: spec.secrets.${o.secret} has no rotate section (rotated secrets: ${rotated.join(', ') || 'none'}); add rotate: { period, consumer } and apply`,
      );
    }
  } else {
    throw new InvalidInputError(
      `cluster ${name}: rotating ${o.admin ? 'the admin key' : `the ${o.role} role key`} is not run by this release; rotate secrets with --secret NAME`,
    );
  }
  const at = new Date().toISOString();
  const r = await rotations.update(name, (cur) => {
    const item = cur?.items[id];
    if (!cur || !item) return undefined;
    if (item.requested || item.run) return undefined;
    return { ...cur, items: { ...cur.items, [id]: { ...item, requested: { at, by: 'bzzzctl keys rotate' } } } };
  });
  const item = r.state?.items[id];
  const message = !item
    ? `${id}: not recorded yet — the controller records it on its first pass; run this again then`
    : item.run
      ? `${id}: a rotation is already under way (step ${item.run.step})`
      : `${id}: rotation requested; the controller starts it on its next pass (bzzzctl keys status ${name})`;
  if (o.output !== 'text') printDocument({ cluster: name, item: id, requested: r.written, message }, o.output);
  else printLines([message]);
  return EXIT_OK;
}
