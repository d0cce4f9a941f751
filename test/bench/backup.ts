// The backup repository (src/backup) against `restic` on the same 1 GiB data set in the same run:
// first backup, second backup of unchanged data, verify --read-data vs `restic check
// --read-data`, restore vs `restic restore`. The data set is several files of incompressible
// random bytes plus regions duplicated across files (both tools store those once). Each side runs
// as its own process (ours: this bundle with `--child OP`), so start-up and opening the
// repository count for both. Each round uses fresh repositories; the page cache holds the data
// set throughout (it was just written); every step starts after a `sync`, and who goes first
// alternates between rounds. Figures are medians over the rounds.
//
// Run:  npm run bench:backup [-- --size-mib 1024 --rounds 3 --dir /tmp]
import { execFile, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { directorySource, directoryTarget, initRepository, openRepository } from '../../src/backup/index.js';
import { createHasher } from '../../src/crypto/blake3.js';
import { generateAgeIdentity } from '../../src/crypto/age-stream.js';
import { ensureTools } from './tools.mjs';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
    child: { type: 'string' },
    repo: { type: 'string' },
    src: { type: 'string' },
    keys: { type: 'string' },
    target: { type: 'string' },
  },
});

// ---- child: one operation of ours, in its own process --------------------------------------
if (values.child) {
  const { identity, recipient } = JSON.parse(await readFile(values.keys as string, 'utf8')) as { identity: string; recipient: string };
  const repo = await openRepository(values.repo as string, { identities: [identity], recipients: [recipient] });
  const op = values.child;
  if (op === 'backup') await repo.backup([directorySource('files', values.src as string)], { cluster: 'bench', reason: 'bench' });
  else if (op === 'verify') {
    const report = await repo.verify({ readData: true });
    if (!report.ok) throw new Error(`verify found problems: ${report.problems.join('; ')}`);
  } else if (op === 'restore') await repo.restore('latest', [directoryTarget('files', values.target as string)]);
  else throw new Error(`unknown child op ${op}`);
  await repo.close();
  process.exit(0);
}

ensureTools(['restic']);
const sizeMiB = Number(values['size-mib']);
const rounds = Math.max(1, Number(values.rounds));
const self = fileURLToPath(import.meta.url);
const base = await mkdtemp(join(values.dir as string, 'bench-backup-'));

async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t0 = process.hrtime.bigint();
  await new Promise<void>((res, rej) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    p.on('error', rej);
    p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function treeHash(dir: string, names: string[]): Promise<string> {
  const h = createHasher();
  for (const n of names) for await (const b of createReadStream(join(dir, n), { highWaterMark: 4 * MiB })) h.update(b as Buffer);
  return h.digestHex();
}

try {
  // The data set: 7/8 in random files, 1/8 a file made of regions of two others.
  const data = join(base, 'data');
  await mkdir(data);
  const files = 8;
  const per = Math.floor(sizeMiB / files);
  const buf = Buffer.alloc(4 * MiB);
  for (let i = 0; i < files - 1; i++) {
    const fh = await open(join(data, `file-${i}.bin`), 'w');
    for (let m = 0; m < per; m += 4) await fh.write(randomFillSync(buf));
    await fh.close();
  }
  {
    const a = await readFile(join(data, 'file-0.bin'));
    const b = await readFile(join(data, 'file-1.bin'));
    await writeFile(join(data, `file-${files - 1}.bin`), Buffer.concat([a.subarray(0, (per / 2) * MiB), b.subarray((per / 2) * MiB)]));
  }
  const names = Array.from({ length: files }, (_, i) => `file-${i}.bin`);
  const sourceHash = await treeHash(data, names);
  const keys = join(base, 'keys.json');
  await writeFile(keys, JSON.stringify(generateAgeIdentity()), { mode: 0o600 });

  type Step = 'backup' | 'backup2' | 'verify' | 'restore';
  const steps: Step[] = ['backup', 'backup2', 'verify', 'restore'];
  const ours: Record<Step, number[]> = { backup: [], backup2: [], verify: [], restore: [] };
  const restic: Record<Step, number[]> = { backup: [], backup2: [], verify: [], restore: [] };
  for (let r = 1; r <= rounds; r++) {
    const round = join(base, `round-${r}`);
    const rrepo = join(round, 'restic-repo');
    const orepo = join(round, 'ours-repo');
    const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: rrepo, RESTIC_CACHE_DIR: join(round, 'restic-cache') };
    await mkdir(round);
    await run('restic', ['init'], { env });
    const { recipient } = JSON.parse(await readFile(keys, 'utf8')) as { recipient: string };
    await initRepository(orepo, { recipients: [recipient] });
    const child = (op: string, extra: string[] = []) =>
      timed(process.execPath, [self, '--child', op, '--repo', orepo, '--keys', keys, ...extra]);
    const rs = (args: string[]) => timed('restic', ['--quiet', ...args], env);
    const pairs: [Step, () => Promise<number>, () => Promise<number>][] = [
      ['backup', () => rs(['backup', data]), () => child('backup', ['--src', data])],
      ['backup2', () => rs(['backup', data]), () => child('backup', ['--src', data])],
      ['verify', () => rs(['check', '--read-data']), () => child('verify')],
      [
        'restore',
        () => rs(['restore', 'latest', '--target', join(round, 'restic-out')]),
        () => child('restore', ['--target', join(round, 'ours-out')]),
      ],
    ];
    for (const [step, peer, mine] of pairs) {
      // Each step starts with no dirty pages pending (the previous step's writes would otherwise
      // throttle whoever runs next), and who goes first alternates between rounds.
      const first = r % 2 === 1 ? peer : mine;
      const second = r % 2 === 1 ? mine : peer;
      await run('sync');
      const a = await first();
      await run('sync');
      const b = await second();
      const [p, o] = r % 2 === 1 ? [a, b] : [b, a];
      restic[step].push(p);
      ours[step].push(o);
      process.stderr.write(`  round ${r}/${rounds} ${step.padEnd(8)} restic ${p.toFixed(3)} s, ours ${o.toFixed(3)} s\n`);
    }
    // Byte for byte: both restores equal the data set (restic restores under the full path).
    const oursHash = await treeHash(join(round, 'ours-out'), names);
    const resticHash = await treeHash(join(round, 'restic-out', data), names);
    if (oursHash !== sourceHash || resticHash !== sourceHash) throw new Error('a restore differs from the data set');
    const du = async (d: string) => Number((await run('du', ['-sb', d])).stdout.split('\t')[0]);
    process.stderr.write(
      `  round ${r}/${rounds} repository size: restic ${(await du(rrepo)) / MiB} MiB, ours ${(await du(orepo)) / MiB} MiB\n`,
    );
    await rm(round, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
  const label: Record<Step, string> = {
    backup: 'backup (new repository)',
    backup2: 'backup again, unchanged',
    verify: 'verify --read-data',
    restore: 'restore',
  };
  console.log(
    `backup repository vs restic ${(await run('restic', ['version'])).stdout.split(' ')[1]}, ${sizeMiB} MiB in ${files} files, median of ${rounds} rounds, load ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log('| operation | restic | ours | ratio (restic / ours, ≥ 1 is faster) |');
  console.log('|---|---|---|---|');
  for (const s of steps) {
    const p = median(restic[s]);
    const o = median(ours[s]);
    console.log(`| ${label[s]} | ${p.toFixed(2)} s | ${o.toFixed(2)} s | ${(p / o).toFixed(2)} |`);
  }
} finally {
  await rm(base, { recursive: true, force: true });
}
