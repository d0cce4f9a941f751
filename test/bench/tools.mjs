// The peers the benchmarks measure against are real tools from Debian's packages (b3sum, age,
// etcd-server, hyperfine); scripts/install-tools.sh --bench installs them. A benchmark calls
// ensureTools() first: when one is missing it runs that script (apt-get, with sudo when not root),
// and stops with a message naming the script when that did not help.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest directory above this module (or the bundle made of it) with scripts/install-tools.sh. */
function installer() {
  for (let dir = resolve(import.meta.dirname); ; dir = dirname(dir)) {
    const script = join(dir, 'scripts/install-tools.sh');
    if (existsSync(script)) return script;
    if (dirname(dir) === dir) return join(process.cwd(), 'scripts/install-tools.sh');
  }
}

function found(command) {
  if (command.includes('/')) return existsSync(command);
  return spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', command]).status === 0;
}

/**
 * Makes sure each command is there (a name on PATH, or a path), installing the benchmark tools
 * with scripts/install-tools.sh --bench when one is not; exits 2 with a message otherwise.
 * @param {string[]} commands
 */
export function ensureTools(commands) {
  const missing = commands.filter((c) => !found(c));
  if (missing.length === 0) return;
  const script = installer();
  process.stderr.write(`${missing.join(', ')} not found: running ${script} --bench\n`);
  const r = spawnSync('bash', [script, '--bench'], { stdio: 'inherit' });
  const still = missing.filter((c) => !found(c));
  if (r.status !== 0 || still.length > 0) {
    process.stderr.write(`${(still.length ? still : missing).join(', ')} not found: run scripts/install-tools.sh --bench\n`);
    process.exit(2);
  }
}
