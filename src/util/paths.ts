// Where the installed project lives (for its scripts, example specs and image build inputs),
// found from this module: the bundler moves code into dist/ and dist/chunks/, so walk up to the
// package.json that names bzzz-operator.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function findProjectRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'bzzz-operator') return dir;
    } catch {
      // no package.json here: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the bzzz-operator project (its package.json) above ${from}`);
  }
}

let cached: string | undefined;

/** The project root of the running CLI (cached). */
export function packageRoot(): string {
  cached ??= findProjectRoot();
  return cached;
}
