// age v1 files (https://age-encryption.org/v1, C2SP age) as Node streams, on node:crypto alone:
// X25519 recipients, HKDF-SHA-256, HMAC-SHA-256 header MAC, ChaCha20-Poly1305 payload in 64 KiB
// chunks. Native OpenSSL throughout (the pure-JS age-encryption package encrypts at ~53 MiB/s).
// Memory is one chunk per stream whatever the file size; the streams are Transforms, so
// backpressure is Node's. What comes out is a standard age file: `age -d -i key` reads it.
//
// Only X25519 recipients and identities (`age1…`, `AGE-SECRET-KEY-1…`): no scrypt, no plugins, no
// post-quantum hybrids (Debian's age 1.1 cannot read those), no armor.
import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AccessDeniedError, CorruptCiphertextError, InvalidKeyError } from './errors.js';

/** Plaintext bytes per payload chunk. */
export const AGE_CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const CIPHER_CHUNK_SIZE = AGE_CHUNK_SIZE + TAG_SIZE;
const NONCE_SIZE = 16;
const FILE_KEY_SIZE = 16;
const VERSION_LINE = 'age-encryption.org/v1';
const X25519_INFO = 'age-encryption.org/v1/X25519';
/** A header longer than this is refused (ours are ~120 bytes per recipient). */
export const MAX_HEADER_BYTES = 64 * 1024;

// DER wrappings of raw X25519 keys (RFC 8410): SubjectPublicKeyInfo and PKCS#8.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

// ---------------------------------------------------------------------------------------------
// bech32 (BIP 173) without the 90-character limit, as age uses it.

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GEN[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

function convertBits(data: readonly number[], from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) return undefined;
  return out;
}

/** Decodes bech32 (one case only, valid checksum); undefined when it is not. */
export function bech32Decode(s: string): { hrp: string; data: Buffer } | undefined {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return undefined;
  const str = s.toLowerCase();
  const sep = str.lastIndexOf('1');
  if (sep < 1 || sep + 7 > str.length) return undefined;
  const hrp = str.slice(0, sep);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) return undefined;
  }
  const values: number[] = [];
  for (const ch of str.slice(sep + 1)) {
    const v = BECH32_CHARSET.indexOf(ch);
    if (v < 0) return undefined;
    values.push(v);
  }
  if (bech32Polymod([...hrpExpand(hrp), ...values]) !== 1) return undefined;
  const bytes = convertBits(values.slice(0, -6), 5, 8, false);
  return bytes ? { hrp, data: Buffer.from(bytes) } : undefined;
}

export function bech32Encode(hrp: string, data: Uint8Array): string {
  const values = convertBits([...data], 8, 5, true) as number[];
  const poly = bech32Polymod([...hrpExpand(hrp), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = Array.from({ length: 6 }, (_, i) => (poly >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...values, ...checksum].map((v) => BECH32_CHARSET[v]).join('')}`;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** The 32-byte X25519 public key of an `age1…` recipient; InvalidKeyError otherwise (the value is not quoted). */
export function parseAgeRecipient(recipient: string, what = 'age recipient'): Buffer {
  const d = typeof recipient === 'string' ? bech32Decode(recipient.trim()) : undefined;
  if (d?.hrp !== 'age' || d.data.length !== 32 || recipient.trim() !== recipient.trim().toLowerCase())
    throw new InvalidKeyError(`${what}: not an age X25519 recipient (age1… with a valid checksum)`);
  return d.data;
}

/** The 32-byte X25519 scalar of an `AGE-SECRET-KEY-1…` identity; InvalidKeyError otherwise (never quoting it). */
export function parseAgeIdentity(identity: string, what = 'age identity'): Buffer {
  const s = typeof identity === 'string' ? identity.trim() : '';
  const d = s === s.toUpperCase() ? bech32Decode(s) : undefined;
  if (d?.hrp !== 'age-secret-key-' || d.data.length !== 32)
    throw new InvalidKeyError(`${what}: not an age X25519 identity (AGE-SECRET-KEY-1… with a valid checksum)`);
  return d.data;
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(raw: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** The recipient (`age1…`) of an identity. */
export function ageRecipientOf(identity: string): string {
  return bech32Encode('age', rawPublic(createPublicKey(privateKeyObject(parseAgeIdentity(identity)))));
}

/** A new X25519 identity and its recipient (what `age-keygen` makes). */
export function generateAgeIdentity(): { identity: string; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const scalar = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  return {
    identity: bech32Encode('age-secret-key-', scalar).toUpperCase(),
    recipient: bech32Encode('age', rawPublic(publicKey)),
  };
}

// ---------------------------------------------------------------------------------------------
// Primitives

function hkdf(ikm: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

const ZERO_NONCE = Buffer.alloc(12);

function seal(key: Buffer, nonce: Buffer, plain: Buffer): Buffer[] {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  const body = c.update(plain);
  c.final();
  return [body, c.getAuthTag()];
}

/** Plaintext, or undefined when the tag does not verify. */
function open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < TAG_SIZE) return undefined;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const body = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return body;
}

function b64(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '');
}

/** Canonical unpadded base64 only (age refuses padding and non-canonical trailing bits). */
function unb64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return undefined;
  const b = Buffer.from(s, 'base64');
  return b64(b) === s ? b : undefined;
}

/** The 12-byte payload nonce: 11-byte big-endian counter, then 1 on the last chunk. */
function chunkNonce(counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  // Counters past 2^53 are unreachable (that is 2^69 bytes); 6 bytes are enough, the rest stays 0.
  n.writeUIntBE(counter, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
}

interface Stanza {
  args: string[];
  body: Buffer;
}

function wrapForRecipient(fileKey: Buffer, recipient: Buffer): Stanza {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const share = rawPublic(publicKey);
  const shared = diffieHellman({ privateKey, publicKey: publicKeyObject(recipient) });
  if (shared.every((b) => b === 0)) throw new InvalidKeyError('age recipient: a low-order X25519 point');
  const wrapKey = hkdf(shared, Buffer.concat([share, recipient]), X25519_INFO);
  return { args: ['X25519', b64(share)], body: Buffer.concat(seal(wrapKey, ZERO_NONCE, fileKey)) };
}

function encodeHeaderNoMac(stanzas: readonly Stanza[]): Buffer {
  let s = `${VERSION_LINE}\n`;
  for (const st of stanzas) {
    s += `-> ${st.args.join(' ')}\n`;
    const body = b64(st.body);
    for (let i = 0; i < body.length; i += 64) s += `${body.slice(i, i + 64)}\n`;
    if (body.length % 64 === 0) s += '\n';
  }
  return Buffer.from(`${s}---`, 'latin1');
}

function headerMac(fileKey: Buffer, headerNoMac: Buffer): Buffer {
  return createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(headerNoMac)
    .digest();
}

/** The encrypted size of `plainBytes` of payload, header excluded. */
export function agePayloadSize(plainBytes: number): number {
  const chunks = Math.max(1, Math.ceil(plainBytes / AGE_CHUNK_SIZE));
  return NONCE_SIZE + plainBytes + chunks * TAG_SIZE;
}

// ---------------------------------------------------------------------------------------------
// Encryption

type Emit = (b: Buffer) => void;

/**
 * The age encryption of one file, fed in pieces: `update` and `final` hand the file's bytes to
 * `emit` in order (header first). One 64 KiB chunk is held at a time. Synchronous: a stream
 * (AgeEncryptStream) or a whole buffer (ageEncrypt) drive it.
 */
export class AgeEncryptor {
  private readonly payloadKey: Buffer;
  private header?: Buffer;
  private readonly staged = Buffer.allocUnsafe(AGE_CHUNK_SIZE);
  private filled = 0;
  private counter = 0;
  private done = false;

  /** `recipients`: `age1…`, at least one; a bad one is an InvalidKeyError naming its position. */
  constructor(recipients: readonly string[]) {
    if (recipients.length === 0) throw new InvalidKeyError('age encryption needs at least one recipient');
    const keys = recipients.map((r, i) => parseAgeRecipient(r, `age recipient ${i + 1}`));
    const fileKey = randomBytes(FILE_KEY_SIZE);
    const noMac = encodeHeaderNoMac(keys.map((k) => wrapForRecipient(fileKey, k)));
    const nonce = randomBytes(NONCE_SIZE);
    this.header = Buffer.concat([noMac, Buffer.from(` ${b64(headerMac(fileKey, noMac))}\n`, 'latin1'), nonce]);
    this.payloadKey = hkdf(fileKey, nonce, 'payload');
  }

  private sendHeader(emit: Emit): void {
    if (!this.header) return;
    emit(this.header);
    this.header = undefined;
  }

  private sealStaged(last: boolean, emit: Emit): void {
    const [body, tag] = seal(this.payloadKey, chunkNonce(this.counter++, last), this.staged.subarray(0, this.filled));
    this.filled = 0;
    if ((body as Buffer).length > 0) emit(body as Buffer);
    emit(tag as Buffer);
  }

  update(data: Buffer, emit: Emit): void {
    if (this.done) throw new Error('AgeEncryptor: update after final');
    this.sendHeader(emit);
    let off = 0;
    while (off < data.length) {
      // A full staged chunk is sealed only once more data shows it is not the last.
      if (this.filled === AGE_CHUNK_SIZE) this.sealStaged(false, emit);
      if (this.filled === 0 && data.length - off > AGE_CHUNK_SIZE) {
        // A whole chunk with more after it, straight from the input (no copy into the stage).
        for (const b of seal(this.payloadKey, chunkNonce(this.counter++, false), data.subarray(off, off + AGE_CHUNK_SIZE))) emit(b);
        off += AGE_CHUNK_SIZE;
        continue;
      }
      const n = data.copy(this.staged, this.filled, off, Math.min(data.length, off + AGE_CHUNK_SIZE - this.filled));
      this.filled += n;
      off += n;
    }
  }

  final(emit: Emit): void {
    if (this.done) return;
    this.sendHeader(emit);
    this.sealStaged(true, emit); // the last chunk: full, partial, or empty when the file is
    this.done = true;
  }
}

export interface AgeStreamCounts {
  /** Bytes that went in so far. */
  readonly bytesIn: number;
  /** Bytes that came out so far. */
  readonly bytesOut: number;
}

/** Drives an AgeEncryptor or AgeDecryptor as a Transform, counting bytes. */
abstract class CountingTransform extends Transform implements AgeStreamCounts {
  bytesIn = 0;
  bytesOut = 0;
  private pending: Buffer[] = [];
  private readonly collect: Emit = (b) => this.pending.push(b);
  protected abstract readonly core: { update(data: Buffer, emit: Emit): void; final(emit: Emit): void };

  /** What one write produced, pushed as one buffer (a 16-byte tag is never a write of its own downstream). */
  private pushPending(): void {
    const out = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    if (out.length === 0) return;
    this.bytesOut += out.length;
    this.push(out);
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.bytesIn += data.length;
      this.core.update(data, this.collect);
      this.pushPending();
      cb();
    } catch (err) {
      this.pending = [];
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.core.final(this.collect);
      this.pushPending();
      cb();
    } catch (err) {
      this.pending = [];
      cb(err as Error);
    }
  }
}

/**
 * A Transform from plaintext to an age file for `recipients` (`age1…`, at least one; a bad one
 * is an InvalidKeyError when constructed, before any byte is written). Bounded memory: one 64 KiB
 * chunk plus the streams' high-water marks; backpressure is the Transform's.
 */
export class AgeEncryptStream extends CountingTransform {
  protected readonly core: AgeEncryptor;
  constructor(recipients: readonly string[]) {
    super({ writableHighWaterMark: AGE_CHUNK_SIZE, readableHighWaterMark: 2 * CIPHER_CHUNK_SIZE });
    this.core = new AgeEncryptor(recipients);
  }
}

// ---------------------------------------------------------------------------------------------
// Decryption

function corrupt(what: string): CorruptCiphertextError {
  return new CorruptCiphertextError(`not a valid age file, or altered: ${what}`);
}

/** Parses the header text (through the MAC line's LF): stanzas, the MACed bytes and the MAC. */
function parseHeader(text: string): { stanzas: Stanza[]; noMac: Buffer; mac: Buffer } {
  const lines = text.split('\n');
  lines.pop(); // the text ends with the MAC line's LF
  if (lines[0] !== VERSION_LINE) throw corrupt(`the first line is not ${VERSION_LINE}`);
  const stanzas: Stanza[] = [];
  let i = 1;
  for (;;) {
    const line = lines[i++];
    if (line === undefined) throw corrupt('the header ends early');
    if (line.startsWith('--- ')) {
      const mac = unb64(line.slice(4));
      if (mac?.length !== 32 || i !== lines.length) throw corrupt('a malformed header MAC line');
      return { stanzas, noMac: Buffer.from(`${lines.slice(0, i - 1).join('\n')}\n---`, 'latin1'), mac };
    }
    if (!line.startsWith('-> ')) throw corrupt('a header line is neither a stanza nor the MAC');
    const args = line.slice(3).split(' ');
    if (args.some((a) => !/^[\x21-\x7e]+$/.test(a))) throw corrupt('a malformed stanza line');
    const parts: Buffer[] = [];
    for (;;) {
      const bodyLine = lines[i++];
      if (bodyLine === undefined || bodyLine.length > 64) throw corrupt('a malformed stanza body');
      const b = unb64(bodyLine);
      if (!b) throw corrupt('a stanza body that is not canonical base64');
      parts.push(b);
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ args, body: Buffer.concat(parts) });
  }
}

interface X25519Identity {
  scalar: KeyObject;
  pub: Buffer;
}

function unwrapFileKey(stanzas: readonly Stanza[], identities: readonly X25519Identity[]): Buffer | undefined {
  for (const st of stanzas) {
    if (st.args[0] !== 'X25519') continue;
    const share = st.args.length === 2 ? unb64(st.args[1] as string) : undefined;
    if (share?.length !== 32 || st.body.length !== FILE_KEY_SIZE + TAG_SIZE) throw corrupt('a malformed X25519 stanza');
    for (const id of identities) {
      let shared: Buffer;
      try {
        shared = diffieHellman({ privateKey: id.scalar, publicKey: publicKeyObject(share) });
      } catch {
        throw corrupt('an X25519 stanza with an invalid share');
      }
      if (shared.every((b) => b === 0)) throw corrupt('an X25519 stanza with a low-order share');
      const fileKey = open(hkdf(shared, Buffer.concat([share, id.pub]), X25519_INFO), ZERO_NONCE, st.body);
      if (fileKey) return fileKey;
    }
  }
  return undefined;
}

function parseIdentities(identities: readonly string[]): X25519Identity[] {
  if (identities.length === 0) throw new InvalidKeyError('age decryption needs at least one identity');
  return identities.map((s, i) => {
    const scalar = privateKeyObject(parseAgeIdentity(s, `age identity ${i + 1}`));
    return { scalar, pub: rawPublic(createPublicKey(scalar)) };
  });
}

/** Where the header in `buf` ends (after the LF of the first line starting `--- `), searching from `from`; -1 if not within MAX_HEADER_BYTES. */
function headerEnd(buf: Buffer, from: number): number {
  for (;;) {
    const lf = buf.indexOf(0x0a, from);
    if (lf < 0 || lf >= MAX_HEADER_BYTES) return -1;
    const start = lf === 0 ? 0 : buf.lastIndexOf(0x0a, lf - 1) + 1;
    if (buf.subarray(start, start + 4).toString('latin1') === '--- ') return lf + 1;
    from = lf + 1;
  }
}

/** The file key of a complete header (through the MAC line's LF), its MAC checked. */
function openHeader(header: Buffer, ids: readonly X25519Identity[]): Buffer {
  const { stanzas, noMac, mac } = parseHeader(header.toString('latin1'));
  const fileKey = unwrapFileKey(stanzas, ids);
  if (!fileKey) {
    if (stanzas.some((s) => s.args[0] === 'X25519'))
      throw new AccessDeniedError('the age file is not encrypted to any of the identities given');
    throw new CorruptCiphertextError('the age file has no X25519 recipient (scrypt, plugin and post-quantum files are not read here)');
  }
  if (!timingSafeEqual(headerMac(fileKey, noMac), mac)) throw corrupt('the header MAC does not match');
  return fileKey;
}

/**
 * The age decryption of one file, fed in pieces. Plaintext is emitted only after its chunk's tag
 * verified. A file cut short, altered, or with bytes after its last chunk is a
 * CorruptCiphertextError; a file for other identities an AccessDeniedError (no key is ever quoted).
 * Chunks are authenticated one by one: the plaintext of the chunks before a bad one has already
 * been emitted, so a consumer trusts the output only once the stream ended without an error.
 */
export class AgeDecryptor {
  private readonly ids: X25519Identity[];
  private header: Buffer[] = [];
  private headerBytes = 0;
  private fileKey?: Buffer;
  private nonce: Buffer[] = [];
  private payloadKey?: Buffer;
  private readonly staged = Buffer.allocUnsafe(CIPHER_CHUNK_SIZE);
  private filled = 0;
  private counter = 0;
  private done = false;

  /** `identities`: `AGE-SECRET-KEY-1…`, at least one. */
  constructor(identities: readonly string[]) {
    this.ids = parseIdentities(identities);
  }

  /** Consumes header and nonce bytes; returns what follows them (empty while they are incomplete). */
  private takeHeader(data: Buffer): Buffer {
    if (!this.fileKey) {
      const prior = this.headerBytes;
      const all = this.header.length === 0 ? data : Buffer.concat([...this.header, data]);
      this.headerBytes = all.length;
      const end = headerEnd(all, Math.max(0, prior - 1));
      if (end < 0) {
        if (all.length > MAX_HEADER_BYTES) throw corrupt(`no header end within ${MAX_HEADER_BYTES} bytes`);
        this.header = [all];
        return Buffer.alloc(0);
      }
      this.fileKey = openHeader(all.subarray(0, end), this.ids);
      this.header = [];
      data = all.subarray(end);
    }
    const have = this.nonce.reduce((n, b) => n + b.length, 0);
    const need = NONCE_SIZE - have;
    this.nonce.push(Buffer.from(data.subarray(0, need)));
    if (data.length < need) return Buffer.alloc(0);
    this.payloadKey = hkdf(this.fileKey, Buffer.concat(this.nonce), 'payload');
    this.nonce = [];
    return data.subarray(need);
  }

  private openStaged(last: boolean, emit: Emit): void {
    this.openChunk(this.staged.subarray(0, this.filled), last, emit);
    this.filled = 0;
  }

  private openChunk(sealed: Buffer, last: boolean, emit: Emit): void {
    const plain = open(this.payloadKey as Buffer, chunkNonce(this.counter, last), sealed);
    if (!plain) {
      throw corrupt(
        last
          ? `payload chunk ${this.counter} (the last) does not verify: altered, or the file is cut short`
          : `payload chunk ${this.counter} does not verify`,
      );
    }
    if (last && plain.length === 0 && this.counter > 0) throw corrupt('an empty last chunk after others');
    this.counter++;
    if (plain.length > 0) emit(plain);
  }

  update(chunk: Buffer, emit: Emit): void {
    if (this.done) throw new Error('AgeDecryptor: update after final');
    const data = this.payloadKey ? chunk : this.takeHeader(chunk);
    let off = 0;
    while (off < data.length) {
      if (this.filled === CIPHER_CHUNK_SIZE) this.openStaged(false, emit);
      if (this.filled === 0 && data.length - off > CIPHER_CHUNK_SIZE) {
        this.openChunk(data.subarray(off, off + CIPHER_CHUNK_SIZE), false, emit);
        off += CIPHER_CHUNK_SIZE;
        continue;
      }
      const n = data.copy(this.staged, this.filled, off, Math.min(data.length, off + CIPHER_CHUNK_SIZE - this.filled));
      this.filled += n;
      off += n;
    }
  }

  final(emit: Emit): void {
    if (this.done) return;
    if (!this.payloadKey) throw corrupt(this.fileKey ? 'the payload nonce is cut short' : 'the header is cut short');
    if (this.filled === 0 && this.counter > 0) throw corrupt('the last chunk is missing (the file is cut short)');
    this.openStaged(true, emit);
    this.done = true;
  }
}

/** A Transform from an age file to its plaintext, for any of `identities` (see AgeDecryptor). */
export class AgeDecryptStream extends CountingTransform {
  protected readonly core: AgeDecryptor;
  constructor(identities: readonly string[]) {
    super({ writableHighWaterMark: CIPHER_CHUNK_SIZE, readableHighWaterMark: 2 * AGE_CHUNK_SIZE });
    this.core = new AgeDecryptor(identities);
  }
}

// ---------------------------------------------------------------------------------------------
// Random access (backup packs): an age file's payload is 64 KiB chunks sealed with a counter
// nonce, so once the header gave the payload key any chunk can be opened on its own.

/** Where an age file's payload starts and the key its chunks open with. */
export interface AgePayload {
  /** Byte offset of the first sealed chunk (after header and nonce). */
  readonly offset: number;
  /** Opens sealed chunk `index` (AGE_CHUNK_SIZE + 16 bytes, fewer for the last); undefined when its tag does not verify. */
  openChunk(index: number, last: boolean, sealed: Buffer): Buffer | undefined;
  /** How many sealed chunks a file of `fileSize` bytes holds. */
  chunkCount(fileSize: number): number;
}

/** Bytes of one sealed payload chunk (64 KiB plaintext and its tag). */
export const AGE_SEALED_CHUNK_SIZE = CIPHER_CHUNK_SIZE;

/** Opens the payloads of age files for some identities (parsed once, used for many files). */
export class AgePayloadOpener {
  private readonly ids: X25519Identity[];
  constructor(identities: readonly string[]) {
    this.ids = parseIdentities(identities);
  }

  /**
   * The payload of the age file whose first bytes are `head` (header and nonce must be inside:
   * MAX_HEADER_BYTES + 16 is always enough). CorruptCiphertextError or AccessDeniedError as for
   * AgeDecryptor.
   */
  open(head: Buffer): AgePayload {
    const end = headerEnd(head, 0);
    if (end < 0) throw corrupt('no header end found');
    if (head.length < end + NONCE_SIZE) throw corrupt('the payload nonce is cut short');
    const fileKey = openHeader(head.subarray(0, end), this.ids);
    const key = hkdf(fileKey, head.subarray(end, end + NONCE_SIZE), 'payload');
    const offset = end + NONCE_SIZE;
    return {
      offset,
      openChunk: (index, last, sealed) => open(key, chunkNonce(index, last), sealed),
      chunkCount: (fileSize) => Math.max(1, Math.ceil((fileSize - offset) / CIPHER_CHUNK_SIZE)),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Whole buffers (small files: packs, manifests)

function whole(core: { update(data: Buffer, emit: Emit): void; final(emit: Emit): void }, input: Uint8Array): Buffer {
  const out: Buffer[] = [];
  const emit: Emit = (b) => out.push(b);
  core.update(Buffer.from(input.buffer, input.byteOffset, input.byteLength), emit);
  core.final(emit);
  return Buffer.concat(out);
}

/** Encrypts a buffer to an age file in one call. */
export function ageEncrypt(plain: Uint8Array, recipients: readonly string[]): Buffer {
  return whole(new AgeEncryptor(recipients), plain);
}

/** Decrypts an age file held in a buffer; CorruptCiphertextError when it is altered or not for these identities. */
export function ageDecrypt(file: Uint8Array, identities: readonly string[]): Buffer {
  return whole(new AgeDecryptor(identities), file);
}
