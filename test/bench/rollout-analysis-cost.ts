// Analysis cost on the controller: CPU and RSS of `bzzzctl controller run` measuring 5 analysis
// rules every 10 s (the seeds' five triggers of stacks/examples/dev.yaml, on the agents' own
// /metrics, 3 agents), against the same controller with no analysis, in the same run.
//
// One cluster of 3 agents (this tree's image) stays up throughout. Phases alternate, ABAB…:
//   analysis  the cluster's spec has the 5 rules (interval 10s) and a 30 min watch window, so the
//             rollout stays in Watching and every rule is measured all phase long;
//   none      the same spec without spec.upgrade.analysis (its rollout succeeds at once).
// Each phase applies its spec (a new generation; no service changes), starts a fresh controller
// process (the real CLI, --agents-via published-ports --no-probe-agents --clusters NAME: other
// sessions' clusters on a shared swarm are left alone and cost nothing), lets it settle
// (--settle seconds), then reads its CPU time (utime + stime from /proc/<pid>/stat) and RSS
// (/proc/<pid>/status) at the start, every 5 s and at the end of --phase seconds, and the
// measurements it made (bzzz_operator_analysis_measurements_total). Prints per phase and the
// difference: CPU % of one core, ms of CPU per analysis measurement, RSS.
//
//   npm run bench:analysis-cost                         # 2 cycles of 120 s phases
//   npm run bench:analysis-cost -- --cycles 3 --phase 180
//
// Needs: Docker in swarm mode, `npm run build` (the npm script does it), no other controller
// holding the lease (it waits).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  apply,
  BIN,
  ensureAgentImage,
  holdsLease,
  load,
  onExit,
  pickPorts,
  removeCluster,
  rolloutOf,
  sleep,
  smallClusterSpec,
  store,
  waitFor,
  waitForFreeLease,
} from './rollout-support.js';

const { values: args } = parseArgs({
  options: {
    cycles: { type: 'string', default: '2' },
    phase: { type: 'string', default: '120' },
    settle: { type: 'string', default: '20' },
  },
});
const CYCLES = Number(args.cycles);
const PHASE_MS = Number(args.phase) * 1000;
const SETTLE_MS = Number(args.settle) * 1000;
const TICK_HZ = 100; // getconf CLK_TCK on Linux

const name = `bench-cost-${Math.random().toString(36).slice(2, 6)}`;
const token = `bench-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const ports = pickPorts(6);
const agents = ['a', 'b', 'c'].map((n, i) => ({ name: n, api: ports[2 * i]!, health: ports[2 * i + 1]! }));

// dev.yaml's five rules, every 10 s; nothing here should fail (no traffic: NaN and no data pass).
const FIVE_RULES = `      watch: 30m
      rules:
        - name: health-checks
          query: max(bzzz_health_status{status="unhealthy"})
          failWhen: { above: 0 }
          interval: 10s
          failureLimit: 9
          noData: pass
        - name: error-rate
          query: sum(rate(bzzz_errors_total{component="http"})) / sum(rate(bzzz_http_request_duration_seconds_count{server="api"}))
          failWhen: { above: 0.05 }
          interval: 10s
          failureLimit: 1
          nan: pass
          noData: pass
        - name: latency
          query: sum(rate(bzzz_http_request_duration_seconds_sum{server="api"})) / sum(rate(bzzz_http_request_duration_seconds_count{server="api"}))
          failWhen: { aboveBaseline: 2 }
          interval: 10s
          failureLimit: 2
          nan: pass
          noData: pass
        - name: memory
          query: max(bzzz_memory_usage_ratio)
          failWhen: { above: 0.9 }
          interval: 10s
          failureLimit: 9
          noData: pass
        - name: storage-io-errors
          query: sum(rate(bzzz_store_io_errors_total)) / sum(rate(bzzz_store_operations_total))
          failWhen: { above: 0.01 }
          interval: 10s
          failureLimit: 1
          nan: pass
          noData: pass`;
const spec = (withAnalysis: boolean) => smallClusterSpec({ name, agents, release: 1, analysis: withAnalysis ? FIVE_RULES : undefined });

// ---------------------------------------------------------------- the controller process

interface Sample {
  at: number;
  cpuMs: number;
  rssKiB: number;
}
function sample(pid: number): Sample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { at: Date.now(), cpuMs: (ticks * 1000) / TICK_HZ, rssKiB: Number(rss?.[1] ?? 0) };
}

async function startCtl(): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(
    process.execPath,
    [BIN, 'controller', 'run', '--listen', '127.0.0.1:0', '--no-probe-agents', '--agents-via', 'published-ports', '--clusters', name],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, BZZZ_LOG_LEVEL: 'info' } },
  );
  let buf = '';
  proc.stderr?.on('data', (d: Buffer) => {
    buf = (buf + d.toString()).slice(-200_000);
  });
  const port = await waitFor(
    'the controller listening',
    async () => {
      const m = /"listen":"[^"]*:(\d+)"[^\n]*"msg":"controller started"/.exec(buf);
      if (proc.exitCode !== null) throw new Error(`controller exited ${proc.exitCode}: ${buf.slice(-2000)}`);
      return m ? Number(m[1]) : undefined;
    },
    30_000,
    100,
  );
  return { proc, port };
}

async function measurements(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('bzzz_operator_analysis_measurements_total'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function stopCtl(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

interface PhaseResult {
  kind: 'analysis' | 'none';
  cpuMs: number;
  wallMs: number;
  rssMeanMiB: number;
  rssMaxMiB: number;
  measurements: number;
}

async function phase(kind: 'analysis' | 'none'): Promise<PhaseResult> {
  await apply(spec(kind === 'analysis'), token, true);
  const gen = (await store.get(name))?.generation ?? 0;
  let started = await startCtl();
  // Another session's controller may take the lease between the wait and the start: wait again.
  while (!(await holdsLease(started.proc.pid!))) {
    await stopCtl(started.proc);
    await waitForFreeLease();
    started = await startCtl();
  }
  const { proc, port } = started;
  current = proc;
  try {
    await waitFor(
      `the rollout ${kind === 'analysis' ? 'Watching' : 'Succeeded'}`,
      async () => {
        const r = await rolloutOf(name);
        return r !== undefined && r.generation === gen && r.phase === (kind === 'analysis' ? 'Watching' : 'Succeeded');
      },
      120_000,
      500,
    );
    await sleep(SETTLE_MS);
    const pid = proc.pid!;
    const first = sample(pid);
    const m0 = await measurements(port);
    const samples = [first];
    while (Date.now() - first.at < PHASE_MS) {
      await sleep(Math.min(5000, PHASE_MS - (Date.now() - first.at)));
      samples.push(sample(pid));
    }
    const last = samples.at(-1)!;
    const m1 = await measurements(port);
    const phaseNow = (await rolloutOf(name))?.phase;
    if (kind === 'analysis' && phaseNow !== 'Watching') throw new Error(`analysis phase: the rollout left Watching (${phaseNow})`);
    const rss = samples.map((s) => s.rssKiB / 1024);
    return {
      kind,
      cpuMs: last.cpuMs - first.cpuMs,
      wallMs: last.at - first.at,
      rssMeanMiB: rss.reduce((a, b) => a + b, 0) / rss.length,
      rssMaxMiB: Math.max(...rss),
      measurements: m1 - m0,
    };
  } finally {
    await stopCtl(proc);
    current = undefined;
  }
}

// ---------------------------------------------------------------- run

console.log(
  `analysis cost: cluster ${name} (3 agents), ${CYCLES} cycle(s) of ${PHASE_MS / 1000} s phases (settle ${SETTLE_MS / 1000} s), load ${load()}`,
);
await ensureAgentImage();
let current: ChildProcess | undefined;
const cleanup = onExit(async () => {
  if (current) await stopCtl(current);
  await removeCluster(name);
});

try {
  await waitForFreeLease();
  // The cluster, applied in-process (no controller yet): 3 agents up before the first phase.
  await apply(spec(false), token, true);
  const results: PhaseResult[] = [];
  for (let c = 1; c <= CYCLES; c++) {
    for (const kind of ['analysis', 'none'] as const) {
      await waitForFreeLease();
      const r = await phase(kind);
      results.push(r);
      console.log(
        `cycle ${c} ${kind.padEnd(8)}: CPU ${r.cpuMs.toFixed(0).padStart(6)} ms in ${(r.wallMs / 1000).toFixed(0)} s = ${((100 * r.cpuMs) / r.wallMs).toFixed(2)} % of a core, RSS mean ${r.rssMeanMiB.toFixed(1)} MiB (max ${r.rssMaxMiB.toFixed(1)}), ${r.measurements} measurements (load ${load()})`,
      );
    }
  }
  const sum = (kind: string, f: (r: PhaseResult) => number) => results.filter((r) => r.kind === kind).reduce((a, r) => a + f(r), 0);
  const count = (kind: string) => results.filter((r) => r.kind === kind).length;
  const cpuPct = (kind: string) => (100 * sum(kind, (r) => r.cpuMs)) / sum(kind, (r) => r.wallMs);
  const rss = (kind: string) => sum(kind, (r) => r.rssMeanMiB) / count(kind);
  const a = cpuPct('analysis');
  const n = cpuPct('none');
  const extraCpuMs = sum('analysis', (r) => r.cpuMs) - (n / 100) * sum('analysis', (r) => r.wallMs);
  const ms = sum('analysis', (r) => r.measurements);
  console.log(`\n${CYCLES} cycle(s), load ${load()}`);
  console.log(`controller with 5 rules every 10 s: ${a.toFixed(2)} % of a core, RSS ${rss('analysis').toFixed(1)} MiB, ${ms} measurements`);
  console.log(`controller without analysis:        ${n.toFixed(2)} % of a core, RSS ${rss('none').toFixed(1)} MiB`);
  console.log(
    `difference: +${(a - n).toFixed(2)} % of a core (ratio ${(a / n).toFixed(2)}), RSS ${rss('analysis') - rss('none') >= 0 ? '+' : ''}${(rss('analysis') - rss('none')).toFixed(1)} MiB`,
  );
  if (ms > 0) console.log(`per measurement (one rule, 3 agents scraped): ${(extraCpuMs / ms).toFixed(2)} ms of CPU`);
} catch (err) {
  console.error(`rollout-analysis-cost: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}
