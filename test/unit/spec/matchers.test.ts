// Alertmanager's matcher syntax, table-driven: what matches, what does not, what is refused.
import { describe, expect, it } from 'vitest';
import { parseMatcher, parseMatchers } from '../../../src/spec/matchers.js';
import { InvalidInputError } from '../../../src/util/errors.js';

const labels = { alertname: 'BzzzErrorRate', severity: 'critical', env: 'prod', path: 'a"b\\c', multi: 'x\ny' };

describe('parseMatcher', () => {
  it.each([
    ['alertname="BzzzErrorRate"', true],
    ['alertname = "BzzzErrorRate"', true],
    ['alertname=BzzzErrorRate', true],
    ['alertname="bzzzerrorrate"', false],
    ['env!="dev"', true],
    ['env!="prod"', false],
    ['severity=~"critical|page"', true],
    ['severity=~"crit"', false], // anchored: a prefix is no match
    ['severity=~".*crit.*"', true],
    ['severity!~"warning|info"', true],
    ['severity!~"crit.*"', false],
    ['team=""', true], // an absent label is the empty string
    ['team!=""', false],
    ['team=~".*"', true],
    ['env=~""', false],
    ['path="a\\"b\\\\c"', true], // \" and \\ unescaped
    ['multi="x\\ny"', true], // \n is a line feed
    ['multi=~"x.y"', false], // . does not match a line feed (RE2 without the s flag)
    ['severity=~"critical|page"  ', true], // trailing space ignored
  ])('%s → %s', (text, want) => {
    expect(parseMatcher(text).matches(labels)).toBe(want);
  });

  it('reads name, operator and value', () => {
    const m = parseMatcher('severity =~ "critical|page"');
    expect({ name: m.name, op: m.op, value: m.value }).toEqual({ name: 'severity', op: '=~', value: 'critical|page' });
  });

  it('keeps a backslash before another character literal, like Alertmanager', () => {
    expect(parseMatcher('path="a\\d"').value).toBe('a\\d');
  });

  it.each([
    ['alertname', 'is not a matcher'],
    ['9lives="x"', 'is not a matcher'],
    ['alertname=="x"', 'unescaped double quote'],
    ['alertname="x', 'no closing quote'],
    ['alertname="x"y', 'after the closing quote'],
    ['alertname=a"b', 'unescaped double quote'],
    ['severity=~"(crit"', 'invalid regular expression'],
    ['severity=~"(?=crit).*"', 'lookaround'],
    ['severity=~"(a)\\1"', 'backreferences'],
    [`x="${'a'.repeat(1100)}"`, 'over 1024 characters'],
  ])('refuses %s, naming the matcher', (text, why) => {
    const err = (() => {
      try {
        parseMatcher(text, 'spec.rollback.triggers[0].matchers[1]');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err?.message).toContain('spec.rollback.triggers[0].matchers[1]');
    expect(err?.message).toContain(why);
  });

  it('parseMatchers names the entry that is wrong', () => {
    expect(() => parseMatchers(['alertname="A"', 'nope'], 'triggers[2].matchers')).toThrow(
      /triggers\[2\]\.matchers\[1\]: "nope" is not a matcher/,
    );
  });

  it('does not read inherited properties as labels', () => {
    expect(parseMatcher('constructor=""').matches({})).toBe(true);
    expect(parseMatcher('toString!=""').matches({})).toBe(false);
  });
});
