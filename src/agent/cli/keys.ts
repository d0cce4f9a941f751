// bzzzctl keys generate --out DIR [--threshold 3] [--shares 5] [--force]
// Writes the role keys and the Shamir split of the admin key (see crypto/key-files.ts for the
// layout) and prints what it wrote: paths, modes and public keys — never private material.
// Exit codes: 0 written, 1 bad input (flags, existing keys without --force), 2 other errors.
import { resolve } from 'node:path';
import { EXIT_ERROR, EXIT_INVALID, EXIT_OK } from '../../util/exit-codes.js';
import { BzzzError, InvalidInputError, errorMessage } from '../../util/errors.js';
import { generateKeys, ROLES, validateSplitParameters } from '../../crypto/index.js';

export interface KeysGenerateOptions {
  out: string;
  threshold: string;
  shares: string;
  force?: boolean;
}

export async function keysGenerateCommand(opts: KeysGenerateOptions): Promise<number> {
  try {
    const threshold = parseCount(opts.threshold, '--threshold');
    const shares = parseCount(opts.shares, '--shares');
    validateSplitParameters(threshold, shares);
    if (!opts.out || opts.out.trim() === '') throw new InvalidInputError('--out: give the directory to write the keys to');
    const outDir = resolve(opts.out);
    const result = await generateKeys({ outDir, threshold, shares, force: opts.force === true });

    const lines: string[] = [];
    for (const f of result.files) {
      const what =
        f.kind === 'identity'
          ? `${f.role} private key`
          : f.kind === 'public-key'
            ? `${f.role} public key`
            : `admin key share ${f.index} of ${shares}`;
      lines.push(`wrote ${f.path}  (${f.mode.toString(8).padStart(4, '0')}, ${what})`);
    }
    lines.push('', 'public keys:');
    const width = Math.max(...ROLES.map((r) => r.length));
    for (const role of ROLES) lines.push(`  ${role.padEnd(width)}  ${result.publicKeys[role]}`);
    lines.push(
      '',
      `admin private key: split ${threshold}-of-${shares} into ${outDir}/shares/; it was not written anywhere in the clear.`,
      'Give each share file to a different agent (--share-file) and keep the .key files private (--keys-dir).',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    if (err instanceof InvalidInputError) return EXIT_INVALID;
    if (err instanceof BzzzError) return err.exitCode;
    return EXIT_ERROR;
  }
}

function parseCount(value: string, flag: string): number {
  if (!/^\d{1,3}$/.test(value.trim())) {
    throw new InvalidInputError(`${flag} ${JSON.stringify(value)}: expected a whole number (threshold from 2, shares up to 255)`);
  }
  return Number(value.trim());
}
