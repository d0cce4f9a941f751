// age encryption throughput: src/crypto/age-stream.ts (node:crypto, streams) against Debian's
// `age` CLI on the same file in the same run. Both read the plaintext file and write the age file
// (then the reverse); the page cache is warm after round 1, which is not reported; each figure is
// the median of the later rounds.
//
// Run:  npm run bench:age-stream [-- --size-mib 256 --rounds 4 --dir /tmp]
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs, promisify } from 'node:util';
import { AgeDecryptStream, AgeEncryptStream } from '../../src/crypto/age-stream.js';
import { ensureTools } from './tools.mjs';

const run = promisify(execFile);
ensureTools(['age', 'age-keygen']);
const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '4' },
    dir: { type: 'string', default: tmpdir() },
  },
});
const sizeMiB = Number(values['size-mib']);
const rounds = Math.max(2, Number(values.rounds));

const dir = await mkdtemp(join(values.dir as string, 'bench-age-'));
try {
  const plain = join(dir, 'plain.bin');
  const keyFile = join(dir, 'key.txt');
  await run('age-keygen', ['-o', keyFile]);
  const identity = (await readFile(keyFile, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1')) as string;
  const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
  const fh = await open(plain, 'w');
  const buf = Buffer.alloc(4 * MiB);
  for (let i = 0; i < sizeMiB / 4; i++) await fh.write(randomFillSync(buf));
  await fh.close();

  type Step = 'cli-enc' | 'ours-enc' | 'cli-dec' | 'ours-dec';
  const samples: Record<Step, number[]> = { 'cli-enc': [], 'ours-enc': [], 'cli-dec': [], 'ours-dec': [] };
  const steps: [Step, () => Promise<unknown>][] = [
    ['cli-enc', () => run('age', ['-r', recipient, '-o', join(dir, 'cli.age'), plain])],
    [
      'ours-enc',
      () =>
        pipeline(
          createReadStream(plain, { highWaterMark: MiB }),
          new AgeEncryptStream([recipient]),
          createWriteStream(join(dir, 'ours.age')),
        ),
    ],
    ['cli-dec', () => run('age', ['-d', '-i', keyFile, '-o', join(dir, 'cli.out'), join(dir, 'ours.age')])],
    [
      'ours-dec',
      () =>
        pipeline(
          createReadStream(join(dir, 'cli.age'), { highWaterMark: MiB }),
          new AgeDecryptStream([identity]),
          createWriteStream(join(dir, 'ours.out')),
        ),
    ],
  ];
  for (let r = 1; r <= rounds; r++) {
    for (const [name, fn] of steps) {
      const t0 = process.hrtime.bigint();
      await fn();
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stderr.write(`  round ${r}/${rounds} ${name.padEnd(8)} ${s.toFixed(3)} s${r === 1 ? ' (warm-up)' : ''}\n`);
      if (r > 1) samples[name].push(s);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const rate = (n: Step) => sizeMiB / median(samples[n]);
  const line = (what: string, ours: Step, cli: Step) =>
    `${what}: ours ${rate(ours).toFixed(0)} MiB/s, age CLI ${rate(cli).toFixed(0)} MiB/s, ratio ${(rate(ours) / rate(cli)).toFixed(2)}`;
  console.log(`age-stream, ${sizeMiB} MiB, median of ${rounds - 1} rounds, load ${loadavg()[0]?.toFixed(1)}`);
  console.log(line('encrypt', 'ours-enc', 'cli-enc'));
  console.log(line('decrypt', 'ours-dec', 'cli-dec'));
} finally {
  await rm(dir, { recursive: true, force: true });
}
