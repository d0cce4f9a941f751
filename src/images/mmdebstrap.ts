// Runs mmdebstrap to make a Debian root filesystem tar from Debian's packages (no registry
// needed, only a Debian mirror). Its `I:` lines go to the progress callback; the last lines of
// its output go into the error when it fails.
import { spawn } from 'node:child_process';
import type { DebianRootfs } from './recipes.js';

export const DEFAULT_APT_SOURCES = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
];

/** mmdebstrap's arguments for a recipe, writing an uncompressed tar to `outFile`. */
export function mmdebstrapArgs(rootfs: DebianRootfs, outFile: string, sources: string[]): string[] {
  return [
    `--variant=${rootfs.variant}`,
    ...(rootfs.packages.length ? [`--include=${rootfs.packages.join(',')}`] : []),
    '--format=tar',
    // Bookworm's merged /usr, set up by mmdebstrap itself: without this hook apt pulls in the
    // `usrmerge` package and with it all of perl (~50 MB) just to convert the layout.
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    // No fsync per file: the tree is thrown away after the tar is written (halves the time here).
    '--dpkgopt=force-unsafe-io',
    // Slimmer images: no manual pages, docs (copyright files kept) or translations.
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--aptopt=Acquire::Retries "3"',
    ...rootfs.customize.map((cmd) => `--customize-hook=${cmd}`),
    rootfs.suite,
    outFile,
    ...sources,
  ];
}

export class MmdebstrapError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MmdebstrapError';
  }
}

/** Runs mmdebstrap; resolves when the tar is complete. */
export function runMmdebstrap(args: string[], onLine: (line: string) => void, binary = 'mmdebstrap'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' },
    });
    const tail: string[] = [];
    let partial = '';
    const take = (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.trimEnd();
        if (!line) continue;
        tail.push(line);
        if (tail.length > 15) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(
          new MmdebstrapError(
            `${binary} is not installed`,
            'run `apt-get install -y mmdebstrap` (Debian/Ubuntu), or build the images on a machine that has it and `docker load` them here',
            { cause: err },
          ),
        );
      } else {
        reject(new MmdebstrapError(`cannot run ${binary}: ${err.message}`, 'check that it is executable', { cause: err }));
      }
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const out = tail.join('\n');
      const hint = /must be run as root|unshare|newuidmap|user namespace/i.test(out)
        ? 'run it as root, or enable unprivileged user namespaces (mmdebstrap --mode=unshare needs them and the uidmap package)'
        : /Could not resolve|Failed to fetch|Temporary failure|Connection (timed out|refused)|404\s+Not Found/i.test(out)
          ? 'check that the Debian mirror is reachable (set BZZZ_APT_SOURCES to use another mirror, `|`-separated sources lines)'
          : "see mmdebstrap's output above";
      reject(new MmdebstrapError(`${binary} exited ${code ?? signal}:\n${out}`, hint));
    });
  });
}
