// Progress of a backup, verify, restore or prune for people and for scripts. On a terminal: a
// bar on stderr (bytes, chunks, rate, ETA when the total is known). With `-o json`: one JSON
// object per line on stderr ({"type":"progress",…}, at most twice a second and once at the end),
// so stdout still holds the one result document. Otherwise (text, not a terminal): nothing.
import cliProgress from 'cli-progress';
import type { Progress, ProgressListener } from '../backup/types.js';
import type { OutputFormat } from './output.js';

export interface ProgressReporter {
  listener: ProgressListener;
  done(): void;
}

const JSON_EVERY_MS = 500;

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** What a JSON progress line holds: the repository's counters plus rate and ETA. */
export function progressLine(p: Progress, elapsedMs: number): Record<string, unknown> {
  const rate = elapsedMs > 0 ? (p.bytes / elapsedMs) * 1000 : 0;
  const eta = p.totalBytes !== undefined && rate > 0 ? Math.max(0, (p.totalBytes - p.bytes) / rate) : undefined;
  return {
    type: 'progress',
    op: p.op,
    bytes: p.bytes,
    ...(p.totalBytes !== undefined ? { totalBytes: p.totalBytes } : {}),
    chunks: p.chunks,
    ...(p.newChunks !== undefined ? { newChunks: p.newChunks } : {}),
    files: p.files,
    bytesPerSecond: Math.round(rate),
    ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
    ...(p.current ? { current: p.current } : {}),
  };
}

export function progressReporter(format: OutputFormat, o: { stream?: NodeJS.WriteStream; now?: () => number } = {}): ProgressReporter {
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? Date.now;
  const start = now();
  if (format === 'json') {
    let lastAt = Number.NEGATIVE_INFINITY;
    let last: Progress | undefined;
    const write = (p: Progress) => stream.write(`${JSON.stringify(progressLine(p, now() - start))}\n`);
    return {
      listener(p) {
        last = p;
        if (now() - lastAt < JSON_EVERY_MS) return;
        lastAt = now();
        write(p);
      },
      done() {
        if (last) write(last);
      },
    };
  }
  if (format !== 'text' || !stream.isTTY) return { listener: () => {}, done: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    listener(p) {
      const rate = ((p.bytes / Math.max(1, now() - start)) * 1000) | 0;
      const payload = {
        op: p.op.padEnd(7),
        size: `${formatBytes(p.bytes)}${p.totalBytes !== undefined ? ` / ${formatBytes(p.totalBytes)}` : ''}`,
        chunks: `${p.chunks} chunks${p.newChunks !== undefined ? ` (${p.newChunks} ${p.op === 'verify' ? 'bad' : 'new'})` : ''}`,
        rate: `${formatBytes(rate)}/s`,
      };
      if (!bar) {
        const known = p.totalBytes !== undefined;
        bar = new cliProgress.SingleBar(
          {
            stream,
            hideCursor: true,
            clearOnComplete: false,
            format: known
              ? '{op} |{bar}| {percentage}% {size} {chunks} {rate} ETA {eta_formatted}'
              : '{op} {size} {chunks} {rate} {duration_formatted}',
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.totalBytes ?? 0, p.bytes, payload);
      }
      if (p.totalBytes !== undefined) bar.setTotal(p.totalBytes);
      bar.update(p.bytes, payload);
    },
    done() {
      bar?.stop();
    },
  };
}
