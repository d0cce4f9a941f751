// The agent image as this tree's code makes it, for end-to-end tests that run real agents: dist/
// is rebuilt (scripts/build.mjs), then bzzz/bzzzctl:<tag> is built offline by the project's own
// image builder (src/images: the node-base image under it is reused when current, the bzzzctl
// layer only when its inputs changed). A tag of the test's own keeps it apart from
// bzzz/bzzzctl:v<version>, which other tests and `bzzzctl up` use.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureImages } from '../../src/images/index.js';
import { silentLogger } from '../../src/util/log.js';
import { ROOT, docker } from '../integration/harness.js';

const exec = promisify(execFile);

/** Builds dist/ and bzzz/bzzzctl:<tag> from this tree; resolves to the image reference. */
export async function buildAgentImage(tag: string): Promise<string> {
  // `npm test` builds dist/ once before the suites (and says so): suites running side by side
  // must not rewrite it under each other's `node bin/bzzzctl.js`.
  if (process.env.BZZZ_DIST_BUILT !== '1') await exec(process.execPath, ['scripts/build.mjs'], { cwd: ROOT });
  const ref = `bzzz/bzzzctl:${tag}`;
  const r = await ensureImages({ images: [ref], root: ROOT, log: silentLogger() });
  if (r.missing.length) throw new Error(`image build left ${r.missing.join(', ')} missing`);
  return ref;
}

/** Another name for the same image (a "release" that differs only in its tag). */
export async function tagImage(ref: string, as: string): Promise<string> {
  await docker('tag', ref, as);
  return as;
}

/** Removes image tags (the image itself stays while another tag names it). */
export async function untagImages(refs: string[]): Promise<void> {
  for (const r of refs) await docker('rmi', r).catch(() => undefined);
}
