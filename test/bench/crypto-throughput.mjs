#!/usr/bin/env node
// age encrypt/decrypt throughput: typage (`age-encryption`, what the agent uses for role content)
// against Debian's `age` CLI on the same bytes, same key, in the same run. Prints MiB/s for each
// and the ratio typage / CLI (1.0 = as fast as the CLI).
//
//   node test/bench/crypto-throughput.mjs            # 64 MiB, median of 3 runs
//   BENCH_MIB=256 BENCH_RUNS=5 node test/bench/crypto-throughput.mjs
//
// The CLI timings include process start-up (a few ms; negligible at 64 MiB) and file I/O on
// tmpfs/disk; typage works on an in-memory buffer, as the agent does.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { ensureTools } from './tools.mjs';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_MIB ?? 64);
const runs = Number(process.env.BENCH_RUNS ?? 3);

ensureTools(['age']); // Debian's age CLI, the peer: from scripts/install-tools.sh --bench
const age = spawnSync('age', ['--version'], { encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'bzzz-age-bench-'));
try {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const keyFile = join(dir, 'key.txt');
  writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
  const plain = randomBytes(sizeMiB * MIB);
  const plainFile = join(dir, 'plain.bin');
  writeFileSync(plainFile, plain);

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = async (fn) => {
    const t = process.hrtime.bigint();
    const r = await fn();
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, r };
  };
  const cli = (args) => {
    const r = spawnSync('age', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`age ${args.join(' ')}: ${r.stderr}`);
  };

  const results = { typageEnc: [], typageDec: [], cliEnc: [], cliDec: [] };
  let typageCipher;
  for (let i = 0; i < runs; i++) {
    const enc = await time(() => {
      const e = new Encrypter();
      e.addRecipient(recipient);
      return e.encrypt(plain);
    });
    typageCipher = enc.r;
    results.typageEnc.push(enc.ms);
    const dec = await time(() => {
      const d = new Decrypter();
      d.addIdentity(identity);
      return d.decrypt(typageCipher);
    });
    if (!Buffer.from(dec.r).equals(plain)) throw new Error('typage round trip changed the bytes');
    results.typageDec.push(dec.ms);

    const cipherFile = join(dir, 'cipher.age');
    const outFile = join(dir, 'out.bin');
    results.cliEnc.push((await time(() => cli(['-r', recipient, '-o', cipherFile, plainFile]))).ms);
    results.cliDec.push((await time(() => cli(['-d', '-i', keyFile, '-o', outFile, cipherFile]))).ms);
    if (!readFileSync(outFile).equals(plain)) throw new Error('age CLI round trip changed the bytes');
    rmSync(outFile);
  }
  // Cross-check the formats: the CLI decrypts what typage wrote.
  writeFileSync(join(dir, 'typage.age'), typageCipher);
  const cross = spawnSync('age', ['-d', '-i', keyFile, join(dir, 'typage.age')], { maxBuffer: 2 * sizeMiB * MIB });
  if (cross.status !== 0 || !cross.stdout.equals(plain)) throw new Error('age CLI could not decrypt typage output');

  const rate = (ms) => sizeMiB / (ms / 1000);
  const row = (name, ms) => `${name.padEnd(18)} ${rate(ms).toFixed(0).padStart(6)} MiB/s  (median ${ms.toFixed(0)} ms of ${runs})`;
  const te = median(results.typageEnc),
    td = median(results.typageDec),
    ce = median(results.cliEnc),
    cd = median(results.cliDec);
  console.log(
    `age throughput on ${sizeMiB} MiB, one X25519 recipient (${age.stdout.trim()} CLI vs age-encryption/typage, node ${process.version})`,
  );
  console.log(row('typage encrypt', te));
  console.log(row('age CLI encrypt', ce));
  console.log(row('typage decrypt', td));
  console.log(row('age CLI decrypt', cd));
  console.log(`ratio typage/CLI: encrypt ${(ce / te).toFixed(2)}, decrypt ${(cd / td).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
