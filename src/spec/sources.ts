// Reads the values of secrets and configs whose source is a file, an environment variable or
// inline content. Generated and external ones are not read here (the secrets reconciler makes
// or finds them). Errors name the secret and the file or variable, never the value.
import { readUpTo } from '../util/read-up-to.js';
import { resolve } from 'node:path';
import { InvalidInputError, errorMessage } from '../util/errors.js';
import type { BzzzCluster } from './types.js';

// swarmkit's limits (api/validation): secrets under 500 KiB, configs under 1000 KiB, never empty.
export const MAX_SECRET_BYTES = 500 * 1024;
export const MAX_CONFIG_BYTES = 1000 * 1024;

type Env = Readonly<Record<string, string | undefined>>;

/** Values of the secrets with a `file` or `env` source, by logical name. */
export async function readSecretValues(cluster: BzzzCluster, baseDir: string, env: Env = process.env): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const [name, secret] of Object.entries(cluster.spec.secrets ?? {})) {
    const where = `spec.secrets.${name}`;
    let value: Buffer | undefined;
    if (secret.file !== undefined) {
      value = await readSourceFile('secret', name, secret.file, `${where}.file`, baseDir, MAX_SECRET_BYTES, problems);
    } else if (secret.env !== undefined) {
      value = readEnv('secret', name, secret.env, `${where}.env`, env, problems);
    } else continue;
    if (value && checkSize('secret', name, value, MAX_SECRET_BYTES, problems)) out.set(name, value);
  }
  if (problems.length) throw sourceError('secret', problems);
  return out;
}

/** Values of the configs with a `file` or `content` source, by logical name. */
export async function readConfigValues(cluster: BzzzCluster, baseDir: string, env: Env = process.env): Promise<Map<string, Buffer>> {
  void env; // configs have no env source today; the parameter keeps both readers alike
  const out = new Map<string, Buffer>();
  const problems: string[] = [];
  for (const [name, config] of Object.entries(cluster.spec.configs ?? {})) {
    let value: Buffer | undefined;
    if (config.file !== undefined) {
      value = await readSourceFile('config', name, config.file, `spec.configs.${name}.file`, baseDir, MAX_CONFIG_BYTES, problems);
    } else if (config.content !== undefined) {
      value = Buffer.from(config.content, 'utf8');
    } else continue;
    if (value && checkSize('config', name, value, MAX_CONFIG_BYTES, problems)) out.set(name, value);
  }
  if (problems.length) throw sourceError('config', problems);
  return out;
}

async function readSourceFile(
  kind: string,
  name: string,
  file: string,
  field: string,
  baseDir: string,
  max: number,
  problems: string[],
): Promise<Buffer | undefined> {
  const path = resolve(baseDir, file);
  try {
    // At most `max` bytes (Docker's limit is max - 1): a larger or endless file (/dev/zero) is
    // refused by checkSize without being held in memory.
    return await readUpTo(path, max);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${errorMessage(err)})`;
    problems.push(`${kind} \`${name}\`: file ${path} (${field}, relative to the spec file) ${why}; create it or fix the path`);
    return undefined;
  }
}

function readEnv(kind: string, name: string, variable: string, field: string, env: Env, problems: string[]): Buffer | undefined {
  const value = env[variable];
  if (value === undefined) {
    problems.push(`${kind} \`${name}\`: environment variable ${variable} (${field}) is not set; export it before running bzzzctl`);
    return undefined;
  }
  return Buffer.from(value, 'utf8');
}

function checkSize(kind: string, name: string, value: Buffer, max: number, problems: string[]): boolean {
  if (value.length === 0) {
    problems.push(`${kind} \`${name}\` is empty; Docker refuses an empty ${kind}: give it a value`);
    return false;
  }
  if (value.length >= max) {
    problems.push(
      // A file is read only up to the limit, so its size is then known only as "at least".
      `${kind} \`${name}\` is ${value.length === max ? `${max} bytes or more` : `${value.length} bytes`}; Docker's limit is ${max - 1} bytes: store less, or mount a volume instead`,
    );
    return false;
  }
  return true;
}

function sourceError(kind: string, problems: string[]): InvalidInputError {
  return new InvalidInputError(`cannot read the ${kind} values the spec points at:\n  ${problems.join('\n  ')}`);
}
