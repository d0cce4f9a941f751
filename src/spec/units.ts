// Durations, memory sizes and CPUs as the spec writes them ("1m30s", "512M", 0.5) turned into
// the numbers Docker's API wants (nanoseconds, bytes, nano-CPUs). Errors name the field.
import { InvalidInputError } from '../util/errors.js';

const DURATION_UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// Go's time.ParseDuration syntax (what docker and compose accept), without signs.
const DURATION_PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/gy;

const DURATION_HELP = 'a number and a unit (ns, us, ms, s, m, h), e.g. "500ms", "10s", "1m30s"';

/**
 * "0", or numbers each followed by a unit of `units` ("1m30s", "1d12h"), summed in the units'
 * scale; undefined when the text is anything else. `part` is a sticky regex: (number)(unit).
 */
export function sumOfUnits(value: string, part: RegExp, units: Record<string, number>): number | undefined {
  const text = value.trim();
  if (text === '0') return 0;
  let total = 0;
  let consumed = 0;
  part.lastIndex = 0;
  for (let m = part.exec(text); m !== null; m = part.exec(text)) {
    total += Number(m[1]) * (units[m[2] as string] ?? Number.NaN);
    consumed = part.lastIndex;
  }
  return text.length === 0 || consumed !== text.length || Number.isNaN(total) ? undefined : total;
}

/** Parses a duration such as "1m30s" into nanoseconds (an integer). */
export function parseDurationNs(value: string, field = 'duration'): number {
  if (typeof value !== 'string') {
    throw new InvalidInputError(`${field}: expected a duration string (${DURATION_HELP}), found ${typeof value}`);
  }
  const total = sumOfUnits(value, DURATION_PART, DURATION_UNIT_NS);
  if (total === undefined) throw new InvalidInputError(`${field}: "${value}" is not a duration; write ${DURATION_HELP}`);
  if (!Number.isSafeInteger(Math.round(total))) {
    throw new InvalidInputError(`${field}: "${value}" is too long a duration; keep it under 100 days`);
  }
  return Math.round(total);
}

/** Parses a duration such as "500ms" into milliseconds (fractions of a millisecond are kept). */
export function parseDurationMs(value: string, field = 'duration'): number {
  return parseDurationNs(value, field) / 1e6;
}

const MEMORY_UNIT: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const MEMORY = /^([0-9]+(?:\.[0-9]+)?)\s*(?:([bkmgt])|([kmgt])i?b)?$/i;
const MEMORY_HELP = 'bytes as an integer, or a number with a unit b, k, m, g, t (1k = 1024), e.g. "512M", "2G"';

/** Parses a memory size ("512M", "2G", "1.5g", "512MiB", or bytes as a number) into bytes. */
export function parseMemoryBytes(value: string | number, field = 'memory'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidInputError(`${field}: ${value} is not a byte count; write ${MEMORY_HELP}`);
    }
    return value;
  }
  if (typeof value !== 'string') {
    throw new InvalidInputError(`${field}: expected a memory size (${MEMORY_HELP}), found ${typeof value}`);
  }
  const m = MEMORY.exec(value.trim());
  if (!m) throw new InvalidInputError(`${field}: "${value}" is not a memory size; write ${MEMORY_HELP}`);
  const unit = (m[2] ?? m[3] ?? '').toLowerCase();
  const bytes = Math.floor(Number(m[1]) * MEMORY_UNIT[unit]);
  if (!Number.isSafeInteger(bytes)) throw new InvalidInputError(`${field}: "${value}" is too large a memory size`);
  return bytes;
}

/** CPUs (0.5 = half a core) as Docker's NanoCPUs integer. */
export function cpusToNano(cpus: number, field = 'cpus'): number {
  if (typeof cpus !== 'number' || !Number.isFinite(cpus) || cpus <= 0) {
    throw new InvalidInputError(`${field}: expected a positive number of CPUs such as 0.5 or 2, found ${String(cpus)}`);
  }
  const nano = Math.round(cpus * 1e9);
  if (nano < 1e6) throw new InvalidInputError(`${field}: ${cpus} CPUs is below Docker's minimum of 0.001`);
  return nano;
}
