// Shape checks for JSON read from a repository file: each failure is a RepositoryCorruptError
// naming the file and the field, so a malformed or hostile file is refused clearly.
import { RepositoryCorruptError } from './errors.js';
import { HEX64 } from './layout.js';

export class ShapeReader {
  constructor(readonly file: string) {}

  fail(field: string, what: string): never {
    throw new RepositoryCorruptError(`${this.file}: ${field} ${what}; the file is damaged or was not written by this repository`);
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'is not an object');
    return v as Record<string, unknown>;
  }

  array(v: unknown, field: string, maxLength: number): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'is not an array');
    if (v.length > maxLength) this.fail(field, `has ${v.length} items, over the limit of ${maxLength}`);
    return v;
  }

  string(v: unknown, field: string, maxLength = 4096): string {
    if (typeof v !== 'string') this.fail(field, 'is not a string');
    if (v.length > maxLength) this.fail(field, `is longer than ${maxLength} characters`);
    return v;
  }

  hex64(v: unknown, field: string): string {
    const s = this.string(v, field, 64);
    if (!HEX64.test(s)) this.fail(field, 'is not 64 lowercase hex digits');
    return s;
  }

  int(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(field, `is not an integer in [${min}, ${max}]`);
    return v;
  }

  number(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'is not a finite number');
    return v;
  }

  optional<T>(v: unknown, read: (v: unknown) => T): T | undefined {
    return v === undefined ? undefined : read(v);
  }

  json(bytes: Buffer): unknown {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      this.fail('content', 'is not JSON');
    }
  }
}
