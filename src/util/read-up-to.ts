// Reads a file's first `limit` bytes at most, never the whole of a larger one: what a size check
// needs for input that could be anything (a path to /dev/zero, a log grown without bound).
import { open } from 'node:fs/promises';

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
