// The v1 conversation log (BZZZ v1 logging/hypercore.go) and its chain verifier.
//
// A v1 log is JSON lines, one entry each: {index, timestamp, author, type, data, hash, prev_hash,
// signature}. v1 computes `hash` as the hex SHA-256 of Go's json.Marshal of the entry with `hash`
// and `signature` empty, fields in that order; `prev_hash` is the hash of the entry before, and
// the first entry's is "" (v1's head hash starts empty); indexes are len(entries) at append time,
// so they count from 0 with no gap. VerifyIntegrity in v1 checks exactly this; we do the same,
// streaming, and list every break instead of stopping at the first.
//
// Canonical JSON: Go's json.Marshal, which is JSON.stringify except that object keys are sorted
// (v1's `data` is a map[string]interface{}), `<`, `>`, `&`, U+2028 and U+2029 are escaped as
// \u003c…, and -0 stays -0. An entry whose hash matches the plain JSON.stringify form instead
// (keys in the line's order) is accepted too: a log written by another tool following the same
// description verifies. The bytes an entry is stored as (`canonical`) are always the Go form of
// the whole entry (hash and signature included): the same entry always gets the same address.
//
// Limits (DESIGN.md, threat model): a line longer than `maxLineBytes` (default 1 MiB) is a break,
// skipped without being buffered; the break list is capped (`maxBreaks`, the rest counted).
// Memory stays flat whatever the log size: one line at a time, a few numbers of chain state.
import { createHash } from 'node:crypto';

/** One entry as v1 writes it. `data` is whatever JSON value the line holds. */
export interface V1LogEntry {
  index: number;
  timestamp: string;
  author: string;
  type: string;
  data: unknown;
  hash: string;
  prev_hash: string;
  signature: string;
}

export const V1_ENTRY_FIELDS = ['index', 'timestamp', 'author', 'type', 'data', 'hash', 'prev_hash', 'signature'] as const;

export type V1BreakReason = 'unreadable' | 'line-too-long' | 'hash-mismatch' | 'broken-prev-hash' | 'missing-index' | 'repeated-index';

export interface V1LogBreak {
  /** The host or file the log came from. */
  source: string;
  /** 1-based line number in the log. */
  line: number;
  /** The entry's index; for a line that could not be read, absent (then `expectedIndex` says which one was due). */
  index?: number;
  expectedIndex?: number;
  reason: V1BreakReason;
  /** For people: what is wrong, with the values. */
  message: string;
}

export interface V1LogReport {
  source: string;
  /** No break at all: the chain from index 0 to `lastIndex` is whole. */
  intact: boolean;
  /** Lines read (blank lines included) and bytes read. */
  lines: number;
  bytes: number;
  /** Entries that could be read (whatever their chain state). */
  entries: number;
  firstIndex?: number;
  lastIndex?: number;
  /** The last entry's hash: the head of the chain. */
  headHash?: string;
  breaks: V1LogBreak[];
  /** Breaks found beyond `maxBreaks` (counted, not listed). */
  breaksOmitted: number;
}

export interface VerifiedEntry {
  entry: V1LogEntry;
  line: number;
  /** The entry as stored in v2: Go-form canonical JSON of the whole entry, UTF-8. */
  canonical: Buffer;
  /** Its chain was intact up to and including this entry (no break before or at it). */
  chainIntact: boolean;
}

export interface V1LogProgress {
  bytes: number;
  lines: number;
  entries: number;
  breaks: number;
}

export interface VerifyOptions {
  /** How breaks name the log: a host name or a file path. */
  source: string;
  /** Longest line accepted (default 1 MiB). */
  maxLineBytes?: number;
  /** Breaks listed in the report (default 10 000; the rest are counted). */
  maxBreaks?: number;
  /** Called at most every `progressEveryBytes` (default 4 MiB) and at the end. */
  onProgress?: (p: V1LogProgress) => void;
  progressEveryBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_BREAKS = 10_000;

/** What the verifier yields: each readable entry in order, then the report once the log ends. */
export type V1LogItem = { kind: 'entry'; value: VerifiedEntry } | { kind: 'report'; value: V1LogReport };

// ---- canonical JSON (Go's encoding/json) ----

const GO_ESCAPES = /[<>&\u2028\u2029]/g;
const GO_ESCAPE_OF: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

function goString(s: string): string {
  const j = JSON.stringify(s);
  return GO_ESCAPES.test(j) ? j.replace(GO_ESCAPES, (c) => GO_ESCAPE_OF[c] ?? c) : j;
}

/** Go orders map keys by their UTF-8 bytes, which is code point order (not UTF-16 unit order). */
function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** A JSON value as Go's json.Marshal writes it (keys sorted, HTML characters escaped). */
export function goJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return goString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('a JSON number must be finite');
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o).sort(compareKeys);
      return `{${keys.map((k) => `${goString(k)}:${goJson(o[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof value}`);
  }
}

function entryJson(e: V1LogEntry, hash: string, signature: string, str: (s: string) => string, data: string): string {
  return (
    `{"index":${e.index},"timestamp":${str(e.timestamp)},"author":${str(e.author)},"type":${str(e.type)},` +
    `"data":${data},"hash":${str(hash)},"prev_hash":${str(e.prev_hash)},"signature":${str(signature)}}`
  );
}

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The hash v1 computes for an entry: hex SHA-256 of its Go JSON with `hash` and `signature` empty. */
export function v1EntryHash(e: Omit<V1LogEntry, 'hash' | 'signature'>): string {
  return sha256Hex(entryJson({ ...e, hash: '', signature: '' }, '', '', goString, goJson(e.data)));
}

/** The bytes an entry is stored as in v2: the Go JSON of the whole entry. */
export function canonicalEntry(e: V1LogEntry): Buffer {
  return Buffer.from(entryJson(e, e.hash, e.signature, goString, goJson(e.data)), 'utf8');
}

/** One entry as a log line (the Go JSON, no newline), as v1 would export it. */
export const v1EntryLine = (e: V1LogEntry): string => canonicalEntry(e).toString('utf8');

function hashMatches(e: V1LogEntry): boolean {
  if (v1EntryHash(e) === e.hash) return true;
  // The plain JSON.stringify form, keys in the line's order.
  return sha256Hex(entryJson(e, '', '', JSON.stringify, JSON.stringify(e.data))) === e.hash;
}

// ---- lines ----

export interface LogLine {
  /** 1-based. */
  number: number;
  /** The line without its line break; absent when it was too long (it was skipped, never buffered). */
  text?: Buffer;
  /** Its length in bytes (for a line too long: at least the limit). */
  length: number;
}

/** Splits a byte stream into lines of at most `maxLineBytes` (`\n`, optional `\r` before it); a longer one is reported, not kept. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<LogLine> {
  let parts: Buffer[] = [];
  let held = 0;
  let skipping = false;
  let skipped = 0;
  let number = 0;
  const finish = (tail: Buffer): LogLine => {
    number++;
    if (skipping) {
      const line = { number, length: skipped + tail.length };
      skipping = false;
      skipped = 0;
      return line;
    }
    let text = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
    parts = [];
    held = 0;
    if (text.length > 0 && text[text.length - 1] === 0x0d) text = text.subarray(0, text.length - 1);
    if (text.length > maxLineBytes) return { number, length: text.length };
    return { number, text, length: text.length };
  };
  for await (const c of chunks) {
    let chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    for (;;) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) break;
      yield finish(chunk.subarray(0, nl));
      chunk = chunk.subarray(nl + 1);
    }
    if (chunk.length === 0) continue;
    if (skipping) {
      skipped += chunk.length;
      continue;
    }
    // +1: a trailing \r may still be cut off by the line break.
    if (held + chunk.length > maxLineBytes + 1) {
      skipping = true;
      skipped = held + chunk.length;
      parts = [];
      held = 0;
      continue;
    }
    // Copied: the source may reuse its buffer.
    parts.push(Buffer.from(chunk));
    held += chunk.length;
  }
  if (skipping || held > 0) yield finish(Buffer.alloc(0));
}

// ---- entries ----

/** Reads one line as an entry, or says what is wrong with it. */
export function parseEntry(text: Buffer): V1LogEntry | string {
  let v: unknown;
  try {
    v = JSON.parse(text.toString('utf8'));
  } catch (err) {
    return `not JSON (${(err as Error).message.slice(0, 120)})`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return `not a JSON object (${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v})`;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(V1_ENTRY_FIELDS as readonly string[]).includes(k))
      return `unexpected field ${JSON.stringify(k.slice(0, 60))} (a v1 entry has ${V1_ENTRY_FIELDS.join(', ')})`;
  const missing = V1_ENTRY_FIELDS.filter((k) => !(k in o));
  if (missing.length) return `missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  if (typeof o.index !== 'number' || !Number.isSafeInteger(o.index) || o.index < 0)
    return `index is not a whole number from 0 (${JSON.stringify(o.index)?.slice(0, 40)})`;
  for (const k of ['timestamp', 'author', 'type', 'hash', 'prev_hash', 'signature'] as const)
    if (typeof o[k] !== 'string') return `${k} is not a string (${o[k] === null ? 'null' : typeof o[k]})`;
  return o as unknown as V1LogEntry;
}

const short = (h: string): string => (h.length > 16 ? `${h.slice(0, 16)}…` : JSON.stringify(h));

/**
 * Verifies a v1 log as it streams: yields every readable entry (with `chainIntact` false once
 * any break was seen), then one report listing every break. Pure apart from reading `chunks`.
 */
export async function* verifyV1Log(chunks: AsyncIterable<Uint8Array>, opts: VerifyOptions): AsyncGenerator<V1LogItem> {
  const source = opts.source;
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxBreaks = opts.maxBreaks ?? DEFAULT_MAX_BREAKS;
  const every = opts.progressEveryBytes ?? 4 * 1024 * 1024;
  const breaks: V1LogBreak[] = [];
  let breaksOmitted = 0;
  let bytes = 0;
  let lines = 0;
  let entries = 0;
  let nextProgress = every;
  let firstIndex: number | undefined;
  let lastIndex: number | undefined;
  let prevHash = '';
  let expected = 0;
  // Lines that could not be read since the last readable entry: a gap of up to that many indexes is theirs.
  let unreadableRun = 0;
  const report = (b: Omit<V1LogBreak, 'source'>) => {
    if (breaks.length < maxBreaks) breaks.push({ source, ...b });
    else breaksOmitted++;
  };
  const counting = async function* (): AsyncGenerator<Uint8Array> {
    for await (const c of chunks) {
      bytes += c.byteLength;
      yield c;
    }
  };
  const progress = () => opts.onProgress?.({ bytes, lines, entries, breaks: breaks.length + breaksOmitted });

  for await (const line of splitLines(counting(), maxLine)) {
    lines = line.number;
    if (bytes >= nextProgress) {
      nextProgress = bytes + every;
      progress();
    }
    if (line.text === undefined) {
      unreadableRun++;
      report({
        line: line.number,
        expectedIndex: expected,
        reason: 'line-too-long',
        message: `line of ${line.length}+ bytes is longer than the ${maxLine} allowed`,
      });
      continue;
    }
    if (line.text.length === 0 || /^\s*$/.test(line.text.toString('latin1'))) continue;
    const e = parseEntry(line.text);
    if (typeof e === 'string') {
      unreadableRun++;
      report({ line: line.number, expectedIndex: expected, reason: 'unreadable', message: e });
      continue;
    }
    entries++;
    firstIndex ??= e.index;
    if (lastIndex !== undefined && e.index <= lastIndex) {
      report({
        line: line.number,
        index: e.index,
        reason: 'repeated-index',
        message: `index ${e.index} comes again after index ${lastIndex} (expected ${expected})`,
      });
      unreadableRun = 0;
      yield { kind: 'entry', value: { entry: e, line: line.number, canonical: canonicalEntry(e), chainIntact: false } };
      continue;
    }
    let linkCheckable = true;
    if (e.index > expected) {
      const gap = e.index - expected;
      if (gap > unreadableRun) {
        const from = expected;
        const to = e.index - 1;
        report({
          line: line.number,
          index: e.index,
          expectedIndex: expected,
          reason: 'missing-index',
          message: from === to ? `index ${from} is missing (found ${e.index})` : `indexes ${from}–${to} are missing (found ${e.index})`,
        });
      }
      // Its prev_hash names an entry we do not have: the link cannot be checked.
      linkCheckable = false;
    } else if (unreadableRun > 0) {
      // The entry before this one could not be read.
      linkCheckable = false;
    }
    unreadableRun = 0;
    if (linkCheckable && e.prev_hash !== prevHash) {
      report({
        line: line.number,
        index: e.index,
        reason: 'broken-prev-hash',
        message:
          e.index === 0 && prevHash === ''
            ? `the first entry's prev_hash is ${short(e.prev_hash)}, expected "" (v1 starts the chain empty)`
            : `prev_hash ${short(e.prev_hash)} is not the hash of index ${e.index - 1} (${short(prevHash)})`,
      });
    }
    if (!hashMatches(e)) {
      report({
        line: line.number,
        index: e.index,
        reason: 'hash-mismatch',
        message: `hash ${short(e.hash)} is not the SHA-256 of the entry (${short(v1EntryHash(e))}): the entry was changed after it was written`,
      });
    }
    prevHash = e.hash;
    lastIndex = e.index;
    expected = e.index + 1;
    const intact = breaks.length + breaksOmitted === 0;
    yield { kind: 'entry', value: { entry: e, line: line.number, canonical: canonicalEntry(e), chainIntact: intact } };
  }
  progress();
  const total = breaks.length + breaksOmitted;
  yield {
    kind: 'report',
    value: {
      source,
      intact: total === 0,
      lines,
      bytes,
      entries,
      ...(firstIndex !== undefined ? { firstIndex } : {}),
      ...(lastIndex !== undefined ? { lastIndex, headHash: prevHash } : {}),
      breaks,
      breaksOmitted,
    },
  };
}

/** Verifies a whole log and returns only the report (entries are checked and dropped). */
export async function checkV1Log(chunks: AsyncIterable<Uint8Array>, opts: VerifyOptions): Promise<V1LogReport> {
  for await (const item of verifyV1Log(chunks, opts)) if (item.kind === 'report') return item.value;
  throw new Error('the verifier ended without a report');
}

/** A break as one line for people: `SOURCE line N, index I: reason: message`. */
export function formatBreak(b: V1LogBreak): string {
  const at = b.index !== undefined ? `index ${b.index}` : `expected index ${b.expectedIndex ?? '?'}`;
  return `${b.source} line ${b.line}, ${at}: ${b.reason}: ${b.message}`;
}
