// Collects semantic problems with their positions: every check adds to one reporter, nothing
// stops at the first problem.
import type { Position } from './load.js';
import { formatPath, type PathSegment, type SpecProblem } from './problems.js';

export type Locate = (path: readonly PathSegment[], atKey?: boolean) => Position | undefined;

export class ProblemReporter {
  readonly problems: SpecProblem[] = [];
  constructor(
    private readonly locate: Locate,
    /** The spec as written (before defaults): tells a written value from a default one. */
    private readonly raw: unknown,
  ) {}

  add(path: readonly PathSegment[], found: string, expected: string, message: string, atKey = false): void {
    const pos = this.locate(path, atKey);
    this.problems.push({ path: formatPath(path), ...(pos ? { line: pos.line, column: pos.column } : {}), found, expected, message });
  }

  /** True when the user did not write `path` (its value comes from the defaults). */
  isDefault(path: readonly PathSegment[]): boolean {
    let node = this.raw;
    for (const seg of path) {
      if (node === null || typeof node !== 'object') return true;
      node = (node as Record<string | number, unknown>)[seg];
    }
    return node === undefined;
  }

  /** " (default)" after a value that comes from the defaults, for messages. */
  defaultNote(path: readonly PathSegment[]): string {
    return this.isDefault(path) ? ' (default)' : '';
  }
}
