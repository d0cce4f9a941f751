// Where the installed project lives (for its scripts and example specs), found from this module:
// the bundler moves code into dist/ and dist/chunks/, so walk up to the package.json.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the bzzz-operator package root (no package.json above the CLI)');
    dir = up;
  }
  cached = dir;
  return dir;
}
