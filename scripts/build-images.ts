// Entry of scripts/build-images.sh: ensures the offline images (all four by default) and prints
// what was built, found cached or is missing. Progress goes to stderr, the summary to stdout.
import { ensureImages } from '../src/images/index.js';
import { silentLogger } from '../src/util/log.js';

const DEFAULT_IMAGES = ['bzzz/bzzzctl:latest', 'bzzz/postgres:15', 'bzzz/redis:7'];

const args = process.argv.slice(2);
const force = args.includes('--force');
const images = args.filter((a) => !a.startsWith('--'));
const started = Date.now();
try {
  const r = await ensureImages({
    images: images.length ? images : DEFAULT_IMAGES,
    force,
    log: silentLogger(),
    onProgress: (msg) => process.stderr.write(`[images] ${msg}\n`),
  });
  process.stdout.write(
    `built:   ${r.built.join(' ') || '-'}\ncached:  ${r.cached.join(' ') || '-'}\nmissing: ${r.missing.join(' ') || '-'}\n`,
  );
  process.stderr.write(`[images] done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.exitCode = r.missing.length ? 1 : 0;
} catch (err) {
  process.stderr.write(`[images] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
