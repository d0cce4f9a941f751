// Progress reports, at most every 100 ms (a bar redraws no faster), and always at the end.
import type { Progress, ProgressListener } from './types.js';

export class ProgressReporter {
  readonly p: Progress;
  private last = 0;

  constructor(
    op: Progress['op'],
    private readonly listener: ProgressListener | undefined,
    totalBytes?: number,
  ) {
    this.p = { op, bytes: 0, chunks: 0, newChunks: 0, files: 0, ...(totalBytes === undefined ? {} : { totalBytes }) };
  }

  tick(): void {
    if (!this.listener) return;
    const t = performance.now();
    if (t - this.last < 100) return;
    this.last = t;
    this.listener({ ...this.p });
  }

  done(): void {
    this.listener?.({ ...this.p });
  }
}
