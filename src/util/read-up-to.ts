// Reads a file's first `limit` bytes at most, never the whole of a larger one: what a size check
// needs for input that could be anything (a path to /dev/zero, a log grown without bound).
import { open } from 'node:fs/promises';
import { InvalidInputError } from './errors.js';

/** The file's bytes, or its first `limit` when it is longer (ask for one byte more than allowed to tell "too large"). */
export async function readUpTo(path: string, limit: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await fh.read(buf, filled, limit - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } finally {
    await fh.close();
  }
}

/**
 * A key file (an SSH key, an age identity) read bounded: errors name `what` and the file, say
 * `where` it should come from, and never quote its content.
 */
export async function readKeyFile(file: string, o: { what: string; limit: number; where: string; tooLarge: string }): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readUpTo(file, o.limit + 1);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new InvalidInputError(`${o.what} ${file} cannot be read (${typeof code === 'string' ? code : 'error'}): ${o.where}`);
  }
  if (bytes.length > o.limit) throw new InvalidInputError(`${o.what} ${file} is over ${o.limit} bytes: ${o.tooLarge}`);
  return bytes.toString('utf8');
}
