// A problem found in a spec, and how problems are shown to people: cdk8s style, every problem
// collected with its path, then reported once.
import { InvalidInputError } from '../util/errors.js';
import { compareStrings } from '../util/compare.js';

export interface SpecProblem {
  /** Where, e.g. `spec.agent.instances[1].node` ("" for the whole file). */
  path: string;
  /** 1-based line and column in the file, when the path (or its nearest parent) is in it. */
  line?: number;
  column?: number;
  /** What the file has there, for people (never a secret value). */
  found: string;
  /** What is allowed there. */
  expected: string;
  /** The whole story: what is wrong and what to do. */
  message: string;
}

export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['spec', 'agent', 'instances', 1, 'node']` → `spec.agent.instances[1].node`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** One line per problem: `file:line:col  path  message (found X, expected Y)`. */
export function formatProblems(problems: readonly SpecProblem[], file: string): string {
  return problems
    .map((p) => {
      const where = p.line !== undefined ? `${file}:${p.line}:${p.column ?? 1}` : file;
      const path = p.path === '' ? '(file)' : p.path;
      return `${where}  ${path}  ${p.message} (found ${p.found}, expected ${p.expected})`;
    })
    .join('\n');
}

/** Problems sorted by position in the file, then path, without exact duplicates. */
export function sortProblems(problems: readonly SpecProblem[]): SpecProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0) || compareStrings(a.path, b.path),
  );
}

/** The spec is invalid: carries every problem; the message lists them all. */
export class SpecInvalidError extends InvalidInputError {
  readonly problems: readonly SpecProblem[];
  readonly file: string;
  constructor(file: string, problems: readonly SpecProblem[]) {
    const n = problems.length;
    super(
      `${file} is not a valid BzzzCluster spec (${n} problem${n === 1 ? '' : 's'}); fix ${n === 1 ? 'it' : 'them'} and retry:\n${formatProblems(problems, file)}`,
    );
    this.problems = problems;
    this.file = file;
  }
}
