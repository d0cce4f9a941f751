import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepositoryCorruptError } from '../../../src/backup/errors.js';
import { readBounded } from '../../../src/backup/files.js';
import { encodeIndex, parseIndex } from '../../../src/backup/index-file.js';
import { type Manifest, parseManifest } from '../../../src/backup/manifest.js';
import { decodeTrailer, encodeTrailer } from '../../../src/backup/pack-format.js';
import { openJson, sealJson } from '../../../src/backup/sealed-json.js';
import { ShapeReader } from '../../../src/backup/shape.js';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';

const hex = () => randomBytes(32).toString('hex');
const packs = [
  {
    id: hex(),
    size: 3_000_000,
    chunks: [
      { id: hex(), offset: 0, length: 1_000_000 },
      { id: hex(), offset: 1_000_000, length: 1_500_000 },
    ],
  },
];
const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('index files', () => {
  it('round-trip through JSON and age', () => {
    const k = generateAgeIdentity();
    const sealed = sealJson(encodeIndex(packs), [k.recipient]);
    expect(parseIndex(openJson(sealed, [k.identity], new ShapeReader('index file x')), 'index file x')).toEqual(packs);
  });

  const hostile: [string, (v: { version: number; packs: { id: unknown; size: unknown; chunks: unknown[][] }[] }) => unknown, RegExp][] = [
    [
      'a pack id that is not hex',
      (v) => ((v.packs[0] as { id: unknown }).id = '../../etc/passwd'),
      /packs\[0\]\.id is not 64 lowercase hex/,
    ],
    [
      'a chunk past the end of its pack',
      (v) => ((v.packs[0]?.chunks[1] as unknown[])[2] = 5_000_000),
      /chunks\[1\] overlaps another chunk or lies past the end/,
    ],
    ['overlapping chunks', (v) => ((v.packs[0]?.chunks[1] as unknown[])[1] = 10), /overlaps/],
    ['a negative offset', (v) => ((v.packs[0]?.chunks[0] as unknown[])[1] = -1), /offset is not an integer/],
    ['a size as a string', (v) => ((v.packs[0] as { size: unknown }).size = '3000000'), /packs\[0\]\.size is not an integer/],
    ['a chunk that is not a triple', (v) => v.packs[0]?.chunks.push([hex()]), /is not \[id, offset, length\]/],
    ['another version', (v) => (v.version = 9), /version is not 1/],
  ];
  for (const [name, mutate, error] of hostile) {
    it(`refuses ${name}, naming the file and field`, () => {
      const v = roundTrip(encodeIndex(packs));
      mutate(v);
      expect(() => parseIndex(v, 'index file /repo/index/abc')).toThrow(RepositoryCorruptError);
      expect(() => parseIndex(v, 'index file /repo/index/abc')).toThrow(error);
      expect(() => parseIndex(v, 'index file /repo/index/abc')).toThrow(/^index file \/repo\/index\/abc: /);
    });
  }

  it('refuses a file that is not JSON, or not decryptable with the key, naming it', () => {
    const k = generateAgeIdentity();
    const other = generateAgeIdentity();
    const reader = new ShapeReader('index file /r/index/1');
    expect(() => openJson(sealJson({}, [k.recipient]), [other.identity], reader)).toThrow(
      /index file \/r\/index\/1: not encrypted to any of the identities/,
    );
    expect(() => openJson(Buffer.from('garbage'), [k.identity], reader)).toThrow(/index file \/r\/index\/1: not a valid age file/);
  });
});

describe('manifests', () => {
  const m: Manifest = {
    version: 1,
    cluster: 'prod',
    time: '2026-01-01T00:00:00.000Z',
    reason: 'schedule',
    tags: { by: 'test' },
    parts: [
      {
        name: 'files',
        entries: [
          { path: 'a', type: 'dir', mode: 0o755, mtimeMs: 1, size: 0, chunks: [] },
          { path: 'a/b.bin', type: 'file', mode: 0o644, mtimeMs: 2.5, size: 10, inode: 7, dev: 8, chunks: [hex(), hex()] },
        ],
      },
    ],
    files: 1,
    bytes: 10,
    addedBytes: 10,
  };

  it('round-trip', () => {
    expect(parseManifest(roundTrip(m), 'm')).toEqual({ ...m, parent: undefined });
  });

  for (const [name, path] of [
    ['a parent segment', 'a/../../etc/passwd'],
    ['an absolute path', '/etc/passwd'],
    ['an empty segment', 'a//b'],
  ] as const) {
    it(`refuses an entry path with ${name}`, () => {
      const v = roundTrip(m);
      v.parts[0].entries[1].path = path;
      expect(() => parseManifest(v, 'snapshot manifest /r/snapshots/x')).toThrow(
        /snapshot manifest \/r\/snapshots\/x: parts\[0\]\.entries\[1\]\.path/,
      );
    });
  }

  it('refuses a wrong type and a bad chunk id', () => {
    const v = roundTrip(m);
    v.parts[0].entries[0].type = 'symlink';
    expect(() => parseManifest(v, 'm')).toThrow(/entries\[0\]\.type is neither file nor dir/);
    const w = roundTrip(m);
    w.parts[0].entries[1].chunks[1] = 'zz';
    expect(() => parseManifest(w, 'm')).toThrow(/chunks\[1\] is not 64 lowercase hex/);
  });
});

describe('pack trailers', () => {
  it('round-trip after the chunk data', () => {
    const chunks = [
      { id: hex(), offset: 0, length: 5 },
      { id: hex(), offset: 5, length: 0 },
      { id: hex(), offset: 5, length: 7 },
    ];
    expect(decodeTrailer(Buffer.concat([Buffer.alloc(12), encodeTrailer(chunks)]))).toEqual(chunks);
  });

  it('say what is wrong with a damaged one', () => {
    expect(decodeTrailer(Buffer.from('not a pack at all'))).toMatch(/magic missing/);
    const t = encodeTrailer([{ id: hex(), offset: 0, length: 5 }]);
    expect(decodeTrailer(Buffer.concat([Buffer.alloc(4), t]))).toMatch(/add up to 5 bytes, the data is 4/);
    t.writeUInt32LE(0xffffffff, t.length - 12);
    expect(decodeTrailer(t)).toMatch(/does not fit/);
  });
});

describe('bounded reads', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bka-bounded-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuse a file over its limit, naming it, without reading it', async () => {
    await writeFile(join(dir, 'huge'), Buffer.alloc(2048));
    await expect(readBounded(join(dir, 'huge'), 1024, 'index file')).rejects.toThrow(
      `index file ${join(dir, 'huge')} is 2048 bytes, over the limit of 1024`,
    );
    await expect(readBounded(join(dir, 'missing'), 1024, 'snapshot manifest')).rejects.toThrow(
      /snapshot manifest .*missing cannot be read/,
    );
  });
});
