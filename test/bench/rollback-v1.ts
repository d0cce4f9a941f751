// Rollback to the v1 systemd services (issue 10's target: trigger → all three v1 units active, mesh
// verified, proxy switched in < 10 s), against the seeds' rollback-v2.sh steps run as a script on
// the same hosts in the same run (test/bench/fixtures/rollback-v2.sh: `docker service rm`, the
// seeds' `sleep 30`, `systemctl start` over ssh one host after the other, a curl mesh check,
// HAProxy switched with socat over ssh, a Slack POST).
//
// Real parts: the local swarm runs a v2 cluster of one agent of this tree's image (host-mode
// published health port), three v1 hosts (walnut, ironwood, acacia: systemd + sshd containers
// running the v1 stand-in as bzzz@<host>.service) and an HAProxy proxy in front of both
// (test/support/v1-hosts.ts). A loop sends a request through HAProxy every 50 ms (1 s timeout)
// all the time and records which ones failed.
//   1. `--rounds` times: `bzzzctl rollback --to v1 NAME --identity KEY` (no controller: the plan
//      runs in the command, under the lease). The clock starts when the command is spawned; the
//      plan's journal gives when start-v1 (every unit active), verify-v1 (mesh: every agent healthy
//      with 2 peers) and switch-proxy finished; the command's exit is the wall clock. Then
//      `rollback --to v2` (timed too) for the next round.
//   2. Once: rollback-v2.sh with the same hosts, key and known_hosts, V2_SERVICES = the agent's
//      service; its `step <name> <ms>` lines give the same points.
// Prints a table (median, min–max over the rounds), the ratio, and each side's longest window of
// failed requests.
//
//   npm run bench:rollback-v1                      # 3 rounds, the seeds' sleep 30
//   npm run bench:rollback-v1 -- --rounds 5 --sleep 30
//
// Needs: Docker in swarm mode, no other controller holding the lease (it waits for it), ssh, curl.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { COMPANIONS_OFF } from '../support/specs.js';
import { ensureV1HostImage, V1_AGENT_TAG } from '../support/v1-host-image.js';
import { bridgeGateway, HAPROXY_STATE_FILE, startV1Hosts, type V1Hosts } from '../support/v1-hosts.js';
import { V1Store } from '../../src/store/v1-store.js';
import type { V1PlanState } from '../../src/spec/v1.js';
import {
  BIN,
  ROOT,
  docker,
  load,
  must,
  now,
  onExit,
  pickPorts,
  port,
  quantile,
  removeCluster,
  run,
  store,
  waitForFreeLease,
} from './rollout-support.js';
import { longestOutage, startTraffic } from '../support/proxy-traffic.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    sleep: { type: 'string', default: '30' },
  },
});
const ROUNDS = Number(args.rounds);
const IMAGE = 'bzzz/bzzzctl:bench-rollback-v1';
const V2_SERVER = 'v2-a';
const name = `bench-v1-${Math.random().toString(36).slice(2, 6)}`;
const [api, health] = pickPorts(2);
const plans = new V1Store(port, store);

function spec(v1: V1Hosts, keyFile: string): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "0.1.0"
  secrets:
    v1_ssh_key: { file: ${keyFile} }
  agent:
    image: ${IMAGE}
    args: [agent, run]
    instances:
      - name: a
        publish: { api: ${api}, health: ${health}, mode: host }
    networks: [internal, external]
    role: backend_developer
    stopGracePeriod: 2s
${COMPANIONS_OFF}  v1:
    ssh: { privateKeySecret: v1_ssh_key }
    hosts:
${v1.hosts.map((h) => `      - { name: ${h.name}, address: ${h.address}, hostKey: "${h.hostKey}" }`).join('\n')}
    proxy:
      haproxy:
        host: { address: ${v1.proxy.address}, hostKey: "${v1.proxy.hostKey}" }
        backend: bzzz
        v1Servers: [${v1.hosts.map((h) => h.name).join(', ')}]
        v2Servers: [${V2_SERVER}]
        stateFile: ${HAPROXY_STATE_FILE}
`;
}

const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const med = (xs: number[]) => quantile(xs, 0.5);
const range = (xs: number[]) => `${s2(Math.min(...xs))}–${s2(Math.max(...xs))}`;

async function waitUntil(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bzzz-bench-v1-'));
let v1: V1Hosts | undefined;
let traffic: ReturnType<typeof startTraffic> | undefined;
const slack = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
const cleanup = onExit(async () => {
  await traffic?.stop();
  slack.close();
  await removeCluster(name);
  await v1?.stop();
  await docker('rmi', IMAGE).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

try {
  console.log(`rollback to v1: cluster ${name}, ${ROUNDS} round(s) of bzzzctl, 1 of rollback-v2.sh (sleep ${args.sleep}), load ${load()}`);
  await waitForFreeLease();
  await ensureV1HostImage((m) => console.log(`(${m})`));
  await docker('tag', `bzzz/bzzzctl:${V1_AGENT_TAG}`, IMAGE);
  const gateway = await bridgeGateway();
  v1 = await startV1Hosts({ v2Servers: [{ name: V2_SERVER, address: `${gateway}:${health}` }], onProgress: (m) => console.log(`(${m})`) });
  const hosts = v1;
  const keyFile = await hosts.writePrivateKey(join(dir, 'id_ed25519'));
  const knownHosts = await hosts.writeKnownHosts(join(dir, 'known_hosts'));
  writeFileSync(join(dir, 'cluster.yaml'), spec(hosts, keyFile));
  await must(process.execPath, [BIN, 'apply', '-f', join(dir, 'cluster.yaml'), '--timeout', '180s']);
  traffic = startTraffic(hosts.proxyUrl, now);
  const t = traffic;
  const recent = (by: (b: string | undefined) => boolean) => async () => {
    const r = t.samples.filter((x) => x.at > now() - 1000);
    return r.length >= 5 && r.every((x) => x.ok && by(x.by));
  };
  const names = hosts.hosts.map((h) => h.name);
  await waitUntil(
    'HAProxy serving v2',
    recent((b) => b === V2_SERVER),
  );

  // ---- bzzzctl rollback --to v1, ROUNDS times
  const ours: { units: number; mesh: number; proxy: number; done: number; wall: number; outage: number; back: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const t0 = now();
    const r = await run(process.execPath, [BIN, 'rollback', '--to', 'v1', name, '--identity', keyFile, '-o', 'json']);
    const wall = now() - t0;
    if (r.code !== 0) throw new Error(`rollback --to v1 exited ${r.code}:\n${r.stdout}${r.stderr}`);
    const plan = (await plans.get(name)) as V1PlanState;
    const at = (step: string) => Date.parse(plan.steps.find((s) => s.name === step && s.state === 'done')?.finishedAt ?? '') - t0;
    await waitUntil(
      'HAProxy serving v1',
      recent((b) => names.includes(b ?? '')),
    );
    const outage = longestOutage(t.samples, t0, now()).ms;
    const b0 = now();
    const back = await run(process.execPath, [BIN, 'rollback', '--to', 'v2', name, '--identity', keyFile]);
    if (back.code !== 0) throw new Error(`rollback --to v2 exited ${back.code}:\n${back.stdout}${back.stderr}`);
    const backMs = now() - b0;
    await waitUntil(
      'HAProxy serving v2 again',
      recent((b) => b === V2_SERVER),
    );
    const row = {
      units: at('start-v1'),
      mesh: at('verify-v1'),
      proxy: at('switch-proxy'),
      done: Date.parse(plan.finishedAt ?? '') - t0,
      wall,
      outage,
      back: backMs,
    };
    ours.push(row);
    console.log(
      `round ${round}: units active ${s2(row.units)}, mesh verified ${s2(row.mesh)}, proxy switched ${s2(row.proxy)}, ` +
        `plan done ${s2(row.done)}, command ${s2(wall)}; longest failed-request window ${row.outage.toFixed(0)} ms; back to v2 in ${s1(backMs)}`,
    );
  }

  // ---- the seeds' rollback-v2.sh, once, on the same hosts
  const hits: number[] = [];
  slack.on('request', () => hits.push(now()));
  await new Promise<void>((r) => slack.listen(0, '127.0.0.1', r));
  const slackUrl = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0/B0/bench`;
  const t0 = now();
  const script = await run('bash', [join(ROOT, 'test/bench/fixtures/rollback-v2.sh')], {
    V2_SERVICES: `${name}_agent-a`,
    V1_HOSTS: hosts.hosts.map((h) => `${h.name}=${h.address}`).join(' '),
    PROXY_HOST: hosts.proxy.address,
    V2_SERVERS: V2_SERVER,
    SLACK_WEBHOOK: slackUrl,
    SSH_KEY: keyFile,
    KNOWN_HOSTS: knownHosts,
    ROLLBACK_SLEEP: args.sleep,
  });
  const scriptWall = now() - t0;
  if (script.code !== 0) throw new Error(`rollback-v2.sh exited ${script.code}:\n${script.stdout}${script.stderr}`);
  const steps = new Map([...script.stderr.matchAll(/^step (\S+) (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  await waitUntil(
    'HAProxy serving v1 after the script',
    recent((b) => names.includes(b ?? '')),
  );
  const scriptOutage = longestOutage(t.samples, t0, now());
  const states = await Promise.all(names.map((n) => hosts.unitState(n)));
  console.log(
    `rollback-v2.sh: ${[...steps].map(([k, v]) => `${k} ${s2(v)}`).join(', ')}; exit after ${s2(scriptWall)}; units ${states.join('/')}; ` +
      `longest failed-request window ${s1(scriptOutage.ms)} (${scriptOutage.failed} of ${scriptOutage.total} requests failed); Slack hit ${hits.length}×`,
  );

  // ---- the table
  const col = (f: (r: (typeof ours)[number]) => number) => ours.map(f);
  const row = (what: string, xs: number[], seeds: number | undefined) =>
    `| ${what} | ${s2(med(xs))} (${range(xs)}) | ${seeds === undefined ? '—' : s2(seeds)} | ${seeds === undefined ? '—' : `${(seeds / med(xs)).toFixed(1)}×`} |`;
  const lines = [
    '',
    `| trigger → | bzzzctl rollback --to v1, median (min–max, ${ROUNDS} rounds) | rollback-v2.sh | rollback-v2.sh / bzzzctl |`,
    '|:--|--:|--:|--:|',
    row(
      'all three v1 units active',
      col((r) => r.units),
      steps.get('start-v1'),
    ),
    row(
      'v1 mesh verified (every agent healthy, 2 peers)',
      col((r) => r.mesh),
      steps.get('verify-v1'),
    ),
    row(
      '**proxy switched to v1**',
      col((r) => r.proxy),
      steps.get('switch-proxy'),
    ),
    row(
      'plan done / script done (v2 stopped, notified)',
      col((r) => r.done),
      steps.get('notify'),
    ),
    row(
      'command exits (wall clock)',
      col((r) => r.wall),
      scriptWall,
    ),
    `| longest window of failed requests through HAProxy | ${med(col((r) => r.outage)).toFixed(0)} ms (max ${Math.max(...col((r) => r.outage)).toFixed(0)} ms) | ${s1(scriptOutage.ms)} | |`,
    `| back to v2 (\`rollback --to v2\`) | ${s1(med(col((r) => r.back)))} | (not in the seeds) | |`,
    '',
    `machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Docker ${(await docker('version', '--format', '{{.Server.Version}}')).trim()}, Node ${process.versions.node}, load ${load()}`,
  ];
  console.log(lines.join('\n'));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
} finally {
  await cleanup();
  process.exit();
}
