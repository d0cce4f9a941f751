// Parses a spec's text (YAML, or JSON which YAML 1.2 reads too) keeping node ranges, so every
// problem found later by path can point at a line and column of the file.
import { isMap, isPair, isScalar, isSeq, isAlias, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { PathSegment, SpecProblem } from './problems.js';

export interface Position {
  line: number;
  column: number;
}

export interface ParsedText {
  /** The parsed value (undefined when the text has syntax errors). */
  value: unknown;
  /** Syntax problems (YAML/JSON), with positions. */
  problems: SpecProblem[];
  /**
   * Position of the node at `path`: of its key when `atKey` (unknown keys), else of its value.
   * A path that is not in the file (a missing key, a default) resolves to its nearest parent.
   */
  locate(path: readonly PathSegment[], atKey?: boolean): Position | undefined;
  /** The text of the value at `path` as written (e.g. `2.0`, which parses as the number 2). */
  sourceText(path: readonly PathSegment[]): string | undefined;
}

export function parseSpecText(text: string): ParsedText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): Position | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const locate = (path: readonly PathSegment[], atKey = false): Position | undefined => at(offsetOf(doc, path, atKey));
  const sourceText = (path: readonly PathSegment[]): string | undefined => {
    const node = doc.getIn(path as PathSegment[], true) as Node | undefined;
    return isScalar(node) && node.range ? text.slice(node.range[0], node.range[1]) : undefined;
  };

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((err): SpecProblem => {
      const pos = at(err.pos?.[0]);
      return {
        path: '',
        ...(pos ? { line: pos.line, column: pos.column } : {}),
        found: 'a syntax error',
        expected: 'valid YAML or JSON',
        message: `the file does not parse: ${firstLine(err.message)}; fix the syntax at this position`,
      };
    });
    return { value: undefined, problems, locate, sourceText };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value === null || value === undefined) {
    return {
      value: undefined,
      problems: [
        {
          path: '',
          line: 1,
          column: 1,
          found: 'an empty document',
          expected: 'a BzzzCluster (apiVersion, kind, metadata, spec)',
          message: 'the file holds no spec; start from stacks/examples/dev.yaml',
        },
      ],
      locate,
      sourceText,
    };
  }
  return { value, problems: [], locate, sourceText };
}

function firstLine(message: string): string {
  return message
    .split('\n')[0]
    .replace(/ at line \d+, column \d+:?$/, '')
    .trim();
}

/** Walks the document along `path`; returns the start offset of the deepest node found. */
function offsetOf(doc: Document, path: readonly PathSegment[], atKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return offset;
      if (last && atKey) return rangeStart(pair.key) ?? offset;
      node = pair.value;
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return offset;
      node = item;
      offset = rangeStart(node) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
