// bzzzctl migrate status|plan|pause|resume NAME — the v1 → v2 migration the controller drives
// toward spec.migration.targetPhase. status shows the phase, the transition with every gate,
// step and exit check (value, pass or fail) and each host's content import; plan shows what the
// next transition will check and do, changing nothing; pause and resume are one compare-and-swap
// on the migration record that the controller acts on.
import { cliContext } from '../context.js';
import { appliedBy } from '../resolve-apply.js';
import { printDocument, printLines, progress, type OutputFormat } from '../output.js';
import { MigrationStore } from '../../store/migration-store.js';
import { DEFAULT_SHARES, pauseMigration, resumeMigration, steer, transitionPlan } from '../../reconcilers/migration-plan.js';
import type { MigrationCheck, MigrationState, MigrationStepRecord } from '../../spec/migration.js';
import type { MigrationPhase, MigrationSpec, V1Spec } from '../../spec/types.js';
import type { RolloutCause } from '../../spec/rollout.js';
import { parseDurationMs } from '../../spec/index.js';
import { InvalidInputError, NotFoundError } from '../../util/errors.js';
import { EXIT_IN_PROGRESS, EXIT_OK, EXIT_PAUSED } from '../../util/exit-codes.js';

async function load(name: string): Promise<{ m: MigrationSpec; v1?: V1Spec; state?: MigrationState; store: MigrationStore }> {
  const { engine, store } = cliContext();
  const rec = await store.get(name);
  if (!rec) throw new NotFoundError(`cluster ${name} not found: bzzzctl status lists the clusters stored in this swarm`);
  const spec = await store.getSpec(name, rec.generation);
  const m = spec.cluster.spec.migration;
  if (!m)
    throw new InvalidInputError(
      `cluster ${name} (generation ${rec.generation}) has no spec.migration: set spec.migration.targetPhase and apply`,
    );
  const migrations = new MigrationStore(engine, store);
  return { m, v1: spec.cluster.spec.v1, state: await migrations.get(name), store: migrations };
}

function checkLine(c: MigrationCheck): string {
  return `    ${c.ok ? '✓' : '✗'} ${c.name.padEnd(12)} ${c.value}`;
}

function stepLine(s: MigrationStepRecord): string {
  const mark = s.state === 'done' ? '✓' : s.state === 'failed' ? '✗' : s.state === 'running' ? '…' : s.state === 'skipped' ? '-' : ' ';
  return `    ${mark} ${s.name.padEnd(16)} ${s.detail ?? s.state}`;
}

function statusLines(name: string, m: MigrationSpec, s: MigrationState | undefined): string[] {
  if (!s) return [`${name}: migration not started yet (target ${m.targetPhase}); the controller starts it`];
  const out = [`${name}: phase ${s.phase}, target ${m.targetPhase}${s.paused ? ` — PAUSED: ${s.paused.message}` : ''}`];
  const t = s.transition;
  if (t) {
    out.push(`  ${t.from} → ${t.to} (${t.direction}, since ${t.startedAt})`);
    if (t.gates.length) out.push('  entry gates:', ...t.gates.map(checkLine));
    if (t.steps.length) out.push('  steps:', ...t.steps.map(stepLine));
    if (t.exits.length) out.push('  exit checks:', ...t.exits.map(checkLine));
  }
  if (s.v2Share !== undefined) out.push(`  v2 share of traffic: ${s.v2Share} %`);
  for (const [host, c] of Object.entries(s.content ?? {})) {
    out.push(
      `  content ${host}: ${c.entries} entries, ${c.bytes} bytes${c.stored !== undefined ? ` (${c.stored} stored, ${c.existing ?? 0} already there, ${c.skipped ?? 0} skipped)` : ''}${c.manifest ? `, manifest ${c.manifest}` : ''}${c.breaks?.length ? `, ${c.breaks.length} break(s): ${c.breaks.map((b) => `line ${b.line}${b.index !== undefined ? ` index ${b.index}` : ''}: ${b.reason}`).join('; ')}` : ''}`,
    );
  }
  const last = s.log?.slice(-5) ?? [];
  if (last.length)
    out.push(
      '  recent:',
      ...last.map((e) => `    ${e.at} ${e.kind}${e.from ? ` ${e.from} → ${e.to}` : ''}${e.detail ? `: ${e.detail}` : ''}`),
    );
  return out;
}

export async function migrateStatusCommand(name: string, o: { watch?: boolean; timeout: string; output: OutputFormat }): Promise<number> {
  let { m, state } = await load(name);
  if (o.watch) {
    const bar = o.output === 'text' ? progress() : { update() {}, done() {} };
    const deadline = Date.now() + parseDurationMs(o.timeout, '--timeout');
    for (;;) {
      ({ m, state } = await load(name));
      const t = state?.transition;
      const step = t?.steps.find((x) => x.state === 'running' || x.state === 'pending');
      const done = t ? t.steps.filter((x) => x.state === 'done').length : 0;
      const importing = step?.name.startsWith('import:') ? state?.content?.[step.name.slice('import:'.length)] : undefined;
      const detail = importing?.progress
        ? ` (${importing.progress}: ${importing.entries} entries, ${(importing.bytes / 1048576).toFixed(1)} MiB)`
        : '';
      bar.update(
        t
          ? `${name}: ${t.from} → ${t.to} [${'#'.repeat(done)}${'.'.repeat(Math.max(0, t.steps.length - done))}] ${step?.name ?? 'exit checks'}${detail}`
          : `${name}: ${state?.phase ?? 'not started'}`,
      );
      if ((state && state.phase === m.targetPhase && !state.transition) || state?.paused || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    bar.done();
  }
  if (o.output !== 'text') printDocument({ name, target: m.targetPhase, ...(state ?? {}) }, o.output);
  else printLines(statusLines(name, m, state));
  if (state?.paused) return EXIT_PAUSED;
  return state && state.phase === m.targetPhase && !state.transition ? EXIT_OK : EXIT_IN_PROGRESS;
}

/** What the next transition will check and do (nothing is changed). */
export async function migratePlanCommand(name: string, o: { output: OutputFormat }): Promise<number> {
  const { m, v1, state } = await load(name);
  const hosts = v1?.hosts.map((h) => h.name) ?? [];
  const ctx = { hosts, shares: m.cutover?.steps ?? [...DEFAULT_SHARES] };
  const current: MigrationState = state ?? { phase: 'v1-only', parkV2: true };
  const next = current.transition ?? steer(current, m.targetPhase, ctx, new Date())?.transition;
  if (!next) {
    const why = current.paused ? `paused: ${current.paused.message}` : `at its target ${m.targetPhase}`;
    if (o.output !== 'text') printDocument({ name, phase: current.phase, target: m.targetPhase, next: null, why }, o.output);
    else printLines([`${name}: phase ${current.phase}: nothing to do (${why})`]);
    return EXIT_OK;
  }
  const p = transitionPlan(next.from, next.to, ctx);
  const what = (s: string) => describeStep(s, m, v1);
  if (o.output !== 'text') {
    printDocument(
      {
        name,
        phase: current.phase,
        target: m.targetPhase,
        next: { from: next.from, to: next.to, gates: p.gates, steps: p.steps.map((s) => ({ name: s, does: what(s) })), exits: p.exits },
      },
      o.output,
    );
    return EXIT_OK;
  }
  printLines([
    `${name}: next ${next.from} → ${next.to} (target ${m.targetPhase}; dry run: nothing is changed)`,
    `  entry gates: ${p.gates.join(', ') || 'none'}`,
    '  steps:',
    ...p.steps.map((s, i) => `    ${i + 1}. ${s.padEnd(16)} ${what(s)}`),
    `  exit checks: ${p.exits.join(', ') || 'none'}`,
  ]);
  return EXIT_OK;
}

function describeStep(s: string, m: MigrationSpec, v1?: V1Spec): string {
  if (s.startsWith('import:')) {
    return `export ${m.content?.logPath ?? '/var/lib/bzzz/conversation.log'} from ${s.slice(7)} over SSH, verify its hash chain, import every entry as a BLAKE3 blob, store a manifest, read everything back`;
  }
  if (s.startsWith('weigh:'))
    return `the proxy sends ${s.slice(6)} % of new requests to v2${Number(s.slice(6)) > 0 ? `, held ${m.cutover?.hold ?? '5m'} (analysed by spec.upgrade.analysis when set)` : ''}`;
  const hosts = v1?.hosts.map((h) => h.name).join(', ') ?? '';
  const d: Record<string, string> = {
    'start-v2': 'unpark the v2 services and wait until the cluster is Ready beside v1',
    'park-v2': 'park the v2 services at zero replicas (nothing deleted)',
    'archive-v1': `archive ${m.archive?.paths?.join(', ') ?? '/var/lib/bzzz'} of ${hosts} to ${m.archive?.dir ?? '(spec.migration.archive.dir)'} (tar, BLAKE3 manifest, age)`,
    'stop-v1': `stop and disable the v1 units on ${hosts}`,
    'retire-v1-routes': 'take the v1 servers out of service in the proxy',
    'start-v1': `enable and start the v1 units on ${hosts}`,
    'v1-routes-back': 'put the v1 servers back in service in the proxy (weight 0: v2 keeps the traffic)',
  };
  return d[s] ?? '';
}

export async function migrateVerbCommand(verb: 'pause' | 'resume', name: string, o: { output: OutputFormat }): Promise<number> {
  const { m, store } = await load(name);
  const by = appliedBy();
  const who = `${by.user}@${by.host}`;
  const cause: RolloutCause = { kind: 'manual', by: who, message: `${verb} by ${who}`, at: new Date().toISOString() };
  const { state, written } = await store.update(name, (cur) => {
    const s = cur ?? { phase: 'v1-only' as MigrationPhase, parkV2: true };
    return verb === 'pause' ? pauseMigration(s, cause) : resumeMigration(s, cause);
  });
  if (o.output !== 'text') printDocument({ name, changed: written, target: m.targetPhase, ...(state ?? {}) }, o.output);
  else
    printLines([
      `${name}: ${written ? `${verb} recorded; the controller acts on it` : `nothing to ${verb}`}`,
      ...statusLines(name, m, state),
    ]);
  return EXIT_OK;
}
