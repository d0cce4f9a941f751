import { describe, expect, it } from 'vitest';
import { cpusToNano, parseDurationMs, parseDurationNs, parseMemoryBytes } from '../../../src/spec/index.js';
import { InvalidInputError } from '../../../src/util/errors.js';

describe('parseDurationNs / parseDurationMs', () => {
  it.each([
    ['10s', 10e9],
    ['500ms', 500e6],
    ['1m30s', 90e9],
    ['1h', 3600e9],
    ['1.5s', 1.5e9],
    ['250us', 250e3],
    ['250µs', 250e3],
    ['7ns', 7],
    ['0', 0],
    ['0s', 0],
    ['2h45m10s', (2 * 3600 + 45 * 60 + 10) * 1e9],
  ])('%s is %d ns', (text, ns) => {
    expect(parseDurationNs(text)).toBe(ns);
  });

  it('gives milliseconds, keeping fractions', () => {
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('1500us')).toBe(1.5);
  });

  it.each(['10', '10 s', '10seconds', '', 's', '1m 30s', '-5s', '1d', '10S'])('refuses %j naming the field', (text) => {
    const err = (() => {
      try {
        parseDurationNs(text, 'spec.updatePolicy.delay');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toContain('spec.updatePolicy.delay');
    expect((err as Error).message).toContain('"10s"'); // says what to write
  });
});

describe('parseMemoryBytes', () => {
  it.each<[string | number, number]>([
    ['512M', 512 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64m', 64 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['512MB', 512 * 1024 ** 2],
    ['100k', 102_400],
    ['1024', 1024],
    ['1024b', 1024],
    [4096, 4096],
    ['1T', 1024 ** 4],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseMemoryBytes(text)).toBe(bytes);
  });

  it.each<[string | number]>([['lots'], ['512X'], ['M'], [-1], [1.5], ['']])('refuses %j naming the field', (value) => {
    expect(() => parseMemoryBytes(value, 'spec.agent.resources.limits.memory')).toThrow(/spec\.agent\.resources\.limits\.memory/);
  });
});

describe('cpusToNano', () => {
  it('converts CPUs to Docker NanoCPUs', () => {
    expect(cpusToNano(0.5)).toBe(500_000_000);
    expect(cpusToNano(2)).toBe(2_000_000_000);
    expect(cpusToNano(0.001)).toBe(1_000_000);
  });

  it.each([0, -1, Number.NaN, 0.0001])('refuses %d naming the field', (n) => {
    expect(() => cpusToNano(n, 'spec.agent.resources.limits.cpus')).toThrow(/spec\.agent\.resources\.limits\.cpus/);
  });
});
