// BZZZ v1 conversation logs with the real entry schema (logging/hypercore.go), for the verifier's
// tests, the migration e2e and the benchmark: N entries chained as v1 chains them (index from 0,
// prev_hash "" first, hash = SHA-256 of the Go JSON with hash and signature empty), written as v1
// writes them (Go JSON, one entry a line), signatures as random hex (v1's are a truncated
// SHA-256, unchecked). Deterministic for a seed. Corruptions as the issue lists them:
//
//   changeData: [i]     entry i's data changed after it was hashed (hash mismatch at i)
//   breakPrevHash: [i]  entry i's prev_hash replaced and i rehashed (broken prev_hash at i)
//   dropIndex: [i]      entry i left out (missing index i)
//   repeatIndex: [i]    entry i written twice (repeated index i)
//   garbleLine: [i]     entry i's line cut in half (unreadable line)
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { v1EntryHash, v1EntryLine, type V1LogEntry } from '../../src/hosts/v1-log.js';

export interface V1LogOptions {
  entries: number;
  seed?: number;
  /** Author peer IDs the entries rotate through (default: one, the host's). */
  authors?: string[];
  changeData?: number[];
  breakPrevHash?: number[];
  dropIndex?: number[];
  repeatIndex?: number[];
  garbleLine?: number[];
  /** Bytes of filler text per entry's data (default ~300). */
  dataBytes?: number;
  /** Start time (ms since epoch) of the first entry. */
  startMs?: number;
}

export const V1_LOG_TYPES = [
  'task_announced',
  'task_claimed',
  'task_progress',
  'task_completed',
  'task_failed',
  'plan_proposed',
  'objection_raised',
  'collaboration',
  'consensus_reached',
  'escalation',
  'task_help_requested',
  'peer_joined',
  'capability_broadcast',
] as const;

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const WORDS = ['agent', 'task', 'review', 'build', 'deploy', 'merge', 'test', 'plan', 'objection', 'consensus', 'repo', 'issue', 'help'];

export function fakePeerId(rand: () => number): string {
  let s = '12D3KooW';
  for (let i = 0; i < 44; i++) s += B58[Math.floor(rand() * B58.length)];
  return s;
}

const hex = (rand: () => number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
};

/** Go's time.Time JSON form (RFC3339Nano, UTC). */
function goTime(ms: number, nanos: number): string {
  const iso = new Date(ms).toISOString().slice(0, 19);
  const frac = `${String(ms % 1000).padStart(3, '0')}${String(nanos).padStart(6, '0')}`.replace(/0+$/, '');
  return `${iso}${frac ? `.${frac}` : ''}Z`;
}

/** The log's entries as v1 chains them (corruptions applied), in line order. */
export function* v1LogEntries(o: V1LogOptions): Generator<V1LogEntry | string> {
  const rand = prng(o.seed ?? 1);
  const authors = o.authors ?? [fakePeerId(rand)];
  const set = (a?: number[]) => new Set(a ?? []);
  const change = set(o.changeData);
  const breakPrev = set(o.breakPrevHash);
  const drop = set(o.dropIndex);
  const repeat = set(o.repeatIndex);
  const garble = set(o.garbleLine);
  const fill = o.dataBytes ?? 300;
  let t = o.startMs ?? Date.UTC(2025, 5, 1, 9, 0, 0);
  let prev = '';
  for (let index = 0; index < o.entries; index++) {
    t += 1 + Math.floor(rand() * 5000);
    const type = V1_LOG_TYPES[Math.floor(rand() * V1_LOG_TYPES.length)] ?? 'task_progress';
    let text = '';
    while (text.length < fill) text += `${WORDS[Math.floor(rand() * WORDS.length)]} `;
    const data: Record<string, unknown> = {
      task_id: 1 + Math.floor(rand() * 500),
      repository: `deepblackcloud/repo-${Math.floor(rand() * 20)}`,
      message: index % 7 === 0 ? `${text.trim()} <see #${index}> & more` : text.trim(),
      progress: Math.round(rand() * 1000) / 10,
      tags: [WORDS[index % WORDS.length], type],
      ok: rand() > 0.1,
    };
    const entry: V1LogEntry = {
      index,
      timestamp: goTime(t, Math.floor(rand() * 1e6)),
      author: authors[index % authors.length] ?? '',
      type,
      data,
      hash: '',
      prev_hash: breakPrev.has(index) ? hex(rand, 64) : prev,
      signature: hex(rand, 16),
    };
    entry.hash = v1EntryHash(entry);
    prev = entry.hash;
    if (change.has(index)) entry.data = { ...data, message: 'changed after it was written' };
    if (drop.has(index)) continue;
    if (garble.has(index)) {
      const line = v1EntryLine(entry);
      yield line.slice(0, Math.floor(line.length / 2));
      continue;
    }
    yield entry;
    if (repeat.has(index)) yield entry;
  }
}

/** The log as lines (no trailing newline in each). */
export function* v1LogLines(o: V1LogOptions): Generator<string> {
  for (const e of v1LogEntries(o)) yield typeof e === 'string' ? e : v1EntryLine(e);
}

/** The log as chunks of about `chunkBytes` (default 64 KiB), as a file or SSH would hand them over. */
export async function* v1LogChunks(o: V1LogOptions, chunkBytes = 64 * 1024): AsyncGenerator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for (const line of v1LogLines(o)) {
    parts.push(line, '\n');
    size += line.length + 1;
    if (size >= chunkBytes) {
      yield Buffer.from(parts.join(''), 'utf8');
      parts = [];
      size = 0;
    }
  }
  if (parts.length) yield Buffer.from(parts.join(''), 'utf8');
}

/** Writes the log to `path`; resolves with its size in bytes. */
export async function writeV1Log(path: string, o: V1LogOptions): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  for await (const chunk of v1LogChunks(o)) {
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
