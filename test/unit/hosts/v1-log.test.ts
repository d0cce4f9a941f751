// The v1 log chain verifier: what it reports for an intact chain, for each kind of break (every
// break listed, each with source, line, index and reason), for lines too long, and that a large log
// streams through it.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalEntry,
  checkV1Log,
  goJson,
  splitLines,
  v1EntryHash,
  verifyV1Log,
  type V1LogEntry,
  type V1LogReport,
} from '../../../src/hosts/v1-log.js';
import { v1LogChunks, v1LogLines, type V1LogOptions } from '../../support/v1-log.js';

async function* chunksOf(text: string, size = 7): AsyncGenerator<Buffer> {
  const b = Buffer.from(text, 'utf8');
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const check = (o: V1LogOptions, source = 'walnut') => checkV1Log(v1LogChunks(o, 4096), { source });
const reasons = (r: V1LogReport) => r.breaks.map((b) => [b.reason, b.index ?? `~${b.expectedIndex}`, b.line]);

describe('goJson (v1 hashes Go json.Marshal bytes)', () => {
  it('sorts object keys by code point, escapes <>& and U+2028/9 as Go does, keeps arrays in order', () => {
    expect(goJson({ b: 1, a: [3, 'x<y>&z'], '\u{1F600}': true, '\uffff': null })).toBe(
      '{"a":[3,"x\\u003cy\\u003e\\u0026z"],"b":1,"\uffff":null,"\u{1F600}":true}',
    );
    expect(goJson('line\u2028sep')).toBe('"line\\u2028sep"');
    expect(goJson(1e21)).toBe('1e+21');
    expect(goJson(1e-7)).toBe('1e-7');
    expect(goJson(-0)).toBe('-0');
  });

  it('hash = hex SHA-256 of the entry in field order with hash and signature empty', () => {
    const e: V1LogEntry = {
      index: 0,
      timestamp: '2025-06-01T09:00:00.5Z',
      author: '12D3KooWabc',
      type: 'task_claimed',
      data: { z: 1, a: 'b' },
      hash: 'ignored',
      prev_hash: '',
      signature: 'ignored',
    };
    const go =
      '{"index":0,"timestamp":"2025-06-01T09:00:00.5Z","author":"12D3KooWabc","type":"task_claimed","data":{"a":"b","z":1},"hash":"","prev_hash":"","signature":""}';
    expect(v1EntryHash(e)).toBe(createHash('sha256').update(go).digest('hex'));
    expect(canonicalEntry(e).toString()).toBe(
      go.replace('"hash":""', '"hash":"ignored"').replace('"signature":""', '"signature":"ignored"'),
    );
  });
});

describe('splitLines', () => {
  it('splits across chunk edges, drops \\r before \\n, keeps a last line without newline', async () => {
    const out: string[] = [];
    for await (const l of splitLines(chunksOf('ab\r\ncd\n\nlast', 3))) out.push(`${l.number}:${l.text?.toString()}`);
    expect(out).toEqual(['1:ab', '2:cd', '3:', '4:last']);
  });

  it('reports a line over the limit with its length and never holds it whole', async () => {
    const big = 'x'.repeat(5000);
    const out: Array<[number, number, boolean]> = [];
    for await (const l of splitLines(chunksOf(`ok\n${big}\nok2`, 100), 1000)) out.push([l.number, l.length, l.text !== undefined]);
    expect(out).toEqual([
      [1, 2, true],
      [2, 5000, false],
      [3, 3, true],
    ]);
  });
});

describe('verifyV1Log', () => {
  it('GIVEN an intact chain THEN intact, every entry yielded in order with chainIntact, head = last hash', async () => {
    const lines = [...v1LogLines({ entries: 50, seed: 3 })];
    const seen: number[] = [];
    let report: V1LogReport | undefined;
    for await (const item of verifyV1Log(chunksOf(`${lines.join('\n')}\n`, 333), { source: 'walnut' })) {
      if (item.kind === 'entry') {
        expect(item.value.chainIntact).toBe(true);
        expect(item.value.canonical.toString()).toBe(lines[item.value.entry.index]);
        seen.push(item.value.entry.index);
      } else report = item.value;
    }
    expect(seen).toEqual([...Array(50).keys()]);
    expect(report).toMatchObject({ source: 'walnut', intact: true, entries: 50, lines: 50, firstIndex: 0, lastIndex: 49, breaks: [] });
    expect(report?.headHash).toBe(JSON.parse(lines[49] ?? '').hash);
  });

  it('GIVEN an empty log THEN intact with no entries', async () => {
    expect(await checkV1Log(chunksOf(''), { source: 'f' })).toMatchObject({ intact: true, entries: 0, breaks: [] });
  });

  it('GIVEN a line written with JSON.stringify key order (not Go sorted) THEN its hash is accepted too', async () => {
    const e = { index: 0, timestamp: 't', author: 'a', type: 'x', data: { z: 1, a: '<' }, hash: '', prev_hash: '', signature: 's' };
    e.hash = createHash('sha256')
      .update(JSON.stringify({ ...e, hash: '', signature: '' }))
      .digest('hex');
    expect((await checkV1Log(chunksOf(JSON.stringify(e)), { source: 'f' })).intact).toBe(true);
  });

  it.each<[string, V1LogOptions, Array<[string, number | string, number]>]>([
    ['changed data', { entries: 10, changeData: [4] }, [['hash-mismatch', 4, 5]]],
    ['broken prev_hash', { entries: 10, breakPrevHash: [6] }, [['broken-prev-hash', 6, 7]]],
    ['broken prev_hash of the first entry', { entries: 3, breakPrevHash: [0] }, [['broken-prev-hash', 0, 1]]],
    ['missing index', { entries: 10, dropIndex: [3] }, [['missing-index', 4, 4]]],
    ['two missing indexes in a row', { entries: 10, dropIndex: [3, 4] }, [['missing-index', 5, 4]]],
    ['missing first index', { entries: 5, dropIndex: [0] }, [['missing-index', 1, 1]]],
    ['repeated index', { entries: 10, repeatIndex: [2] }, [['repeated-index', 2, 4]]],
    ['unreadable line', { entries: 10, garbleLine: [5] }, [['unreadable', '~5', 6]]],
  ])('GIVEN %s THEN exactly that break, with line and index', async (_what, o, want) => {
    const r = await check({ seed: 9, ...o });
    expect(r.intact).toBe(false);
    expect(reasons(r)).toEqual(want);
    expect(r.breaks.every((b) => b.source === 'walnut' && b.message.length > 0)).toBe(true);
  });

  it('GIVEN a missing index THEN its message names the index', async () => {
    const r = await check({ entries: 10, dropIndex: [3, 4] });
    expect(r.breaks[0]?.message).toBe('indexes 3–4 are missing (found 5)');
  });

  it('GIVEN the e2e corruptions in one log (changed data, broken prev_hash, missing index) and more THEN every break is listed, in line order', async () => {
    const r = await check({ entries: 100, changeData: [10], breakPrevHash: [20], dropIndex: [30], repeatIndex: [40], garbleLine: [50] });
    expect(reasons(r)).toEqual([
      ['hash-mismatch', 10, 11],
      ['broken-prev-hash', 20, 21],
      ['missing-index', 31, 31],
      ['repeated-index', 40, 41],
      ['unreadable', '~50', 51],
    ]);
    // 100, one dropped, one written twice, one unreadable.
    expect(r.entries).toBe(99);
  });

  it('GIVEN entries after a break THEN they are yielded with chainIntact false', async () => {
    const flags: boolean[] = [];
    for await (const item of verifyV1Log(v1LogChunks({ entries: 6, changeData: [2] }), { source: 'f' }))
      if (item.kind === 'entry') flags.push(item.value.chainIntact);
    expect(flags).toEqual([true, true, false, false, false, false]);
  });

  it.each<[string, string]>([
    ['not JSON', 'not JSON'],
    ['[1,2]', 'not a JSON object (an array)'],
    ['null', 'not a JSON object (null)'],
    ['{"index":0}', 'missing fields timestamp, author, type, data, hash, prev_hash, signature'],
    [
      '{"index":-1,"timestamp":"t","author":"a","type":"x","data":null,"hash":"h","prev_hash":"","signature":""}',
      'index is not a whole number from 0 (-1)',
    ],
    [
      '{"index":0,"timestamp":5,"author":"a","type":"x","data":null,"hash":"h","prev_hash":"","signature":""}',
      'timestamp is not a string (number)',
    ],
    [
      '{"index":0,"timestamp":"t","author":"a","type":"x","data":null,"hash":"h","prev_hash":"","signature":"","extra":1}',
      'unexpected field "extra"',
    ],
  ])('GIVEN the line %s THEN unreadable: %s', async (line, why) => {
    const r = await checkV1Log(chunksOf(`${line}\n`), { source: 'f' });
    expect(r.breaks).toHaveLength(1);
    expect(r.breaks[0]).toMatchObject({ source: 'f', line: 1, reason: 'unreadable', expectedIndex: 0 });
    expect(r.breaks[0]?.message).toContain(why);
  });

  it('GIVEN a line over the limit THEN line-too-long and the entries around it still checked', async () => {
    const lines = [...v1LogLines({ entries: 3 })];
    const text = `${lines[0]}\n${'y'.repeat(3000)}\n${lines[1]}\n${lines[2]}\n`;
    const r = await checkV1Log(chunksOf(text, 256), { source: 'f', maxLineBytes: 2048 });
    expect(reasons(r)).toEqual([['line-too-long', '~1', 2]]);
    expect(r.breaks[0]?.message).toBe('line of 3000+ bytes is longer than the 2048 allowed');
    expect(r.entries).toBe(3);
  });

  it('GIVEN more breaks than maxBreaks THEN the first are listed and the rest counted', async () => {
    const r = await checkV1Log(v1LogChunks({ entries: 50, changeData: [...Array(50).keys()] }), { source: 'f', maxBreaks: 10 });
    expect(r.breaks).toHaveLength(10);
    expect(r.breaksOmitted).toBe(40);
  });

  it('GIVEN a 100 000-entry log THEN it streams through: all entries checked, memory does not grow with it', async () => {
    const o = { entries: 100_000, seed: 5, changeData: [99_998] };
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const r = await checkV1Log(v1LogChunks(o), {
      source: 'big',
      progressEveryBytes: 1024 * 1024,
      onProgress: () => {
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      },
    });
    expect(r).toMatchObject({ entries: 100_000, lastIndex: 99_999, intact: false });
    expect(reasons(r)).toEqual([['hash-mismatch', 99_998, 99_999]]);
    // The log is ~50 MB; the heap held while checking it stays far below that.
    expect(r.bytes).toBeGreaterThan(40_000_000);
    expect(peak - before).toBeLessThan(r.bytes / 2);
  }, 60_000);
});
