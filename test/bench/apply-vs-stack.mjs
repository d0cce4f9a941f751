#!/usr/bin/env node
// `bzzzctl apply` against `docker stack deploy`, the same objects deployed both ways in the same
// run: 6 services (3 agent instances, MCP server, content resolver, Redis — 7 tasks of
// bzzz-test/busybox:1), 4 secrets and 4 configs from files, 2 overlay networks
// (test/bench/fixtures/apply-vs-stack/: cluster.yaml.tmpl and compose.yaml.tmpl). Each round uses
// fresh names, checks both tools made the same objects, and removes everything afterwards.
//
//   (a) deploy: the whole process until every object is written
//       (`bzzzctl apply --no-wait -f FILE` / `docker stack deploy -c FILE NAME`), and the engine's
//       own write span (first → last object event in `docker events`)
//   (b) converged: from the start of that process until every task runs (polled the same way)
//   (c) a no-op re-apply: the whole process, and the write calls the engine saw (`docker events`)
//   (d) drift: with `bzzzctl controller run --no-probe-agents` running (on the host it cannot
//       reach agents anyway), `docker service scale X=5` and the time until the spec's replica
//       count is back. docker stack has no peer (it never undoes drift).
//   (e) the reconciler inside a warm process, as in a running controller: the pass that writes
//       every object of a new spec, and a no-op pass over a converged cluster (targets: < 50 ms,
//       zero writes) — apply-vs-stack.reconcile.ts, bundled with esbuild
//   (f) remove: `bzzzctl delete` / `docker stack rm` until nothing of it is listed
//   (g) start-up, with hyperfine (scripts/install-tools.sh --bench, run when it is missing): a bare `node -e ''`, `bzzzctl --version`,
//       `bzzzctl validate -f FILE` — how much of (a) and (c) is the Node process itself
//
//   npm run build && node test/bench/apply-vs-stack.mjs              # 5 rounds
//   node test/bench/apply-vs-stack.mjs --rounds 10 --json out.json
//   node test/bench/apply-vs-stack.mjs --skip-drift --skip-reconcile  # (a)-(c), (f) only
//
// Needs: Docker in swarm mode (`npm run swarm:up`), the test images
// (`bash scripts/build-test-images.sh`), a built CLI (`npm run build`). It refuses to run while
// another controller holds the lease (apply would hand over to it). While part (d) runs, its
// controller also reconciles every other cluster in the swarm: don't run it beside the
// integration tests.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { ensureTools } from './tools.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/bzzzctl.js');
const FIXTURES = join(ROOT, 'test/bench/fixtures/apply-vs-stack');
const IMAGE = 'bzzz-test/busybox:1';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '5' },
    json: { type: 'string' },
    'skip-drift': { type: 'boolean', default: false },
    'skip-reconcile': { type: 'boolean', default: false },
    'skip-startup': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(opts.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) fail(`--rounds ${opts.rounds}: expected a whole number ≥ 1`);

const now = () => performance.timeOrigin + performance.now(); // ms since the epoch, sub-ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const runId = Math.random().toString(36).slice(2, 6);

function fail(message) {
  process.stderr.write(`apply-vs-stack: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- the Docker Engine API, raw

function engineAddress() {
  const host = process.env.DOCKER_HOST;
  if (!host || host.startsWith('unix://')) return { socketPath: host ? host.slice('unix://'.length) : '/var/run/docker.sock' };
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 2375) };
}
const ADDRESS = engineAddress();

/** GET on the engine, parsed JSON (the bench's own polling: the same for both tools, cheap). */
function engine(path) {
  return new Promise((res, rej) => {
    const req = request({ ...ADDRESS, path, method: 'GET' }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (body += d));
      r.on('end', () => {
        if ((r.statusCode ?? 500) >= 300) rej(new Error(`GET ${path}: ${r.statusCode} ${body.trim()}`));
        else res(JSON.parse(body));
      });
    });
    req.on('error', rej);
    req.end();
  });
}
const q = (filters) => `filters=${encodeURIComponent(JSON.stringify(filters))}`;
const ns = (name) => ({ label: [`com.docker.stack.namespace=${name}`] });

// ---------------------------------------------------------------- processes

/** Runs a command to its end; `ms` is the whole process, spawn to exit. */
function run(cmd, args, { cwd = ROOT, env = {} } = {}) {
  return new Promise((res) => {
    const t0 = now();
    const p = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr, t0, t1: now(), ms: now() - t0 }));
  });
}

async function must(cmd, args, o) {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

const bzzzctl = (args, o) => run(process.execPath, [BIN, ...args], o);

// ---------------------------------------------------------------- docker events, recorded all along

const WRITE_ACTIONS = new Set(['create', 'update', 'remove', 'destroy']);

function recordEvents() {
  const events = [];
  const p = spawn(
    'docker',
    [
      'events',
      '--format',
      '{{json .}}',
      '--filter',
      'type=service',
      '--filter',
      'type=secret',
      '--filter',
      'type=config',
      '--filter',
      'type=network',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      const e = JSON.parse(l);
      events.push({
        type: e.Type,
        action: e.Action,
        name: e.Actor?.Attributes?.name ?? '',
        attrs: e.Actor?.Attributes ?? {},
        at: e.timeNano / 1e6,
      });
    }
  });
  return {
    events,
    stop: () => p.kill('SIGTERM'),
    /**
     * Write events of objects named `<name>_…` within [from, to] (ms since the epoch). A node's
     * local instantiation of an overlay network (it has a `type` attribute) is not a write; nor,
     * with `creates`, the update events the engine itself emits right after creating a service or
     * network.
     */
    writes(name, from, to, { creates = false } = {}) {
      return events.filter(
        (e) =>
          (creates ? e.action === 'create' : WRITE_ACTIONS.has(e.action)) &&
          !(e.type === 'network' && e.attrs.type) &&
          e.name.startsWith(`${name}_`) &&
          e.at >= from &&
          e.at <= to,
      );
    },
    async waitFor(pred, timeoutMs, what) {
      const deadline = now() + timeoutMs;
      for (;;) {
        const e = events.find(pred);
        if (e) return e;
        if (now() > deadline) throw new Error(`no docker event for ${what} within ${timeoutMs} ms`);
        await sleep(5);
      }
    },
  };
}

// ---------------------------------------------------------------- what exists

/** The objects of a cluster/stack, and the shape of each service (to check both tools made the same). */
async function shape(name) {
  const [services, secrets, configs, networks] = await Promise.all([
    engine(`/services?${q(ns(name))}`),
    engine(`/secrets?${q(ns(name))}`),
    engine(`/configs?${q(ns(name))}`),
    engine(`/networks?${q(ns(name))}`),
  ]);
  // bzzzctl's own state (stored spec, cluster record) is not one of the deployed objects.
  const deployedConfigs = configs.filter((c) => !c.Spec.Labels?.['io.bzzz.kind']);
  const svc = {};
  for (const s of services) {
    const c = s.Spec.TaskTemplate.ContainerSpec;
    svc[s.Spec.Name.slice(name.length + 1)] = {
      image: c.Image.split('@')[0],
      replicas: s.Spec.Mode?.Replicated?.Replicas,
      env: (c.Env ?? []).length,
      secrets: (c.Secrets ?? []).length,
      configs: (c.Configs ?? []).length,
      mounts: (c.Mounts ?? []).length,
      networks: (s.Spec.TaskTemplate.Networks ?? []).length,
      stopGrace: c.StopGracePeriod,
      update: s.Spec.UpdateConfig?.Order,
    };
  }
  return {
    counts: { services: services.length, secrets: secrets.length, configs: deployedConfigs.length, networks: networks.length },
    stateConfigs: configs.length - deployedConfigs.length,
    services: svc,
  };
}

/** True when every service of `name` has exactly its replica count of running tasks (none extra still stopping, when `exact`). */
async function converged(name, exact = false) {
  const services = await engine(`/services?${q(ns(name))}`);
  if (services.length === 0) return false;
  const tasks = await engine(`/tasks?${q({ service: services.map((s) => s.ID) })}`);
  return services.every((s) => {
    const mine = tasks.filter((t) => t.ServiceID === s.ID);
    const running = mine.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running').length;
    const want = s.Spec.Mode?.Replicated?.Replicas ?? 1;
    return exact
      ? running === want &&
          mine.every((t) => t.DesiredState !== 'running' || t.Status.State === 'running') &&
          mine.filter((t) => t.DesiredState === 'running').length === want
      : running >= want;
  });
}

async function nothingListed(name) {
  const [services, secrets, configs, networks] = await Promise.all([
    engine(`/services?${q(ns(name))}`),
    engine(`/secrets?${q(ns(name))}`),
    engine(`/configs?${q(ns(name))}`),
    engine(`/networks?${q(ns(name))}`),
  ]);
  return services.length + secrets.length + configs.length + networks.length === 0;
}

async function pollUntil(what, fn, timeoutMs = 120_000, everyMs = 50) {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await fn()) return now();
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** docker stack rm leaves named volumes; they can go once the stack's containers are gone. */
async function removeVolumes(name) {
  const deadline = now() + 60_000;
  for (;;) {
    const { Volumes } = await engine(`/volumes?${q({ name: [`${name}_`] })}`);
    const left = (Volumes ?? []).filter((v) => v.Name.startsWith(`${name}_`));
    if (left.length === 0) return;
    await run('docker', ['volume', 'rm', ...left.map((v) => v.Name)]);
    if (now() > deadline) throw new Error(`volumes of ${name} still in use after 60 s: ${left.map((v) => v.Name).join(', ')}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------- statistics and the table

const sorted = (xs) => [...xs].sort((a, b) => a - b);
function median(xs) {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** Nearest-rank 90th percentile. */
const p90 = (xs) => sorted(xs)[Math.max(0, Math.ceil(0.9 * xs.length) - 1)];

function cell(xs, unit) {
  if (!xs?.length) return { med: '—', p90: '—' };
  const f = (v) =>
    unit === 'ms' ? (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`) : String(Math.round(v * 10) / 10);
  return { med: f(median(xs)), p90: f(p90(xs)) };
}

function table(rows) {
  const head = ['', 'bzzzctl median', 'p90', 'docker stack median', 'p90', 'bzzzctl / stack'];
  const lines = rows.map((r) => {
    const b = cell(r.bzzzctl, r.unit);
    const s = cell(r.stack, r.unit);
    const ratio =
      r.ratio ??
      (r.bzzzctl?.length && r.stack?.length && median(r.stack) > 0 ? `×${(median(r.bzzzctl) / median(r.stack)).toFixed(2)}` : '—');
    return [r.label, b.med, b.p90, r.stackText ?? s.med, r.stackText === undefined ? s.p90 : '', ratio];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const fmt = (l) => `| ${l.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    fmt(head),
    `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`,
    ...lines.map(fmt),
  ].join('\n');
}

// ---------------------------------------------------------------- the benchmark

async function preflight() {
  const info = await engine('/info').catch((err) => fail(`cannot reach the Docker engine (${err.message}): run \`npm run swarm:up\``));
  if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm?.ControlAvailable)
    fail('the engine is not a swarm manager: run `npm run swarm:up` (or `docker swarm init`)');
  await engine(`/images/${encodeURIComponent(IMAGE)}/json`).catch(() =>
    fail(`image ${IMAGE} is missing: run \`bash scripts/build-test-images.sh\``),
  );
  if (!existsSync(join(ROOT, 'dist/cli.js'))) fail('the CLI is not built: run `npm run build`');
  const [lease] = await engine(`/configs?${q({ name: ['bzzz-operator_controller-lease'] })}`);
  const l = lease?.Spec.Labels ?? {};
  if (l['io.bzzz.lease.holder'] && Date.now() - Number(l['io.bzzz.lease.renewed-at'] ?? 0) < Number(l['io.bzzz.lease.ttl-ms'] ?? 15000)) {
    fail(
      `a controller (${l['io.bzzz.lease.holder']}) holds the lease: bzzzctl apply would hand over to it instead of writing in-process; stop it and rerun`,
    );
  }
}

async function main() {
  await preflight();
  const dir = mkdtempSync(join(tmpdir(), 'bzzz-bench-apply-'));
  cpSync(join(FIXTURES, 'secrets'), join(dir, 'secrets'), { recursive: true });
  cpSync(join(FIXTURES, 'configs'), join(dir, 'configs'), { recursive: true });
  const specTemplate = readFileSync(join(FIXTURES, 'cluster.yaml.tmpl'), 'utf8');
  const composeTemplate = readFileSync(join(FIXTURES, 'compose.yaml.tmpl'), 'utf8');
  const render = (template, name, file) => {
    const path = join(dir, file);
    writeFileSync(path, template.replaceAll('__NAME__', name));
    return path;
  };

  const ev = recordEvents();
  await sleep(300); // the events stream is attached before the first write
  const made = { stack: new Set(), bzzzctl: new Set() };
  const load = [loadavg()[0]];
  const r = {
    deploy: { bzzzctl: [], stack: [] },
    span: { bzzzctl: [], stack: [] },
    deployWrites: { bzzzctl: [], stack: [] },
    converge: { bzzzctl: [], stack: [] },
    noop: { bzzzctl: [], stack: [] },
    noopWritesFirst: { bzzzctl: [], stack: [] },
    noopWrites: { bzzzctl: [], stack: [] },
    remove: { bzzzctl: [], stack: [] },
    drift: [],
    driftPoll: [],
    reconcile: [],
    startup: [],
  };
  let shapes;

  const tools = {
    stack: {
      // --resolve-image never: the default (always) asks a registry for every image's digest,
      // which with no registry reachable (as here) sometimes costs 5 s; bzzzctl never asks.
      deploy: (name) =>
        must('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', render(composeTemplate, name, `compose-${name}.yaml`), name], {
          cwd: dir,
        }),
      remove: (name) => must('docker', ['stack', 'rm', name]),
    },
    bzzzctl: {
      deploy: async (name) => {
        const res = await must(
          process.execPath,
          [BIN, 'apply', '--no-wait', '-o', 'json', '-f', render(specTemplate, name, `cluster-${name}.yaml`)],
          { cwd: dir },
        );
        if (JSON.parse(res.stdout).mode !== 'in-process')
          throw new Error(`bzzzctl apply ${name} handed over to a controller: stop it and rerun`);
        return res;
      },
      remove: (name) => must(process.execPath, [BIN, 'delete', name]),
    },
  };

  const settle = async () => sleep(400); // events of a write reach the recorder a few ms after the call returns

  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which tool goes first so neither always runs on a quieter engine.
      const order = round % 2 ? ['stack', 'bzzzctl'] : ['bzzzctl', 'stack'];
      const line = [];
      for (const tool of order) {
        const name = `bz${tool === 'stack' ? 's' : 'c'}${runId}${round}`;
        made[tool].add(name);
        const t = tools[tool];
        // (a) deploy, whole process; (b) converged, polled from the same start.
        const dep = await t.deploy(name);
        r.deploy[tool].push(dep.ms);
        const ready = await pollUntil(`${name} converged`, () => converged(name));
        r.converge[tool].push(ready - dep.t0);
        await settle();
        const created = ev.writes(name, dep.t0, dep.t1 + 50, { creates: true });
        r.deployWrites[tool].push(created.length);
        // The span of the deployed objects' creation (bzzzctl's stored spec and record are its own state).
        const objects = created.filter((e) => !e.name.startsWith(`${name}_bzzz-`));
        if (objects.length) r.span[tool].push(Math.max(...objects.map((e) => e.at)) - Math.min(...objects.map((e) => e.at)));
        const sh = await shape(name);
        shapes ??= {};
        shapes[tool] ??= sh;
        // (c) no-op re-apply, three times per round. The first one after convergence also
        // records the new status (Progressing → Ready) in bzzzctl's cluster record: kept apart.
        for (let i = 0; i < 3; i++) {
          const again = await t.deploy(name);
          await settle();
          r.noop[tool].push(again.ms);
          r[i === 0 ? 'noopWritesFirst' : 'noopWrites'][tool].push(ev.writes(name, again.t0, again.t1 + 50).length);
        }
        // (f) remove, until nothing of it is listed.
        const rm = await t.remove(name);
        const gone = await pollUntil(`${name} removed`, () => nothingListed(name));
        r.remove[tool].push(gone - rm.t0);
        if (tool === 'stack') await removeVolumes(name);
        made[tool].delete(name);
        line.push(
          `${tool} ${dep.ms.toFixed(0)} ms / converged ${(ready - dep.t0).toFixed(0)} ms / no-op ${r.noop[tool]
            .slice(-3)
            .map((x) => x.toFixed(0))
            .join(',')} ms`,
        );
      }
      process.stderr.write(`round ${round}/${ROUNDS}: ${line.join('; ')}\n`);
      if (round === 1) checkSameObjects(shapes);
    }

    if (!opts['skip-drift']) await driftPhase(ev, render, specTemplate, dir, r, made);
    if (!opts['skip-reconcile']) r.reconcile = await reconcilePhase(dir);
    if (!opts['skip-startup']) r.startup = await startupPhase(render, specTemplate);
  } finally {
    ev.stop();
    for (const name of made.stack)
      await run('docker', ['stack', 'rm', name])
        .then(() => removeVolumes(name))
        .catch(() => undefined);
    for (const name of made.bzzzctl) await bzzzctl(['delete', name]);
    rmSync(dir, { recursive: true, force: true });
  }
  load.push(loadavg()[0]);
  report(r, shapes, load);
}

function checkSameObjects(shapes) {
  const a = JSON.stringify(shapes.stack.counts);
  const b = JSON.stringify(shapes.bzzzctl.counts);
  if (a !== b) throw new Error(`the two tools made different objects: docker stack ${a}, bzzzctl ${b}`);
  for (const [svc, s] of Object.entries(shapes.stack.services)) {
    const o = shapes.bzzzctl.services[svc];
    if (JSON.stringify(s) !== JSON.stringify(o))
      throw new Error(`service ${svc} differs: docker stack ${JSON.stringify(s)}, bzzzctl ${JSON.stringify(o)}`);
  }
}

async function driftPhase(ev, render, specTemplate, dir, r, made) {
  const name = `bzd${runId}`;
  const target = `${name}_redis`;
  process.stderr.write(`drift: starting bzzzctl controller run, cluster ${name}\n`);
  // This controller runs on the host, off the clusters' overlay networks: it cannot reach the
  // agents by their service names (here the busybox stand-ins do not answer anyway), and each
  // probe would wait for its timeout inside the reconcile pass.
  const help = await bzzzctl(['controller', 'run', '--help']);
  const noProbe = help.stdout.includes('--no-probe-agents') ? ['--no-probe-agents'] : [];
  const ctl = spawn(process.execPath, [BIN, 'controller', 'run', '--listen', '127.0.0.1:0', '--resync', '30s', ...noProbe], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  ctl.stderr.on('data', (d) => (logs += d));
  const exited = new Promise((res) => ctl.on('exit', res));
  try {
    await pollUntil('the controller to start', async () => logs.includes('"controller started"'), 20_000, 50);
    made.bzzzctl.add(name);
    const applied = await must(process.execPath, [BIN, 'apply', '-f', render(specTemplate, name, `cluster-${name}.yaml`)], { cwd: dir });
    if (!/by the controller/.test(applied.stdout + applied.stderr))
      throw new Error(`apply of ${name} did not go through the controller:\n${applied.stdout}${applied.stderr}`);
    await pollUntil(`${name} converged`, () => converged(name, true));
    for (let i = 0; i < ROUNDS; i++) {
      const before = now();
      await must('docker', ['service', 'scale', '--detach', `${target}=5`]);
      const drift = await ev.waitFor(
        (e) => e.type === 'service' && e.action === 'update' && e.name === target && e.at >= before && e.attrs['replicas.new'] === '5',
        10_000,
        `${target} scaled to 5`,
      );
      const fixed = await ev.waitFor(
        (e) => e.type === 'service' && e.action === 'update' && e.name === target && e.at > drift.at && e.attrs['replicas.new'] === '1',
        10_000,
        `${target} scaled back to 1 by the controller`,
      );
      const seen = await pollUntil(
        `${target} back at 1 replica`,
        async () => (await engine(`/services/${target}`)).Spec.Mode.Replicated.Replicas === 1,
        10_000,
        5,
      );
      r.drift.push(fixed.at - drift.at);
      r.driftPoll.push(seen - drift.at);
      process.stderr.write(`drift ${i + 1}/${ROUNDS}: undone ${(fixed.at - drift.at).toFixed(0)} ms after the scale event\n`);
      await pollUntil(`${name} back to its replica counts`, () => converged(name, true), 60_000, 100);
    }
  } finally {
    ctl.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout')]);
    if (code === 'timeout') ctl.kill('SIGKILL');
    else if (code !== 0) process.stderr.write(`controller exited ${code}:\n${logs.split('\n').slice(-10).join('\n')}\n`);
  }
  await must(process.execPath, [BIN, 'delete', name]);
  made.bzzzctl.delete(name);
}

async function startupPhase(render, specTemplate) {
  ensureTools(['hyperfine']); // Debian's hyperfine, from scripts/install-tools.sh --bench
  const spec = render(specTemplate, 'bzstartup', 'cluster-startup.yaml');
  const json = join(ROOT, '.build/bench-apply/startup.json');
  const cases = [
    ["node -e ''", `node -e ''`],
    ['bzzzctl --version', `node ${BIN} --version`],
    ['bzzzctl validate -f FILE', `node ${BIN} validate -f ${spec}`],
  ];
  const args = ['-N', '--warmup', '3', '--runs', String(Math.max(20, ROUNDS * 4)), '--style', 'none', '--export-json', json];
  for (const [n, c] of cases) args.push('-n', n, c);
  await must('hyperfine', args);
  return JSON.parse(readFileSync(json, 'utf8')).results.map((x) => ({
    name: x.command,
    times: x.times.map((t) => t * 1000),
    user: x.user * 1000,
    system: x.system * 1000,
  }));
}

async function reconcilePhase(dir) {
  const out = join(ROOT, '.build/bench-apply');
  await build({
    entryPoints: { reconcile: join(ROOT, 'test/bench/apply-vs-stack.reconcile.ts') },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    outExtension: { '.js': '.mjs' },
  });
  process.stderr.write('reconcile: in-process passes (warm-up round first)\n');
  const res = await run(
    process.execPath,
    [join(out, 'reconcile.mjs'), join(FIXTURES, 'cluster.yaml.tmpl'), dir, String(ROUNDS), `bzr${runId}`],
    { cwd: ROOT, env: { BZZZCTL_BIN: BIN } },
  );
  if (res.code !== 0) throw new Error(`the in-process reconcile bench failed:\n${res.stderr}`);
  return res.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function report(r, shapes, load) {
  const rec = r.reconcile;
  const noopPasses = rec.flatMap((x) => x.noops);
  const c = shapes.stack.counts;
  const rows = [
    { label: '(a) deploy, whole process', unit: 'ms', bzzzctl: r.deploy.bzzzctl, stack: r.deploy.stack },
    { label: "(a') engine write span, first→last event", unit: 'ms', bzzzctl: r.span.bzzzctl, stack: r.span.stack },
    {
      label: '    objects created (create events)',
      unit: 'n',
      bzzzctl: r.deployWrites.bzzzctl,
      stack: r.deployWrites.stack,
      ratio: 'bzzzctl: +2 state',
    },
    { label: '(b) converged (all tasks running)', unit: 'ms', bzzzctl: r.converge.bzzzctl, stack: r.converge.stack },
    { label: '(c) no-op re-apply, whole process', unit: 'ms', bzzzctl: r.noop.bzzzctl, stack: r.noop.stack },
    {
      label: '(c) writes in a no-op re-apply',
      unit: 'n',
      bzzzctl: r.noopWrites.bzzzctl,
      stack: r.noopWrites.stack,
      ratio: `${median(r.noopWrites.bzzzctl)} vs ${median(r.noopWrites.stack)}`,
    },
    {
      label: '    … the first one after convergence',
      unit: 'n',
      bzzzctl: r.noopWritesFirst.bzzzctl,
      stack: r.noopWritesFirst.stack,
      ratio: 'bzzzctl: status',
    },
  ];
  if (r.drift.length) {
    rows.push({
      label: '(d) drift undone: scale event → fix event',
      unit: 'ms',
      bzzzctl: r.drift,
      stackText: 'never undone',
      ratio: 'no peer',
    });
    rows.push({ label: '(d) … → fix visible to a poller', unit: 'ms', bzzzctl: r.driftPoll, stackText: 'never undone', ratio: 'no peer' });
  }
  if (rec.length) {
    rows.push({
      label: '(e) warm reconciler: all objects written',
      unit: 'ms',
      bzzzctl: rec.map((x) => x.allWrittenMs),
      stackText: 'target < 50 ms',
      ratio: '',
    });
    rows.push({
      label: '(e) warm reconciler: whole first pass',
      unit: 'ms',
      bzzzctl: rec.map((x) => x.firstPassMs),
      stackText: '',
      ratio: '',
    });
    rows.push({
      label: '(e) warm reconciler: no-op pass',
      unit: 'ms',
      bzzzctl: noopPasses.map((x) => x.ms),
      stackText: 'target < 50 ms',
      ratio: '',
    });
    rows.push({
      label: '(e) writes in a no-op pass',
      unit: 'n',
      bzzzctl: noopPasses.map((x) => x.writes),
      stackText: 'target 0',
      ratio: '',
    });
  }
  rows.push({ label: '(f) remove until nothing is listed', unit: 'ms', bzzzctl: r.remove.bzzzctl, stack: r.remove.stack });

  console.log(
    `bzzzctl apply vs docker stack deploy — ${ROUNDS} rounds (no-op re-apply: 3 per round${rec.length ? `; warm reconciler: ${rec.length} rounds × 5 no-op passes` : ''})`,
  );
  console.log(
    `objects per deploy: ${c.services} services (${Object.values(shapes.stack.services).reduce((n, s) => n + s.replicas, 0)} tasks), ${c.secrets} secrets, ${c.configs} configs, ${c.networks} networks — the same for both (checked per service), plus bzzzctl's ${shapes.bzzzctl.stateConfigs} state configs (stored spec, cluster record)`,
  );
  console.log(`load average (1 min) at start / end: ${load.map((x) => x.toFixed(2)).join(' / ')} on ${availableParallelism()} CPUs`);
  console.log(table(rows));
  if (r.startup.length) {
    const bare = median(r.startup[0].times);
    console.log(`\nstart-up, whole process (hyperfine, ${r.startup[0].times.length} runs each)`);
    for (const x of r.startup) {
      console.log(
        `  ${x.name.padEnd(26)} median ${cell(x.times, 'ms').med.padStart(7)}  p90 ${cell(x.times, 'ms').p90.padStart(7)}  CPU ${(x.user + x.system).toFixed(0).padStart(4)} ms  ×${(median(x.times) / bare).toFixed(2)} bare node`,
      );
    }
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ rounds: ROUNDS, shapes, load, results: r }, null, 2));
}

main().catch((err) => {
  process.stderr.write(`apply-vs-stack: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
