// What a restore drill compares between the live cluster and its scratch copy: per table, the
// row count and an md5 over the rows' text in a fixed order (both servers run the same image,
// so the text and the C.UTF-8 ordering are the same); per agent, the number of blobs.
import { Readable } from 'node:stream';
import type { ServiceExec } from '../swarm/exec.js';
import { asSuperuser, postgresService } from './backup-postgres-shell.js';

export interface TableFingerprint {
  rows: number;
  md5: string;
}

export interface TableCheck {
  database: string;
  /** schema.table */
  table: string;
  rowsLive?: number;
  rowsRestored?: number;
  checksumMatch: boolean;
}

const SEP = '\u001f';

// psql's \gexec runs one generated query per table; %L/%I quote the names, nothing is spliced.
const FINGERPRINTS = `SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\\n'' ORDER BY t::text), '''')) FROM %I.%I t',
  schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename
\\gexec
`;

/** schema.table → fingerprint for every user table of one database. */
export async function tableFingerprints(
  exec: ServiceExec,
  cluster: string,
  db: string,
  signal?: AbortSignal,
): Promise<Map<string, TableFingerprint>> {
  const h = await exec.execInService(postgresService(cluster), {
    cmd: asSuperuser(['psql', '-X', '-q', '-At', '-F', SEP, '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', '-']),
    stdin: Readable.from([FINGERPRINTS]),
    maxStdoutBytes: 16 * 1024 * 1024,
    timeoutMs: 30 * 60_000,
    signal,
    what: `fingerprinting the tables of database ${db}`,
  });
  const chunks: Buffer[] = [];
  for await (const c of h.stdout) chunks.push(c as Buffer);
  await h.done;
  return parseFingerprints(Buffer.concat(chunks).toString('utf8'));
}

/** Parses psql's unaligned `name<US>count<US>md5` lines. */
export function parseFingerprints(text: string): Map<string, TableFingerprint> {
  const out = new Map<string, TableFingerprint>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [table, rows, md5] = line.split(SEP);
    if (!table || !/^\d+$/.test(rows ?? '') || !/^[0-9a-f]{32}$/.test(md5 ?? ''))
      throw new Error(`table fingerprint: unexpected line ${JSON.stringify(line.slice(0, 80))}`);
    out.set(table, { rows: Number(rows), md5 });
  }
  return out;
}

/** One check per table found on either side, sorted. */
export function compareTables(
  database: string,
  live: Map<string, TableFingerprint>,
  restored: Map<string, TableFingerprint>,
): TableCheck[] {
  const names = [...new Set([...live.keys(), ...restored.keys()])].sort();
  return names.map((table) => {
    const l = live.get(table);
    const r = restored.get(table);
    return { database, table, rowsLive: l?.rows, rowsRestored: r?.rows, checksumMatch: !!l && !!r && l.md5 === r.md5 && l.rows === r.rows };
  });
}
