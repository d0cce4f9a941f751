// Alertmanager's label matchers (`alertname="BzzzErrorRate"`, `severity=~"critical|page"`,
// `env!="dev"`, `team!~"qa.*"`), parsed the way Alertmanager's classic parser does
// (pkg/labels/parse.go): a label name, an operator, a value that may be double-quoted with `\"`,
// `\\` and `\n` escapes. Regexes are anchored at both ends like Alertmanager's (`^(?:re)$`), and a
// label an alert does not carry counts as the empty string. Pure. It lives with the spec because it
// is the syntax of a spec field (spec.rollback.triggers[].matchers): the semantic checks call
// `parseMatchers` to refuse a bad matcher at apply, and the controller's webhook
// (src/controller/webhook/triggers.ts) matches alerts with the same parser.
import { InvalidInputError } from '../util/errors.js';

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly op: MatchOperator;
  readonly value: string;
  /** The matcher as written (for messages). */
  readonly text: string;
  matches(labels: Readonly<Record<string, string>>): boolean;
}

/** Longest matcher accepted: a regex is run on untrusted label values, keep it small. */
export const MAX_MATCHER_CHARS = 1024;

// '=~' before '=': otherwise '=' is taken and '~' starts the value.
const MATCHER = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;

// JavaScript regex features that Go's RE2 (Alertmanager's engine) does not have: a matcher must
// mean the same here as in Alertmanager, and these are also the ones that backtrack without bound.
const NOT_RE2: Array<[RegExp, string]> = [
  [/\(\?<?[=!]/, 'lookaround ((?=, (?!, (?<=, (?<!)'],
  [/\\[1-9]|\\k</, 'backreferences (\\1, \\k<name>)'],
];

/**
 * Parses one matcher. `where` names it in errors (e.g. `spec.rollback.triggers[0].matchers[1]`).
 * Throws InvalidInputError naming the matcher and what is wrong.
 */
export function parseMatcher(text: string, where = 'matcher'): Matcher {
  const fail = (what: string): never => {
    throw new InvalidInputError(`${where}: ${JSON.stringify(text)} ${what}`);
  };
  if (typeof text !== 'string') throw new InvalidInputError(`${where}: expected a string such as alertname="BzzzErrorRate"`);
  if (text.length > MAX_MATCHER_CHARS) fail(`is over ${MAX_MATCHER_CHARS} characters`);
  const m = MATCHER.exec(text);
  if (m === null) {
    return fail(
      'is not a matcher; write label, operator (=, !=, =~, !~) and value, e.g. alertname="BzzzErrorRate" or severity=~"critical|page"',
    );
  }
  const [, name, op, raw] = m as unknown as [string, string, MatchOperator, string];
  const value = unquote(raw, fail);
  if (op === '=' || op === '!=') {
    const equal = op === '=';
    return { name, op, value, text, matches: (labels) => (label(labels, name) === value) === equal };
  }
  for (const [re, what] of NOT_RE2) if (re.test(value)) fail(`uses ${what}, which Alertmanager's regular expressions (RE2) do not have`);
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${value})$`);
  } catch (err) {
    return fail(`has an invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
  const want = op === '=~';
  return { name, op, value, text, matches: (labels) => re.test(label(labels, name)) === want };
}

/** Parses every matcher of a list; errors name the list entry (`where[i]`). */
export function parseMatchers(texts: readonly string[], where = 'matchers'): Matcher[] {
  return texts.map((t, i) => parseMatcher(t, `${where}[${i}]`));
}

function label(labels: Readonly<Record<string, string>>, name: string): string {
  return Object.hasOwn(labels, name) ? labels[name] : '';
}

// OpenMetrics escaping inside the value, as Alertmanager reads it: \" \\ \n; any other backslash is
// literal; an unescaped quote may only close a value that an opening quote started.
function unquote(raw: string, fail: (what: string) => never): string {
  let rest = raw;
  let quoted = false;
  if (rest.startsWith('"')) {
    rest = rest.slice(1);
    quoted = true;
  }
  let out = '';
  let closed = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (closed) fail('has text after the closing quote of its value');
    if (c === '\\' && i < rest.length - 1) {
      const next = rest[++i];
      out += next === 'n' ? '\n' : next === '"' || next === '\\' ? next : `\\${next}`;
    } else if (c === '"') {
      if (!quoted) fail('has an unescaped double quote in its value; quote the value and write \\" inside');
      closed = true;
    } else {
      out += c;
    }
  }
  if (quoted && !closed) fail('has an opening quote but no closing quote');
  return out;
}
