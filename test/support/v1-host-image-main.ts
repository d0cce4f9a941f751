// `npm test` builds the v1 host image once before the suites (scripts/test.mjs), so the hosts and
// integration suites, which run side by side, find it cached instead of building it twice at once.
import { ensureV1HostImage } from './v1-host-image.js';

try {
  const ref = await ensureV1HostImage((msg) => process.stderr.write(`[v1-host] ${msg}\n`));
  process.stdout.write(`${ref}\n`);
} catch (err) {
  process.stderr.write(`[v1-host] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
