// bzzzctl rollback --to v1|v2 NAME and bzzzctl v1 status NAME — the seeds' rollback-v2.sh as one
// command: a plan journaled in the swarm (src/spec/v1.ts), run by the controller when one runs,
// else here, holding the controller lease like an in-process apply. Each step is printed as it
// finishes; running it again once the cluster is there does nothing.
import { cliContext } from '../context.js';
import { appliedBy } from '../resolve-apply.js';
import { printDocument, printLines, progress, table, type OutputFormat } from '../output.js';
import type { ClusterRecord } from '../../store/cluster-store.js';
import { V1Store } from '../../store/v1-store.js';
import { underLease } from '../../ops/single-writer.js';
import { mountedKeyFile, openV1Side } from '../../ops/v1-side.js';
import { createClusterReconciler } from '../../reconcilers/cluster.js';
import { createV1Reconciler, type V1SideHandle } from '../../reconcilers/v1-reconciler.js';
import { failedStep, nextStep, requestPlan } from '../../reconcilers/v1-plan.js';
import { resolveV1 } from '../../hosts/index.js';
import type { HostUnitReport, MeshReport, ProxyView } from '../../hosts/types.js';
import type { RolloutCause } from '../../spec/rollout.js';
import type { V1Spec } from '../../spec/types.js';
import { parseDurationMs } from '../../spec/index.js';
import { servingSide, V1_STEPS, type V1PlanState, type V1Side, type V1StepRecord } from '../../spec/v1.js';
import { errorMessage, InvalidInputError, NotFoundError } from '../../util/errors.js';
import { silentLogger } from '../../util/log.js';
import { EXIT_ERROR, EXIT_IN_PROGRESS, EXIT_OK } from '../../util/exit-codes.js';

interface KeyOptions {
  identity?: string;
  secretsDir?: string;
}

async function clusterV1(name: string): Promise<{ rec: ClusterRecord; v1: V1Spec }> {
  const { store } = cliContext();
  const rec = await store.get(name);
  if (!rec) throw new NotFoundError(`cluster ${name} not found: bzzzctl status lists the clusters stored in this swarm`);
  const spec = await store.getSpec(name, rec.generation);
  const v1 = spec.cluster.spec.v1;
  if (!v1) {
    throw new InvalidInputError(
      `cluster ${name} (generation ${rec.generation}) has no spec.v1: declare the v1 hosts (spec.v1.hosts, spec.v1.ssh.privateKeySecret) and apply the spec`,
    );
  }
  return { rec, v1 };
}

function side(name: string, v1: V1Spec, o: KeyOptions): Promise<V1SideHandle> {
  const keyFile = o.identity ?? mountedKeyFile(o.secretsDir ?? '/run/secrets', name, v1);
  return openV1Side({
    v1,
    keyFile,
    where: o.identity ? 'check --identity' : `pass --identity FILE (the private key of spec.v1.ssh.privateKeySecret) or --secrets-dir`,
  });
}

// ---- rollback ----

export interface RollbackOptions extends KeyOptions {
  to: string;
  dryRun?: boolean;
  minHosts?: string;
  timeout: string;
  wait: boolean;
  output: OutputFormat;
}

export async function rollbackCommand(name: string, o: RollbackOptions): Promise<number> {
  if (o.to !== 'v1' && o.to !== 'v2')
    throw new InvalidInputError(`--to ${o.to}: expected v1 (the systemd services) or v2 (the swarm stack)`);
  const to: V1Side = o.to;
  const minHosts = o.minHosts === undefined ? undefined : Number(o.minHosts);
  if (minHosts !== undefined && (!Number.isInteger(minHosts) || minHosts < 1)) {
    throw new InvalidInputError(`--min-hosts ${o.minHosts}: expected a number of hosts, at least 1`);
  }
  const { engine, port, store } = cliContext();
  const plans = new V1Store(engine, store);
  const { v1 } = await clusterV1(name);
  if (minHosts !== undefined && minHosts > v1.hosts.length) {
    throw new InvalidInputError(`--min-hosts ${minHosts}: cluster ${name} has ${v1.hosts.length} v1 host(s)`);
  }
  const text = o.output === 'text';
  const doc = (d: unknown) => {
    if (o.output !== 'text') printDocument(d, o.output);
  };
  const by = appliedBy();
  const now = new Date();
  const cause: RolloutCause = {
    kind: 'manual',
    by: `${by.user}@${by.host}`,
    message: `rollback --to ${to} by ${by.user}@${by.host}`,
    at: now.toISOString(),
  };
  const current = await plans.get(name);

  if (o.dryRun) {
    const plan = requestPlan(current, { to, cause, now, minHosts });
    const lines = plan ? planLines(name, to, v1, minHosts) : [`${name}: already on ${to} (plan ${current?.id}); nothing to do`];
    if (text) printLines(lines);
    else doc({ name, to, dryRun: true, serving: servingSide(current), steps: plan ? plan.steps.map((s) => s.name) : [], plan: lines });
    return EXIT_OK;
  }

  const { state, written } = await plans.update(name, (cur) => requestPlan(cur, { to, cause, now, minHosts }));
  if (!written || !state) {
    const p = state ?? current;
    if (text)
      printLines([
        `${name}: already ${p?.phase === 'Running' ? 'on its way' : 'on'} ${to}${p ? ` (plan ${p.id}, ${p.phase})` : ''}; nothing to do`,
      ]);
    else doc({ name, to, changed: false, plan: p });
    return EXIT_OK;
  }
  const say = (line: string) => text && process.stderr.write(`${line}\n`);
  say(`${name}: plan ${state.id} to ${to} recorded (${state.steps.map((s) => s.name).join(' → ')})`);
  if (!o.wait) {
    doc({ name, to, changed: true, plan: state });
    return EXIT_OK;
  }

  const deadline = Date.now() + parseDurationMs(o.timeout, '--timeout');
  const bar = text ? progress() : { update() {}, done() {} };
  const shown = new Set<string>();
  const show = (p: V1PlanState) => {
    for (const [i, s] of p.steps.entries()) {
      const key = `${i}:${s.state}`;
      if ((s.state === 'done' || s.state === 'failed' || s.state === 'skipped') && !shown.has(key)) {
        shown.add(key);
        bar.done();
        say(stepLine(s));
      }
    }
    const n = nextStep(p);
    if (n) bar.update(`${name}: ${n.name}…`);
  };

  // No controller: run the plan here under the lease (a controller started meanwhile stands by).
  const run = await underLease(
    engine,
    'rollback',
    async (lost) => {
      const cluster = createClusterReconciler({ port, store, log: silentLogger() });
      const v1Rec = createV1Reconciler({ port: engine, store, plans, side: (c, spec) => side(c, spec, o), log: silentLogger() });
      for (;;) {
        const p = await plans.get(name);
        if (p) show(p);
        if (!p || p.id !== state.id || p.phase !== 'Running' || Date.now() > deadline || lost.aborted) return p;
        let wait = 0;
        try {
          wait = (await v1Rec.reconcile(name, lost)).requeueAfterMs ?? 0;
          // Parking and unparking are the cluster reconciler's writes.
          await cluster.pass(name);
        } catch (err) {
          bar.done();
          say(`  (retrying: ${errorMessage(err)})`);
          wait = 1000;
        }
        if (wait) await new Promise((r) => setTimeout(r, wait));
      }
    },
    { waitUntil: deadline },
  );
  let final: V1PlanState | undefined;
  if (run.held) final = run.result;
  else {
    say(`${name}: controller ${run.holder} runs the plan`);
    for (;;) {
      final = await plans.get(name);
      if (final) show(final);
      if (!final || final.id !== state.id || final.phase !== 'Running' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  bar.done();
  doc({ name, to, changed: true, plan: final });
  if (!final || final.id !== state.id) {
    if (text) printLines([`${name}: plan ${state.id} was replaced by another one (bzzzctl v1 status ${name})`]);
    return EXIT_ERROR;
  }
  if (final.phase === 'Running') {
    if (text)
      printLines([
        `${name}: plan ${final.id} still runs after --timeout ${o.timeout} (step ${nextStep(final)?.name}); bzzzctl v1 status ${name} follows it`,
      ]);
    return EXIT_IN_PROGRESS;
  }
  if (final.phase === 'Failed') {
    const f = failedStep(final);
    if (text) printLines([`${name}: switch to ${to} failed at ${f?.name}: ${f?.detail ?? ''}`, `${name}: ${servingSide(final)} serves`]);
    return EXIT_ERROR;
  }
  if (text) printLines([`${name}: on ${to} (plan ${final.id}, ${seconds(final)} s)`]);
  return EXIT_OK;
}

function seconds(p: V1PlanState): string {
  return ((Date.parse(p.finishedAt ?? '') - Date.parse(p.requestedAt)) / 1000).toFixed(1);
}

function stepLine(s: V1StepRecord): string {
  const mark = s.state === 'done' ? '✓' : s.state === 'failed' ? '✗' : '-';
  return `  ${mark} ${s.name.padEnd(12)} ${s.state === 'skipped' ? 'skipped' : (s.detail ?? '')}`;
}

/** What each step will do, concretely (`--dry-run`). */
function planLines(name: string, to: V1Side, v1: V1Spec, minHosts?: number): string[] {
  const targets = resolveV1(v1).hosts;
  const units = targets.map((t) => `${t.name}: systemctl start ${t.unit} (ssh ${t.user}@${t.address}:${t.port})`);
  const hap = v1.proxy?.haproxy;
  const trf = v1.proxy?.traefik;
  const proxy = (side: V1Side) =>
    hap
      ? `HAProxy ${hap.host.address} ${hap.socket ?? '/run/haproxy/admin.sock'}: ${hap.backend}/{${(side === 'v1' ? hap.v1Servers : hap.v2Servers).join(',')}} ready, weight ${hap.weight ?? 100}; then ${hap.backend}/{${(side === 'v1' ? hap.v2Servers : hap.v1Servers).join(',')}} maint${hap.stateFile ? `; state saved to ${hap.stateFile}` : ''}`
      : trf
        ? `Traefik file ${trf.host.address}:${trf.file}: service ${trf.service} weighted 100 to ${side}`
        : 'no spec.v1.proxy: nothing to switch';
  const what: Record<string, string> = {
    'record-v2': 'record the v2 generation, its services, replicas and images',
    'start-v1': `start the v1 units in parallel (${minHosts ?? v1.minHosts ?? targets.length} of ${targets.length} must come up):\n      ${units.join('\n      ')}`,
    'verify-v1': `every v1 agent answers http://HOST:${v1.verify?.port ?? 8081}${v1.verify?.path ?? '/health'} and reports ≥ ${v1.verify?.minPeers ?? targets.length - 1} peer(s) (${v1.verify?.peersMetric ?? 'bzzz_p2p_connected_peers'}) within ${v1.verify?.timeout ?? '30s'}`,
    'switch-proxy': proxy(to),
    'stop-v2': 'scale every v2 service of the cluster to zero (services, volumes, secrets, configs and stored specs kept)',
    'start-v2': 'scale the v2 services back to their recorded replicas and wait until they run',
    'stop-v1': `stop the v1 units: ${targets.map((t) => `${t.name} ${t.unit}`).join(', ')}`,
    notify: 'announce it on Slack (spec.notifications.slack)',
  };
  return [
    `${name}: plan to ${to} (dry run: nothing is changed)`,
    ...V1_STEPS[to].map((s, i) => `  ${i + 1}. ${s.padEnd(12)} ${what[s] ?? ''}`),
    '  A step that fails before the other side is stopped undoes what the plan started; the side serving now goes on serving.',
  ];
}

// ---- v1 status ----

export interface V1StatusView {
  name: string;
  serving: V1Side;
  parked: boolean;
  plan?: V1PlanState;
  hosts: HostUnitReport[];
  mesh?: MeshReport;
  proxy?: ProxyView;
  errors: string[];
}

export async function v1StatusCommand(name: string, o: KeyOptions & { logLines: string; output: OutputFormat }): Promise<number> {
  const { engine, store } = cliContext();
  const { v1 } = await clusterV1(name);
  const plan = await new V1Store(engine, store).get(name);
  const errors: string[] = [];
  const view: V1StatusView = {
    name,
    serving: servingSide(plan),
    parked: plan?.parked ?? false,
    ...(plan ? { plan } : {}),
    hosts: [],
    errors,
  };
  const lines = Math.min(50, Math.max(0, Number(o.logLines) || 0));
  try {
    const s = await side(name, v1, o);
    const [hosts, mesh, proxy] = await Promise.all([
      s.hosts.status(s.targets, { logLines: lines }),
      s.mesh.check().catch((err: unknown) => {
        errors.push(`mesh: ${errorMessage(err)}`);
        return undefined;
      }),
      s.proxy?.view().catch((err: unknown) => {
        errors.push(`proxy: ${errorMessage(err)}`);
        return undefined;
      }),
    ]);
    view.hosts = hosts;
    if (mesh) view.mesh = mesh;
    if (proxy) view.proxy = proxy;
  } catch (err) {
    errors.push(errorMessage(err));
    view.hosts = resolveV1(v1).hosts.map((t) => ({ host: t.name, unit: t.unit, error: 'not asked (no SSH key)' }));
  }
  if (o.output !== 'text') {
    printDocument(view, o.output);
    return EXIT_OK;
  }
  const peers = new Map(view.mesh?.hosts.map((h) => [h.host, h]) ?? []);
  const out = [
    `${name}: ${view.serving} serves${view.parked ? '; v2 parked at zero replicas' : ''}`,
    ...table(
      ['HOST', 'UNIT', 'STATE', 'SINCE', 'HEALTH', 'PEERS'],
      view.hosts.map((h) => {
        const m = peers.get(h.host);
        return [
          h.host,
          h.unit,
          h.error ? `unknown (${h.error})` : `${h.state?.activeState ?? '?'}/${h.state?.subState ?? '?'}`,
          h.state?.since ?? '',
          m ? (m.healthy ? 'healthy' : `no${m.error ? ` (${m.error})` : ''}`) : '',
          m?.peers !== undefined ? String(m.peers) : '',
        ];
      }),
    ),
  ];
  for (const h of view.hosts)
    if (h.logs?.length) out.push(`-- ${h.host} ${h.unit}, last ${h.logs.length} log line(s):`, ...h.logs.map((l) => `   ${l}`));
  if (view.proxy) {
    out.push(`proxy (${view.proxy.kind}): serves ${view.proxy.serving}`);
    out.push(
      ...table(
        ['SERVER', 'SIDE', 'STATE', 'WEIGHT', 'CHECK'],
        view.proxy.servers.map((s) => [s.name, s.side, s.state, String(s.weight ?? ''), s.check ?? '']),
      ).map((l) => `  ${l}`),
    );
  }
  if (plan) {
    out.push(
      `last plan ${plan.id}: to ${plan.to}, ${plan.phase} (${plan.cause.kind}: ${plan.cause.message}; requested ${plan.requestedAt})`,
    );
    out.push(...plan.steps.map(stepLine));
  }
  for (const e of errors) out.push(`error: ${e}`);
  printLines(out);
  return EXIT_OK;
}
