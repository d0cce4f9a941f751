// bzzzctl migrate verify-log FILE...: checks exported v1 conversation logs offline, the same way
// the content-migrated phase checks them before importing (src/hosts/v1-log.ts): every break
// listed with file, line, index and reason. Exit 0 when every log is intact, 1 when a chain is
// broken, 2 when a file cannot be read. Streams each file (memory flat whatever its size); shows
// the bytes read on a terminal.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { checkV1Log, DEFAULT_MAX_LINE_BYTES, formatBreak, type V1LogReport } from '../../hosts/v1-log.js';
import { errorMessage } from '../../util/errors.js';
import { EXIT_ERROR, EXIT_INVALID, EXIT_OK } from '../../util/exit-codes.js';
import { printDocument, printLines, progress, type OutputFormat } from '../output.js';

export interface VerifyLogOptions {
  output: OutputFormat;
  /** Longest line accepted, in bytes (default 1 MiB). */
  maxLineBytes?: string;
}

export type VerifyLogFileResult = ({ file: string } & V1LogReport) | { file: string; error: string };

export interface VerifyLogDocument {
  intact: boolean;
  files: VerifyLogFileResult[];
}

const MiB = 1024 * 1024;

function size(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}

export async function verifyLogCommand(files: string[], o: VerifyLogOptions): Promise<number> {
  const maxLineBytes = o.maxLineBytes === undefined ? DEFAULT_MAX_LINE_BYTES : Number(o.maxLineBytes);
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    process.stderr.write(`error: --max-line-bytes ${o.maxLineBytes}: expected a number of bytes, at least 1\n`);
    return EXIT_INVALID;
  }
  const results: VerifyLogFileResult[] = [];
  const bar = process.stderr.isTTY ? progress() : undefined;
  for (const file of files) {
    try {
      const total = (await stat(file)).size;
      const report = await checkV1Log(createReadStream(file, { highWaterMark: 256 * 1024 }), {
        source: file,
        maxLineBytes,
        progressEveryBytes: 8 * MiB,
        onProgress: (p) => bar?.update(`${file}: ${size(p.bytes)} of ${size(total)} read, ${p.entries} entries, ${p.breaks} breaks`),
      });
      bar?.done();
      results.push({ file, ...report });
    } catch (err) {
      bar?.done();
      results.push({ file, error: `cannot read ${file}: ${errorMessage(err)}` });
    }
  }
  const unreadable = results.some((r) => 'error' in r);
  const intact = results.every((r) => !('error' in r) && r.intact);
  if (o.output !== 'text') printDocument({ intact, files: results } satisfies VerifyLogDocument, o.output);
  else printLines(results.flatMap(renderText));
  return unreadable ? EXIT_ERROR : intact ? EXIT_OK : EXIT_INVALID;
}

function renderText(r: VerifyLogFileResult): string[] {
  if ('error' in r) return [`${r.file}: unreadable: ${r.error}`];
  const range = r.lastIndex !== undefined ? `, index ${r.firstIndex}–${r.lastIndex}` : '';
  const what = `${r.entries} entries${range}, ${size(r.bytes)}`;
  if (r.intact) return [`${r.file}: intact: ${what}, head ${r.headHash ?? '(empty log)'}`];
  const n = r.breaks.length + r.breaksOmitted;
  return [
    `${r.file}: BROKEN: ${n} break${n === 1 ? '' : 's'} in ${what}; nothing from this log would be imported`,
    ...r.breaks.map((b) => `  ${formatBreak(b)}`),
    ...(r.breaksOmitted ? [`  … and ${r.breaksOmitted} more breaks not listed`] : []),
  ];
}
