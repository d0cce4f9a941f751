// A PostgreSQL SCRAM-SHA-256 password verifier (RFC 5802/7677, PostgreSQL's
// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` format). `ALTER ROLE … PASSWORD
// '<verifier>'` stores it as is, so the clear password never reaches the server, its statement
// log or pg_stat_activity. Passwords here are ASCII letters and digits, for which SASLprep is the
// identity.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const SCRAM_ITERATIONS = 4096;

export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('SCRAM verifier: the password must be printable ASCII (no SASLprep here)');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
