// Parses the Prometheus text exposition format (version 0.0.4): what the agents' /metrics serve
// (prom-client: counters, gauges, histograms, labels with escapes). The text comes from agents,
// which the controller does not trust (DESIGN.md, threat model): it is bounded in size, and
// anything malformed is refused with the line and column, never half-read.
import { BzzzError } from '../util/errors.js';

/** Default bound on one exposition (the agents serve a few kB; a runaway label set could serve much more). */
export const DEFAULT_MAX_EXPOSITION_BYTES = 4 * 1024 * 1024;

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  /** Label name → value. No prototype: a label may be called `__proto__`. */
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Epoch ms, when the exposition gave one. */
  timestampMs?: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family name → its `# TYPE`. */
  types: ReadonlyMap<string, MetricType>;
  /** Metric family name → its `# HELP`, unescaped. */
  help: ReadonlyMap<string, string>;
}

/** The exposition could not be read: says where (line, column) and what was expected. */
export class ExpositionFormatError extends BzzzError {}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** A sample value as Prometheus writes it: a float, NaN, +Inf, -Inf (Go's ParseFloat spellings of them too). Undefined if not a number. */
export function parseSampleValue(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** A cursor over one line; errors carry the line and column. */
class Line {
  pos = 0;
  constructor(
    readonly text: string,
    readonly lineNo: number,
  ) {}

  fail(what: string): never {
    const found = this.pos < this.text.length ? `"${this.text.slice(this.pos, this.pos + 20)}"` : 'the end of the line';
    throw new ExpositionFormatError(`metrics exposition, line ${this.lineNo}, column ${this.pos + 1}: expected ${what}, found ${found}`);
  }

  skipBlanks(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }

  match(re: RegExp, what: string): string {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) this.fail(what);
    this.pos = re.lastIndex;
    return m[0];
  }

  eat(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  /** The rest up to the next blank (or the end). */
  word(): string {
    const start = this.pos;
    while (this.pos < this.text.length && this.text[this.pos] !== ' ' && this.text[this.pos] !== '\t') this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** A double-quoted label value with the format's escapes (\\, \", \n). */
  quoted(): string {
    if (!this.eat('"')) this.fail('a double-quoted label value');
    let out = '';
    for (;;) {
      const ch = this.text[this.pos];
      if (ch === undefined) this.fail('a closing double quote');
      this.pos++;
      if (ch === '"') return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = this.text[this.pos++];
      if (esc === '\\' || esc === '"') out += esc;
      else if (esc === 'n') out += '\n';
      else {
        this.pos -= 2;
        this.fail('one of the escapes \\\\, \\" or \\n');
      }
    }
  }
}

function parseLabels(line: Line): Record<string, string> {
  const labels: Record<string, string> = Object.create(null);
  if (!line.eat('{')) return labels;
  for (;;) {
    line.skipBlanks();
    if (line.eat('}')) return labels;
    const start = line.pos;
    const name = line.match(LABEL_NAME, 'a label name or "}"');
    if (name in labels) {
      line.pos = start;
      line.fail(`a label other than "${name}" (it appears twice)`);
    }
    line.skipBlanks();
    if (!line.eat('=')) line.fail('"=" after the label name');
    line.skipBlanks();
    labels[name] = line.quoted();
    line.skipBlanks();
    if (line.eat('}')) return labels;
    if (!line.eat(',')) line.fail('"," or "}" after the label value');
  }
}

function parseSample(line: Line): Sample {
  const name = line.match(METRIC_NAME, 'a metric name');
  line.skipBlanks();
  const labels = parseLabels(line);
  line.skipBlanks();
  const valueText = line.word();
  const value = parseSampleValue(valueText);
  if (value === undefined) {
    line.pos -= valueText.length;
    line.fail('a sample value (a number, NaN, +Inf or -Inf)');
  }
  const sample: Sample = { name, labels, value };
  line.skipBlanks();
  if (line.pos < line.text.length) {
    const tsText = line.word();
    if (!/^-?[0-9]+$/.test(tsText) || !Number.isSafeInteger(Number(tsText))) {
      line.pos -= tsText.length;
      line.fail('a timestamp in milliseconds (an integer) or the end of the line');
    }
    sample.timestampMs = Number(tsText);
    line.skipBlanks();
    if (line.pos < line.text.length) line.fail('the end of the line');
  }
  return sample;
}

/** `# HELP name text` and `# TYPE name type`; any other comment is ignored, as the format says. */
function parseComment(line: Line, types: Map<string, MetricType>, help: Map<string, string>): void {
  line.pos = 1;
  line.skipBlanks();
  const keyword = line.word();
  if (keyword !== 'HELP' && keyword !== 'TYPE') return;
  line.skipBlanks();
  const name = line.match(METRIC_NAME, `a metric name after # ${keyword}`);
  if (keyword === 'HELP') {
    const text = line.text.slice(line.pos).replace(/^[ \t]/, '');
    help.set(
      name,
      text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')),
    );
    return;
  }
  line.skipBlanks();
  const type = line.word();
  if (!TYPES.has(type)) {
    line.pos -= type.length;
    line.fail('a type: counter, gauge, histogram, summary or untyped');
  }
  if (types.has(name)) line.fail(`one # TYPE line for ${name} (it has a second one)`);
  types.set(name, type as MetricType);
}

/** Parses a whole exposition. Throws ExpositionFormatError when it is larger than `maxBytes` or malformed. */
export function parseExposition(text: string, maxBytes = DEFAULT_MAX_EXPOSITION_BYTES): Exposition {
  // Characters are at most 4 bytes: count exactly only when the cheap bound does not settle it.
  if (text.length > maxBytes || (text.length * 4 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes)) {
    throw new ExpositionFormatError(`metrics exposition is larger than the ${maxBytes} bytes allowed`);
  }
  const samples: Sample[] = [];
  const types = new Map<string, MetricType>();
  const help = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = new Line(lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i], i + 1);
    line.skipBlanks();
    if (line.pos === line.text.length) continue;
    if (line.text[line.pos] === '#') {
      if (line.pos === 0) parseComment(line, types, help);
      continue;
    }
    samples.push(parseSample(line));
  }
  return { samples, types, help };
}
