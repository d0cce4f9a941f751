// Repository metadata (config, index files, manifests) is JSON inside a standard age file: any of
// them can be read with `age -d -i KEY`, and none without a key.
import { ageDecrypt, ageEncrypt } from '../crypto/age-stream.js';
import { RepositoryCorruptError } from './errors.js';
import type { ShapeReader } from './shape.js';

export function sealJson(value: unknown, recipients: readonly string[]): Buffer {
  return ageEncrypt(Buffer.from(JSON.stringify(value), 'utf8'), recipients);
}

/** Decrypts and parses; a file that does not decrypt is a RepositoryCorruptError naming it (AccessDenied passes through). */
export function openJson(file: Buffer, identities: readonly string[], reader: ShapeReader): unknown {
  let plain: Buffer;
  try {
    plain = ageDecrypt(file, identities);
  } catch (err) {
    if ((err as Error).name === 'AccessDeniedError')
      throw new RepositoryCorruptError(`${reader.file}: not encrypted to any of the identities given; open the repository with its key`, {
        cause: err,
      });
    throw new RepositoryCorruptError(`${reader.file}: ${(err as Error).message}`, { cause: err });
  }
  return reader.json(plain);
}
