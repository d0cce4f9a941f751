// Cost of the offline images, against peers measured in the same run:
//   warm   `ensureImages` of the dev spec's images when all are current (what every `bzzzctl up`
//          after the first pays), against one `docker image inspect` of the same images — the
//          least any "are they there?" check costs. Median of --rounds.
//   cold   (--cold: rebuilds the real images, several minutes) each image built from nothing
//          (force: fresh mmdebstrap root filesystems, no layer cache), against a bare
//          `mmdebstrap --variant=minbase bookworm` with the same options and no extra package —
//          the floor any Debian-built image pays. Also prints the image sizes.
//
// Run:  npx esbuild test/bench/images.ts --bundle --platform=node --format=esm \
//         --packages=external --outfile=.build/bench/images.mjs --log-level=warning \
//       && node .build/bench/images.mjs [--rounds 10] [--cold]
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureImages } from '../../src/images/index.js';
import { DEFAULT_APT_SOURCES, mmdebstrapArgs, runMmdebstrap } from '../../src/images/mmdebstrap.js';
import { silentLogger } from '../../src/util/log.js';

const exec = promisify(execFile);
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 10) || 10;
const cold = args.includes('--cold');
const version = (await exec(process.execPath, ['-p', "require('./package.json').version"])).stdout.trim();
const IMAGES = [`bzzz/bzzzctl:v${version}`, 'bzzz/postgres:15', 'bzzz/redis:7'];
const NODE_BASE = `bzzz/node-base:${process.versions.node.split('.')[0]}-bookworm`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${rounds} rounds`,
);

if (cold) {
  const dir = await mkdtemp(join(tmpdir(), 'bzzz-bench-'));
  const floor = await timed(() =>
    runMmdebstrap(
      mmdebstrapArgs({ suite: 'bookworm', variant: 'minbase', packages: [], customize: [] }, join(dir, 'bare.tar'), DEFAULT_APT_SOURCES),
      () => {},
    ),
  );
  await rm(dir, { recursive: true, force: true });
  const seconds = new Map<string, number>();
  const total = await timed(() =>
    ensureImages({
      images: IMAGES,
      force: true,
      log: silentLogger(),
      onProgress: (m) => {
        const hit = /^(\S+): built in ([\d.]+) s/.exec(m);
        if (hit) seconds.set(hit[1]!, Number(hit[2]));
      },
    }),
  );
  console.log(`\ncold builds (bare minbase mmdebstrap: ${(floor / 1000).toFixed(1)} s)`);
  console.log('image                          build s   × bare    size MB');
  for (const ref of [NODE_BASE, ...IMAGES]) {
    const s = seconds.get(ref);
    const size = Number((await exec('docker', ['image', 'inspect', '-f', '{{.Size}}', ref])).stdout) / 1e6;
    console.log(
      `${ref.padEnd(30)} ${s?.toFixed(1).padStart(7) ?? '      -'}   ${s ? (s / (floor / 1000)).toFixed(2).padStart(6) : '     -'}   ${size.toFixed(0).padStart(7)}`,
    );
  }
  console.log(`all of them, one after the other: ${(total / 1000).toFixed(1)} s`);
}

// Warm: everything current.
const first = await ensureImages({ images: IMAGES, log: silentLogger() });
if (first.built.length) console.log(`(built first: ${first.built.join(', ')})`);
const warm: number[] = [];
const inspect: number[] = [];
for (let i = 0; i < rounds; i++) {
  inspect.push(await timed(() => exec('docker', ['image', 'inspect', '-f', '{{.Id}}', NODE_BASE, ...IMAGES])));
  warm.push(
    await timed(async () => {
      const r = await ensureImages({ images: IMAGES, log: silentLogger() });
      if (r.built.length) throw new Error(`warm round built ${r.built.join(', ')}: the tree changed during the benchmark`);
    }),
  );
}
const w = median(warm);
const p = median(inspect);
console.log(`\nwarm ensureImages (${IMAGES.length} images + base, all current): median ${w.toFixed(0)} ms`);
console.log(`peer: docker image inspect of the same 4 images:       median ${p.toFixed(0)} ms`);
console.log(`ratio ensureImages / docker image inspect: ${(w / p).toFixed(2)}`);
