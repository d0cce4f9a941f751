// The v1 → v2 migration end to end, all real (issue 11): three v1 hosts (walnut, ironwood, acacia)
// as systemd + sshd containers running the v1 stand-in unit with a generated conversation log
// each (acacia's corrupted), HAProxy in front of the v1 hosts and the v2 agent's host-mode
// published health port, a v2 cluster built from this tree on the local swarm and a controller
// (`bzzzctl controller run` with the SSH key in --secrets-dir) that drives spec.migration.targetPhase
// v1-only → parallel → content-migrated → cutover (walked back once mid-way) → complete, then all
// the way back to v1-only. A loop of requests through HAProxy runs the whole time. The tests build
// on each other in order (one set-up: hosts and cluster start once).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, cli, docker, port, specDir, uniqueName, waitFor, writeSpec, type Controller } from '../integration/harness.js';
import { tagImage, untagImages } from '../support/agent-image.js';
import { spawnLeadingController } from '../support/leading-controller.js';
import { freePort } from '../support/ports.js';
import { COMPANIONS_OFF } from '../support/specs.js';
import { ensureV1HostImage, V1_AGENT_TAG } from '../support/v1-host-image.js';
import { bridgeGateway, startV1Hosts, HAPROXY_STATE_FILE, type V1Hosts } from '../support/v1-hosts.js';
import { v1LogEntries, writeV1Log, type V1LogOptions } from '../support/v1-log.js';
import { longestOutage, startTraffic } from '../support/proxy-traffic.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { MigrationStore } from '../../src/store/migration-store.js';
import type { MigrationPhase } from '../../src/spec/types.js';
import type { MigrationState } from '../../src/spec/migration.js';
import { deriveApiToken, MIGRATION_CALLER } from '../../src/crypto/derive.js';
import { ageDecrypt, generateAgeIdentity } from '../../src/crypto/age-stream.js';
import { hashBytes } from '../../src/crypto/blake3.js';
import { canonicalEntry, type V1LogEntry } from '../../src/hosts/v1-log.js';
import { parseManifestPage, type ManifestRoot } from '../../src/reconcilers/content-import.js';
import type { V1ArchiveManifest } from '../../src/hosts/v1-archive.js';

const IMAGE = 'bzzz/bzzzctl:e2e-migration';
const V1_NAMES = ['walnut', 'ironwood', 'acacia'];
const V2_SERVER = 'v2-a';
const KEY_SECRET = 'v1_ssh_key';
const LOG_PATH = '/var/lib/bzzz/conversation.log';
const CONTROLLER_ARGS = ['--agents-via', 'published-ports', '--no-probe-agents', '--lease-ttl', '3s', '--resync', '2s'];
/** The logs: acacia's first one has a changed `data` (index 40) and a broken `prev_hash` (index 90). */
const LOGS: Record<string, V1LogOptions> = {
  walnut: { entries: 400, seed: 11 },
  ironwood: { entries: 3000, seed: 12 },
  acacia: { entries: 300, seed: 13, changeData: [40], breakPrevHash: [90] },
};
const ACACIA_FIXED: V1LogOptions = { entries: 300, seed: 14 };

describe('v1 → v2 migration: real swarm, real v1 hosts over SSH, real HAProxy, one controller driving targetPhase', () => {
  const name = uniqueName('e2e-mig');
  const dir = specDir();
  const secretsDir = mkdtempSync(join(tmpdir(), 'bzzz-e2e-mig-secrets-'));
  const archiveDir = mkdtempSync(join(tmpdir(), 'bzzz-e2e-mig-archive-'));
  const age = generateAgeIdentity();
  const store = new ClusterStore(port);
  const migrations = new MigrationStore(port, store);
  let v1: V1Hosts | undefined;
  let keyFile = '';
  let ports: { api: number; health: number };
  let traffic: ReturnType<typeof startTraffic> | undefined;
  let controller: Controller | undefined;
  let testStart = 0;
  /** Agent blobs on disk before the import. */
  let blobsBefore = 0;
  const tag = (msg: string) => console.log(`[e2e-migration] ${msg}`);

  function clusterSpec(target: MigrationPhase): string {
    const h = v1!;
    const hosts = h.hosts.map((x) => `      - { name: ${x.name}, address: ${x.address}, hostKey: "${x.hostKey}" }`);
    return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "0.1.0"
  secrets:
    ${KEY_SECRET}: { file: ${keyFile} }
  agent:
    image: ${IMAGE}
    args: [agent, run]
    instances:
      - name: a
        publish: { api: ${ports.api}, health: ${ports.health}, mode: host }
    networks: [internal, external]
    role: backend_developer
    stopGracePeriod: 2s
${COMPANIONS_OFF}  v1:
    ssh: { privateKeySecret: ${KEY_SECRET}, timeout: 5s }
    hosts:
${hosts.join('\n')}
    verify: { timeout: 15s }
    proxy:
      haproxy:
        host: { address: ${h.proxy.address}, hostKey: "${h.proxy.hostKey}" }
        backend: bzzz
        v1Servers: [${V1_NAMES.join(', ')}]
        v2Servers: [${V2_SERVER}]
        stateFile: ${HAPROXY_STATE_FILE}
  migration:
    targetPhase: ${target}
    content: { logPath: ${LOG_PATH} }
    cutover: { steps: [10, 50, 100], hold: 3s }
    archive: { dir: ${archiveDir}, recipients: ["${age.recipient}"] }
`;
  }

  async function target(phase: MigrationPhase): Promise<void> {
    const file = writeSpec(dir, clusterSpec(phase), 'cluster.yaml');
    const r = await cli(['apply', '-f', file, '--no-wait', '--timeout', '60s']);
    expect(r.code, `${r.stdout}\n${r.stderr}`.slice(-2000)).toBe(0);
  }

  async function state(): Promise<MigrationState | undefined> {
    return migrations.get(name);
  }

  /** Waits until the migration sits at `phase` with no transition (fails early when it pauses). */
  async function reach(phase: MigrationPhase, timeoutMs = 120_000): Promise<MigrationState> {
    return waitFor(
      `migration phase ${phase}`,
      async () => {
        const s = await state();
        if (s?.paused) throw new Error(`the migration paused: ${s.paused.message}\n${JSON.stringify(s.transition, null, 1)}`);
        return s && s.phase === phase && !s.transition ? s : undefined;
      },
      timeoutMs,
      250,
    );
  }

  async function statusJson(): Promise<MigrationState & { name: string; target: string }> {
    const r = await cli(['migrate', 'status', name, '-o', 'json']);
    expect([0, 3, 4], r.stderr).toContain(r.code);
    return JSON.parse(r.stdout);
  }

  async function unitStates(): Promise<string[]> {
    return Promise.all(V1_NAMES.map((n) => v1!.unitState(n)));
  }

  async function unitEnabled(): Promise<string[]> {
    return Promise.all(V1_NAMES.map(async (n) => (await v1!.exec(n, ['systemctl', 'is-enabled', v1!.host(n).unit])).stdout.trim()));
  }

  async function agentService(): Promise<{ replicas: number; running: number }> {
    const s = JSON.parse(await docker('service', 'inspect', `${name}_agent-a`))[0];
    const tasks = (await docker('service', 'ps', `${name}_agent-a`, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}'))
      .split('\n')
      .filter((l) => l.startsWith('Running'));
    return { replicas: s.Spec.Mode.Replicated.Replicas as number, running: tasks.length };
  }

  /** Blob files in the v2 agent's content store (its data volume). */
  async function agentBlobs(): Promise<number> {
    const s = JSON.parse(await docker('service', 'inspect', `${name}_agent-a`))[0];
    const mount = (s.Spec.TaskTemplate.ContainerSpec.Mounts as { Source: string; Target: string }[]).find((m) =>
      m.Source.endsWith('agent-a-data'),
    );
    const id = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}_agent-a`)).trim().split('\n')[0];
    const out = await docker('exec', id, 'sh', '-c', `find ${mount!.Target} -path '*/blobs/*' -type f | wc -l`);
    return Number(out.trim());
  }

  /** Who answered the requests made after `since` (at least `n` of them). */
  async function servedAfter(since: number, n = 10): Promise<string[]> {
    return waitFor(
      `${n} answers through HAProxy`,
      async () => {
        const s = traffic!.samples.filter((x) => x.at > since && x.ok);
        return s.length >= n ? s.map((x) => x.by ?? '?') : undefined;
      },
      20_000,
      100,
    );
  }

  async function writeLog(host: string, o: V1LogOptions): Promise<string> {
    const file = join(dir, `${host}-${o.seed}.log`);
    await writeV1Log(file, o);
    await v1!.exec(host, ['mkdir', '-p', '/var/lib/bzzz']);
    await docker('cp', file, `${v1!.host(host).containerId}:${LOG_PATH}`);
    return file;
  }

  async function startController(): Promise<void> {
    controller = await spawnLeadingController(['--secrets-dir', secretsDir, ...CONTROLLER_ARGS, '--clusters', name]);
  }

  beforeAll(async () => {
    const t0 = Date.now();
    await docker('service', 'rm', 'bzzz-operator_controller').catch(() => undefined);
    await ensureV1HostImage();
    await tagImage(`bzzz/bzzzctl:${V1_AGENT_TAG}`, IMAGE);
    ports = { api: await freePort(), health: await freePort() };
    const gateway = await bridgeGateway();
    v1 = await startV1Hosts({ v2Servers: [{ name: V2_SERVER, address: `${gateway}:${ports.health}` }] });
    const h = v1;
    keyFile = await h.writePrivateKey(join(dir, 'id_ed25519'));
    writeFileSync(join(secretsDir, `${name}_${KEY_SECRET}`), h.privateKey.endsWith('\n') ? h.privateKey : `${h.privateKey}\n`, {
      mode: 0o600,
    });
    // The v1-only world: the units enabled and running, their logs, the proxy on v1 (v2 in service at weight 0).
    await Promise.all(
      h.hosts.map(async (x) => {
        const r = await h.exec(x, ['systemctl', 'enable', '--now', x.unit]);
        if (r.exitCode !== 0) throw new Error(`${x.name}: ${r.stderr}`);
        await writeLog(x.name, LOGS[x.name]!);
      }),
    );
    for (const n of V1_NAMES) await h.haproxy(`set server bzzz/${n} state ready`);
    await h.haproxy(`set weight bzzz/${V2_SERVER} 0`);
    traffic = startTraffic(h.proxyUrl);
    await waitFor(
      'HAProxy to answer from v1',
      async () => traffic!.samples.filter((s) => s.at > Date.now() - 1000 && s.ok && V1_NAMES.includes(s.by ?? '')).length >= 5,
      60_000,
      200,
    );
    testStart = Date.now();
    await startController();
    await target('v1-only');
    tag(`set up in ${((Date.now() - t0) / 1000).toFixed(1)} s (hosts, logs, controller, cluster ${name}, HAProxy serving v1)`);
  }, 300_000);

  afterAll(async () => {
    if (controller && controller.proc.exitCode === null) {
      controller.proc.kill('SIGTERM');
      await new Promise((r) => controller!.proc.once('exit', r));
    }
    await traffic?.stop();
    await v1?.stop();
    await cleanup(name);
    await untagImages([IMAGE]);
    for (const d of [secretsDir, dir, archiveDir]) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  it('v1-only: the migration record starts there and keeps v2 parked at zero replicas', async () => {
    const s = await waitFor('the migration record', async () => state(), 30_000, 200);
    expect(s).toMatchObject({ phase: 'v1-only', parkV2: true });
    await waitFor('the agent service (parked)', async () => agentService().catch(() => undefined), 60_000, 500);
    expect(await agentService()).toEqual({ replicas: 0, running: 0 });
    expect(await unitStates()).toEqual(['active', 'active', 'active']);
  });

  it('parallel: v2 comes up beside v1, the gates are recorded with their values, v1 keeps serving', async () => {
    const from = Date.now();
    await target('parallel');
    // The gates of v1-only → parallel as they were checked (the record keeps them until the phase is reached).
    const gated = await waitFor(
      'the gates of v1-only → parallel passed',
      async () => {
        const t = (await state())?.transition;
        return t?.to === 'parallel' && t.gates.length === 4 && t.gates.every((g) => g.ok) ? t.gates : undefined;
      },
      60_000,
      100,
    );
    tag(`gates: ${gated.map((g) => `${g.name}=${g.value}`).join('; ')}`);
    expect(gated.map((g) => g.name).sort()).toEqual(['ports-free', 'proxy-v1', 'v1-mesh', 'v1-units']);
    // The v1 hosts are containers of their own, not swarm nodes: nothing can clash.
    expect(gated.find((g) => g.name === 'ports-free')?.value).toBe('no v1 host is a swarm node');
    expect(gated.find((g) => g.name === 'v1-units')?.value).toMatch(/3\/3/);
    const s = await reach('parallel', 180_000);
    tag(`parallel reached ${((Date.now() - from) / 1000).toFixed(1)} s after the apply`);
    expect(s.parkV2).toBe(false);
    expect(await agentService()).toEqual({ replicas: 1, running: 1 });
    const st = await statusJson();
    expect(st).toMatchObject({ name, target: 'parallel', phase: 'parallel' });
    expect(st.log?.some((e) => e.kind === 'phase' && e.to === 'parallel')).toBe(true);
    expect(await unitStates()).toEqual(['active', 'active', 'active']);
    const by = await servedAfter(Date.now());
    expect(
      by.every((b) => V1_NAMES.includes(b)),
      by.join(','),
    ).toBe(true);
    const o = longestOutage(traffic!.samples, from);
    expect(o.failed, JSON.stringify(o)).toBe(0);
  });

  it('content-migrated: a broken chain pauses at acacia naming the breaks; a killed controller resumes without storing anything twice', async () => {
    const h = v1!;
    blobsBefore = await agentBlobs();
    await target('content-migrated');
    // Kill the controller while ironwood's (larger) log is being imported.
    const at = await waitFor(
      'import:ironwood under way',
      async () => {
        const s = await state();
        const step = s?.transition?.steps.find((x) => x.name === 'import:ironwood');
        return step?.state === 'running' ? step : undefined;
      },
      60_000,
      20,
    );
    // …once some of its entries are in the agent's store (pass 2 under way), so the next run finds them there.
    const walnutBlobs = LOGS.walnut!.entries + 2;
    const duringKill = await waitFor(
      "some of ironwood's entries stored",
      async () => {
        const n = (await agentBlobs()) - blobsBefore;
        return n > walnutBlobs + 100 ? n : undefined;
      },
      60_000,
      20,
    );
    controller!.proc.kill('SIGKILL');
    await new Promise((r) => controller!.proc.once('exit', r));
    const stepAtKill = (await state())?.transition?.steps.find((x) => x.name === 'import:ironwood');
    tag(
      `controller killed during import:ironwood (started ${at.startedAt}, ${stepAtKill?.state} at the kill); ${duringKill - walnutBlobs} of ironwood's ${LOGS.ironwood!.entries} entries stored`,
    );
    expect(stepAtKill?.state).toBe('running');
    const killedAt = Date.now();
    await startController();

    // acacia: the chain breaks stop the phase with host, line, index and reason.
    const paused = await waitFor(
      'the migration paused at import:acacia',
      async () => {
        const s = await state();
        return s?.paused ? s : undefined;
      },
      120_000,
      200,
    );
    tag(`second controller reached acacia's pause ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const steps = paused.transition!.steps;
    expect(steps.map((x) => `${x.name}:${x.state}`)).toEqual(['import:walnut:done', 'import:ironwood:done', 'import:acacia:failed']);
    expect(paused.paused!.message).toMatch(/acacia/);
    const breaks = paused.content?.acacia?.breaks ?? [];
    expect(breaks.map((b) => b.index)).toEqual([40, 90]);
    expect(breaks.every((b) => b.line > 0 && b.reason.length > 0)).toBe(true);
    expect(paused.content?.acacia?.manifest).toBeUndefined();
    const text = await cli(['migrate', 'status', name]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/PAUSED/);
    expect(text.stdout).toMatch(/acacia: .*2 break\(s\): line 41 index 40: .*; line 91 index 90: /);
    tag(
      `status: ${text.stdout
        .split('\n')
        .find((l) => l.includes('content acacia'))
        ?.trim()}`,
    );

    // The same log offline: verify-log exits 1 and lists both breaks.
    const copy = join(dir, 'acacia-export.log');
    await docker('cp', `${h.host('acacia').containerId}:${LOG_PATH}`, copy);
    const vl = await cli(['migrate', 'verify-log', copy]);
    expect(vl.code, vl.stderr).toBe(1);
    expect(vl.stdout).toMatch(/BROKEN: 2 breaks/);
    expect(vl.stdout).toMatch(/line 41, index 40: hash-mismatch/);
    expect(vl.stdout).toMatch(/line 91, index 90: broken-prev-hash/);

    // An intact log on acacia, resume: the phase is reached.
    await writeLog('acacia', ACACIA_FIXED);
    const res = await cli(['migrate', 'resume', name]);
    expect(res.code, res.stderr).toBe(0);
    const done = await reach('content-migrated', 120_000);
    for (const n of V1_NAMES) expect(done.content?.[n]?.manifest, n).toMatch(/^blake3:[0-9a-f]{64}$/);
    expect(done.content?.ironwood?.entries).toBe(LOGS.ironwood!.entries);
    expect(done.content?.acacia?.entries).toBe(ACACIA_FIXED.entries);
    // The second run found what the killed one had stored and stored only the rest.
    const iw = done.content!.ironwood!;
    tag(`ironwood after the kill: ${iw.stored} stored, ${iw.existing} already there, ${iw.skipped} skipped`);
    expect(iw.existing).toBeGreaterThan(0);
    expect((iw.stored ?? 0) + (iw.existing ?? 0) + (iw.skipped ?? 0)).toBe(LOGS.ironwood!.entries);
    expect(done.content!.walnut).toMatchObject({ stored: LOGS.walnut!.entries, existing: 0 });

    // Nothing stored twice: the store holds exactly every entry plus one manifest page and one root per host.
    const expected = LOGS.walnut!.entries + LOGS.ironwood!.entries + ACACIA_FIXED.entries + 3 * 2;
    const blobs = (await agentBlobs()) - blobsBefore;
    tag(`blobs stored by the import: ${blobs} (expected ${expected})`);
    expect(blobs).toBe(expected);

    // One entry read back through the agent's API with the migration's caller: its bytes are v1's entry.
    const rec = await store.get(name);
    const token = deriveApiToken(rec!.ownerKey!, MIGRATION_CALLER);
    const get = async (address: string): Promise<Buffer> => {
      const r = await fetch(`http://127.0.0.1:${ports.api}/api/blobs/${address}`, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status, address).toBe(200);
      return Buffer.from(await r.arrayBuffer());
    };
    const root = JSON.parse((await get(done.content!.walnut!.manifest!)).toString('utf8')) as ManifestRoot;
    expect(root).toMatchObject({ host: 'walnut', entries: LOGS.walnut!.entries, firstIndex: 0, lastIndex: LOGS.walnut!.entries - 1 });
    const page = parseManifestPage(await get(root.pages[0]!));
    const entries = [...v1LogEntries(LOGS.walnut!)] as V1LogEntry[];
    for (const i of [0, 123, LOGS.walnut!.entries - 1]) {
      const line = page.entries[i]!;
      expect(line.index).toBe(i);
      expect(line.hash).toBe(entries[i]!.hash);
      const bytes = await get(line.address);
      expect(bytes.equals(canonicalEntry(entries[i]!))).toBe(true);
      expect(hashBytes(bytes)).toBe(line.address);
    }
  });

  it('cutover: 10 → 50 % then walked back to content-migrated, then 10 → 50 → 100 %, no failed request', async () => {
    const from = Date.now();
    await target('cutover');
    await waitFor(
      'v2 at 50 %',
      async () => {
        const s = await state();
        return s?.transition?.to === 'cutover' && s.v2Share === 50 ? s : undefined;
      },
      60_000,
      100,
    );
    const mixed = traffic!.samples.filter((x) => x.at > Date.now() - 1500 && x.ok).map((x) => x.by);
    tag(`at 50 %: ${mixed.filter((b) => b === V2_SERVER).length} of ${mixed.length} answers from v2`);
    expect(mixed).toContain(V2_SERVER);
    // Lowered during the cutover: back to 0 % and content-migrated.
    await target('content-migrated');
    const back = await reach('content-migrated', 60_000);
    expect(back.v2Share).toBe(0);
    expect(back.log?.some((e) => e.kind === 'step-back' && e.from === 'cutover' && e.to === 'content-migrated')).toBe(true);
    const onV1 = await servedAfter(Date.now());
    expect(
      onV1.every((b) => V1_NAMES.includes(b)),
      onV1.join(','),
    ).toBe(true);

    await target('cutover');
    const s = await reach('cutover', 120_000);
    expect(s.v2Share).toBe(100);
    const t = Date.now();
    const by = await servedAfter(t);
    expect(
      by.every((b) => b === V2_SERVER),
      by.join(','),
    ).toBe(true);
    const o = longestOutage(traffic!.samples, from);
    tag(`cutover (with a walk back) in ${((Date.now() - from) / 1000).toFixed(1)} s; ${o.failed} of ${o.total} requests failed`);
    expect(o.failed, JSON.stringify(o)).toBe(0);
  });

  it('complete: v1 archived (age, BLAKE3 manifest), units stopped and disabled, v2 answers everything', async () => {
    const from = Date.now();
    await target('complete');
    await reach('complete', 120_000);
    tag(`complete in ${((Date.now() - from) / 1000).toFixed(1)} s`);
    expect(await unitStates()).toEqual(['inactive', 'inactive', 'inactive']);
    expect(await unitEnabled()).toEqual(['disabled', 'disabled', 'disabled']);
    const files = readdirSync(archiveDir);
    for (const n of V1_NAMES) {
      expect(files.filter((f) => f.startsWith(`${name}-${n}-`) && f.endsWith('.tar.age')).length, files.join(',')).toBe(1);
      expect(files.filter((f) => f.startsWith(`${name}-${n}-`) && f.endsWith('.manifest.json')).length, files.join(',')).toBe(1);
    }
    const mf = files.find((f) => f.startsWith(`${name}-walnut-`) && f.endsWith('.manifest.json'))!;
    const manifest = JSON.parse(readFileSync(join(archiveDir, mf), 'utf8')) as V1ArchiveManifest;
    const tar = ageDecrypt(readFileSync(join(archiveDir, manifest.archive)), [age.identity]);
    expect(tar.length).toBe(manifest.tarBytes);
    expect(hashBytes(tar)).toBe(`blake3:${manifest.blake3}`);
    // The log is in the tar (ustar: the name field at the start of a 512-byte header).
    expect(tar.includes(Buffer.from('var/lib/bzzz/conversation.log'))).toBe(true);
    const by = await servedAfter(Date.now());
    expect(
      by.every((b) => b === V2_SERVER),
      by.join(','),
    ).toBe(true);
    const o = longestOutage(traffic!.samples, from);
    expect(o.failed, JSON.stringify(o)).toBe(0);
  });

  it('walks back to v1-only: v1 units enabled and active, the proxy on v1, v2 parked; no outage longer than ~1 s in the whole test', async () => {
    const from = Date.now();
    await target('v1-only');
    const s = await reach('v1-only', 180_000);
    tag(`walked back to v1-only in ${((Date.now() - from) / 1000).toFixed(1)} s`);
    expect(s.parkV2).toBe(true);
    expect(await unitStates()).toEqual(['active', 'active', 'active']);
    expect(await unitEnabled()).toEqual(['enabled', 'enabled', 'enabled']);
    const by = await servedAfter(Date.now());
    expect(
      by.every((b) => V1_NAMES.includes(b)),
      by.join(','),
    ).toBe(true);
    await waitFor('v2 at zero', async () => ((await agentService()).running === 0 ? true : undefined), 30_000, 500);
    expect((await agentService()).replicas).toBe(0);
    const back = longestOutage(traffic!.samples, from);
    const all = longestOutage(traffic!.samples, testStart);
    tag(`walk back: longest failed-request window ${back.ms} ms; whole test: ${all.ms} ms (${all.failed} of ${all.total} requests failed)`);
    expect(all.ms).toBeLessThanOrEqual(1000);
  });
});
