// Turns ajv's errors into problems for people: the path in the spec, what was found, what is
// expected (from the schema's own bounds and descriptions) and what to do — ajv's raw
// "must NOT have additional properties" is not enough.
import { schema as rootSchema, type SchemaError } from './generated/validate-schema.js';
import { formatPath, type PathSegment, type SpecProblem } from './problems.js';
import type { ParsedText } from './load.js';
import { closest } from './suggest.js';

type Schema = Record<string, unknown>;
type Source = Pick<ParsedText, 'locate' | 'sourceText'>;

/** Keys that are not where the user put them but exist elsewhere: a hint beats a guess. */
const MISPLACED_HINTS: Record<string, string> = {
  'agent.replicas': 'the agent runs one service per instance: list them under spec.agent.instances',
  'agent.enabled': 'the agent cannot be turned off; it is the cluster',
  'agent.ports.published': 'publish agent ports per instance with spec.agent.instances[].publish',
  'spec.replicas': 'replicas belong to each service, e.g. spec.services.mcpServer.replicas',
  'spec.name': 'the cluster name is metadata.name',
  'spec.image': 'images belong to each component, e.g. spec.agent.image',
};

export function schemaProblems(errors: readonly SchemaError[], data: unknown, source: Source): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const err of errors) {
    // Errors inside "exactly one source" branches are summarised by the oneOf error itself;
    // propertyNames wrappers repeat the inner error that carries the key.
    if (err.schemaPath.includes('/oneOf/') || err.keyword === 'propertyNames' || err.keyword === 'if') continue;
    const segments = toSegments(err.instancePath, data);
    const problem = explain(err, segments, data, source);
    if (problem) problems.push(problem);
  }
  return problems;
}

function explain(err: SchemaError, segments: PathSegment[], data: unknown, source: Source): SpecProblem | undefined {
  const value = valueAt(data, segments);
  const schema = schemaAt(segments);
  const p = err.params;
  const where = formatPath(segments);
  const make = (path: PathSegment[], found: string, expected: string, message: string, atKey = false): SpecProblem => {
    const pos = source.locate(path, atKey);
    return { path: formatPath(path), ...(pos ? { line: pos.line, column: pos.column } : {}), found, expected, message };
  };

  if (err.propertyName !== undefined) {
    const key = err.propertyName;
    const keySchema = deref((schema?.propertyNames as Schema | undefined) ?? {});
    const expected = describeSchema(keySchema);
    return make(
      [...segments, key],
      `the key ${JSON.stringify(key)}`,
      expected,
      `the name ${JSON.stringify(key)} is not allowed here; rename it`,
      true,
    );
  }

  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys((schema?.properties as Schema | undefined) ?? {});
      const parent = String(segments.filter((s) => typeof s === 'string').at(-1) ?? '');
      const guess = closest(key, known);
      const hints = Object.keys(MISPLACED_HINTS)
        .filter((h) => h.startsWith(`${parent}.`))
        .map((h) => h.slice(parent.length + 1));
      const hintKey = hints.includes(key) ? key : guess ? undefined : closest(key, hints);
      const hint = hintKey !== undefined ? MISPLACED_HINTS[`${parent}.${hintKey}`] : undefined;
      const advice = hint ?? (guess ? `did you mean \`${guess}\`?` : 'remove it or check its spelling');
      return make(
        [...segments, key],
        `the unknown key \`${key}\``,
        known.length ? `one of ${known.join(', ')}` : 'no keys',
        `unknown key \`${key}\` in ${where || 'the top level'}: ${advice}`,
        true,
      );
    }
    case 'required': {
      const key = String(p.missingProperty);
      const propSchema = (schema?.properties as Record<string, Schema> | undefined)?.[key];
      const desc = propSchema ? describeProperty(propSchema) : '';
      // The path names the missing key; its position is its parent's (the nearest in the file).
      return make(
        [...segments, key],
        `no \`${key}\``,
        `\`${key}\`${desc ? `: ${desc}` : ''}`,
        `\`${key}\` is missing from ${where || 'the top level'}; add it`,
      );
    }
    case 'type': {
      const expected = describeType(p.type);
      const found = describeValue(value, segments);
      return make(
        segments,
        found,
        expected,
        `wrong type: ${expected} is needed here${typeAdvice(value, String(p.type), isSensitive(segments) ? undefined : source.sourceText(segments))}`,
      );
    }
    case 'const':
      return make(
        segments,
        describeValue(value, segments),
        JSON.stringify(p.allowedValue),
        `this must be exactly ${JSON.stringify(p.allowedValue)}; this file may be for another tool or version`,
      );
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const guess = typeof value === 'string' ? closest(value, allowed) : undefined;
      return make(
        segments,
        describeValue(value, segments),
        `one of ${allowed.join(', ')}`,
        `not an accepted value${guess ? `; did you mean \`${guess}\`?` : `; use one of ${allowed.join(', ')}`}`,
      );
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const range = describeRange(schema ?? {});
      return make(segments, describeValue(value, segments), range, `${String(value)} is out of range; use a value ${range}`);
    }
    case 'minLength':
    case 'maxLength': {
      const expected = describeSchema(schema ?? {});
      const len = typeof value === 'string' ? value.length : 0;
      return make(
        segments,
        `${describeValue(value, segments)} (${len} characters)`,
        expected,
        `too ${err.keyword === 'minLength' ? 'short' : 'long'}; ${err.keyword === 'minLength' ? 'lengthen' : 'shorten'} it`,
      );
    }
    case 'pattern': {
      const expected = describeSchema(schema ?? {});
      return make(segments, describeValue(value, segments), expected, 'not in the accepted format; rewrite it as expected');
    }
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(value) ? value.length : 0;
      const limit = Number(p.limit);
      const expected = err.keyword === 'minItems' ? `at least ${limit} item${limit === 1 ? '' : 's'}` : `at most ${limit} items`;
      const extra = segments.at(-1) === 'instances' ? '; add an instance, e.g. `- name: a`' : '';
      return make(segments, `${n} item${n === 1 ? '' : 's'}`, expected, `${where} needs ${expected}${extra}`);
    }
    case 'oneOf':
      return sourceProblem(segments, value, make);
    default:
      return make(segments, describeValue(value, segments), err.keyword, `${err.message ?? 'not valid'}; fix it`);
  }
}

/** "Exactly one source" of a secret or config. */
function sourceProblem(
  segments: PathSegment[],
  value: unknown,
  make: (path: PathSegment[], found: string, expected: string, message: string) => SpecProblem,
): SpecProblem {
  const isSecret = segments.includes('secrets');
  const sources = isSecret ? ['file', 'env', 'generate', 'external'] : ['file', 'content', 'external'];
  const kind = isSecret ? 'secret' : 'config';
  const name = String(segments.at(-1));
  const present = value && typeof value === 'object' ? sources.filter((s) => s in (value as object)) : [];
  const expected = `exactly one of ${sources.join(', ')}`;
  if (present.length === 0) {
    return make(segments, 'no source', expected, `${kind} \`${name}\` has no source: set ${expected}`);
  }
  return make(
    segments,
    `${present.length} sources (${present.join(', ')})`,
    expected,
    `${kind} \`${name}\` has ${present.length} sources (${present.join(' and ')}): keep exactly one`,
  );
}

function typeAdvice(value: unknown, type: string, written: string | undefined): string {
  if (value === null) return '; give it a value or remove the key';
  if (typeof value === 'string' && (type === 'integer' || type === 'number') && value.trim() !== '' && !Number.isNaN(Number(value)))
    return '; remove the quotes';
  if ((typeof value === 'number' || typeof value === 'boolean') && type === 'string')
    return written === undefined ? '; quote it' : `; quote it: "${written}"`;
  if (typeof value === 'number' && type === 'integer') return '; use a whole number';
  if (type === 'array' && value !== null && typeof value !== 'object') return '; write it as a list (`- item`)';
  return '';
}

// ---- values ----

/** Environment values and config content may hold credentials: only their kind is shown. */
function isSensitive(segments: readonly PathSegment[]): boolean {
  return segments.includes('env') || segments.at(-1) === 'content';
}

function describeValue(value: unknown, segments: readonly PathSegment[]): string {
  const sensitive = isSensitive(segments);
  if (value === null || value === undefined) return 'nothing (an empty value)';
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  if (sensitive) return `a ${typeof value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  return `${typeof value === 'boolean' ? 'the boolean' : 'the number'} ${String(value)}`;
}

function describeType(type: unknown): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    object: 'a mapping (key: value)',
    array: 'a list',
    null: 'nothing',
  };
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function describeRange(s: Schema): string {
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  const loText = lo === undefined ? '' : s.exclusiveMinimum !== undefined ? `greater than ${String(lo)}` : `${String(lo)}`;
  if (lo !== undefined && hi !== undefined && s.exclusiveMinimum === undefined && s.exclusiveMaximum === undefined)
    return `from ${String(lo)} to ${String(hi)}`;
  if (lo !== undefined && hi !== undefined) return `${loText} and at most ${String(hi)}`;
  if (lo !== undefined) return s.exclusiveMinimum !== undefined ? loText : `at least ${loText}`;
  return `at most ${String(hi)}`;
}

/** What a schema accepts, for people: its description, else its bounds. */
function describeSchema(s: Schema): string {
  if (typeof s.description === 'string') return lowerFirst(s.description.replace(/\.$/, ''));
  const parts: string[] = [];
  if (s.type) parts.push(describeType(s.type));
  if (s.minLength !== undefined) parts.push(`at least ${String(s.minLength)} characters`);
  if (s.maxLength !== undefined) parts.push(`at most ${String(s.maxLength)} characters`);
  if (s.pattern !== undefined) parts.push(`matching ${String(s.pattern)}`);
  return parts.join(', ') || 'a valid value';
}

function describeProperty(prop: Schema): string {
  const own = typeof prop.description === 'string' ? prop.description : undefined;
  return lowerFirst((own ?? describeSchema(deref(prop))).replace(/\.$/, ''));
}

function lowerFirst(s: string): string {
  return /^[A-Z](?=[a-z\s])/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
}

// ---- schema walking: ajv's schemaPath is relative to each $ref'd definition, so the schema of
// an instance path is found by walking the instance path through the schema. ----

function deref(s: Schema): Schema {
  let out = s;
  for (let i = 0; i < 10 && typeof out.$ref === 'string'; i++) {
    const name = out.$ref.replace('#/definitions/', '');
    out = ((rootSchema.definitions as Record<string, Schema>)[name] ?? {}) as Schema;
  }
  return out;
}

function schemaAt(segments: readonly PathSegment[]): Schema | undefined {
  let s: Schema | undefined = rootSchema as Schema;
  for (const seg of segments) {
    if (!s) return undefined;
    s = deref(s);
    const props = s.properties as Record<string, Schema> | undefined;
    if (typeof seg === 'string' && props?.[seg]) s = props[seg];
    else if (typeof seg === 'number' && s.items && typeof s.items === 'object') s = s.items as Schema;
    else if (typeof s.additionalProperties === 'object') s = s.additionalProperties as Schema;
    else return undefined;
  }
  return s ? deref(s) : undefined;
}

// ---- instance paths ----

function toSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return segments;
}

function valueAt(data: unknown, segments: readonly PathSegment[]): unknown {
  let node = data;
  for (const seg of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}
