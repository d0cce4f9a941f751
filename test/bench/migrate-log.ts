// The content-migrated phase's throughput (issue 11): a v1 conversation log of 100 000 entries
// (the real schema, test/support/v1-log.ts) exported, verified and imported into a real agent's
// content store, against the floor of one `sha256sum` + one `b3sum` pass over the same export
// file in the same run (the two hashes the pipeline computes, done by C tools at disk speed).
//
//   floor       sha256sum FILE; b3sum --num-threads 1 FILE (wall time of both)
//   read        the file streamed, nothing else (what reading costs the pipeline)
//   verify      the chain checked: split lines, JSON.parse, Go-form JSON, SHA-256 per entry
//   ssh export  (--ssh, needs the Docker engine) the file copied into a v1 host container with
//               real sshd, read over SFTP by SshV1LogReader and verified
//   import      importV1Log: verify + address pass, then the store pass (each entry POSTed to
//               the agent, read back and checked, manifest pages, root) — from the file, or
//               over SSH with --ssh (the log read twice over SSH, as the phase does)
//   re-run      the same import again: finds the root manifest, sends nothing
// The agent runs as a child process (`bzzzctl agent run`, the harness of test/agent), so the RSS
// sampled here every 20 ms is the importer's own: the operator's side of the import.
//
// Run:  npm run bench:migrate-log [-- --entries 100000 --concurrency 8 --ssh]
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { SshV1LogReader } from '../../src/hosts/v1-log-reader.js';
import { checkV1Log } from '../../src/hosts/v1-log.js';
import type { V1HostTarget } from '../../src/hosts/types.js';
import { HttpBlobSink, importV1Log, type ImportResult } from '../../src/reconcilers/content-import.js';
import { createCluster } from '../agent/cluster-harness.js';
import { writeV1Log } from '../support/v1-log.js';
import { ensureTools } from './tools.mjs';

const run = promisify(execFile);
ensureTools(['b3sum', 'sha256sum']);

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '8' },
    ssh: { type: 'boolean', default: false },
    dir: { type: 'string', default: tmpdir() },
  },
});
const entries = Number(values.entries);
const concurrency = Number(values.concurrency);
const MiB = 1024 * 1024;
const LOG_PATH = '/root/v1-conversation-log.jsonl';

const seconds = async (fn: () => Promise<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

async function fileChunks(path: string): Promise<AsyncIterable<Buffer>> {
  return createReadStream(path, { highWaterMark: 256 * 1024 });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(values.dir, 'bzzz-bench-migrate-'));
  const file = join(dir, 'walnut.jsonl');
  const cleanups: Array<() => Promise<unknown>> = [async () => rm(dir, { recursive: true, force: true })];
  try {
    log(`generating ${entries} entries …`);
    const bytes = await writeV1Log(file, { entries, seed: 42 });
    log(`  ${file}: ${(bytes / MiB).toFixed(1)} MiB`);
    await run('sync');

    // warm the page cache once, then the floor
    await run('sha256sum', [file]);
    const sha = await seconds(() => run('sha256sum', [file]));
    const b3 = await seconds(() => run('b3sum', ['--num-threads', '1', file]));
    const floor = sha + b3;
    log(`floor: sha256sum ${sha.toFixed(3)} s + b3sum ${b3.toFixed(3)} s`);

    const read = await seconds(async () => {
      for await (const _ of await fileChunks(file));
    });
    let report: Awaited<ReturnType<typeof checkV1Log>> | undefined;
    const verify = await seconds(async () => {
      report = await checkV1Log(await fileChunks(file), { source: file });
    });
    if (!report?.intact || report.entries !== entries)
      throw new Error(`the generated log did not verify: ${JSON.stringify(report).slice(0, 300)}`);
    log(`read ${read.toFixed(3)} s, verify ${verify.toFixed(3)} s`);

    // ---- the v1 host over SSH (optional: needs the Docker engine) ----
    let open: () => AsyncIterable<Buffer> = () => createReadStream(file, { highWaterMark: 256 * 1024 });
    let sshExport: number | undefined;
    let source = 'file';
    if (values.ssh) {
      const { startV1Hosts } = await import('../support/v1-hosts.js');
      log('starting one v1 host (systemd + sshd) …');
      const v1 = await startV1Hosts({ names: ['walnut'], onProgress: (m) => log(`  ${m}`) });
      cleanups.push(() => v1.stop());
      const h = v1.hosts[0];
      if (!h) throw new Error('no v1 host');
      await run('docker', ['cp', file, `${h.containerId}:${LOG_PATH}`]);
      const target: V1HostTarget = {
        name: h.name,
        address: h.address,
        port: h.sshPort,
        user: 'root',
        hostKey: h.hostKey,
        timeoutMs: 10_000,
        unit: h.unit,
      };
      const reader = new SshV1LogReader({ privateKey: v1.privateKey });
      const maxBytes = bytes + MiB;
      let sshReport: Awaited<ReturnType<typeof checkV1Log>> | undefined;
      sshExport = await seconds(async () => {
        sshReport = await checkV1Log(reader.read(target, LOG_PATH, { maxBytes }), { source: h.name });
      });
      if (!sshReport?.intact || sshReport.bytes !== bytes) throw new Error('the log read over SSH differs');
      log(`ssh export + verify ${sshExport.toFixed(3)} s`);
      open = () => reader.read(target, LOG_PATH, { maxBytes });
      source = 'ssh';
    }

    // ---- a real agent, as a child process ----
    log('starting an agent (child process) …');
    const cluster = await createCluster({
      members: [{ role: 'backend_developer', child: true }],
      heartbeatMs: 500,
      electionTimeoutMs: 2000,
      replicationFactor: 1,
    });
    cleanups.unshift(() => cluster.stopAll());
    const member = cluster.members[0];
    if (!member) throw new Error('no member');
    await cluster.startMember(member);
    const sink = new HttpBlobSink({ baseUrl: member.apiUrl, token: cluster.tokens.backend_developer });
    cleanups.unshift(async () => sink.close());

    // The agent's own pace: blobs of the entries' average size POSTed with the same concurrency,
    // nothing read back, nothing verified (each put is durable: written, fsynced, linked).
    const putCount = Math.min(5000, entries);
    const avg = Math.round(bytes / entries);
    const putOnly = await seconds(async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < putCount) {
            const i = next++;
            await sink.put(Buffer.from(`bench-put-${i}-`.padEnd(avg, 'x')));
          }
        }),
      );
    });
    log(`agent put only: ${putCount} blobs in ${putOnly.toFixed(2)} s`);

    global.gc?.();
    const rssBefore = process.memoryUsage.rss();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 20);
    let result: ImportResult | undefined;
    let lastLog = 0;
    const imp = await seconds(async () => {
      result = await importV1Log({
        host: 'walnut',
        open,
        sink,
        concurrency,
        onProgress: (p) => {
          if (Date.now() - lastLog < 5000) return;
          lastLog = Date.now();
          // What the importer really holds: the heap right after a full GC (RSS also counts garbage V8 has not collected yet).
          global.gc?.();
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
          log(
            `  ${p.phase} ${p.entries} entries, stored ${p.stored}, RSS ${(process.memoryUsage.rss() / MiB).toFixed(0)} MiB, heap after GC ${(process.memoryUsage().heapUsed / MiB).toFixed(0)} MiB`,
          );
        },
      });
    });
    clearInterval(sampler);
    if (!result?.ok || result.stored !== entries) throw new Error(`import failed: ${JSON.stringify(result).slice(0, 300)}`);
    log(`import ${imp.toFixed(3)} s, RSS ${(rssBefore / MiB).toFixed(0)} → peak ${(rssPeak / MiB).toFixed(0)} MiB`);
    let again: ImportResult | undefined;
    const rerun = await seconds(async () => {
      again = await importV1Log({ host: 'walnut', open, sink, concurrency });
    });
    if (!again?.ok || !again.alreadyImported) throw new Error('the re-run imported again');
    const store = await stat(member.dataDir).then(() => member.dataDir);

    const rate = (s: number) => `${Math.round(entries / s).toLocaleString('en')}`;
    const mibs = (s: number) => (bytes / MiB / s).toFixed(1);
    const rows: string[][] = [
      ['floor: `sha256sum` + `b3sum --num-threads 1`', floor.toFixed(2), rate(floor), mibs(floor), '1.0'],
      ['read (file, nothing else)', read.toFixed(2), rate(read), mibs(read), (read / floor).toFixed(1)],
      ['verify (file)', verify.toFixed(2), rate(verify), mibs(verify), (verify / floor).toFixed(1)],
      ...(sshExport !== undefined
        ? [['export over SSH (SFTP) + verify', sshExport.toFixed(2), rate(sshExport), mibs(sshExport), (sshExport / floor).toFixed(1)]]
        : []),
      [
        `agent put only (${putCount} blobs of ${avg} B, ${concurrency} in flight, not read back)`,
        putOnly.toFixed(2),
        rate((putOnly * entries) / putCount),
        '–',
        '–',
      ],
      [
        `**export + verify + import** (${source}, into the agent, ${concurrency} in flight)`,
        imp.toFixed(2),
        `**${rate(imp)}**`,
        mibs(imp),
        `**${(imp / floor).toFixed(0)}**`,
      ],
      ['re-run (nothing sent)', rerun.toFixed(2), rate(rerun), mibs(rerun), (rerun / floor).toFixed(1)],
    ];
    const out = [
      `${entries} entries, ${(bytes / MiB).toFixed(1)} MiB, load ${loadavg()[0]?.toFixed(1)}, agent data ${store}`,
      '',
      '| step | s | entries/s | MiB/s | × floor |',
      '|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `importer RSS: ${(rssBefore / MiB).toFixed(0)} MiB before, peak ${(rssPeak / MiB).toFixed(0)} MiB during the import (+${((rssPeak - rssBefore) / MiB).toFixed(0)} MiB; the log is ${(bytes / MiB).toFixed(0)} MiB)`,
      `importer heap after a full GC: ${(heapBefore / MiB).toFixed(0)} MiB before, at most ${(heapPeak / MiB).toFixed(0)} MiB during the import (sampled every 5 s)`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const c of cleanups) await c().catch((err) => log(`cleanup: ${String(err)}`));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
