// The SQL the rotation runs in the cluster's PostgreSQL (fed to psql on stdin, never argv), pure.
// Identifiers are checked against a strict pattern and quoted; the password goes in as a SCRAM
// verifier (crypto/scram.ts), so the statement holds no clear value.
import { scramSha256Verifier } from '../crypto/scram.js';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function ident(name: string, what: string): string {
  if (!IDENT.test(name)) throw new Error(`${what} ${JSON.stringify(name)}: use 1-63 of a-z 0-9 _ starting with a letter or _`);
  return `"${name}"`;
}

/**
 * Create the login role or set its password, LOGIN; grant it `memberOf` (default: the user psql
 * runs as, the database owner). One transaction: a half-done statement leaves nothing.
 */
export function setLoginSql(login: string, password: string, memberOf?: string): string {
  const role = ident(login, 'login role');
  const verifier = scramSha256Verifier(password);
  const grantTo = memberOf ? `'${ident(memberOf, 'memberOf role').slice(1, -1)}'` : 'current_user';
  return [
    'BEGIN;',
    `DO $bzzz$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role.slice(1, -1)}') THEN CREATE ROLE ${role}; END IF; END $bzzz$;`,
    `ALTER ROLE ${role} WITH LOGIN INHERIT PASSWORD '${verifier}';`,
    `DO $bzzz$ BEGIN EXECUTE format('GRANT %I TO ${role}', ${grantTo}); END $bzzz$;`,
    'COMMIT;',
    '',
  ].join('\n');
}

/** NOLOGIN: the role refuses new connections; open sessions go on until they close. */
export function disableLoginSql(login: string): string {
  const role = ident(login, 'login role');
  return `DO $bzzz$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role.slice(1, -1)}') THEN ALTER ROLE ${role} WITH NOLOGIN; END IF; END $bzzz$;\n`;
}
