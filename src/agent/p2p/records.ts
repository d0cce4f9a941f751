// DHT records of the agents: `/bzzz/<peer id>/<name>` → a small value signed by that peer.
// kad-dht needs a validator and a selector per key namespace. Ours makes a record unforgeable:
// only the peer named in the key can write it (its Ed25519 public key is inside its peer ID),
// and among valid copies the newest wins. Agents publish e.g. their role and API port under
// `/bzzz/<id>/agent`, so any agent can look any other up by peer ID.
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht';
import { InvalidInputError } from '../../util/errors.js';

export const RECORD_NAMESPACE = 'bzzz';
export const MAX_RECORD_VALUE_BYTES = 16 * 1024;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class InvalidRecordError extends InvalidInputError {}

interface Envelope {
  /** Milliseconds since the epoch when the owner wrote it: the newest valid copy wins. */
  t: number;
  /** Base64 of the value. */
  v: string;
  /** Base64 signature by the key's peer over `key \n t \n value`. */
  s: string;
}

export function recordKey(peerId: string, name: string): Uint8Array {
  if (!NAME.test(name)) {
    throw new InvalidRecordError(
      `DHT record name ${JSON.stringify(name)} is not valid: use 1-64 of a-z 0-9 . _ - starting with a letter or digit`,
    );
  }
  return new TextEncoder().encode(`/${RECORD_NAMESPACE}/${peerId}/${name}`);
}

function signedBytes(key: Uint8Array, t: number, value: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${new TextDecoder().decode(key)}\n${t}\n`);
  const out = new Uint8Array(head.length + value.length);
  out.set(head, 0);
  out.set(value, head.length);
  return out;
}

export async function encodeRecord(privateKey: PrivateKey, key: Uint8Array, value: Uint8Array, now: number): Promise<Uint8Array> {
  if (value.byteLength > MAX_RECORD_VALUE_BYTES) {
    throw new InvalidRecordError(
      `DHT record value is ${value.byteLength} bytes, more than the ${MAX_RECORD_VALUE_BYTES} allowed: store the content as a blob and put its address in the record`,
    );
  }
  const sig = await privateKey.sign(signedBytes(key, now, value));
  const env: Envelope = { t: now, v: Buffer.from(value).toString('base64'), s: Buffer.from(sig).toString('base64') };
  return new TextEncoder().encode(JSON.stringify(env));
}

function parseEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.byteLength > MAX_RECORD_VALUE_BYTES * 2) throw new InvalidRecordError('DHT record is too large');
  const env = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Envelope>;
  if (typeof env.t !== 'number' || typeof env.v !== 'string' || typeof env.s !== 'string') {
    throw new InvalidRecordError('DHT record is not a signed bzzz record {t, v, s}');
  }
  return env as Envelope;
}

/** The value of a record, once its signature has been checked. */
export async function decodeRecord(key: Uint8Array, bytes: Uint8Array): Promise<{ value: Uint8Array; writtenAt: number }> {
  await validateRecord(key, bytes);
  const env = parseEnvelope(bytes);
  return { value: new Uint8Array(Buffer.from(env.v, 'base64')), writtenAt: env.t };
}

export const validateRecord: ValidateFn = async (key, bytes) => {
  const parts = new TextDecoder().decode(key).split('/');
  if (parts.length !== 4 || parts[1] !== RECORD_NAMESPACE || !NAME.test(parts[3])) {
    throw new InvalidRecordError(`DHT key ${JSON.stringify(new TextDecoder().decode(key))} is not /${RECORD_NAMESPACE}/<peer id>/<name>`);
  }
  let env: Envelope;
  try {
    env = parseEnvelope(bytes);
  } catch (err) {
    throw err instanceof InvalidRecordError ? err : new InvalidRecordError('DHT record is not JSON');
  }
  const owner = peerIdFromString(parts[2]);
  if (owner.publicKey === undefined) throw new InvalidRecordError(`DHT record owner ${parts[2]} has no inline public key`);
  const value = Buffer.from(env.v, 'base64');
  if (value.byteLength > MAX_RECORD_VALUE_BYTES) throw new InvalidRecordError('DHT record value is too large');
  const ok = await owner.publicKey.verify(signedBytes(key, env.t, value), Buffer.from(env.s, 'base64'));
  if (!ok) throw new InvalidRecordError(`DHT record for ${parts[2]} is not signed by that peer`);
};

export const selectRecord: SelectFn = (_key, records) => {
  let best = 0;
  let bestT = -Infinity;
  records.forEach((r, i) => {
    try {
      const t = parseEnvelope(r).t;
      if (t > bestT) {
        best = i;
        bestT = t;
      }
    } catch {
      // invalid copies never win
    }
  });
  return best;
};
